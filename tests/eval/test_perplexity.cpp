#include "core/common/error.h"
#include "core/eval/metric_table.h"
#include "core/eval/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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
