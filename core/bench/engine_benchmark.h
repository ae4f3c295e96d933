#pragma once

// The engine scenarios of `moescope bench` and bench/bench_engine: load to
// first token, prefill (batch x tokens, logits for the last position, as
// generation prefills) and KV-cached decode, each with or without routing
// recording (RoutingRecorder as the router hook). Runs through the public
// MoeModel API, so it measures what the CLI and the GUI get. Torch-free.

#include "core/bench/process_memory.h"
#include "core/model/moe_model.h"
#include "core/routing/routing_recorder.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moescope {
class JobContext;
}

namespace moescope::bench {

struct PrefillShape
{
    int batch = 1;
    int tokens = 512;
};
// "1x512,8x128" -> shapes, "none" -> no shapes; throws Error on anything else.
std::vector<PrefillShape> parsePrefillShapes(const std::string &text);
std::string prefillShapeName(const PrefillShape &shape); // "1x512"

// Random token ids (uniform over the vocabulary, fixed by the seed): a
// random-weight model routes them as varied text would.
std::vector<std::vector<std::int64_t>> randomPrompts(
    int batch, int tokens, int vocab, std::uint64_t seed);

// A loaded model plus one reusable recorder. Each call runs the same
// prompts for the same arguments, so with/without-recording runs compare
// like with like.
class EngineRunner
{
public:
    EngineRunner(const std::string &dir, const model::LoadOptions &options);
    const model::MoeModel &model() const { return m_model; }
    double loadSeconds() const { return m_loadSeconds; }

    // Seconds for one prefill of batch x tokens up to the first sampled token.
    double prefill(const PrefillShape &shape, bool record, const JobContext *job = nullptr);

    struct DecodeTiming
    {
        double prefillSeconds = 0.0; // prompt up to the first token
        double decodeSeconds = 0.0; // the `tokens` tokens after it
        int tokens = 0;
    };
    // One sequence: a prompt of promptTokens, then `tokens` decode steps on
    // the KV cache (greedy, stop tokens off).
    DecodeTiming decode(int promptTokens, int tokens, bool record, const JobContext *job = nullptr);

    // What the recorder saw in the last recording call.
    routing::RoutingTotals lastRouting() const { return m_lastRouting; }

private:
    double m_loadSeconds = 0.0; // before m_model: set while m_model is initialised
    model::MoeModel m_model;
    std::unique_ptr<routing::RoutingRecorder> m_recorder;
    routing::RoutingTotals m_lastRouting;
};

struct Timing
{
    double median = 0.0, best = 0.0; // seconds
    int runs = 0;
};
Timing summarise(std::vector<double> seconds);

struct EngineBenchOptions
{
    std::vector<PrefillShape> prefill = { { 1, 512 }, { 8, 128 } };
    int decodeTokens = 64; // 0: no decode scenario
    int decodePrompt = 128;
    int firstTokenPrompt = 16; // load to first token: this many prompt tokens
    bool record = false; // also run every scenario with routing recording
    int repeat = 3;
    bool coldLoad = false; // evict the checkpoint from the page cache before loading
    bool warmup = true; // one untimed run per prefill shape first (pages the experts in)
    model::LoadOptions load;
};

struct ScenarioResult
{
    std::string name; // "prefill 1x512", "decode 64 after 128"
    bool decode = false;
    PrefillShape shape; // prefill: the batch; decode: {1, prompt tokens}
    bool recording = false;
    std::int64_t tokens = 0; // tokens processed per run
    Timing timing;
    double tokensPerSecond() const { return timing.median > 0 ? tokens / timing.median : 0.0; }
};

// How routing spread over the experts in the first MoE layer during the
// recorded prefill: a degenerate router would make the speed unrepresentative.
struct RoutingSpread
{
    int expertsUsed = 0, numExperts = 0;
    double maxOverMean = 0.0; // most-loaded expert's count / mean count
};

struct EngineBenchResult
{
    std::string directory;
    std::string computeDtype;
    int threads = 0;
    double loadSeconds = 0.0; // MoeModel::load
    double firstTokenSeconds = 0.0; // load + first token of a short prompt
    bool coldLoad = false;
    bool coldEvictionWorked = false;
    double residentBeforeLoad = -1.0; // share of the weight files in the page cache at load (-1: unknown)
    std::vector<ScenarioResult> scenarios;
    RoutingSpread spread;
    MemoryUsage memory; // peakRss over the whole benchmark (VmHWM reset before loading)
    bool peakRssReset = false;
};

EngineBenchResult runEngineBenchmark(
    const std::string &dir, const EngineBenchOptions &options, const JobContext *job = nullptr);

} // namespace moescope::bench
