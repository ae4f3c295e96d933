#include "core/common/error.h"
#include "core/eval/metric_table.h"
#include "core/eval/multiple_choice.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace moescope;

TEST(MultipleChoice, PicksTheMostLikelyChoice)
{
    EXPECT_EQ(pickChoice({ -12.5, -3.25, -7.0, -9.0 }), 1u);
    EXPECT_EQ(pickChoice({ -1.0 }), 0u);
}

TEST(MultipleChoice, TiesGoToTheFirstChoice)
{
    EXPECT_EQ(pickChoice({ -10.0, -3.0, -3.0, -7.0 }), 1u);
    EXPECT_EQ(pickChoice({ -2.0, -2.0, -2.0, -2.0 }), 0u);
    // Normalised scores -1, -3, -1, -1: choices 0, 2 and 3 tie, 0 wins.
    EXPECT_EQ(pickChoice({ -10.0, -3.0, -3.0, -7.0 }, { 10, 1, 3, 7 }), 0u);
}

TEST(MultipleChoice, LengthNormalisationCanChangeThePick)
{
    // Summed: -4 beats -6. Per token: -6/6 = -1 beats -4/2 = -2.
    EXPECT_EQ(pickChoice({ -6.0, -4.0 }), 1u);
    EXPECT_EQ(pickChoice({ -6.0, -4.0 }, { 6, 2 }), 0u);
}

TEST(MultipleChoice, ImpossibleChoicesAndBadInput)
{
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_EQ(pickChoice({ -inf, -5.0 }), 1u);
    EXPECT_EQ(pickChoice({ -inf, -inf }), 0u);
    EXPECT_THROW(pickChoice({}), Error);
    EXPECT_THROW(pickChoice({ -1.0, std::nan("") }), Error);
    EXPECT_THROW(pickChoice({ -1.0, inf }), Error);
    EXPECT_THROW(pickChoice({ -1.0, -2.0 }, { 1.0 }), Error);
    EXPECT_THROW(pickChoice({ -1.0, -2.0 }, { 1.0, 0.0 }), Error);
    EXPECT_THROW(pickChoice({ -1.0, -2.0 }, { 1.0, -3.0 }), Error);
}

TEST(MultipleChoiceAccuracy, CountsBothVariants)
{
    MultipleChoiceAccuracy accuracy;
    // Right either way.
    EXPECT_EQ(accuracy.add("sw", { -1.0, -5.0, -6.0, -7.0 }, 0, { 1, 1, 1, 1 }), 0u);
    // Sum picks 1 (wrong), per token picks 0 (right).
    EXPECT_EQ(accuracy.add("sw", { -6.0, -4.0, -9.0, -9.0 }, 0, { 6, 2, 3, 3 }), 1u);
    // Wrong either way.
    EXPECT_EQ(accuracy.add("sw", { -1.0, -5.0, -6.0, -7.0 }, 3, { 1, 1, 1, 1 }), 0u);
    // No lengths: counts only for the summed variant.
    EXPECT_EQ(accuracy.add("en", { -3.0, -2.0 }, 1), 1u);
    EXPECT_THROW(accuracy.add("en", { -3.0, -2.0 }, 2), Error);

    const MultipleChoiceRow *sw = accuracy.find("sw");
    ASSERT_NE(sw, nullptr);
    EXPECT_EQ(sw->items, 3u);
    EXPECT_EQ(sw->correct, 1u);
    EXPECT_EQ(sw->normalisedItems, 3u);
    EXPECT_EQ(sw->correctNormalised, 2u);
    const MultipleChoiceRow *en = accuracy.find("en");
    ASSERT_NE(en, nullptr);
    EXPECT_EQ(en->items, 1u); // the failed add counted nothing
    EXPECT_DOUBLE_EQ(en->accuracy(), 1.0);

    MetricTable table({ "condition", "language" });
    accuracy.appendTo(table, { "steer+0.5" }, "belebele_");
    EXPECT_DOUBLE_EQ(*table.number({ "steer+0.5", "sw" }, "belebele_accuracy"), 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(
        *table.number({ "steer+0.5", "sw" }, "belebele_accuracy_length_normalised"), 2.0 / 3.0);
    EXPECT_FALSE(
        table.get({ "steer+0.5", "en" }, "belebele_accuracy_length_normalised").has_value());
}
