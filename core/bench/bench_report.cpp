#include "core/bench/bench_report.h"

#include "core/model/checkpoint.h"
#include "core/model/model_info.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace moescope::bench {

ModelCost modelCost(const std::string &dir)
{
    const auto info = model::inspectModel(dir);
    const auto checkpoint = model::Checkpoint::open(dir);
    const auto &spec = checkpoint->spec();
    ModelCost cost;
    cost.modelType = info.modelType;
    cost.numLayers = info.numLayers;
    cost.activeParameters = info.activeParameters;
    cost.bytesPerParameter = static_cast<int>(model::dtypeSize(checkpoint->storageDType()));
    for (const auto &file : checkpoint->files())
        for (const auto &rec : file->tensors()) {
            cost.weightBytes += rec.byteSize();
            const auto n = static_cast<std::uint64_t>(rec.numel());
            if (rec.name == spec.names.embed)
                cost.embeddingParameters = n;
            else if (rec.name == spec.names.lmHead && !spec.tieWordEmbeddings)
                cost.lmHeadParameters = n;
            else if (rec.shape.size() == 1)
                cost.vectorParameters += n;
        }
    const auto notPerToken
        = cost.embeddingParameters + cost.lmHeadParameters + cost.vectorParameters;
    cost.linearPerToken
        = cost.activeParameters > notPerToken ? cost.activeParameters - notPerToken : 0;
    if (spec.tieWordEmbeddings)
        cost.lmHeadParameters = cost.embeddingParameters;
    return cost;
}

double prefillFlops(const ModelCost &cost, const PrefillShape &shape)
{
    const double rows = shape.batch, tokens = static_cast<double>(shape.batch) * shape.tokens;
    return 2.0
        * (static_cast<double>(cost.linearPerToken) * tokens
            + static_cast<double>(cost.lmHeadParameters) * rows);
}

double decodeBytesPerToken(const ModelCost &cost)
{
    return static_cast<double>(cost.linearPerToken + cost.lmHeadParameters)
        * cost.bytesPerParameter;
}

double prefillBoundTokensPerSecond(const ModelCost &cost, const PrefillShape &shape, double gflops)
{
    const double flops = prefillFlops(cost, shape);
    return flops > 0 && gflops > 0
        ? static_cast<double>(shape.batch) * shape.tokens * gflops * 1e9 / flops
        : 0.0;
}

double decodeBoundTokensPerSecond(const ModelCost &cost, double readGBps)
{
    const double bytes = decodeBytesPerToken(cost);
    return bytes > 0 && readGBps > 0 ? readGBps * 1e9 / bytes : 0.0;
}

std::string currentLoadAverage()
{
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return in ? a + " " + b + " " + c : std::string("unknown");
}

namespace {

std::string format(const char *fmt, double value)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, value);
    return buf;
}

std::string gib(std::uint64_t bytes)
{
    return format("%.2f GiB", static_cast<double>(bytes) / double(1ull << 30));
}

std::string billions(std::uint64_t n)
{
    return format("%.3f B", static_cast<double>(n) / 1e9);
}

std::string verdict(bool met)
{
    return met ? "met" : "NOT met";
}

// The prefill bound's matmul throughput: the best the machine measured in
// either dtype. The engine may use its own kernels (bf16 weights through an
// fp32 micro-kernel where torch's bf16 GEMM is a scalar loop), so torch's
// rate for the compute dtype is no ceiling; on AVX512-BF16 machines bf16 is
// the best, here fp32 is.
double matmulPeak(const BenchReport &r)
{
    return std::max(r.peaks.bf16Gflops, r.peaks.fp32Gflops);
}

std::string matmulPeakName(const BenchReport &r)
{
    return r.peaks.bf16Gflops >= r.peaks.fp32Gflops ? "bf16" : "fp32";
}

const ScenarioResult *withoutRecording(const BenchReport &r, const ScenarioResult &s)
{
    for (const auto &other : r.engine.scenarios)
        if (!other.recording && other.name == s.name)
            return &other;
    return nullptr;
}

// Recording cost from the medians, and from the best runs: on a shared
// machine one slow run moves a median of three, the best runs much less.
double recordingOverhead(const ScenarioResult &with, const ScenarioResult &without)
{
    return without.timing.median > 0 ? with.timing.median / without.timing.median - 1.0 : 0.0;
}

double bestRecordingOverhead(const ScenarioResult &with, const ScenarioResult &without)
{
    return without.timing.best > 0 ? with.timing.best / without.timing.best - 1.0 : 0.0;
}

} // namespace

std::string formatBenchReport(const BenchReport &r, const Targets &targets)
{
    std::ostringstream out;
    const auto &p = r.peaks;
    const auto &c = r.cost;
    const auto &e = r.engine;
    if (p.threads > 0) {
        out << "machine:  " << p.cpu << " [" << p.cpuFlags << "], " << p.threads << " threads\n";
        out << "  bf16 matmul " << format("%.1f", p.bf16Gflops) << " GFLOP/s, fp32 matmul "
            << format("%.1f", p.fp32Gflops) << " GFLOP/s (libtorch at::linear, best shape)\n";
        out << "  memory read " << format("%.1f", p.readGBps)
            << " GB/s; torch matvec streaming: bf16 " << format("%.2f", p.bf16MatvecGBps)
            << " GB/s, fp32 " << format("%.2f", p.fp32MatvecGBps) << " GB/s\n";
        out << "  (each peak the better of two measurements, before and after the engine)\n";
    } else {
        out << "machine:  peaks not measured (--no-peaks): no bounds\n";
    }
    out << "  load average (1/5/15 min): " << r.loadAverage << "\n";
    out << "model:    " << e.directory << " (" << c.modelType << ", " << c.numLayers
        << " layers, weights " << gib(c.weightBytes) << ", compute " << e.computeDtype << ")\n";
    out << "  per token: " << billions(c.linearPerToken) << " linear parameters (active "
        << billions(c.activeParameters) << " incl. embedding " << billions(c.embeddingParameters)
        << ", lm_head " << billions(c.lmHeadParameters) << " once per row); decode reads "
        << format("%.2f GB", decodeBytesPerToken(c) / 1e9) << "/token\n";

    const bool firstTokenMet = e.firstTokenSeconds <= targets.firstTokenSeconds;
    out << "load:     " << format("%.2f s", e.loadSeconds) << " to a loaded model, "
        << format("%.2f s", e.firstTokenSeconds) << " to the first token"
        << (e.coldLoad ? (e.coldEvictionWorked ? " (page cache evicted first; " : " (eviction failed; ")
                       : " (")
        << (e.residentBeforeLoad < 0 ? std::string("page cache state unknown)")
                                     : format("%.0f%% of the weights in the page cache)", 100.0 * e.residentBeforeLoad))
        << "  [target <= " << format("%.0f s", targets.firstTokenSeconds)
        << " for a 13 GB checkpoint: " << verdict(firstTokenMet) << "]\n";

    if (!e.scenarios.empty())
        out << "\n"
            << "scenario                 record   tokens/s  (best)    bound tok/s   % bound   "
               "target\n";
    for (const auto &s : e.scenarios) {
        double bound = 0.0, fraction = 0.0;
        if (s.decode) {
            bound = decodeBoundTokensPerSecond(c, p.readGBps);
            fraction = targets.decodeFraction;
        } else {
            bound = prefillBoundTokensPerSecond(c, s.shape, matmulPeak(r));
            fraction = targets.prefillFraction;
        }
        const double rate = s.tokensPerSecond();
        const double best = s.timing.best > 0 ? s.tokens / s.timing.best : 0.0;
        const double share = bound > 0 ? rate / bound : 0.0;
        char line[256];
        std::snprintf(line, sizeof line, "%-24s %-6s %10.2f %9.2f %13.2f %8.1f%%   >= %.0f%%: %s",
            s.name.c_str(), s.recording ? "on" : "off", rate, best, bound, 100.0 * share,
            100.0 * fraction, verdict(share >= fraction).c_str());
        out << line;
        if (s.recording)
            if (const auto *base = withoutRecording(r, s)) {
                const double overhead = recordingOverhead(s, *base);
                const double best = bestRecordingOverhead(s, *base);
                out << format("; recording %+.1f%%", 100.0 * overhead)
                    << format(" (best runs %+.1f%%)", 100.0 * best)
                    << " <= " << format("%.0f%%", 100.0 * targets.recordingOverhead) << ": "
                    << verdict(overhead <= targets.recordingOverhead);
            }
        out << "\n";
    }
    if (!e.scenarios.empty())
        out << "  (median of " << e.scenarios.front().timing.runs << " runs; prefill bound at the "
            << matmulPeakName(r)
            << " matmul peak, the machine's best; decode bound at the read bandwidth)\n";
    if (e.spread.numExperts)
        out << "routing:  first MoE layer used " << e.spread.expertsUsed << "/"
            << e.spread.numExperts << " experts in the first prefill, busiest expert "
            << format("%.2f", e.spread.maxOverMean) << "x the mean load\n";
    const double rssRatio = c.weightBytes
        ? static_cast<double>(e.memory.peakRss) / static_cast<double>(c.weightBytes)
        : 0;
    out << "memory:   peak RSS " << gib(e.memory.peakRss) << " = " << format("%.2f", rssRatio)
        << " x weight bytes [target <= " << format("%.1f", targets.rssOverWeights) << ": "
        << verdict(rssRatio <= targets.rssOverWeights) << "]; at the end " << gib(e.memory.rssAnon)
        << " anonymous, " << gib(e.memory.rssFile) << " file-backed"
        << (e.peakRssReset ? "" : " (peak not reset: includes earlier work)") << "\n";
    return out.str();
}

std::string benchReportJson(const BenchReport &r, const Targets &targets)
{
    using nlohmann::json;
    const auto &p = r.peaks;
    const auto &c = r.cost;
    const auto &e = r.engine;
    json details = json::array();
    for (const auto &d : p.details)
        details.push_back({ { "label", d.label }, { "value", d.value } });
    json machine = { { "cpu", p.cpu }, { "cpu_flags", p.cpuFlags }, { "threads", p.threads },
        { "load_average", r.loadAverage }, { "bf16_matmul_gflops", p.bf16Gflops },
        { "fp32_matmul_gflops", p.fp32Gflops }, { "read_gbps", p.readGBps },
        { "bf16_matvec_gbps", p.bf16MatvecGBps }, { "fp32_matvec_gbps", p.fp32MatvecGBps },
        { "details", details } };
    json modelJson = { { "directory", e.directory }, { "model_type", c.modelType },
        { "num_layers", c.numLayers }, { "compute_dtype", e.computeDtype },
        { "weight_bytes", c.weightBytes }, { "active_parameters", c.activeParameters },
        { "linear_parameters_per_token", c.linearPerToken },
        { "lm_head_parameters", c.lmHeadParameters },
        { "decode_bytes_per_token", decodeBytesPerToken(c) } };
    json scenarios = json::array();
    for (const auto &s : e.scenarios) {
        const double bound = s.decode ? decodeBoundTokensPerSecond(c, p.readGBps)
                                      : prefillBoundTokensPerSecond(c, s.shape, matmulPeak(r));
        json item = { { "name", s.name }, { "kind", s.decode ? "decode" : "prefill" },
            { "batch", s.shape.batch }, { "prompt_tokens", s.shape.tokens },
            { "recording", s.recording }, { "tokens", s.tokens },
            { "median_seconds", s.timing.median }, { "best_seconds", s.timing.best },
            { "runs", s.timing.runs }, { "tokens_per_second", s.tokensPerSecond() },
            { "bound_tokens_per_second", bound },
            { "fraction_of_bound", bound > 0 ? s.tokensPerSecond() / bound : 0.0 },
            { "target_fraction", s.decode ? targets.decodeFraction : targets.prefillFraction } };
        if (s.recording)
            if (const auto *base = withoutRecording(r, s)) {
                item["recording_overhead"] = recordingOverhead(s, *base);
                item["recording_overhead_best_runs"] = bestRecordingOverhead(s, *base);
            }
        scenarios.push_back(item);
    }
    json out = { { "machine", machine }, { "model", modelJson }, { "load_seconds", e.loadSeconds },
        { "first_token_seconds", e.firstTokenSeconds },
        { "cold_load", e.coldLoad && e.coldEvictionWorked }, { "resident_before_load", e.residentBeforeLoad }, { "scenarios", scenarios },
        { "routing_spread",
            { { "experts_used", e.spread.expertsUsed }, { "num_experts", e.spread.numExperts },
                { "max_over_mean", e.spread.maxOverMean } } },
        { "memory",
            { { "peak_rss", e.memory.peakRss }, { "rss_anon", e.memory.rssAnon },
                { "rss_file", e.memory.rssFile },
                { "peak_over_weights",
                    c.weightBytes ? double(e.memory.peakRss) / double(c.weightBytes) : 0.0 } } },
        { "targets",
            { { "prefill_fraction", targets.prefillFraction },
                { "decode_fraction", targets.decodeFraction },
                { "first_token_seconds", targets.firstTokenSeconds },
                { "rss_over_weights", targets.rssOverWeights },
                { "recording_overhead", targets.recordingOverhead } } } };
    return out.dump(2) + "\n";
}

} // namespace moescope::bench
