// Recording in-process: what a trace holds, resuming after cancellation,
// shards, token-level traces, token scopes, refusals.
#include "experiment_test_support.h"

#include "core/common/error.h"
#include "core/corpus/corpus_shard.h"
#include "core/corpus/corpus_spec.h"
#include "core/experiments/routing_recording.h"
#include "core/jobs/job_context.h"
#include "core/model/moe_model.h"
#include "core/model/tokenizer/tokenizer.h"
#include "core/trace/token_trace.h"
#include "core/trace/trace_merge.h"
#include "core/trace/trace_store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <memory>
#include <set>

namespace moescope::test {
namespace {

using experiments::OutputMode;
using experiments::RecordingSettings;
using experiments::TokenScope;

const std::string kSpec = "udhr:en,zh?articles=1-5";

RecordingSettings settingsFor(const std::string &spec, std::size_t batchSize = 2)
{
    RecordingSettings s;
    s.corpusSpec = parseCorpusSpec(spec).toString();
    s.batchSize = batchSize;
    s.command = "test";
    return s;
}

RoutingTrace record(const std::string &path, const RecordingSettings &s, OutputMode mode = OutputMode::Overwrite,
                    const Corpus *corpus = nullptr)
{
    auto &m = scriptModel();
    const auto loaded = corpus ? *corpus : loadCorpus(s.corpusSpec);
    experiments::recordRouting(*m.model, *m.tokenizer, loaded, s, path, mode, JobContext {});
    return readTrace(path);
}

void expectIdenticalRouting(const RoutingTrace &a, const RoutingTrace &b)
{
    ASSERT_EQ(a.languages.size(), b.languages.size());
    for (std::size_t i = 0; i < a.languages.size(); ++i) {
        const auto &x = a.languages[i], &y = b.languages[i];
        EXPECT_EQ(x.label, y.label);
        EXPECT_EQ(x.documents, y.documents) << x.label;
        EXPECT_EQ(x.tokens, y.tokens) << x.label;
        EXPECT_EQ(x.counts, y.counts) << x.label;
        EXPECT_EQ(x.gateSum, y.gateSum) << x.label; // bit for bit: the same batches
    }
}

TEST(Recording, TraceHoldsTheModelTheSettingsAndEveryToken)
{
    TempFolder tmp;
    const auto path = tmp.str("t.h5");
    const auto trace = record(path, settingsFor(kSpec));
    EXPECT_EQ(trace.model.modelId, "script-model"); // no _name_or_path: the folder's name
    EXPECT_EQ(trace.model.modelType, "mixtral");
    EXPECT_EQ(trace.model.numLayers, 3);
    EXPECT_EQ(trace.model.numExperts, 8);
    EXPECT_EQ(trace.model.topK, 2);
    EXPECT_EQ(trace.model.moeLayers, (std::vector<int>{0, 1, 2}));
    const auto provenance = nlohmann::json::parse(trace.provenance);
    EXPECT_EQ(provenance["source"], "record");
    EXPECT_EQ(provenance["settings"]["corpus"], parseCorpusSpec(kSpec).toString());
    EXPECT_EQ(provenance["settings"]["batch_size"], 2);
    EXPECT_EQ(provenance["settings"]["scope"], "prompt");

    // One token per UTF-8 byte with this tokenizer, so the token totals are
    // the corpus's byte counts.
    const auto corpus = loadCorpus(kSpec);
    ASSERT_EQ(trace.languages.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto &lang = trace.languages[i];
        const auto &docs = corpus.languages[i];
        EXPECT_EQ(lang.label, docs.language);
        EXPECT_EQ(lang.documents, docs.documents.size());
        EXPECT_EQ(lang.tokenScope, "prompt");
        EXPECT_EQ(lang.templateName, "");
        std::uint64_t bytes = 0;
        for (const auto &d : docs.documents)
            bytes += d.text.size();
        for (int l = 0; l < 3; ++l) {
            EXPECT_EQ(lang.tokens[static_cast<std::size_t>(l)], bytes) << lang.label << " layer " << l;
            std::uint64_t selections = 0;
            for (int e = 0; e < 8; ++e)
                selections += lang.count(l, e, 8);
            EXPECT_EQ(selections, 2 * bytes); // top-2
        }
    }
    // The model routes by script: ASCII to experts 0/1, the rest to 2/3.
    const auto &en = trace.languages[0], &zh = trace.languages[1];
    for (int l = 0; l < 3; ++l) {
        const double enTokens = static_cast<double>(en.tokens[static_cast<std::size_t>(l)]);
        const double zhTokens = static_cast<double>(zh.tokens[static_cast<std::size_t>(l)]);
        EXPECT_GT(en.count(l, 0, 8) / enTokens, 0.95);
        EXPECT_GT(zh.count(l, 2, 8) / zhTokens, 0.9);
        EXPECT_LT(zh.count(l, 0, 8) / zhTokens, 0.1);
    }
}

TEST(Recording, ResumingACancelledRecordingGivesTheUninterruptedCounts)
{
    TempFolder tmp;
    auto &m = scriptModel();
    const auto settings = settingsFor(kSpec);
    const auto full = record(tmp.str("full.h5"), settings);

    const auto path = tmp.str("resumed.h5");
    const auto corpus = loadCorpus(settings.corpusSpec);
    JobContext job;
    int commits = 0;
    EXPECT_THROW(experiments::recordRouting(*m.model, *m.tokenizer, corpus, settings, path, OutputMode::CreateNew, job,
                                            [&](const std::string &, std::size_t, std::size_t) {
                                                if (++commits == 4)
                                                    job.requestCancel();
                                            }),
                 Cancelled);
    const auto partial = readTrace(path); // valid after the cancellation
    ASSERT_EQ(partial.languages.size(), 2u);
    const auto partialDocs = partial.languages[0].documents + partial.languages[1].documents;
    EXPECT_GT(partialDocs, 0u);
    EXPECT_LT(partialDocs, full.languages[0].documents + full.languages[1].documents);

    const auto report = experiments::recordRouting(*m.model, *m.tokenizer, corpus, settings, path, OutputMode::Resume,
                                                   JobContext {});
    EXPECT_EQ(report.documentsSkipped, partialDocs);
    expectIdenticalRouting(readTrace(path), full);

    // A finished recording resumes to itself.
    const auto again = experiments::recordRouting(*m.model, *m.tokenizer, corpus, settings, path, OutputMode::Resume,
                                                  JobContext {});
    EXPECT_EQ(again.documentsRecorded, 0u);
    expectIdenticalRouting(readTrace(path), full);
}

TEST(Recording, RefusesToResumeWithOtherSettingsOrToReplaceWithoutBeingAsked)
{
    TempFolder tmp;
    auto &m = scriptModel();
    const auto path = tmp.str("t.h5");
    const auto settings = settingsFor(kSpec);
    record(path, settings);
    const auto before = readTextFile(path);
    const auto corpus = loadCorpus(settings.corpusSpec);
    try {
        experiments::recordRouting(*m.model, *m.tokenizer, corpus, settingsFor(kSpec, 3), path, OutputMode::Resume,
                                   JobContext {});
        ADD_FAILURE() << "resumed with another batch size";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("batch_size"), std::string::npos) << e.what();
    }
    try {
        experiments::recordRouting(*m.model, *m.tokenizer, corpus, settings, path, OutputMode::CreateNew, JobContext {});
        ADD_FAILURE() << "replaced an existing trace";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
    }
    EXPECT_EQ(readTextFile(path), before); // untouched
}

TEST(Recording, ShardsMergeToTheFullRun)
{
    TempFolder tmp;
    const auto settings = settingsFor(kSpec);
    const auto full = record(tmp.str("full.h5"), settings);
    const auto corpus = loadCorpus(settings.corpusSpec);
    std::vector<RoutingTrace> shards;
    for (int i = 1; i <= 3; ++i) {
        auto s = settings;
        s.shard = parseShard(std::to_string(i) + "/3");
        const auto part = shardCorpus(corpus, *s.shard);
        shards.push_back(record(tmp.str("shard" + std::to_string(i) + ".h5"), s, OutputMode::CreateNew, &part));
        EXPECT_EQ(shards.back().languages.size(), 2u);
    }
    const auto merged = mergeTraces(shards, {"1", "2", "3"});
    ASSERT_EQ(merged.languages.size(), full.languages.size());
    for (std::size_t i = 0; i < full.languages.size(); ++i) {
        const auto &a = merged.languages[i], &b = full.languages[i];
        EXPECT_EQ(a.label, b.label);
        EXPECT_EQ(a.documents, b.documents);
        EXPECT_EQ(a.tokens, b.tokens);
        EXPECT_EQ(a.counts, b.counts);
        // Other batches pad differently, which moves the float32 routing
        // weights by an ulp or so (the counts, being integers, stay exact).
        for (std::size_t c = 0; c < a.gateSum.size(); ++c)
            EXPECT_NEAR(a.gateSum[c], b.gateSum[c], 1e-6 * std::max(1.0, b.gateSum[c]));
    }
}

TEST(Recording, TokenRecordsAgreeWithTheCounts)
{
    TempFolder tmp;
    auto settings = settingsFor(kSpec, 3);
    settings.tokenRecords = true;
    const auto path = tmp.str("t.h5");
    const auto trace = record(path, settings);
    const auto corpus = loadCorpus(kSpec);
    for (const auto &lang : trace.languages) {
        const auto tokens = readTokenTrace(path, lang.label);
        EXPECT_EQ(tokens.numDocuments(), lang.documents);
        EXPECT_EQ(tokens.numTokens(), lang.tokens[0]);
        std::vector<std::uint64_t> counts(lang.counts.size(), 0);
        std::vector<double> gates(lang.counts.size(), 0.0);
        for (std::size_t n = 0; n < tokens.numTokens(); ++n)
            for (int l = 0; l < 3; ++l)
                for (int j = 0; j < 2; ++j) {
                    const auto at = (n * 3 + static_cast<std::size_t>(l)) * 2 + static_cast<std::size_t>(j);
                    const auto cell = static_cast<std::size_t>(l * 8 + tokens.topkIdx[at]);
                    ++counts[cell];
                    gates[cell] += tokens.topkWeights[at];
                }
        EXPECT_EQ(counts, lang.counts) << lang.label;
        for (std::size_t c = 0; c < gates.size(); ++c)
            EXPECT_NEAR(gates[c], lang.gateSum[c], 2e-3 * std::max(1.0, lang.gateSum[c])); // float16 weights
        // Documents are stored in batch order (sorted by length); their bytes
        // are the corpus's documents.
        std::multiset<std::string> expected, stored;
        for (const auto &d : corpus.find(lang.label)->documents)
            expected.insert(d.text);
        for (std::size_t d = 0; d < tokens.numDocuments(); ++d) {
            std::string text;
            for (auto n = tokens.docOffsets[d]; n < tokens.docOffsets[d + 1]; ++n)
                text += static_cast<char>(tokens.tokenIds[static_cast<std::size_t>(n)]);
            stored.insert(text);
        }
        EXPECT_EQ(stored, expected) << lang.label;
    }
}

TEST(Recording, ScopesCountPromptGeneratedOrAllTokens)
{
    TempFolder tmp;
    const std::string spec = "udhr:en,zh?articles=1-2";
    const auto prompt = record(tmp.str("prompt.h5"), settingsFor(spec));
    auto generated = settingsFor(spec);
    generated.scope = TokenScope::Generated;
    generated.maxNewTokens = 5;
    generated.tokenRecords = true;
    const auto gen = record(tmp.str("generated.h5"), generated);
    auto all = generated;
    all.scope = TokenScope::All;
    all.tokenRecords = false;
    const auto both = record(tmp.str("all.h5"), all);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto docs = prompt.languages[i].documents;
        // The model never predicts its eos, so every document gets 5 tokens.
        EXPECT_EQ(gen.languages[i].tokens[1], 5 * docs);
        EXPECT_EQ(gen.languages[i].tokenScope, "generated");
        EXPECT_EQ(both.languages[i].tokens[1], prompt.languages[i].tokens[1] + 5 * docs);
        for (std::size_t c = 0; c < prompt.languages[i].counts.size(); ++c)
            EXPECT_EQ(both.languages[i].counts[c], prompt.languages[i].counts[c] + gen.languages[i].counts[c]);
        const auto tokens = readTokenTrace(tmp.str("generated.h5"), prompt.languages[i].label);
        EXPECT_EQ(tokens.numDocuments(), docs);
        EXPECT_EQ(tokens.numTokens(), 5 * docs);
    }
    // English prompts continue in ASCII (experts 0/1 predict ASCII bytes), so
    // the generated tokens of English route to expert 0 as its prompt does.
    EXPECT_EQ(gen.languages[0].count(1, 0, 8), gen.languages[0].tokens[1]);
}

} // namespace
} // namespace moescope::test
