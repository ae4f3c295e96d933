// The bf16-weight kernels (core/model/bf16_gemm.h) alone, one thread, at the
// shapes an OLMoE-sized layer gives them: prefill products of 64 and 512
// rows (an expert's share of a 512-token prefill, an attention projection)
// and decode's one-row products. The weights are cycled over enough
// matrices (>= 96 MiB) that they come from memory, as a model's do.
// docs/performance.md quotes these.
#include "core/model/bf16_gemm.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {

using namespace moescope::model::kernels;

void BM_Bf16WeightGemm(benchmark::State &state)
{
    const std::int64_t m = state.range(0), n = state.range(1), k = state.range(2);
    if (!bf16GemmSupported()) {
        state.SkipWithError("no AVX2/FMA on this CPU");
        return;
    }
    const std::int64_t matrixValues = n * k;
    const std::int64_t matrices = std::max<std::int64_t>(1, (std::int64_t(96) << 20) / (2 * matrixValues));
    std::mt19937 random(7);
    std::normal_distribution<float> normal;
    std::vector<float> x(static_cast<std::size_t>(m * k)), packed(x.size()), y(static_cast<std::size_t>(m * n));
    for (auto &v : x)
        v = normal(random);
    packBf16GemmInput(x.data(), k, m, k, packed.data());
    // Any non-zero, non-denormal bf16 bit patterns do for timing.
    std::vector<std::uint16_t> w(static_cast<std::size_t>(matrices * matrixValues));
    std::uniform_int_distribution<int> mantissa(0, 127);
    for (auto &v : w)
        v = static_cast<std::uint16_t>(0x3F00 | mantissa(random));
    std::int64_t next = 0;
    for (auto _ : state) {
        bf16WeightGemm(packed.data(), m, k, w.data() + (next++ % matrices) * matrixValues, k, y.data(), n, 0, n);
        benchmark::DoNotOptimize(y.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["weight GB/s"]
        = benchmark::Counter(2.0 * n * k, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_Bf16WeightGemm)
    ->Args({ 64, 1024, 2048 }) // an expert's gate or up, 64 rows
    ->Args({ 64, 2048, 1024 }) // its down
    ->Args({ 512, 2048, 2048 }) // an attention projection, 512 tokens
    ->Args({ 12, 1024, 2048 }) // below the panel path's 16 rows
    ->Args({ 1, 1024, 2048 }) // decode: gate or up
    ->Args({ 1, 2048, 1024 }) // decode: down
    ->Args({ 1, 4096, 512 })
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

} // namespace

BENCHMARK_MAIN();
