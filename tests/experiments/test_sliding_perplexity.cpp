// Perplexity of documents longer than the window, scored in sliding windows
// (Hugging Face's "Perplexity of fixed-length models" guide), on the tiny
// qwen3_moe fixture (context 256) with the byte-level tokenizer: a text of n
// ASCII bytes is n tokens. Expected values come from the model directly,
// scoring the chunks a test-side loop cuts, never from perplexityWindows.
#include "experiment_test_support.h"

#include "core/cli/command.h"
#include "core/common/error.h"
#include "core/eval/metric_table.h"
#include "core/experiments/evaluation.h"
#include "core/jobs/job_context.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace moescope::test {
namespace {

using experiments::EvalTask;
using experiments::Evaluation;
using experiments::EvaluationOptions;

struct Fixture
{
    std::string dir;
    std::unique_ptr<model::MoeModel> model;
    std::unique_ptr<Tokenizer> tokenizer;
};

const Fixture &qwenFixture()
{
    static TempFolder folder;
    static const Fixture f = [] {
        Fixture s;
        s.dir = folder.str("qwen3_moe");
        copyFixtureWithTokenizer("qwen3_moe", s.dir);
        s.model = std::make_unique<model::MoeModel>(model::MoeModel::load(s.dir));
        s.tokenizer = std::make_unique<Tokenizer>(Tokenizer::load(s.dir));
        return s;
    }();
    return f;
}

// n ASCII bytes of varied text (different seeds, different documents).
std::string asciiText(std::size_t n, std::size_t seed)
{
    const std::string words = "All human beings are born free and equal in dignity and rights. "
                              "They are endowed with reason and conscience. ";
    std::string text;
    for (std::size_t i = 0; text.size() < n; ++i)
        text += words[(i * 7 + seed * 13) % words.size()];
    return text;
}

std::vector<std::int64_t> idsOf(const std::string &text)
{
    const auto ids = qwenFixture().tokenizer->encode(text, /*addSpecial=*/true);
    return {ids.begin(), ids.end()};
}

// -log p of tokens [firstTarget, end) of the document, the model seeing only
// tokens [begin, end): one forward pass of that chunk alone.
double chunkNll(const std::vector<std::int64_t> &ids, std::size_t begin, std::size_t end, std::size_t firstTarget)
{
    const std::vector<std::int64_t> chunk(ids.begin() + static_cast<std::ptrdiff_t>(begin),
                                          ids.begin() + static_cast<std::ptrdiff_t>(end));
    const auto logProbs = qwenFixture().model->tokenLogProbs({chunk});
    double nll = 0;
    for (auto t = firstTarget; t < end; ++t)
        nll -= logProbs.at(0).at(t - begin - 1); // entry i is log p(chunk[i + 1] | chunk[..i])
    return nll;
}

// The guide's loop, for stride < window: begin_loc over range(0, n, stride),
// end_loc = min(begin_loc + max_length, n), targets the tokens after the
// previous end_loc (the first window: every token after its first).
double guideNll(const std::vector<std::int64_t> &ids, std::size_t window, std::size_t stride, std::size_t *scored)
{
    double nll = 0;
    std::size_t previousEnd = 0;
    *scored = 0;
    for (std::size_t begin = 0; begin < ids.size(); begin += stride) {
        const std::size_t end = std::min(begin + window, ids.size());
        const std::size_t firstTarget = std::max(previousEnd, begin + 1);
        nll += chunkNll(ids, begin, end, firstTarget);
        *scored += end - firstTarget;
        previousEnd = end;
        if (end == ids.size())
            break;
    }
    return nll;
}

Corpus corpusOf(const std::vector<std::string> &texts)
{
    Corpus corpus;
    corpus.spec = "sliding-window test";
    LanguageCorpus en;
    en.language = "en";
    en.source = "test";
    for (std::size_t i = 0; i < texts.size(); ++i) {
        Document d;
        d.language = "en";
        d.id = "doc" + std::to_string(i);
        d.text = texts[i];
        en.documents.push_back(d);
    }
    corpus.languages.push_back(en);
    return corpus;
}

EvaluationOptions perplexityOptions(std::size_t window, std::optional<std::size_t> stride, std::size_t batchSize = 1)
{
    EvaluationOptions o;
    o.task = EvalTask::Perplexity;
    o.prompt.tmpl = experiments::defaultEvalTemplate(EvalTask::Perplexity);
    o.prompt.applyChat = false;
    o.prompt.maxTokens = window; // 0: the model's context
    o.prompt.truncate = true;    // what --max-length sets; perplexity must not cut
    o.stride = stride;
    o.batchSize = batchSize;
    return o;
}

struct Scored
{
    std::vector<double> nll; // per document
    double tokens = 0, bytes = 0, documents = 0;
};

Scored evaluate(const Corpus &corpus, const EvaluationOptions &options)
{
    const auto &f = qwenFixture();
    const Evaluation evaluation(*f.model, *f.tokenizer, corpus, options);
    MetricTable table({"condition", "language"});
    std::vector<experiments::EvaluationOutput> outputs;
    evaluation.run(nullptr, {"baseline"}, table, JobContext {}, {}, &outputs);
    Scored s;
    for (const auto &o : outputs)
        s.nll.push_back(o.score);
    s.tokens = table.number({"baseline", "en"}, "tokens").value_or(-1);
    s.bytes = table.number({"baseline", "en"}, "bytes").value_or(-1);
    s.documents = table.number({"baseline", "en"}, "documents").value_or(-1);
    return s;
}

// Relative 1e-9: the same forwards summed in another order (double sums of
// float32 log-probabilities).
void expectSameNll(double actual, double expected, const std::string &where)
{
    EXPECT_NEAR(actual, expected, 1e-9 * std::abs(expected)) << where;
}

} // namespace

TEST(SlidingPerplexity, TheFixtureHasOneTokenPerByteAndAContextOf256)
{
    EXPECT_EQ(idsOf(asciiText(50, 1)).size(), 50u);
    EXPECT_EQ(qwenFixture().model->spec().maxPositions, 256);
}

TEST(SlidingPerplexity, ADocumentShorterThanTheWindowScoresAsBefore)
{
    const auto text = asciiText(40, 1);
    const auto ids = idsOf(text);
    const double onePass = chunkNll(ids, 0, ids.size(), 1); // what evaluation summed before windows
    for (const auto &[window, stride] : std::vector<std::pair<std::size_t, std::optional<std::size_t>>> {
             {64, std::nullopt}, {64, 1}, {0, std::nullopt}, {0, 200}}) {
        const auto where = "window " + std::to_string(window) + ", stride " + std::to_string(stride.value_or(0));
        const auto s = evaluate(corpusOf({text}), perplexityOptions(window, stride));
        ASSERT_EQ(s.nll.size(), 1u);
        EXPECT_DOUBLE_EQ(s.nll[0], onePass) << where;
        EXPECT_EQ(s.tokens, 39.0) << where;
        EXPECT_EQ(s.bytes, 39.0) << where;
    }
}

TEST(SlidingPerplexity, AWindowAsLongAsTheDocumentIsTheOnePassResult)
{
    const auto text = asciiText(30, 2);
    const auto ids = idsOf(text);
    const double onePass = chunkNll(ids, 0, ids.size(), 1);
    for (const std::size_t window : {30u, 31u, 256u}) {
        const auto s = evaluate(corpusOf({text}), perplexityOptions(window, 3));
        ASSERT_EQ(s.nll.size(), 1u);
        EXPECT_DOUBLE_EQ(s.nll[0], onePass) << window;
        EXPECT_EQ(s.tokens, 29.0) << window;
    }
    // One token shorter and the document no longer fits: a second window
    // with less context for the last token changes the result.
    const auto shorter = evaluate(corpusOf({text}), perplexityOptions(29, 3));
    EXPECT_NE(shorter.nll[0], onePass);
    EXPECT_EQ(shorter.tokens, 29.0);
}

TEST(SlidingPerplexity, AStrideOfAWholeWindowSumsIndependentChunks)
{
    // Each chunk is scored alone, as if it were a document; consecutive chunks
    // share the one token that conditions the next chunk's first prediction
    // (a chunk's first token is never a target), so nothing is left unscored.
    for (const auto &[n, window] : std::vector<std::pair<std::size_t, std::size_t>> {{50, 16}, {17, 16}, {61, 20}}) {
        const auto text = asciiText(n, 3);
        const auto ids = idsOf(text);
        double expected = 0;
        std::size_t chunks = 0;
        for (std::size_t begin = 0;; begin += window - 1) {
            const std::size_t end = std::min(begin + window, n);
            expected += chunkNll(ids, begin, end, begin + 1);
            ++chunks;
            if (end == n)
                break;
        }
        const auto where = std::to_string(n) + " tokens, window " + std::to_string(window);
        EXPECT_GE(chunks, 2u) << where;
        const auto s = evaluate(corpusOf({text}), perplexityOptions(window, window));
        expectSameNll(s.nll.at(0), expected, where);
        EXPECT_EQ(s.tokens, double(n - 1)) << where;
    }
}

TEST(SlidingPerplexity, EveryTokenAfterTheFirstIsScoredOnceAsTheGuidesLoopDoes)
{
    struct Case
    {
        std::size_t n, window;
        std::optional<std::size_t> stride;
    };
    // The last window is shorter than the others for (50, 16, 8), (50, 16, 5),
    // (40, 12, default 6) and (300, the context 256, default 128); the others
    // end on a full window. Stride 1 and window - 1 are the extremes.
    const std::vector<Case> cases {{50, 16, 8}, {50, 16, 5}, {37, 10, 3}, {23, 4, 1}, {45, 12, 11},
                                   {40, 12, std::nullopt}, {300, 0, std::nullopt}};
    for (const auto &c : cases) {
        const auto text = asciiText(c.n, c.n + c.window);
        const auto ids = idsOf(text);
        const std::size_t window = c.window ? c.window : 256; // 0: the fixture's context
        const std::size_t stride = c.stride.value_or(window / 2);
        std::size_t guideScored = 0;
        const double expected = guideNll(ids, window, stride, &guideScored);
        const auto where = std::to_string(c.n) + " tokens, window " + std::to_string(window) + ", stride "
            + std::to_string(stride);
        ASSERT_EQ(guideScored, c.n - 1) << where; // the guide's loop scores them all too for stride < window
        const auto s = evaluate(corpusOf({text}), perplexityOptions(c.window, c.stride));
        expectSameNll(s.nll.at(0), expected, where);
        EXPECT_EQ(s.tokens, double(c.n - 1)) << where;
        EXPECT_EQ(s.bytes, double(c.n - 1)) << where; // one byte per scored token, overlaps counted once
    }
}

TEST(SlidingPerplexity, BatchesMixingWindowsOfSeveralDocumentsSumPerDocument)
{
    // Windows of a long document batched with short documents and with each
    // other (padded), summed back per document in document order.
    const std::vector<std::string> texts {asciiText(70, 1), asciiText(9, 2), asciiText(33, 3), asciiText(16, 4)};
    const std::size_t window = 16, stride = 6;
    const auto s = evaluate(corpusOf(texts), perplexityOptions(window, stride, /*batchSize=*/8));
    ASSERT_EQ(s.nll.size(), texts.size());
    double tokens = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto ids = idsOf(texts[i]);
        std::size_t scored = 0;
        const double expected = ids.size() <= window ? chunkNll(ids, 0, ids.size(), 1)
                                                     : guideNll(ids, window, stride, &scored);
        // float32 forwards of padded batches against unpadded single rows
        EXPECT_NEAR(s.nll[i], expected, 1e-5 * expected) << "document " << i;
        tokens += double(ids.size() - 1);
    }
    EXPECT_EQ(s.tokens, tokens);
    EXPECT_EQ(s.documents, 4.0);
}

TEST(SlidingPerplexity, BadWindowsAndStridesAreOneLineErrors)
{
    const auto &f = qwenFixture();
    const auto corpus = corpusOf({asciiText(40, 5)});
    const auto expectError = [&](const EvaluationOptions &o, const std::string &mentions) {
        try {
            Evaluation evaluation(*f.model, *f.tokenizer, corpus, o);
            ADD_FAILURE() << "no error; expected one about " << mentions;
        } catch (const Error &e) {
            const std::string what = e.what();
            EXPECT_EQ(what.find('\n'), std::string::npos) << what;
            EXPECT_NE(what.find(mentions), std::string::npos) << what;
        }
    };
    expectError(perplexityOptions(16, 0), "--stride");
    expectError(perplexityOptions(16, 17), "--stride 17");
    expectError(perplexityOptions(0, 257), "256"); // above the model's context, the default window
    expectError(perplexityOptions(1, std::nullopt), "--max-length");
    auto consistency = perplexityOptions(16, 8);
    consistency.task = EvalTask::LanguageConsistency;
    expectError(consistency, "perplexity");
}

// The one window rule Evaluation and the GUI's grid panel share: the
// window is --max-length capped at the context (the default), the stride
// half of it unless given; the reasons name the CLI's options.
TEST(SlidingPerplexity, TheWindowRuleResolvesDefaultsAndRefusesBadValues)
{
    using experiments::resolvePerplexityWindow;
    const auto whole = resolvePerplexityWindow(0, std::nullopt, 256);
    EXPECT_EQ(whole.length, 256u);
    EXPECT_EQ(whole.stride, 128u);
    const auto capped = resolvePerplexityWindow(1000, 300, 512);
    EXPECT_EQ(capped.length, 512u);
    EXPECT_EQ(capped.stride, 300u);
    const auto explicitWindow = resolvePerplexityWindow(48, 20, 256);
    EXPECT_EQ(explicitWindow.length, 48u);
    EXPECT_EQ(explicitWindow.stride, 20u);
    const auto noContext = resolvePerplexityWindow(0, std::nullopt, 0);
    EXPECT_EQ(noContext.length, 0u); // documents scored whole
    const auto reason = [](std::size_t length, std::optional<std::size_t> stride, int context) {
        try {
            resolvePerplexityWindow(length, stride, context);
        } catch (const Error &e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(reason(1000, 300, 256).find("--stride 300 is longer than the window of 256 tokens"), std::string::npos);
    EXPECT_NE(reason(1, std::nullopt, 256).find("--max-length must be at least 2"), std::string::npos);
    EXPECT_NE(reason(16, 0, 256).find("--stride must be at least 1"), std::string::npos);
    EXPECT_NE(reason(0, 8, 0).find("--stride needs a window"), std::string::npos);
}

// The prompt limit of every job: as many tokens as fit beside the
// generation budget unless fewer are asked for.
TEST(SlidingPerplexity, ThePromptLimitLeavesRoomForGeneration)
{
    using experiments::promptTokenLimit;
    EXPECT_EQ(promptTokenLimit(0, 256, 64), 192u);
    EXPECT_EQ(promptTokenLimit(100, 256, 64), 100u);
    EXPECT_EQ(promptTokenLimit(500, 256, 0), 256u);
    EXPECT_EQ(promptTokenLimit(77, 0, 64), 77u); // no context declared
    EXPECT_THROW(promptTokenLimit(0, 256, 256), Error);
}

TEST(SlidingPerplexity, CommandLineStrideAndWindow)
{
    const auto &f = qwenFixture();
    TempFolder tmp;
    const auto texts = std::vector<std::string> {asciiText(300, 7), asciiText(90, 8)};
    writeTextFile(tmp.path() / "en.txt", texts[0] + "\n" + texts[1] + "\n");
    const auto spec = "text:" + tmp.str("en.txt") + "?lang=en";
    cli::Command evaluateCommand;
    for (auto &c : cli::experimentCommands())
        if (c.name == "evaluate")
            evaluateCommand = c;
    // stderr captured into a file: the error must be one line.
    const auto run = [&](const std::vector<std::string> &extra, std::string *err) {
        std::vector<std::string> args {"--model", f.dir, "--eval", spec, "--out", tmp.str("r.json"), "--quiet"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::fflush(stderr);
        const int saved = ::dup(STDERR_FILENO);
        FILE *capture = std::tmpfile();
        ::dup2(::fileno(capture), STDERR_FILENO);
        const int code = cli::runCommand(evaluateCommand, args);
        std::fflush(stderr);
        ::dup2(saved, STDERR_FILENO);
        ::close(saved);
        std::rewind(capture);
        char buffer[4096];
        err->clear();
        while (std::fgets(buffer, sizeof buffer, capture))
            *err += buffer;
        std::fclose(capture);
        return code;
    };
    std::string err;
    // The 300-token document is longer than the 256 positions: scored in
    // windows of 256 advancing by 128 instead of refused.
    ASSERT_EQ(run({}, &err), 0) << err;
    auto results = nlohmann::json::parse(readTextFile(tmp.path() / "r.json"));
    EXPECT_EQ(results["run"]["perplexity_window"], 256);
    EXPECT_EQ(results["run"]["perplexity_stride"], 128);
    ASSERT_EQ(results["rows"].size(), 1u);
    EXPECT_EQ(results["rows"][0]["tokens"], 299 + 89);
    EXPECT_EQ(results["rows"][0]["bytes"], 299 + 89);

    ASSERT_EQ(run({"--max-length", "32", "--stride", "12"}, &err), 0) << err;
    results = nlohmann::json::parse(readTextFile(tmp.path() / "r.json"));
    EXPECT_EQ(results["run"]["perplexity_window"], 32);
    EXPECT_EQ(results["run"]["perplexity_stride"], 12);
    EXPECT_EQ(results["rows"][0]["tokens"], 299 + 89); // --max-length no longer cuts perplexity documents
    std::size_t scored = 0;
    const double expected = guideNll(idsOf(texts[0]), 32, 12, &scored) + guideNll(idsOf(texts[1]), 32, 12, &scored);
    EXPECT_NEAR(results["rows"][0]["nll_per_token"].get<double>(), expected / (299 + 89), 1e-5 * expected / (299 + 89));

    for (const auto &bad : std::vector<std::vector<std::string>> {
             {"--stride", "0"}, {"--max-length", "32", "--stride", "33"}, {"--stride", "-4"},
             {"--task", "consistency", "--stride", "4"}}) {
        EXPECT_NE(run(bad, &err), 0) << bad.back();
        EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
        EXPECT_NE(err.find("stride"), std::string::npos) << err;
    }
}

} // namespace moescope::test
