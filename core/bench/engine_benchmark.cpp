#include "core/bench/engine_benchmark.h"

#include "core/common/error.h"
#include "core/jobs/job_context.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

namespace moescope::bench {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

int positiveInt(const std::string &text, const std::string &whole)
{
    std::size_t used = 0;
    int value = 0;
    try {
        value = std::stoi(text, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used == 0 || used != text.size() || value < 1)
        throw Error("bad prefill shape '" + whole + "' (expected BATCHxTOKENS, e.g. 1x512,8x128)");
    return value;
}

model::GenerationOptions greedyWithoutStops(int newTokens)
{
    model::GenerationOptions options;
    options.maxNewTokens = newTokens;
    options.stopTokens = std::vector<std::int64_t> {}; // never stop: every run does the same work
    return options;
}

} // namespace

std::vector<PrefillShape> parsePrefillShapes(const std::string &text)
{
    std::vector<PrefillShape> shapes;
    if (text == "none")
        return shapes;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto comma = text.find(',', start);
        const auto item
            = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const auto x = item.find('x');
        if (x == std::string::npos)
            throw Error(
                "bad prefill shape '" + item + "' (expected BATCHxTOKENS, e.g. 1x512,8x128)");
        shapes.push_back(
            { positiveInt(item.substr(0, x), item), positiveInt(item.substr(x + 1), item) });
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return shapes;
}

std::string prefillShapeName(const PrefillShape &shape)
{
    return std::to_string(shape.batch) + "x" + std::to_string(shape.tokens);
}

std::vector<std::vector<std::int64_t>> randomPrompts(
    int batch, int tokens, int vocab, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::int64_t> id(0, vocab - 1);
    std::vector<std::vector<std::int64_t>> prompts(static_cast<std::size_t>(batch));
    for (auto &p : prompts) {
        p.resize(static_cast<std::size_t>(tokens));
        for (auto &t : p)
            t = id(rng);
    }
    return prompts;
}

Timing summarise(std::vector<double> seconds)
{
    Timing t;
    t.runs = static_cast<int>(seconds.size());
    if (seconds.empty())
        return t;
    std::sort(seconds.begin(), seconds.end());
    t.best = seconds.front();
    const auto n = seconds.size();
    t.median = n % 2 ? seconds[n / 2] : 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]);
    return t;
}

// ----------------------------------------------------------------- runner

EngineRunner::EngineRunner(const std::string &dir, const model::LoadOptions &options)
    : m_model([&] {
        const auto start = Clock::now();
        auto loaded = model::MoeModel::load(dir, options);
        m_loadSeconds = secondsSince(start);
        return loaded;
    }())
{
    const auto &spec = m_model.spec();
    m_recorder = std::make_unique<routing::RoutingRecorder>(spec.numLayers, spec.moe.numExperts);
}

double EngineRunner::prefill(const PrefillShape &shape, bool record, const JobContext *job)
{
    const auto prompts = randomPrompts(shape.batch, shape.tokens, m_model.spec().vocabSize,
        0x5eed0000u + static_cast<unsigned>(shape.batch * 100003 + shape.tokens));
    if (record)
        m_recorder->reset();
    const auto start = Clock::now();
    m_model.generate(prompts, greedyWithoutStops(1), record ? m_recorder.get() : nullptr, {}, job);
    const double seconds = secondsSince(start);
    if (record)
        m_lastRouting = m_recorder->totals(); // after the clock: totals() is the one host sync
    return seconds;
}

EngineRunner::DecodeTiming EngineRunner::decode(
    int promptTokens, int tokens, bool record, const JobContext *job)
{
    const auto prompts
        = randomPrompts(1, promptTokens, m_model.spec().vocabSize, 0xdec0de00u + promptTokens);
    if (record)
        m_recorder->reset();
    Clock::time_point first {}, last {};
    int seen = 0;
    const auto start = Clock::now();
    m_model.generate(
        prompts, greedyWithoutStops(tokens + 1), record ? m_recorder.get() : nullptr,
        [&](std::size_t, std::int64_t) {
            last = Clock::now();
            if (seen++ == 0)
                first = last;
        },
        job);
    if (record)
        m_lastRouting = m_recorder->totals();
    DecodeTiming t;
    t.prefillSeconds = std::chrono::duration<double>(first - start).count();
    t.decodeSeconds = std::chrono::duration<double>(last - first).count();
    t.tokens = seen - 1;
    return t;
}

// ----------------------------------------------------------------- scenarios

namespace {

RoutingSpread spreadOf(const routing::RoutingTotals &totals, const model::ModelSpec &spec)
{
    RoutingSpread spread;
    const auto moeLayers = spec.moeLayers();
    if (moeLayers.empty() || totals.counts.empty())
        return spread;
    const auto E = static_cast<std::size_t>(totals.numExperts);
    const auto layer = static_cast<std::size_t>(moeLayers.front());
    std::uint64_t sum = 0, most = 0;
    for (std::size_t e = 0; e < E; ++e) {
        const auto c = totals.counts[layer * E + e];
        spread.expertsUsed += c > 0;
        sum += c;
        most = std::max(most, c);
    }
    spread.numExperts = totals.numExperts;
    spread.maxOverMean
        = sum ? static_cast<double>(most) * static_cast<double>(E) / static_cast<double>(sum) : 0.0;
    return spread;
}

std::vector<std::string> weightFiles(const std::string &dir)
{
    const auto checkpoint = model::Checkpoint::open(dir); // kept alive while its files are listed
    std::vector<std::string> paths;
    for (const auto &file : checkpoint->files())
        paths.push_back(file->path());
    return paths;
}

} // namespace

EngineBenchResult runEngineBenchmark(
    const std::string &dir, const EngineBenchOptions &options, const JobContext *job)
{
    if (options.repeat < 1)
        throw Error("--repeat must be at least 1");
    EngineBenchResult result;
    result.directory = dir;
    result.coldLoad = options.coldLoad;
    const auto files = weightFiles(dir);
    if (options.coldLoad)
        result.coldEvictionWorked = evictFromPageCache(files);
    result.residentBeforeLoad = pageCacheResidentFraction(files);
    result.peakRssReset = resetPeakRss();

    // Load to first token: what a user waits for after `moescope generate`.
    const auto start = Clock::now();
    EngineRunner runner(dir, options.load);
    runner.prefill({ 1, options.firstTokenPrompt }, false, job);
    result.firstTokenSeconds = secondsSince(start);
    result.loadSeconds = runner.loadSeconds();
    result.computeDtype = runner.model().computeDtypeName();
    result.threads = options.load.threads;

    if (result.threads <= 0)
        result.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

    std::size_t step = 0;
    const std::size_t steps = (options.prefill.size() + (options.decodeTokens > 0 ? 1 : 0))
        * static_cast<std::size_t>(options.repeat) * (options.record ? 2 : 1);
    auto progress = [&](const std::string &what) {
        if (job)
            job->report(step++, steps, "runs", what);
    };
    const std::vector<bool> modes
        = options.record ? std::vector<bool> { false, true } : std::vector<bool> { false };

    for (const auto &shape : options.prefill) {
        // Warm-up (pages the experts in, sizes the allocator's pools), recorded
        // so that the routing spread is known even without --record.
        if (options.warmup) {
            runner.prefill(shape, true, job);
            if (result.spread.numExperts == 0)
                result.spread = spreadOf(runner.lastRouting(), runner.model().spec());
        }
        std::vector<std::vector<double>> seconds(modes.size());
        // Interleaved, so drift in the machine's load hits both modes alike.
        for (int r = 0; r < options.repeat; ++r)
            for (std::size_t m = 0; m < modes.size(); ++m) {
                progress("prefill " + prefillShapeName(shape));
                seconds[m].push_back(runner.prefill(shape, modes[m], job));
                if (modes[m] && result.spread.numExperts == 0)
                    result.spread = spreadOf(runner.lastRouting(), runner.model().spec());
            }
        for (std::size_t m = 0; m < modes.size(); ++m)
            result.scenarios.push_back(
                { "prefill " + prefillShapeName(shape), false, shape, modes[m],
                    static_cast<std::int64_t>(shape.batch) * shape.tokens, summarise(seconds[m]) });
    }
    if (options.decodeTokens > 0) {
        std::vector<std::vector<double>> seconds(modes.size());
        for (int r = 0; r < options.repeat; ++r)
            for (std::size_t m = 0; m < modes.size(); ++m) {
                progress("decode");
                seconds[m].push_back(
                    runner.decode(options.decodePrompt, options.decodeTokens, modes[m], job)
                        .decodeSeconds);
            }
        for (std::size_t m = 0; m < modes.size(); ++m)
            result.scenarios.push_back({ "decode " + std::to_string(options.decodeTokens)
                    + " after " + std::to_string(options.decodePrompt),
                true, { 1, options.decodePrompt }, modes[m], options.decodeTokens,
                summarise(seconds[m]) });
    }
    result.memory = currentMemoryUsage();
    return result;
}

} // namespace moescope::bench
