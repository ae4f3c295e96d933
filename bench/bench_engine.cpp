// The engine scenarios of `moescope bench` as Google Benchmark cases, for
// repeated runs (--benchmark_repetitions, --benchmark_filter). The model is
// $MOESCOPE_BENCH_MODEL, else the cached random OLMoE-shaped checkpoint with
// $MOESCOPE_BENCH_LAYERS layers (default 4; written on first use).
// $MOESCOPE_BENCH_DTYPE (fp32|bf16) picks the compute dtype.
//
//   bench_engine --benchmark_filter=Prefill --benchmark_repetitions=3
#include "core/bench/engine_benchmark.h"
#include "core/bench/olmoe_checkpoint.h"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace {

using moescope::bench::EngineRunner;
using moescope::bench::PrefillShape;

std::string environment(const char *name, const std::string &fallback)
{
    const char *value = std::getenv(name);
    return value && *value ? value : fallback;
}

std::string modelDir()
{
    static const std::string dir = [] {
        if (const auto given = environment("MOESCOPE_BENCH_MODEL", ""); !given.empty())
            return given;
        moescope::bench::OlmoeShape shape;
        shape.layers = std::stoi(environment("MOESCOPE_BENCH_LAYERS", "4"));
        const auto cached = moescope::bench::defaultOlmoeDir(shape.layers);
        moescope::bench::writeRandomOlmoe(cached, shape);
        return cached;
    }();
    return dir;
}

moescope::model::LoadOptions loadOptions()
{
    return { moescope::model::parseComputeDtype(environment("MOESCOPE_BENCH_DTYPE", "")), 0 };
}

EngineRunner &runner()
{
    static auto instance = std::make_unique<EngineRunner>(modelDir(), loadOptions());
    return *instance;
}

// Args: batch, tokens, record.
void BM_Prefill(benchmark::State &state)
{
    const PrefillShape shape { static_cast<int>(state.range(0)), static_cast<int>(state.range(1)) };
    const bool record = state.range(2) != 0;
    auto &engine = runner();
    engine.prefill(shape, record);
    for (auto _ : state)
        state.SetIterationTime(engine.prefill(shape, record));
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(shape.batch) * shape.tokens,
        benchmark::Counter::kIsIterationInvariantRate);
}

// Args: prompt tokens, decode tokens, record.
void BM_Decode(benchmark::State &state)
{
    const int prompt = static_cast<int>(state.range(0)), tokens = static_cast<int>(state.range(1));
    const bool record = state.range(2) != 0;
    auto &engine = runner();
    for (auto _ : state)
        state.SetIterationTime(engine.decode(prompt, tokens, record).decodeSeconds);
    state.counters["tokens/s"]
        = benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
}

// A fresh load plus a 16-token prompt's first token (page cache warm after
// the first iteration).
void BM_LoadToFirstToken(benchmark::State &state)
{
    const auto dir = modelDir();
    for (auto _ : state) {
        EngineRunner fresh(dir, loadOptions());
        fresh.prefill({ 1, 16 }, false);
    }
}

BENCHMARK(BM_Prefill)
    ->ArgNames({ "batch", "tokens", "record" })
    ->Args({ 1, 512, 0 })
    ->Args({ 1, 512, 1 })
    ->Args({ 8, 128, 0 })
    ->Args({ 8, 128, 1 })
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Decode)
    ->ArgNames({ "prompt", "tokens", "record" })
    ->Args({ 128, 64, 0 })
    ->Args({ 128, 64, 1 })
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadToFirstToken)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
