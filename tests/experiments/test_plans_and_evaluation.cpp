// Plans from traces, evaluation tasks, and the ablation / steering grids,
// in-process on the script-routed model (experiment_test_support.h): its
// English tokens use experts 0/1 and its Chinese tokens 2/3, so masking
// English's exclusive experts must hurt English and leave Chinese alone.
#include "experiment_test_support.h"

#include "core/common/error.h"
#include "core/corpus/corpus_spec.h"
#include "core/eval/metric_table.h"
#include "core/experiments/evaluation.h"
#include "core/experiments/intervention_grid.h"
#include "core/experiments/model_identity.h"
#include "core/experiments/plan_building.h"
#include "core/experiments/routing_recording.h"
#include "core/jobs/job_context.h"
#include "core/routing/plan_hook.h"
#include "core/trace/trace_store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace moescope::test {
namespace {

using experiments::EvalTask;
using experiments::Evaluation;
using experiments::EvaluationOptions;

// en and zh routed through the script model, recorded once.
const RoutingTrace &scriptTrace()
{
    static TempFolder tmp;
    static const RoutingTrace trace = [] {
        const auto &m = scriptModel();
        experiments::RecordingSettings s;
        s.corpusSpec = parseCorpusSpec("udhr:en,zh?articles=1-6").toString();
        s.batchSize = 4;
        experiments::recordRouting(*m.model, *m.tokenizer, loadCorpus(s.corpusSpec), s, tmp.str("t.h5"),
                                   experiments::OutputMode::CreateNew, JobContext {});
        return readTrace(tmp.str("t.h5"));
    }();
    return trace;
}

EvaluationOptions optionsFor(EvalTask task)
{
    EvaluationOptions o;
    o.task = task;
    o.prompt.tmpl = experiments::defaultEvalTemplate(task);
    o.prompt.applyChat = false; // the script model has no chat template
    o.batchSize = 4;
    o.maxNewTokens = 8;
    return o;
}

double cell(const MetricTable &t, const std::vector<std::string> &key, const std::string &column)
{
    const auto v = t.number(key, column);
    EXPECT_TRUE(v.has_value()) << column;
    return v.value_or(std::nan(""));
}

TEST(Plans, MaskExclusiveFindsEachScriptsExperts)
{
    const auto &trace = scriptTrace();
    const auto en = experiments::maskExclusivePlan(trace, "en", 2, 0.4, 0, 2);
    ASSERT_EQ(en.mask.size(), 3u); // one entry per layer
    for (int l = 0; l < 3; ++l) {
        EXPECT_EQ(en.mask[static_cast<std::size_t>(l)].layers.first, l);
        EXPECT_EQ(en.mask[static_cast<std::size_t>(l)].layers.last, l);
        EXPECT_EQ(en.mask[static_cast<std::size_t>(l)].experts, (std::vector<int>{0, 1}));
    }
    const auto zh = experiments::maskExclusivePlan(trace, "zh", 2, 0.4, 1, 2);
    ASSERT_EQ(zh.mask.size(), 2u);
    EXPECT_EQ(zh.mask[0].layers.first, 1);
    EXPECT_EQ(zh.mask[0].experts, (std::vector<int>{2, 3}));
    EXPECT_EQ(experiments::planExpertCount(zh), 4u);
    EXPECT_THROW(experiments::maskExclusivePlan(trace, "de", 2, 0.4, 0, 2), Error); // not in the trace
    EXPECT_THROW(experiments::maskExclusivePlan(trace, "en", 9, 0.4, 0, 2), Error); // k > experts
    EXPECT_THROW(experiments::maskExclusivePlan(trace, "en", 2, 0.4, 0, 3), Error); // layer 3 does not exist
}

TEST(Plans, SteeringScalesAreLambdaTimesTheFirstLanguagesShare)
{
    RoutingTrace trace;
    trace.model = {"synthetic", "mixtral", 2, 4, 2, {0, 1}};
    auto language = [](const std::string &label, std::vector<std::uint64_t> perLayer) {
        LanguageRouting r;
        r.label = label;
        for (int l = 0; l < 2; ++l)
            for (const auto c : perLayer) {
                r.counts.push_back(c);
                r.gateSum.push_back(0.5 * static_cast<double>(c));
            }
        r.tokens = {100, 100};
        return r;
    };
    // top-3 of a: 0, 1, 3; of b: 2, 3, 1. Shared: 1 (a's share 0.55) and 3 (0.45).
    trace.languages = {language("a", {60, 55, 40, 45}), language("b", {40, 45, 60, 55})};
    const auto plan = experiments::steeringPlan(trace, "a", "b", 0.02, 3, 0.7, 0, 1);
    ASSERT_EQ(plan.steer.size(), 2u);
    for (int l = 0; l < 2; ++l) {
        const auto &entry = plan.steer[static_cast<std::size_t>(l)];
        EXPECT_EQ(entry.layers.first, l);
        EXPECT_TRUE(entry.perExpertScales);
        ASSERT_EQ(entry.experts, (std::vector<int>{1, 3}));
        EXPECT_NEAR(entry.scales[0], 0.02 * 0.55, 1e-12);
        EXPECT_NEAR(entry.scales[1], 0.02 * 0.45, 1e-12);
    }
    // The round trip through PLAN.json keeps per-expert scales.
    const auto reread = routing::parsePlan(routing::planToJson(plan), "plan");
    EXPECT_EQ(reread.steer[1].scales, plan.steer[1].scales);
}

TEST(Plans, ATraceOfAnotherModelIsRefused)
{
    const auto &m = scriptModel();
    const auto loaded = experiments::summariseModel(*m.model);
    auto other = loaded;
    EXPECT_EQ(experiments::requireTraceFitsModel(other, loaded, "t.h5"), "");
    other.modelId = "copy";
    EXPECT_NE(experiments::requireTraceFitsModel(other, loaded, "t.h5"), ""); // a warning only
    other.numExperts = 16;
    EXPECT_THROW(experiments::requireTraceFitsModel(other, loaded, "t.h5"), Error);
    other = loaded;
    other.modelType = "qwen3_moe";
    EXPECT_THROW(experiments::requireTraceFitsModel(other, loaded, "t.h5"), Error);
}

TEST(Evaluation, MaskingEnglishsExclusiveExpertsHurtsEnglishNotChinese)
{
    const auto &m = scriptModel();
    const auto &trace = scriptTrace();
    const auto corpus = loadCorpus("udhr:en,zh?articles=7-9"); // held out from the trace
    const Evaluation evaluation(*m.model, *m.tokenizer, corpus, optionsFor(EvalTask::Perplexity));
    EXPECT_EQ(evaluation.primaryMetric(), "bits_per_byte");
    MetricTable table({"condition", "language"});
    evaluation.run(nullptr, {"baseline"}, table, JobContext {});
    routing::PlanHook maskEn(experiments::maskExclusivePlan(trace, "en", 2, 0.4, 0, 2));
    evaluation.run(&maskEn, {"mask-en"}, table, JobContext {});
    routing::PlanHook maskZh(experiments::maskExclusivePlan(trace, "zh", 2, 0.4, 0, 2));
    evaluation.run(&maskZh, {"mask-zh"}, table, JobContext {});

    const double enBase = cell(table, {"baseline", "en"}, "bits_per_byte");
    const double zhBase = cell(table, {"baseline", "zh"}, "bits_per_byte");
    const double enRise = cell(table, {"mask-en", "en"}, "bits_per_byte") - enBase;
    const double zhUnderEnMask = cell(table, {"mask-en", "zh"}, "bits_per_byte") - zhBase;
    const double zhRise = cell(table, {"mask-zh", "zh"}, "bits_per_byte") - zhBase;
    const double enUnderZhMask = cell(table, {"mask-zh", "en"}, "bits_per_byte") - enBase;
    // English text becomes far less likely, Chinese hardly moves (its few
    // ASCII commas and newlines are the only tokens that used experts 0/1).
    EXPECT_GT(enRise, 2.0);
    EXPECT_LT(std::abs(zhUnderEnMask), 0.05 * enRise);
    EXPECT_GT(zhRise, 1.0);
    EXPECT_LT(std::abs(enUnderZhMask), 0.05 * zhRise);
    // Perplexity agrees with bits per byte in direction.
    EXPECT_GT(cell(table, {"mask-en", "en"}, "perplexity"), cell(table, {"baseline", "en"}, "perplexity"));
    EXPECT_EQ(cell(table, {"baseline", "en"}, "documents"), 3.0);
}

TEST(Evaluation, AblationGridRunsEveryCellWithDeltasAgainstTheBaseline)
{
    const auto &m = scriptModel();
    Evaluation evaluation(*m.model, *m.tokenizer, loadCorpus("udhr:en,zh,de?articles=7-8"),
                          optionsFor(EvalTask::Perplexity));
    EXPECT_THROW(evaluation.keepLabels({"fr"}), Error);
    evaluation.keepLabels({"en", "zh"});
    experiments::AblationSettings settings;
    settings.languages = {"en", "zh"};
    settings.blocks = {{0, 2}, {1, 2}};
    settings.k = 2;
    const auto cells = experiments::ablationCells(scriptTrace(), settings);
    ASSERT_EQ(cells.size(), 5u); // baseline + 2 blocks x 2 languages
    JobContext job;
    std::size_t reports = 0, lastDone = 0, total = 0;
    job.setProgressCallback([&](const ProgressUpdate &u) {
        ++reports;
        EXPECT_GE(u.done, lastDone);
        lastDone = u.done;
        total = u.total;
    });
    const auto table = experiments::runGrid(evaluation, {"block", "masked"}, cells, job);
    EXPECT_EQ(table.rowCount(), 10u);
    EXPECT_GT(reports, 5u);
    EXPECT_EQ(lastDone, total);
    EXPECT_EQ(cell(table, {"none", "none", "en"}, "bits_per_byte_delta"), 0.0);
    EXPECT_EQ(cell(table, {"none", "none", "en"}, "experts"), 0.0);
    EXPECT_EQ(cell(table, {"1-2", "en", "en"}, "experts"), 4.0); // 2 experts x 2 layers
    EXPECT_EQ(cell(table, {"0-2", "en", "en"}, "experts"), 6.0);
    const double allLayers = cell(table, {"0-2", "en", "en"}, "bits_per_byte_delta");
    const double laterLayers = cell(table, {"1-2", "en", "en"}, "bits_per_byte_delta");
    // Layer 0 still pushes English towards ASCII when only 1-2 are masked.
    EXPECT_GT(allLayers, 2.0);
    EXPECT_GT(laterLayers, 0.0);
    EXPECT_LT(laterLayers, allLayers);
    EXPECT_GT(cell(table, {"0-2", "zh", "zh"}, "bits_per_byte_delta"), 1.0);
    EXPECT_LT(std::abs(cell(table, {"0-2", "en", "zh"}, "bits_per_byte_delta")), 0.05 * allLayers);

    TempFolder tmp;
    experiments::writeResults(table, R"({"model": "script"})", tmp.str("r.csv"), tmp.str("r.json"));
    const auto json = nlohmann::json::parse(readTextFile(tmp.path() / "r.json"));
    EXPECT_EQ(json["format"], "moescope-metrics");
    EXPECT_EQ(json["run"]["model"], "script");
    EXPECT_EQ(json["rows"].size(), 10u);
    EXPECT_EQ(readTextFile(tmp.path() / "r.csv").substr(0, 23), "block,masked,language,d");
}

TEST(Evaluation, MultipleChoiceFollowsTheAnswersLikelihoodAndFlipsUnderTheMask)
{
    const auto &m = scriptModel();
    TempFolder tmp;
    // The correct answers are short ASCII words, the wrong ones Chinese: the
    // model expects ASCII after an ASCII prompt, until English's experts go.
    std::string lines;
    const char *wrong[] = {"是的", "不是", "也许"};
    for (int i = 0; i < 4; ++i) {
        nlohmann::json record = {{"flores_passage", "The cat sat on the mat."}, {"question", "Did it sit?"},
                                 {"correct_answer_num", std::to_string(i + 1)}};
        int w = 0;
        for (int c = 0; c < 4; ++c)
            record["mc_answer" + std::to_string(c + 1)] = c == i ? std::string("yes") : std::string(wrong[w++]);
        lines += record.dump() + "\n";
    }
    writeTextFile(tmp.path() / "eng_Latn.jsonl", lines);
    const auto corpus = loadCorpus("belebele:" + tmp.str() + "?langs=eng_Latn");
    const Evaluation evaluation(*m.model, *m.tokenizer, corpus, optionsFor(EvalTask::MultipleChoice));
    MetricTable table({"condition", "language"});
    std::vector<experiments::EvaluationOutput> outputs;
    evaluation.run(nullptr, {"baseline"}, table, JobContext {}, {}, &outputs);
    EXPECT_EQ(cell(table, {"baseline", "en"}, "accuracy"), 1.0);
    ASSERT_EQ(outputs.size(), 4u);
    EXPECT_EQ(outputs[2].output, "yes");
    routing::PlanHook maskEn(experiments::maskExclusivePlan(scriptTrace(), "en", 2, 0.4, 0, 2));
    evaluation.run(&maskEn, {"mask-en"}, table, JobContext {});
    EXPECT_EQ(cell(table, {"mask-en", "en"}, "accuracy"), 0.0);
}

TEST(Evaluation, GenerationTasksScoreEveryPrompt)
{
    const auto &m = scriptModel();
    TempFolder tmp;
    writeTextFile(tmp.path() / "mgsm_en.tsv", "What is 2+3?\t5\nWhat is 10-4?\t6\n");
    writeTextFile(tmp.path() / "mgsm_zh.tsv", "二加三是多少?\t5\n");
    const auto corpus = loadCorpus("mgsm:" + tmp.str());
    // math is a chat template; this model has none.
    auto chat = optionsFor(EvalTask::Math);
    chat.prompt.applyChat = true;
    EXPECT_THROW(Evaluation(*m.model, *m.tokenizer, corpus, chat), Error);

    const Evaluation math(*m.model, *m.tokenizer, corpus, optionsFor(EvalTask::Math));
    MetricTable table({"condition", "language"});
    std::vector<experiments::EvaluationOutput> outputs;
    math.run(nullptr, {"baseline"}, table, JobContext {}, {}, &outputs);
    ASSERT_EQ(outputs.size(), 3u);
    for (const auto &o : outputs) {
        if (o.label == "en") { // English continues in ASCII: 8 byte tokens, 8 characters (no eos)
            EXPECT_EQ(o.output.size(), 8u) << o.output;
        }
    }
    EXPECT_EQ(cell(table, {"baseline", "en"}, "items"), 2.0);
    EXPECT_EQ(cell(table, {"baseline", "zh"}, "items"), 1.0);
    EXPECT_TRUE(table.number({"baseline", "en"}, "language_consistency").has_value());

    // Perplexity on a corpus of questions works too; consistency counts texts.
    const Evaluation consistency(*m.model, *m.tokenizer, corpus, optionsFor(EvalTask::LanguageConsistency));
    MetricTable t2({"condition", "language"});
    consistency.run(nullptr, {"baseline"}, t2, JobContext {});
    EXPECT_EQ(cell(t2, {"baseline", "en"}, "texts"), 2.0);

    // qa needs reference answers: UDHR has none.
    EXPECT_THROW(Evaluation(*m.model, *m.tokenizer, loadCorpus("udhr:en?articles=1"),
                            optionsFor(EvalTask::QuestionAnswering)),
                 Error);
}

} // namespace
} // namespace moescope::test
