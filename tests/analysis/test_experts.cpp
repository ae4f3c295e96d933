#include "core/analysis/routing_analysis.h"
#include "core/common/error.h"
#include "handmade_trace.h"

#include <gtest/gtest.h>

using namespace moescope;
using moescope::testing::addLanguage;
using moescope::testing::handmadeTrace;

namespace {

using Cells = std::vector<std::pair<int, int>>;

// Six experts, top-2, 10 tokens per language; layer 0 dense, 1 and 2 MoE.
// With k = 2:
//  layer 1  x: 10 5 5 0 0 0   keeps e0 1.0, e1 0.5 (e1/e2 tie -> e1)
//           y:  0 5 10 5 0 0  keeps e2 1.0, e1 0.5 (e1/e3 tie -> e1)
//           z:  0 5 0 0 10 5  keeps e4 1.0, e1 0.5 (e1/e5 tie -> e1)
//    e1: shares 1/3 each -> shared; e0 -> x, e2 -> y, e4 -> z exclusive.
//    (Breaking x's tie towards e2 would leave e1 to y and z at 0.5 each:
//    exclusive to both and not shared.)
//  layer 2  x: 9 11 0 0 0 0   keeps e1 1.1, e0 0.9
//           y: 3 0 0 0 0 17   keeps e5 1.7, e0 0.3
//           z: 0 0 10 10 0 0  keeps e2, e3
//    e0: x 0.9 / 1.2 = 0.75 -> exclusive to x, y 0.25; not shared.
//    e1 -> x, e5 -> y, e2 and e3 -> z.
RoutingTrace specialisationTrace()
{
    auto trace = handmadeTrace(3, 6, 2, { 1, 2 });
    const std::vector<std::uint64_t> dense(6, 0), tokens { 0, 10, 10 };
    addLanguage(trace, "x", { dense, { 10, 5, 5, 0, 0, 0 }, { 9, 11, 0, 0, 0, 0 } }, tokens);
    addLanguage(trace, "y", { dense, { 0, 5, 10, 5, 0, 0 }, { 3, 0, 0, 0, 0, 17 } }, tokens);
    addLanguage(trace, "z", { dense, { 0, 5, 0, 0, 10, 5 }, { 0, 0, 10, 10, 0, 0 } }, tokens);
    return trace;
}

} // namespace

TEST(ExpertSpecialisation, ExclusiveAndSharedWithTopKTies)
{
    const auto r = expertSpecialisation(specialisationTrace(), 2, 0.4);
    EXPECT_EQ(r.exclusive.at("x"), (Cells { { 1, 0 }, { 2, 0 }, { 2, 1 } }));
    EXPECT_EQ(r.exclusive.at("y"), (Cells { { 1, 2 }, { 2, 5 } }));
    EXPECT_EQ(r.exclusive.at("z"), (Cells { { 1, 4 }, { 2, 2 }, { 2, 3 } }));
    EXPECT_EQ(r.shared, (Cells { { 1, 1 } }));
    EXPECT_EQ(r.sharedPerLayer, (std::vector<int> { 0, 1, 0 }));
    EXPECT_EQ(r.exclusivePerLayer[0], (std::vector<int> { 0, 1, 2 }));
    EXPECT_EQ(r.exclusivePerLayer[1], (std::vector<int> { 0, 1, 1 }));
    EXPECT_EQ(r.exclusivePerLayer[2], (std::vector<int> { 0, 1, 2 }));

    // share[lang][layer * E + e]
    EXPECT_NEAR(r.share[0][6 + 1], 1.0 / 3, 1e-15);
    EXPECT_EQ(r.share[0][6 + 2], 0.0); // x's 0.5 on e2 lost the tie
    EXPECT_EQ(r.share[1][6 + 2], 1.0);
    EXPECT_NEAR(r.share[0][12 + 0], 0.75, 1e-15);
    EXPECT_NEAR(r.share[1][12 + 0], 0.25, 1e-15);
    EXPECT_EQ(r.share[2][0], 0.0); // dense layer
}

TEST(ExpertSpecialisation, HigherThresholdKeepsFewerExclusives)
{
    // At 0.8 the 0.75 share of x on (2, 0) is no longer exclusive.
    const auto r = expertSpecialisation(specialisationTrace(), 2, 0.8);
    EXPECT_EQ(r.exclusive.at("x"), (Cells { { 1, 0 }, { 2, 1 } }));
    EXPECT_EQ(r.shared, (Cells { { 1, 1 }, { 2, 0 } }));
}

TEST(ExpertSpecialisation, TwoLanguagesAboveALowThresholdAreBothExclusive)
{
    // The study's rule as stated: share > thr, so at 0.4 a 0.5/0.5 split is
    // exclusive to both languages and therefore not shared.
    auto trace = handmadeTrace(1, 2, 1, { 0 });
    addLanguage(trace, "a", { { 4, 4 } }, { 8 });
    addLanguage(trace, "b", { { 4, 4 } }, { 8 });
    const auto r = expertSpecialisation(trace, 1, 0.4);
    EXPECT_EQ(r.exclusive.at("a"), (Cells { { 0, 0 } }));
    EXPECT_EQ(r.exclusive.at("b"), (Cells { { 0, 0 } }));
    EXPECT_TRUE(r.shared.empty());
}

TEST(ExpertSpecialisation, NeverSelectedExpertsAreNotKept)
{
    // k = 3 but only one expert was used; the unused ones must not become
    // "kept" with f = 0 (they would otherwise count towards "shared").
    auto trace = handmadeTrace(1, 4, 1, { 0 });
    addLanguage(trace, "a", { { 5, 0, 0, 0 } }, { 5 });
    addLanguage(trace, "b", { { 0, 5, 0, 0 } }, { 5 });
    const auto r = expertSpecialisation(trace, 3, 0.4);
    EXPECT_EQ(r.exclusive.at("a"), (Cells { { 0, 0 } }));
    EXPECT_EQ(r.exclusive.at("b"), (Cells { { 0, 1 } }));
    EXPECT_TRUE(r.shared.empty());
}

TEST(ExpertSpecialisation, RejectsBadParameters)
{
    const auto trace = specialisationTrace();
    EXPECT_THROW(expertSpecialisation(trace, 0, 0.4), Error);
    EXPECT_THROW(expertSpecialisation(trace, 7, 0.4), Error);
    EXPECT_THROW(expertSpecialisation(trace, 2, 0.0), Error);
    EXPECT_THROW(expertSpecialisation(trace, 2, 1.0), Error);
    EXPECT_NO_THROW(expertSpecialisation(trace, 6, 0.4));
}

namespace {

// 16 tokens, so every f = count / 16 and every share below is exact:
//   e0 7/(7+3) = 0.7, e1 3/4 = 0.75, e2 1/4 = 0.25, e3 5/10 = 0.5,
//   e4: b never selects it.
RoutingTrace steeringTrace()
{
    auto trace = handmadeTrace(3, 5, 2, { 0, 1, 2 });
    const std::vector<std::uint64_t> a { 7, 3, 1, 5, 4 }, b { 3, 1, 3, 5, 0 }, c { 4, 4, 4, 4, 4 };
    addLanguage(trace, "a", { a, a, a }, { 16, 16, 16 });
    addLanguage(trace, "b", { b, b, b }, { 16, 16, 16 });
    addLanguage(trace, "c", { c, c, c }, { 16, 16, 16 });
    return trace;
}

} // namespace

TEST(SteeringSet, BandIsStrictOnBothSides)
{
    // threshold 0.75: keep shares strictly inside (0.25, 0.75); 0.75 and 0.25
    // themselves are out.
    const auto set = steeringSet(steeringTrace(), "a", "b", 5, 0.75, 1, 1);
    ASSERT_EQ(set.size(), 2u);
    EXPECT_EQ(set[0].layer, 1);
    EXPECT_EQ(set[0].expert, 0);
    EXPECT_NEAR(set[0].shareA, 0.7, 1e-15);
    EXPECT_EQ(set[1].expert, 3);
    EXPECT_EQ(set[1].shareA, 0.5);
}

TEST(SteeringSet, NeedsBothTopKAndTheLayerRange)
{
    // k = 2: a keeps e0, e3; b keeps e3 and e0 (e0/e2 tie at 3 -> e0).
    const auto set = steeringSet(steeringTrace(), "a", "b", 2, 0.75, 0, 2);
    ASSERT_EQ(set.size(), 6u);
    for (std::size_t i = 0; i < set.size(); ++i) {
        EXPECT_EQ(set[i].layer, static_cast<int>(i / 2));
        EXPECT_EQ(set[i].expert, i % 2 == 0 ? 0 : 3);
    }
    // The share is A's: swapping the languages mirrors it.
    const auto swapped = steeringSet(steeringTrace(), "b", "a", 2, 0.75, 0, 0);
    ASSERT_EQ(swapped.size(), 2u);
    EXPECT_NEAR(swapped[0].shareA, 0.3, 1e-15);
}

TEST(SteeringSet, RejectsBadParameters)
{
    const auto t = steeringTrace();
    EXPECT_THROW(steeringSet(t, "a", "a", 2, 0.7, 0, 2), Error);
    EXPECT_THROW(steeringSet(t, "a", "nope", 2, 0.7, 0, 2), Error);
    EXPECT_THROW(steeringSet(t, "a", "b", 0, 0.7, 0, 2), Error);
    EXPECT_THROW(steeringSet(t, "a", "b", 6, 0.7, 0, 2), Error);
    EXPECT_THROW(steeringSet(t, "a", "b", 2, 0.5, 0, 2), Error);
    EXPECT_THROW(steeringSet(t, "a", "b", 2, 1.0, 0, 2), Error);
    EXPECT_THROW(steeringSet(t, "a", "b", 2, 0.7, 2, 1), Error);
    EXPECT_THROW(steeringSet(t, "a", "b", 2, 0.7, 0, 3), Error);
}
