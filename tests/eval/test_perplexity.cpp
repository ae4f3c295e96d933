#include "core/common/error.h"
#include "core/eval/metric_table.h"
#include "core/eval/perplexity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace moescope;

TEST(Perplexity, FromSummedNll)
{
    // Ten tokens each of probability 1/4: NLL = 10 ln 4, perplexity 4.
    EXPECT_NEAR(perplexityFromNll(10 * std::log(4.0), 10), 4.0, 1e-12);
    // A perfectly predicted text.
    EXPECT_DOUBLE_EQ(perplexityFromNll(0.0, 5), 1.0);
    EXPECT_THROW(perplexityFromNll(1.0, 0), Error);
    EXPECT_THROW(perplexityFromNll(-0.5, 3), Error);
    EXPECT_THROW(perplexityFromNll(std::nan(""), 3), Error);
}

TEST(Perplexity, BitsPerByte)
{
    // 8 ln 2 nats = 8 bits over 4 bytes.
    EXPECT_NEAR(bitsPerByte(8 * std::log(2.0), 4), 2.0, 1e-12);
    EXPECT_THROW(bitsPerByte(1.0, 0), Error);
}

TEST(PerplexityByLabel, SumsBeforeDividing)
{
    PerplexityByLabel perplexity;
    perplexity.add("bn", 2.0, 1, 6); // one hard token
    perplexity.add("bn", 0.0, 3, 10); // three certain tokens
    perplexity.add("en", 4.0, 4, 0); // no byte count given
    perplexity.add("en", 0.0, 0, 0); // empty document: counted, changes nothing

    const PerplexityRow *bn = perplexity.find("bn");
    ASSERT_NE(bn, nullptr);
    EXPECT_EQ(bn->documents, 2u);
    EXPECT_EQ(bn->tokens, 4u);
    EXPECT_EQ(bn->bytes, 16u);
    // exp(2 / 4), not the mean of the documents' perplexities (e^2 + 1) / 2.
    EXPECT_DOUBLE_EQ(bn->perplexity(), std::exp(0.5));
    EXPECT_DOUBLE_EQ(bn->nllPerToken(), 0.5);
    EXPECT_DOUBLE_EQ(bn->bitsPerByte(), 2.0 / std::log(2.0) / 16.0);

    EXPECT_THROW(perplexity.add("en", 1.0, 0, 3), Error);
    EXPECT_THROW(perplexity.add("en", -1.0, 2, 3), Error);
    EXPECT_EQ(perplexity.find("en")->documents, 2u);

    MetricTable table({ "condition", "language" });
    perplexity.appendTo(table, { "baseline" });
    EXPECT_DOUBLE_EQ(*table.number({ "baseline", "bn" }, "perplexity"), std::exp(0.5));
    EXPECT_DOUBLE_EQ(*table.number({ "baseline", "en" }, "perplexity"), std::exp(1.0));
    EXPECT_FALSE(table.get({ "baseline", "en" }, "bits_per_byte").has_value());
    EXPECT_EQ(table.columns(),
        (std::vector<std::string> {
            "documents", "tokens", "bytes", "nll_per_token", "perplexity", "bits_per_byte" }));
}

TEST(PerplexityByLabel, ZeroProbabilityTokenGivesInfinitePerplexity)
{
    PerplexityByLabel perplexity;
    perplexity.add("de", std::numeric_limits<double>::infinity(), 2, 8);
    EXPECT_TRUE(std::isinf(perplexity.find("de")->perplexity()));
}

TEST(PerplexityWindows, ADocumentThatFitsIsOnePass)
{
    for (const std::size_t tokens : { 2u, 5u, 16u }) {
        const auto windows = perplexityWindows(tokens, 16, 8);
        ASSERT_EQ(windows.size(), 1u);
        EXPECT_EQ(windows[0].begin, 0u);
        EXPECT_EQ(windows[0].end, tokens);
        EXPECT_EQ(windows[0].scoredFrom, 1u);
    }
}

TEST(PerplexityWindows, TheGuidesLoop)
{
    // 10 tokens, window 4, stride 2: [0,4) scores 1-3, [2,6) 4-5, [4,8) 6-7,
    // [6,10) 8-9, as the guide's begin_loc loop over range(0, 10, 2) does.
    const auto windows = perplexityWindows(10, 4, 2);
    const std::vector<std::vector<std::size_t>> expected { { 0, 4, 1 }, { 2, 6, 4 }, { 4, 8, 6 }, { 6, 10, 8 } };
    ASSERT_EQ(windows.size(), expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) {
        EXPECT_EQ(windows[k].begin, expected[k][0]) << k;
        EXPECT_EQ(windows[k].end, expected[k][1]) << k;
        EXPECT_EQ(windows[k].scoredFrom, expected[k][2]) << k;
    }
    // One more token: a last, shorter window [8,11) scoring token 10.
    const auto longer = perplexityWindows(11, 4, 2);
    ASSERT_EQ(longer.size(), 5u);
    EXPECT_EQ(longer.back().begin, 8u);
    EXPECT_EQ(longer.back().end, 11u);
    EXPECT_EQ(longer.back().scoredFrom, 10u);
}

TEST(PerplexityWindows, StrideOfAWholeWindowSharesOneToken)
{
    // A window's first token is never scored, so non-overlapping windows
    // would leave tokens 4 and 8 out; the windows share one token instead.
    const auto windows = perplexityWindows(10, 4, 4);
    ASSERT_EQ(windows.size(), 3u);
    EXPECT_EQ(windows[1].begin, 3u);
    EXPECT_EQ(windows[1].scoredFrom, 4u);
    EXPECT_EQ(windows[2].begin, 6u);
    EXPECT_EQ(windows[2].end, 10u);
    EXPECT_EQ(windows[2].scoredFrom, 7u);
}

TEST(PerplexityWindows, EveryTokenAfterTheFirstIsScoredOnceWithContext)
{
    for (std::size_t tokens = 2; tokens <= 40; ++tokens) {
        for (std::size_t window = 2; window <= 12; ++window) {
            for (std::size_t stride = 1; stride <= window; ++stride) {
                const auto where = std::to_string(tokens) + " tokens, window " + std::to_string(window)
                    + ", stride " + std::to_string(stride);
                std::vector<int> timesScored(tokens, 0);
                const auto windows = perplexityWindows(tokens, window, stride);
                ASSERT_FALSE(windows.empty()) << where;
                EXPECT_EQ(windows.front().begin, 0u) << where;
                EXPECT_EQ(windows.back().end, tokens) << where;
                std::size_t previousBegin = 0;
                for (std::size_t k = 0; k < windows.size(); ++k) {
                    const auto &w = windows[k];
                    EXPECT_LE(w.end - w.begin, window) << where;
                    EXPECT_LE(w.end, tokens) << where;
                    EXPECT_GT(w.scoredFrom, w.begin) << where; // the window's first token is context
                    EXPECT_LE(w.scoredFrom, w.end) << where;
                    if (k > 0) { // the guide's start positions, k * stride while that leaves context
                        EXPECT_EQ(w.begin, previousBegin + std::min(stride, window - 1)) << where;
                    }
                    previousBegin = w.begin;
                    for (auto t = w.scoredFrom; t < w.end; ++t)
                        ++timesScored[t];
                }
                EXPECT_EQ(timesScored[0], 0) << where;
                for (std::size_t t = 1; t < tokens; ++t)
                    EXPECT_EQ(timesScored[t], 1) << where << ", token " << t;
            }
        }
    }
}

TEST(PerplexityWindows, BadSizesAreRefused)
{
    EXPECT_THROW(perplexityWindows(10, 4, 0), Error);
    EXPECT_THROW(perplexityWindows(10, 4, 5), Error);
    EXPECT_THROW(perplexityWindows(10, 1, 1), Error);
    EXPECT_THROW(perplexityWindows(1, 4, 2), Error);
    try {
        perplexityWindows(10, 4, 5);
    } catch (const Error &e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("stride"), std::string::npos) << e.what();
    }
}
