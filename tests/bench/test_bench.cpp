#include "core/bench/bench_report.h"
#include "core/bench/engine_benchmark.h"
#include "core/bench/machine_peaks.h"
#include "core/bench/olmoe_checkpoint.h"
#include "core/bench/process_memory.h"
#include "core/common/error.h"
#include "core/model/checkpoint.h"
#include "core/model/moe_model.h"
#include "core/routing/routing_recorder.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace {

namespace fs = std::filesystem;
using namespace moescope;
using namespace moescope::bench;

class TempDir
{
public:
    TempDir()
    {
        std::random_device rd;
        m_path = fs::temp_directory_path() / ("moescope-bench-test-" + std::to_string(rd()));
        fs::create_directories(m_path);
    }
    ~TempDir()
    {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    std::string str(const std::string &child = {}) const
    {
        return (child.empty() ? m_path : m_path / child).string();
    }

private:
    fs::path m_path;
};

OlmoeShape tinyShape()
{
    OlmoeShape s;
    s.layers = 2;
    s.hidden = 64;
    s.heads = 4;
    s.kvHeads = 4;
    s.experts = 8;
    s.topK = 2;
    s.expertWidth = 32;
    s.vocab = 96;
    return s;
}

// Mean and standard deviation of a stored bf16 tensor.
std::pair<double, double> moments(const model::Checkpoint &checkpoint, const std::string &name)
{
    const auto &entry = checkpoint.get(name);
    const auto *bits = reinterpret_cast<const std::uint16_t *>(entry.file->data(*entry.record));
    const auto n = entry.record->numel();
    double sum = 0, squares = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const double v = std::bit_cast<float>(static_cast<std::uint32_t>(bits[i]) << 16);
        sum += v;
        squares += v * v;
    }
    const double mean = sum / n;
    return { mean, std::sqrt(squares / n - mean * mean) };
}

TEST(OlmoeCheckpoint, WritesALoadableOlmoeWithTheIntendedStatistics)
{
    TempDir dir;
    const auto shape = tinyShape();
    EXPECT_TRUE(writeRandomOlmoe(dir.str("m"), shape, 7));
    const auto checkpoint = model::Checkpoint::open(dir.str("m"));
    const auto &spec = checkpoint->spec();
    EXPECT_EQ(spec.modelType, "olmoe");
    EXPECT_EQ(spec.numLayers, 2);
    EXPECT_EQ(spec.moe.numExperts, 8);
    EXPECT_EQ(spec.moe.topK, 2);
    EXPECT_EQ(checkpoint->storageDType(), model::DType::BF16);
    EXPECT_EQ(checkpoint->files().size(), 3u); // outer tensors + one shard per layer

    std::uint64_t stored = 0;
    for (const auto &file : checkpoint->files())
        for (const auto &rec : file->tensors())
            stored += rec.byteSize();
    EXPECT_EQ(stored, olmoeWeightBytes(shape));

    const auto [embedMean, embedStd] = moments(*checkpoint, "model.embed_tokens.weight");
    EXPECT_NEAR(embedMean, 0.0, 0.05);
    EXPECT_NEAR(embedStd, 1.0, 0.05);
    const auto [expertMean, expertStd]
        = moments(*checkpoint, "model.layers.1.mlp.experts.5.down_proj.weight");
    EXPECT_NEAR(expertMean, 0.0, 0.002);
    EXPECT_NEAR(expertStd, 0.02, 0.002);
    const auto [routerMean, routerStd] = moments(*checkpoint, "model.layers.0.mlp.gate.weight");
    EXPECT_NEAR(routerStd, 0.1, 0.015);
    const auto [normMean, normStd] = moments(*checkpoint, "model.layers.0.self_attn.q_norm.weight");
    EXPECT_EQ(normMean, 1.0);
    EXPECT_EQ(normStd, 0.0);
}

TEST(OlmoeCheckpoint, ReusesAFinishedCheckpointAndRewritesForAnotherShape)
{
    TempDir dir;
    auto shape = tinyShape();
    ASSERT_TRUE(writeRandomOlmoe(dir.str(), shape, 3));
    const auto first = fs::last_write_time(dir.str("model-00002-of-00003.safetensors"));
    EXPECT_FALSE(writeRandomOlmoe(dir.str(), shape, 3));
    EXPECT_EQ(fs::last_write_time(dir.str("model-00002-of-00003.safetensors")), first);
    shape.layers = 3;
    EXPECT_TRUE(writeRandomOlmoe(dir.str(), shape, 3));
    EXPECT_EQ(model::Checkpoint::open(dir.str())->spec().numLayers, 3);
}

TEST(OlmoeCheckpoint, SameSeedSameBytes)
{
    TempDir a, b;
    ASSERT_TRUE(writeRandomOlmoe(a.str(), tinyShape(), 11));
    ASSERT_TRUE(writeRandomOlmoe(b.str(), tinyShape(), 11));
    const auto ca = model::Checkpoint::open(a.str()), cb = model::Checkpoint::open(b.str());
    const std::string name = "model.layers.1.self_attn.v_proj.weight";
    const auto &ea = ca->get(name), &eb = cb->get(name);
    EXPECT_EQ(0,
        std::memcmp(ea.file->data(*ea.record), eb.file->data(*eb.record), ea.record->byteSize()));
}

TEST(OlmoeCheckpoint, RejectsImpossibleShapes)
{
    TempDir dir;
    auto shape = tinyShape();
    shape.topK = 9; // more than the 8 experts
    EXPECT_THROW(writeRandomOlmoe(dir.str(), shape), Error);
}

TEST(EngineBenchmark, ParsesPrefillShapes)
{
    const auto shapes = parsePrefillShapes("1x512,8x128");
    ASSERT_EQ(shapes.size(), 2u);
    EXPECT_EQ(shapes[0].batch, 1);
    EXPECT_EQ(shapes[0].tokens, 512);
    EXPECT_EQ(shapes[1].batch, 8);
    EXPECT_EQ(shapes[1].tokens, 128);
    EXPECT_EQ(prefillShapeName(shapes[1]), "8x128");
    EXPECT_TRUE(parsePrefillShapes("none").empty());
    for (const auto *bad : { "", "512", "1x", "x4", "0x4", "1x-2", "1x512,", "2x3x4", "ax4" })
        EXPECT_THROW(parsePrefillShapes(bad), Error) << bad;
}

TEST(EngineBenchmark, SummarisesMedianAndBest)
{
    const auto odd = summarise({ 3.0, 1.0, 2.0 });
    EXPECT_EQ(odd.median, 2.0);
    EXPECT_EQ(odd.best, 1.0);
    EXPECT_EQ(odd.runs, 3);
    EXPECT_EQ(summarise({ 4.0, 1.0, 2.0, 3.0 }).median, 2.5);
}

TEST(EngineBenchmark, RandomPromptsAreReproducibleAndInTheVocabulary)
{
    const auto a = randomPrompts(3, 40, 96, 5), b = randomPrompts(3, 40, 96, 5);
    EXPECT_EQ(a, b);
    ASSERT_EQ(a.size(), 3u);
    for (const auto &row : a) {
        ASSERT_EQ(row.size(), 40u);
        for (auto id : row) {
            EXPECT_GE(id, 0);
            EXPECT_LT(id, 96);
        }
    }
    EXPECT_NE(a, randomPrompts(3, 40, 96, 6));
}

TEST(BenchReport, LinearCostPerTokenIsAttentionRouterAndTopKExperts)
{
    TempDir dir;
    const auto s = tinyShape();
    ASSERT_TRUE(writeRandomOlmoe(dir.str(), s, 1));
    const auto cost = modelCost(dir.str());
    const std::uint64_t H = s.hidden, I = s.expertWidth, E = s.experts, K = s.topK, V = s.vocab;
    const std::uint64_t perLayer = 4 * H * H + E * H + K * 3 * H * I;
    EXPECT_EQ(cost.linearPerToken, s.layers * perLayer);
    EXPECT_EQ(cost.lmHeadParameters, V * H);
    EXPECT_EQ(cost.embeddingParameters, V * H);
    EXPECT_EQ(cost.bytesPerParameter, 2);
    EXPECT_EQ(cost.weightBytes, olmoeWeightBytes(s));

    // 2 FLOPs per linear parameter per token, lm_head once per row.
    EXPECT_DOUBLE_EQ(
        prefillFlops(cost, { 2, 10 }), 2.0 * (20.0 * cost.linearPerToken + 2.0 * V * H));
    EXPECT_DOUBLE_EQ(decodeBytesPerToken(cost), 2.0 * (cost.linearPerToken + V * H));
    // At 1 GFLOP/s the bound is the token count over the seconds those FLOPs take.
    EXPECT_DOUBLE_EQ(prefillBoundTokensPerSecond(cost, { 2, 10 }, 1.0),
        20.0 * 1e9 / prefillFlops(cost, { 2, 10 }));
    EXPECT_DOUBLE_EQ(decodeBoundTokensPerSecond(cost, 10.0), 10e9 / decodeBytesPerToken(cost));
    EXPECT_EQ(prefillBoundTokensPerSecond(cost, { 1, 1 }, 0.0), 0.0);
}

TEST(BenchReport, PrefillBoundUsesTheBestMatmulPeakAndDecodeTheReadBandwidth)
{
    BenchReport report;
    report.cost.linearPerToken = 1000000;
    report.cost.lmHeadParameters = 0;
    report.cost.bytesPerParameter = 2;
    report.peaks.threads = 2;
    report.peaks.bf16Gflops = 1.0; // torch's scalar bf16 fallback
    report.peaks.fp32Gflops = 100.0;
    report.peaks.readGBps = 10.0;
    report.engine.computeDtype = "bf16";
    ScenarioResult prefill { "prefill 1x10", false, { 1, 10 }, false, 10, { 1.0, 1.0, 1 } };
    ScenarioResult decode { "decode 4 after 2", true, { 1, 2 }, false, 4, { 2.0, 2.0, 1 } };
    report.engine.scenarios = { prefill, decode };
    const auto json = nlohmann::json::parse(benchReportJson(report));
    // 2 MFLOP per token at 100 GFLOP/s (not at the 1 GFLOP/s bf16 rate).
    EXPECT_DOUBLE_EQ(json["scenarios"][0]["bound_tokens_per_second"].get<double>(), 100e9 / 2e6);
    EXPECT_DOUBLE_EQ(json["scenarios"][0]["fraction_of_bound"].get<double>(), 10.0 / (100e9 / 2e6));
    // 2 MB per token at 10 GB/s.
    EXPECT_DOUBLE_EQ(json["scenarios"][1]["bound_tokens_per_second"].get<double>(), 10e9 / 2e6);
    EXPECT_DOUBLE_EQ(json["scenarios"][1]["tokens_per_second"].get<double>(), 2.0);
    EXPECT_NE(formatBenchReport(report).find("fp32 matmul peak"), std::string::npos);
}

TEST(EngineBenchmark, RunsEveryScenarioOnATinyModelAndSpreadsRouting)
{
    TempDir dir;
    ASSERT_TRUE(writeRandomOlmoe(dir.str(), tinyShape(), 1));
    EngineBenchOptions options;
    options.prefill = { { 1, 48 }, { 2, 16 } };
    options.decodeTokens = 5;
    options.decodePrompt = 7;
    options.record = true;
    options.repeat = 2;
    options.coldLoad = true;
    const auto result = runEngineBenchmark(dir.str(), options);
    EXPECT_TRUE(result.coldLoad);
    EXPECT_TRUE(result.coldEvictionWorked);
    EXPECT_GE(result.residentBeforeLoad, 0.0);
    EXPECT_LE(result.residentBeforeLoad, 1.0);
    EXPECT_EQ(result.computeDtype, "bf16");
    EXPECT_GT(result.firstTokenSeconds, 0.0);
    EXPECT_GT(result.loadSeconds, 0.0);
    EXPECT_GE(result.firstTokenSeconds, result.loadSeconds);
    ASSERT_EQ(result.scenarios.size(), 6u); // 3 scenarios x (off, on)
    EXPECT_EQ(result.scenarios[0].name, "prefill 1x48");
    EXPECT_FALSE(result.scenarios[0].recording);
    EXPECT_TRUE(result.scenarios[1].recording);
    EXPECT_EQ(result.scenarios[2].tokens, 32);
    EXPECT_EQ(result.scenarios[4].name, "decode 5 after 7");
    EXPECT_TRUE(result.scenarios[4].decode);
    EXPECT_EQ(result.scenarios[4].tokens, 5);
    for (const auto &s : result.scenarios) {
        EXPECT_EQ(s.timing.runs, 2);
        EXPECT_GT(s.timing.best, 0.0);
        EXPECT_GE(s.timing.median, s.timing.best);
    }
    // 48 tokens x top-2 over 8 experts: a working random router uses nearly all.
    EXPECT_EQ(result.spread.numExperts, 8);
    EXPECT_GE(result.spread.expertsUsed, 7);
    EXPECT_LT(result.spread.maxOverMean, 3.0);
    EXPECT_GT(result.memory.peakRss, 0u);

    BenchReport report;
    report.cost = modelCost(dir.str());
    report.engine = result;
    report.loadAverage = currentLoadAverage();
    const auto text = formatBenchReport(report);
    EXPECT_NE(text.find("prefill 2x16"), std::string::npos);
    EXPECT_NE(text.find("recording"), std::string::npos);
    EXPECT_NE(text.find("peak RSS"), std::string::npos);
    const auto json = benchReportJson(report);
    EXPECT_NE(json.find("\"recording_overhead\""), std::string::npos);
}

TEST(EngineBenchmark, DecodeProducesTheRequestedTokensAndRecordsThem)
{
    TempDir dir;
    ASSERT_TRUE(writeRandomOlmoe(dir.str(), tinyShape(), 2));
    EngineRunner runner(dir.str(), {});
    const auto t = runner.decode(6, 4, true);
    EXPECT_EQ(t.tokens, 4);
    EXPECT_GT(t.decodeSeconds, 0.0);
    const auto routing = runner.lastRouting();
    // Every layer routed the 6 prompt tokens and the 4 decoded ones (the
    // fifth token is sampled from the last step and never routed).
    ASSERT_EQ(routing.tokens.size(), 2u);
    EXPECT_EQ(routing.tokens[0], 6u + 4u);
    std::uint64_t picks = 0;
    for (std::size_t e = 0; e < 8; ++e)
        picks += routing.counts[e];
    EXPECT_EQ(picks, (6u + 4u) * 2u);
}

TEST(MachinePeaks, ProbesMeasureWhatTheyClaim)
{
    ReadProbe read(1 << 20);
    EXPECT_EQ(read.bytes(), std::size_t(1) << 20);
    // Words are i * golden-ratio constant: the sum is known in closed form (mod 2^64).
    const std::uint64_t n = read.bytes() / 8;
    const std::uint64_t expected = (n * (n - 1) / 2) * 0x9e3779b97f4a7c15ull;
    EXPECT_EQ(read.run(), expected);
    // Several streams per thread read every word exactly once, including a
    // size that does not split into whole lines per stream.
    EXPECT_EQ(ReadProbe(1 << 20, 8).run(), expected);
    ReadProbe odd(8 * 1000 + 8 * 37, 3);
    const std::uint64_t m = odd.bytes() / 8;
    EXPECT_EQ(odd.run(), (m * (m - 1) / 2) * 0x9e3779b97f4a7c15ull);

    MatmulProbe matmul(ProbeDtype::F32, 8, 16, 32);
    EXPECT_DOUBLE_EQ(matmul.flops(), 2.0 * 8 * 16 * 32);
    EXPECT_NE(matmul.label().find("fp32"), std::string::npos);
    MatvecProbe matvec(ProbeDtype::BF16, 16, 32, 16 * 32 * 2 * 5);
    EXPECT_EQ(matvec.bytes(), std::size_t(16 * 32 * 2 * 5));

    int calls = 0;
    const double rate = bestRate([&] { ++calls; }, 1.0, 0.02, 0.005);
    EXPECT_GT(calls, 1);
    EXPECT_GT(rate, 0.0);
}

TEST(MachinePeaks, BestOfTakesEachRateFromTheBetterMeasurement)
{
    MachinePeaks before, after;
    before.cpu = after.cpu = "cpu";
    before.threads = after.threads = 2;
    before.fp32Gflops = 150.0;
    after.fp32Gflops = 120.0;
    before.readGBps = 25.0;
    after.readGBps = 33.0;
    before.bf16MatvecGBps = 1.5;
    after.bf16MatvecGBps = 1.4;
    before.details = { { "a", 1.0 }, { "b", 5.0 } };
    after.details = { { "b", 7.0 }, { "c", 2.0 } };
    const auto best = bestOf(before, after);
    EXPECT_EQ(best.fp32Gflops, 150.0);
    EXPECT_EQ(best.readGBps, 33.0);
    EXPECT_EQ(best.bf16MatvecGBps, 1.5);
    EXPECT_EQ(best.cpu, "cpu");
    ASSERT_EQ(best.details.size(), 3u);
    EXPECT_EQ(best.details[0].value, 1.0);
    EXPECT_EQ(best.details[1].value, 7.0);
    EXPECT_EQ(best.details[2].label, "c");
}

// `moescope bench` end to end, once the command is registered in moescope.
TEST(BenchCli, BadInputExitsWithOneLineAndAUsageCode)
{
    const std::string binary = MOESCOPE_BINARY;
    if (std::system((binary + " bench --help > /dev/null 2>&1").c_str()) != 0)
        GTEST_SKIP() << "moescope has no bench command yet";
    TempDir dir;
    auto run = [&](const std::string &args) {
        return WEXITSTATUS(
            std::system((binary + " bench " + args + " > /dev/null 2> " + dir.str("err")).c_str()));
    };
    EXPECT_EQ(run(""), 2);
    EXPECT_EQ(run("--olmoe 1 --prefill 3y4"), 2);
    EXPECT_EQ(run("--make-olmoe " + dir.str("m") + " --layers 0"), 2);
    EXPECT_EQ(run(dir.str("missing")), 1);
}

} // namespace

TEST(ProcessMemory, PageCacheResidencyIsMeasured)
{
    TempDir dir;
    const auto path = dir.str() + "/weights.bin";
    {
        std::ofstream out(path, std::ios::binary);
        const std::vector<char> bytes(3 * 4096 + 100, 'x'); // a partial last page
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    {
        std::ifstream in(path, std::ios::binary); // read back: every page cached
        std::vector<char> back(3 * 4096 + 100);
        in.read(back.data(), static_cast<std::streamsize>(back.size()));
    }
    EXPECT_DOUBLE_EQ(pageCacheResidentFraction({ path }), 1.0);
    EXPECT_DOUBLE_EQ(pageCacheResidentFraction({}), 1.0);
    EXPECT_EQ(pageCacheResidentFraction({ path, dir.str() + "/missing.bin" }), -1.0);
    // After an eviction the share is still a fraction (how many pages go
    // is up to the file system).
    if (evictFromPageCache({ path })) {
        const double after = pageCacheResidentFraction({ path });
        EXPECT_GE(after, 0.0);
        EXPECT_LE(after, 1.0);
    }
}
