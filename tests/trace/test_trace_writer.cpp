#include "core/common/error.h"
#include "core/trace/token_trace.h"
#include "core/trace/trace_store.h"
#include "core/trace/trace_writer.h"
#include "trace_test_support.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

using namespace moescope;
using namespace moescope::test;

namespace {

// One batch's statistics for `label`: the language of a makeTrace seed.
LanguageRouting batchFor(const std::string &label, unsigned seed)
{
    LanguageRouting b = makeTrace({ label }, seed).languages.front();
    b.documents = 3;
    return b;
}

RoutingTrace header()
{
    RoutingTrace h = makeTrace({});
    h.provenance = R"({"command":"record"})";
    return h;
}

// Two documents (3 + 2 tokens) with distinct ids, experts and weights that
// float16 holds exactly (multiples of 1/64).
TokenBatch tokenBatch(int first, int numLayers, int topK)
{
    TokenBatch b;
    b.documentLengths = { 3, 2 };
    for (int t = 0; t < 5; ++t) {
        b.tokenIds.push_back(first + t);
        for (int l = 0; l < numLayers; ++l)
            for (int k = 0; k < topK; ++k) {
                const bool dense = l == 0;
                b.topkIdx.push_back(dense ? -1 : static_cast<std::int16_t>((t + l + k) % 6));
                b.topkWeights.push_back(dense ? 0.0f : static_cast<float>(1 + t + k) / 64.0f);
            }
    }
    return b;
}

void expectSums(const LanguageRouting &got, const std::vector<LanguageRouting> &parts)
{
    ASSERT_FALSE(parts.empty());
    LanguageRouting want = parts.front();
    for (std::size_t p = 1; p < parts.size(); ++p) {
        for (std::size_t i = 0; i < want.counts.size(); ++i) {
            want.counts[i] += parts[p].counts[i];
            want.gateSum[i] += parts[p].gateSum[i];
        }
        for (std::size_t l = 0; l < want.tokens.size(); ++l)
            want.tokens[l] += parts[p].tokens[l];
        want.documents += parts[p].documents;
    }
    EXPECT_EQ(got.counts, want.counts);
    EXPECT_EQ(got.gateSum, want.gateSum);
    EXPECT_EQ(got.tokens, want.tokens);
    EXPECT_EQ(got.documents, want.documents);
}

} // namespace

TEST(TraceWriter, CommittedBatchesAreSummedAndPendingOnesAreNot)
{
    TempDir dir("writer");
    const std::string path = dir.file("rec.h5");
    const auto en1 = batchFor("en", 1), en2 = batchFor("en", 2), en3 = batchFor("en", 3);
    const auto zh1 = batchFor("zh+mask(en,0-4)", 4);
    {
        TraceWriter w(path, header());
        // Right after creation the file is already a valid, empty trace.
        EXPECT_TRUE(readTrace(path).languages.empty());
        w.add(en1);
        w.add(zh1);
        w.add(en2);
        w.commit();
        EXPECT_EQ(w.committedDocuments("en"), 6u);
        const RoutingTrace mid = readTrace(path); // read while the writer is open
        ASSERT_EQ(mid.languages.size(), 2u);
        EXPECT_EQ(mid.languages[0].label, "en");
        EXPECT_EQ(mid.languages[1].label, "zh+mask(en,0-4)");
        expectSums(mid.languages[0], { en1, en2 });
        expectSums(mid.languages[1], { zh1 });
        EXPECT_EQ(mid.provenance, R"({"command":"record"})");
        w.add(en3); // never committed: the writer goes away "mid-batch"
        expectSums(w.totals().languages[0], { en1, en2, en3 });
    }
    const RoutingTrace after = readTrace(path);
    expectSums(after.languages[0], { en1, en2 });
    EXPECT_EQ(dir.entries(), std::vector<std::string> { "rec.h5" });
}

TEST(TraceWriter, OneWriterPerFile)
{
    TempDir dir("onewriter");
    const std::string path = dir.file("rec.h5");
    TraceWriter first(path, header());
    for (auto mode : { TraceWriter::Mode::Create, TraceWriter::Mode::Resume }) {
        try {
            TraceWriter second(path, header(), mode);
            ADD_FAILURE() << "a second writer was allowed";
        } catch (const Error &e) {
            EXPECT_NE(e.reason().find("another recording"), std::string::npos) << e.reason();
        }
    }
    first.add(batchFor("en", 1));
    first.close();
    TraceWriter(path, header(), TraceWriter::Mode::Resume).close();
    expectSums(readTrace(path).languages[0], { batchFor("en", 1) });
}

TEST(TraceWriter, ResumeContinuesAndChecksTheModel)
{
    TempDir dir("resume");
    const std::string path = dir.file("rec.h5");
    const auto a = batchFor("en", 1), b = batchFor("en", 2), c = batchFor("de", 3);
    {
        TraceWriter w(path, header());
        w.add(a);
        w.close();
    }
    {
        TraceWriter w(path, header(), TraceWriter::Mode::Resume);
        EXPECT_EQ(w.committedDocuments("en"), 3u);
        EXPECT_EQ(w.committedDocuments("de"), 0u);
        w.add(b);
        w.add(c);
        w.close();
    }
    const RoutingTrace t = readTrace(path);
    ASSERT_EQ(t.languages.size(), 2u);
    expectSums(t.languages[0], { a, b });
    expectSums(t.languages[1], { c });

    RoutingTrace other = header();
    other.model.numExperts = 8;
    try {
        TraceWriter w(path, other, TraceWriter::Mode::Resume);
        FAIL() << "resumed with a different model";
    } catch (const Error &e) {
        EXPECT_NE(e.reason().find("cannot resume"), std::string::npos) << e.reason();
    }
    EXPECT_THROW(TraceWriter(dir.file("none.h5"), header(), TraceWriter::Mode::Resume), Error);
}

TEST(TraceWriter, RefusesBadBatchesAndStopsAfterAFailedCommit)
{
    TempDir dir("badbatch");
    const std::string path = dir.file("rec.h5");
    TraceWriter w(path, header());
    LanguageRouting wrongShape = batchFor("en", 1);
    wrongShape.counts.pop_back();
    EXPECT_THROW(w.add(wrongShape), Error);
    LanguageRouting slash = batchFor("a/b", 1);
    EXPECT_THROW(w.add(slash), Error);
    w.add(batchFor("en", 1));
    LanguageRouting otherScope = batchFor("en", 2);
    otherScope.tokenScope = "generated";
    EXPECT_THROW(w.add(otherScope), Error);
    w.commit();
    LanguageRouting impossible = batchFor("en", 2);
    impossible.counts[6] = 1000000; // more selections than tokens routed
    w.add(impossible);
    EXPECT_THROW(w.commit(), Error);
    EXPECT_THROW(w.add(batchFor("en", 3)), Error) << "a failed writer refuses further use";
    expectSums(readTrace(path).languages[0], { batchFor("en", 1) });
}

TEST(TraceWriter, TokenLevelTraceRoundTripsWithFloat16Weights)
{
    TempDir dir("tokens");
    const std::string path = dir.file("rec.h5");
    const RoutingTrace h = header();
    const int L = h.model.numLayers, k = h.model.topK;
    const TokenBatch b1 = tokenBatch(100, L, k), b2 = tokenBatch(200, L, k);
    {
        TraceWriter w(path, h);
        w.add(batchFor("en", 1));
        w.addTokens("en", b1);
        w.commit();
        w.addTokens("en", b2);
        w.add(batchFor("en", 2));
        w.close();
    }
    EXPECT_EQ(tokenTraceLabels(path), std::vector<std::string> { "en" });
    EXPECT_EQ(tokenTraceSize(path, "en").documents, 4u);
    const TokenTrace t = readTokenTrace(path, "en");
    ASSERT_EQ(t.numTokens(), 10u);
    EXPECT_EQ(t.docOffsets, (std::vector<std::int64_t> { 0, 3, 5, 8, 10 }));
    std::vector<std::int32_t> ids = b1.tokenIds;
    ids.insert(ids.end(), b2.tokenIds.begin(), b2.tokenIds.end());
    EXPECT_EQ(t.tokenIds, ids);
    std::vector<std::int16_t> idx = b1.topkIdx;
    idx.insert(idx.end(), b2.topkIdx.begin(), b2.topkIdx.end());
    EXPECT_EQ(t.topkIdx, idx);
    std::vector<float> w = b1.topkWeights;
    w.insert(w.end(), b2.topkWeights.begin(), b2.topkWeights.end());
    EXPECT_EQ(t.topkWeights, w);
    EXPECT_THROW(readTokenTrace(path, "de"), Error);

    // Weights are stored as float16: 0.1 comes back as the nearest binary16.
    {
        TraceWriter w2(dir.file("half.h5"), h);
        TokenBatch one = tokenBatch(0, L, k);
        one.topkWeights.assign(one.topkWeights.size(), 0.1f);
        w2.addTokens("en", one);
        w2.close();
    }
    const TokenTrace half = readTokenTrace(dir.file("half.h5"), "en");
    const float nearestHalf = 0.0999755859375f; // 1638 / 16384
    EXPECT_EQ(half.topkWeights.front(), nearestHalf);

    // Inconsistent batches are refused before anything is written.
    TraceWriter w3(dir.file("bad.h5"), h);
    TokenBatch lengths = tokenBatch(0, L, k);
    lengths.documentLengths = { 3, 3 };
    EXPECT_THROW(w3.addTokens("en", lengths), Error);
    TokenBatch expert = tokenBatch(0, L, k);
    expert.topkIdx[3] = 6;
    EXPECT_THROW(w3.addTokens("en", expert), Error);
}

TEST(TraceWriter, ResumeAppendsTokensAfterTheCommittedOnesAndCloseWritesTheFinalForm)
{
    TempDir dir("tokresume");
    const std::string path = dir.file("rec.h5");
    const RoutingTrace h = header();
    const int L = h.model.numLayers, k = h.model.topK;
    {
        TraceWriter w(path, h);
        LanguageRouting b = batchFor("en", 1);
        b.documents = 2;
        w.add(b);
        w.addTokens("en", tokenBatch(0, L, k));
        w.commit();
        // Pending, never committed: gone with the writer.
        w.addTokens("en", tokenBatch(50, L, k));
    }
    // Left without close(): the growing form, with spare rows and a journal.
    EXPECT_EQ(readTokenTrace(path, "en").numDocuments(), 2u);
    {
        TraceWriter w(path, h, TraceWriter::Mode::Resume);
        EXPECT_EQ(w.committedDocuments("en"), 2u);
        LanguageRouting b = batchFor("en", 2);
        b.documents = 2;
        w.add(b);
        w.addTokens("en", tokenBatch(10, L, k));
        w.close();
    }
    const TokenTrace t = readTokenTrace(path, "en");
    EXPECT_EQ(t.docOffsets, (std::vector<std::int64_t> { 0, 3, 5, 8, 10 }));
    EXPECT_EQ(t.tokenIds, (std::vector<std::int32_t> { 0, 1, 2, 3, 4, 10, 11, 12, 13, 14 }));
    EXPECT_EQ(readTrace(path).languages[0].documents, 4u);

    // The final form is the schema exactly: datasets sized to the data,
    // chunked and extendible, and no commit journal.
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    EXPECT_LE(H5Lexists(file, "commit_journal", H5P_DEFAULT), 0);
    for (const auto &[name, rows] : std::vector<std::pair<std::string, hsize_t>> {
             { "token_ids", 10 }, { "topk_idx", 10 }, { "topk_w", 10 }, { "doc_offsets", 5 } }) {
        const hid_t ds = H5Dopen2(file, ("tokens/en/" + name).c_str(), H5P_DEFAULT);
        ASSERT_GE(ds, 0) << name;
        const hid_t space = H5Dget_space(ds);
        hsize_t dims[3] = {}, maxDims[3] = {};
        H5Sget_simple_extent_dims(space, dims, maxDims);
        EXPECT_EQ(dims[0], rows) << name;
        EXPECT_EQ(maxDims[0], H5S_UNLIMITED) << name;
        H5Sclose(space);
        H5Dclose(ds);
    }
    H5Fclose(file);
}

namespace {

// Child process: records identical batches forever, reporting each commit
// on `report`. With pauseAfter > 0 it adds one more (uncommitted) batch after
// that many commits and waits to be killed.
[[noreturn]] void recordUntilKilled(const std::string &path, int report, int pauseAfter)
{
    try {
        const RoutingTrace h = header();
        TraceWriter w(path, h);
        for (int n = 1;; ++n) {
            w.add(batchFor("en", 1));
            w.add(batchFor("de", 2));
            w.addTokens("en", tokenBatch(n, h.model.numLayers, h.model.topK));
            w.commit();
            if (write(report, &n, sizeof n) != sizeof n)
                _exit(3);
            if (n == pauseAfter) {
                w.add(batchFor("en", 1));
                w.addTokens("en", tokenBatch(0, h.model.numLayers, h.model.topK));
                for (;;)
                    pause();
            }
        }
    } catch (...) {
        _exit(2);
    }
}

// Forks the recorder, waits for `commits` commits, kills it with SIGKILL and
// returns how many commits it had reported.
int killRecorderAfter(const std::string &path, int commits, int pauseAfter)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    const pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        recordUntilKilled(path, fds[1], pauseAfter);
    }
    close(fds[1]);
    int seen = 0, n = 0;
    while (seen < commits && read(fds[0], &n, sizeof n) == sizeof n)
        seen = n;
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    // Commits reported after we stopped reading still count.
    while (read(fds[0], &n, sizeof n) == sizeof n)
        seen = n;
    close(fds[0]);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exit " << status;
    return seen;
}

} // namespace

TEST(TraceWriter, KillNineLeavesEveryCommittedBatchAndNoPendingOne)
{
    TempDir dir("kill");
    const std::string path = dir.file("rec.h5");
    const int commits = killRecorderAfter(path, 4, 4);
    ASSERT_EQ(commits, 4);
    const RoutingTrace t = readTrace(path);
    ASSERT_EQ(t.languages.size(), 2u);
    expectSums(t.languages[0], std::vector<LanguageRouting>(4, batchFor("en", 1)));
    expectSums(t.languages[1], std::vector<LanguageRouting>(4, batchFor("de", 2)));
    const TokenTrace tokens = readTokenTrace(path, "en");
    EXPECT_EQ(tokens.numDocuments(), 8u);
    EXPECT_EQ(tokens.numTokens(), 20u);
    EXPECT_EQ(tokens.tokenIds[15], 4) << "first token of the fourth batch";
    // The killed file resumes like any other.
    TraceWriter w(path, header(), TraceWriter::Mode::Resume);
    EXPECT_EQ(w.committedDocuments("en"), 12u);
}

TEST(TraceWriter, KillNineAtAnArbitraryMomentLeavesAReadableTrace)
{
    TempDir dir("killany");
    const std::string path = dir.file("rec.h5");
    const int reported = killRecorderAfter(path, 3, 0);
    ASSERT_GE(reported, 3);
    const RoutingTrace t = readTrace(path);
    ASSERT_EQ(t.languages.size(), 2u);
    // Every reported commit is in the file, and the one in flight either
    // completely or not at all.
    const std::uint64_t batches = t.languages[0].documents / 3;
    EXPECT_GE(batches, static_cast<std::uint64_t>(reported));
    EXPECT_LE(batches, static_cast<std::uint64_t>(reported) + 1);
    const LanguageRouting one = batchFor("en", 1);
    for (int l : t.model.moeLayers)
        EXPECT_GE(t.languages[0].tokens[static_cast<std::size_t>(l)],
            reported * one.tokens[static_cast<std::size_t>(l)]);
    // Token rows are flushed before the offsets that expose them.
    const TokenTrace tokens = readTokenTrace(path, "en");
    EXPECT_GE(tokens.numDocuments(), 2u * static_cast<std::size_t>(reported));
    EXPECT_EQ(tokens.numTokens(), 5 * tokens.numDocuments() / 2);
}
