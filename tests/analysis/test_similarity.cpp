#include "core/analysis/routing_analysis.h"
#include "core/common/error.h"
#include "handmade_trace.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace moescope;
using moescope::testing::addLanguage;
using moescope::testing::handmadeTrace;

namespace {

// p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4),
//   KL(p||m) = log2(4/3) = 2 - log2 3,
//   KL(q||m) = 1/2 log2(2/3) + 1/2 log2(2) = 1 - 1/2 log2 3,
//   JSD = 1/2 (2 - log2 3) + 1/2 (1 - 1/2 log2 3) = 3/2 - 3/4 log2 3,
//   Sim = 1 - JSD = 3/4 log2 3 - 1/2 (about 0.688722).
const double kHalfVsPoint = 0.75 * std::log2(3.0) - 0.5;

} // namespace

TEST(JsSimilarity, IdenticalDistributionsAreFullySimilar)
{
    const double p[] = { 0.2, 0.3, 0.5, 0.0 };
    EXPECT_EQ(jsSimilarity(p, p, 4), 1.0);
}

TEST(JsSimilarity, DisjointSupportsHaveZeroSimilarity)
{
    const double p[] = { 0.5, 0.5, 0.0, 0.0 };
    const double q[] = { 0.0, 0.0, 0.25, 0.75 };
    EXPECT_NEAR(jsSimilarity(p, q, 4), 0.0, 1e-15);
}

TEST(JsSimilarity, PointMassAgainstUniformPairMatchesClosedForm)
{
    const double p[] = { 1.0, 0.0 };
    const double q[] = { 0.5, 0.5 };
    EXPECT_NEAR(jsSimilarity(p, q, 2), kHalfVsPoint, 1e-15);
    EXPECT_NEAR(kHalfVsPoint, 0.688722, 1e-6); // guards the closed form itself
}

TEST(JsSimilarity, IsSymmetricBitForBit)
{
    const double p[] = { 0.11, 0.07, 0.33, 0.0, 0.49 };
    const double q[] = { 0.3, 0.3, 0.0, 0.2, 0.2 };
    const double pq = jsSimilarity(p, q, 5);
    EXPECT_EQ(pq, jsSimilarity(q, p, 5));
    EXPECT_GT(pq, 0.0);
    EXPECT_LT(pq, 1.0);
}

TEST(Distributions, FrequencyIsPerTokenAndDistributionSumsToOne)
{
    // Layer 0 dense (no tokens), layer 1 MoE with top-2 routing over 4 tokens.
    auto trace = handmadeTrace(2, 4, 2, { 1 });
    addLanguage(trace, "x", { { 0, 0, 0, 0 }, { 2, 6, 0, 0 } }, { 0, 4 });
    const auto f = activationFrequency(trace.languages[0], trace.model);
    const auto p = routingDistribution(trace.languages[0], trace.model);
    const std::vector<double> fExpected { 0, 0, 0, 0, 0.5, 1.5, 0, 0 };
    const std::vector<double> pExpected { 0, 0, 0, 0, 0.25, 0.75, 0, 0 };
    EXPECT_EQ(f, fExpected);
    EXPECT_EQ(p, pExpected);
}

TEST(Distributions, RejectsCountsOfTheWrongShape)
{
    auto trace = handmadeTrace(2, 4, 2, { 1 });
    addLanguage(trace, "x", { { 1, 1, 0, 0 } }, { 0, 4 });
    EXPECT_THROW(activationFrequency(trace.languages[0], trace.model), Error);
}

TEST(Entropy, UniformRoutingHasLog2EBits)
{
    auto trace = handmadeTrace(2, 8, 2, { 1 });
    addLanguage(trace, "u", { { 0, 0, 0, 0, 0, 0, 0, 0 }, { 3, 3, 3, 3, 3, 3, 3, 3 } }, { 0, 12 });
    // (1/2, 1/4, 1/4): 1/2 * 1 + 2 * 1/4 * 2 = 1.5 bits.
    addLanguage(trace, "h", { { 0, 0, 0, 0, 0, 0, 0, 0 }, { 6, 3, 3, 0, 0, 0, 0, 0 } }, { 0, 6 });
    addLanguage(trace, "one", { { 0, 0, 0, 0, 0, 0, 0, 0 }, { 0, 5, 0, 0, 0, 0, 0, 0 } }, { 0, 5 });
    const auto h = routingEntropy(trace);
    ASSERT_EQ(h.size(), 3u);
    ASSERT_EQ(h[0].size(), 2u);
    EXPECT_EQ(h[0][0], 0.0); // dense layer
    EXPECT_NEAR(h[0][1], std::log2(8.0), 1e-15);
    EXPECT_NEAR(h[1][1], 1.5, 1e-15);
    EXPECT_EQ(h[2][1], 0.0);
}

namespace {

// Two experts, top-1; layer 0 dense, layers 1 and 2 MoE.
//   layer 1: x = (1, 0), y = (1/2, 1/2), z = (0, 1)
//   layer 2: x = (1/2, 1/2), y = (1/2, 1/2), z = (1, 0)
RoutingTrace threeLanguageTrace()
{
    auto trace = handmadeTrace(3, 2, 1, { 1, 2 });
    addLanguage(trace, "x", { { 0, 0 }, { 4, 0 }, { 2, 2 } }, { 0, 4, 4 });
    addLanguage(trace, "y", { { 0, 0 }, { 3, 3 }, { 5, 5 } }, { 0, 6, 10 });
    addLanguage(trace, "z", { { 0, 0 }, { 0, 8 }, { 8, 0 } }, { 0, 8, 8 });
    return trace;
}

} // namespace

TEST(RoutingSimilarity, AveragesOverMoeLayersOnly)
{
    const auto trace = threeLanguageTrace();
    const auto s = routingSimilarity(trace);
    const double c = kHalfVsPoint;
    EXPECT_EQ(s.layers, (std::vector<int> { 1, 2 }));
    ASSERT_EQ(s.perLayer.size(), 3u);
    for (const auto &row : s.perLayer[0])
        for (double v : row)
            EXPECT_EQ(v, 0.0);
    EXPECT_NEAR(s.perLayer[1][0][1], c, 1e-15);
    EXPECT_NEAR(s.perLayer[1][0][2], 0.0, 1e-15);
    EXPECT_NEAR(s.perLayer[2][0][1], 1.0, 1e-15);
    EXPECT_NEAR(s.perLayer[2][1][2], c, 1e-15);

    EXPECT_NEAR(s.mean[0][1], (c + 1) / 2, 1e-15);
    EXPECT_NEAR(s.mean[0][2], c / 2, 1e-15);
    EXPECT_NEAR(s.mean[1][2], c, 1e-15);
    EXPECT_EQ(s.mean[2][1], s.mean[1][2]);
    for (int a = 0; a < 3; ++a)
        EXPECT_EQ(s.mean[a][a], 1.0);

    ASSERT_EQ(s.meanPairwisePerLayer.size(), 3u);
    EXPECT_EQ(s.meanPairwisePerLayer[0], 0.0);
    EXPECT_NEAR(s.meanPairwisePerLayer[1], 2 * c / 3, 1e-15);
    EXPECT_NEAR(s.meanPairwisePerLayer[2], (1 + 2 * c) / 3, 1e-15);
}

TEST(RoutingSimilarity, SkipsMoeLayersWhereALanguageRoutedNothing)
{
    auto trace = threeLanguageTrace();
    trace.languages[1].tokens[2] = 0; // y recorded nothing in layer 2
    trace.languages[1].counts[4] = trace.languages[1].counts[5] = 0;
    EXPECT_EQ(analysedLayers(trace), (std::vector<int> { 1 }));
    const auto s = routingSimilarity(trace);
    EXPECT_NEAR(s.mean[0][1], kHalfVsPoint, 1e-15);
    EXPECT_EQ(s.meanPairwisePerLayer[2], 0.0);
}

TEST(RoutingSimilarity, AllLayersCountWhenTheModelListsNoMoeLayers)
{
    auto trace = threeLanguageTrace();
    trace.model.moeLayers.clear();
    // Layer 0 has no tokens anywhere, so it still drops out.
    EXPECT_EQ(analysedLayers(trace), (std::vector<int> { 1, 2 }));
}
