// The machine's peaks as Google Benchmark cases, for repeated runs
// (--benchmark_repetitions): matmul GFLOP/s per dtype and shape, streaming
// read GB/s, and torch's expert-shaped matrix-vector GB/s.
#include "core/bench/machine_peaks.h"

#include <benchmark/benchmark.h>

#include <ATen/Parallel.h>

#include <thread>

namespace {

using moescope::bench::MatmulProbe;
using moescope::bench::MatvecProbe;
using moescope::bench::ProbeDtype;
using moescope::bench::ReadProbe;

void useAllCores()
{
    at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

template <ProbeDtype dtype> void BM_Matmul(benchmark::State &state)
{
    useAllCores();
    MatmulProbe probe(dtype, state.range(0), state.range(1), state.range(2));
    probe.run();
    for (auto _ : state)
        probe.run();
    state.counters["GFLOP/s"]
        = benchmark::Counter(probe.flops() / 1e9, benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(probe.label());
}

void BM_Read(benchmark::State &state)
{
    useAllCores();
    ReadProbe probe(static_cast<std::size_t>(state.range(0)) << 20, static_cast<int>(state.range(1)));
    std::uint64_t sum = probe.run();
    for (auto _ : state)
        sum += probe.run();
    benchmark::DoNotOptimize(sum);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * probe.bytes()));
}

template <ProbeDtype dtype> void BM_Matvec(benchmark::State &state)
{
    useAllCores();
    MatvecProbe probe(dtype, state.range(0), state.range(1), static_cast<std::size_t>(512) << 20);
    probe.run();
    for (auto _ : state)
        probe.run();
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * probe.bytes()));
    state.SetLabel(probe.label());
}

#define MATMUL_SHAPES                                                                              \
    Args({ 2048, 2048, 2048 })                                                                     \
        ->Args({ 512, 2048, 2048 })                                                                \
        ->Args({ 64, 1024, 2048 })                                                                 \
        ->Args({ 64, 2048, 1024 })
BENCHMARK_TEMPLATE(BM_Matmul, ProbeDtype::BF16)
    ->MATMUL_SHAPES->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Matmul, ProbeDtype::F32)
    ->MATMUL_SHAPES->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Read)->Args({ 1024, 1 })->Args({ 1024, 8 })->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_Matvec, ProbeDtype::BF16)
    ->Args({ 1024, 2048 })
    ->Args({ 2048, 1024 })
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Matvec, ProbeDtype::F32)
    ->Args({ 1024, 2048 })
    ->Args({ 2048, 1024 })
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace

BENCHMARK_MAIN();
