#include "core/common/error.h"
#include "core/eval/math_answer.h"
#include "core/eval/metric_table.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <string>

using namespace moescope;

namespace {

std::string sourceName(MathAnswerSource source)
{
    switch (source) {
    case MathAnswerSource::Boxed:
        return "boxed";
    case MathAnswerSource::FinalNumber:
        return "final";
    case MathAnswerSource::None:
        break;
    }
    return "none";
}

} // namespace

// Each line of tests/data/eval/math_answers.jsonl is a hand-written model
// output with the answer a person reads from it (see the README there).
TEST(MathAnswer, HandWrittenCases)
{
    std::ifstream in(std::string(MOESCOPE_TEST_DATA) + "/eval/math_answers.jsonl");
    ASSERT_TRUE(in) << "missing math_answers.jsonl";
    std::string line;
    int cases = 0;
    while (std::getline(in, line)) {
        if (line.empty())
            continue;
        const auto item = nlohmann::json::parse(line);
        const std::string output = item.at("output");
        SCOPED_TRACE(output + "  [" + item.at("note").get<std::string>() + "]");
        const std::string language = item.at("language");
        const MathScore score
            = scoreMathAnswer(output, item.at("gold").get<std::string>(), language);
        EXPECT_EQ(sourceName(score.prediction.source), item.at("source").get<std::string>());
        EXPECT_EQ(score.prediction.raw, item.at("raw").get<std::string>());
        if (item.at("value").is_null()) {
            EXPECT_FALSE(score.prediction.value.has_value());
        } else {
            ASSERT_TRUE(score.prediction.value.has_value());
            EXPECT_DOUBLE_EQ(*score.prediction.value, item.at("value").get<double>());
        }
        EXPECT_EQ(score.correct, item.at("correct").get<bool>());
        ++cases;
    }
    EXPECT_GE(cases, 50);
}

TEST(MathAnswer, NormalisedTextOfNumbersAndExpressions)
{
    EXPECT_EQ(normaliseMathAnswer("1,000").normalised, "1000");
    EXPECT_EQ(normaliseMathAnswer("-0").normalised, "0");
    EXPECT_EQ(normaliseMathAnswer("\\frac{1}{4}").normalised, "0.25");
    EXPECT_EQ(normaliseMathAnswer("$2 \\sqrt{3}$.").normalised, "2\\sqrt{3}");
    EXPECT_EQ(normaliseMathAnswer("\\dfrac{\\pi}{2}").normalised, "\\frac{\\pi}{2}");
    EXPECT_FALSE(normaliseMathAnswer("  ").answered());
    EXPECT_EQ(normaliseMathAnswer("\\boxed{7}").source, MathAnswerSource::Boxed);
    EXPECT_EQ(normaliseMathAnswer("18 ডলার").value, 18.0); // unit word with a vowel sign
    EXPECT_EQ(normaliseMathAnswer("\\text{50}\\%").value, 50.0);
}

TEST(MathAnswer, ParseNumberNeedsTheWholeText)
{
    EXPECT_EQ(parseNumber("12"), 12.0);
    EXPECT_EQ(parseNumber("১২৩"), 123.0);
    EXPECT_EQ(parseNumber("1.234", "es"), 1234.0);
    EXPECT_EQ(parseNumber("1.234", "en"), 1.234);
    EXPECT_EQ(parseNumber("1.234"), 1.234);
    EXPECT_EQ(parseNumber("1 234,5", "fr"), 1234.5);
    EXPECT_EQ(parseNumber("1 234,567"), 1234.567); // space grouping: the comma is decimal
    EXPECT_EQ(parseNumber("1’000"), 1000.0); // Swiss grouping with U+2019
    EXPECT_EQ(parseNumber("0,125"), 0.125);
    EXPECT_EQ(parseNumber("1.000.000"), 1e6);
    EXPECT_EQ(parseNumber("(3)"), 3.0);
    EXPECT_FALSE(parseNumber("(1,2)").has_value()); // a pair, not 1.2
    EXPECT_FALSE(parseNumber("12 apples").has_value());
    EXPECT_FALSE(parseNumber("1,23,4").has_value());
    EXPECT_FALSE(parseNumber("1.000,000.5").has_value()); // the decimal mark occurs twice
    EXPECT_FALSE(parseNumber("1/0").has_value());
    EXPECT_FALSE(parseNumber("--3").has_value());
    EXPECT_FALSE(parseNumber("").has_value());
}

TEST(MathAnswer, NumbersCompareByValueExpressionsByText)
{
    EXPECT_TRUE(mathAnswersMatch(normaliseMathAnswer("0.5"), normaliseMathAnswer("\\frac{2}{4}")));
    EXPECT_TRUE(mathAnswersMatch(normaliseMathAnswer("1/3"), normaliseMathAnswer("\\frac{2}{6}")));
    // 0.333 is a rounding of 1/3, not the same answer.
    EXPECT_FALSE(mathAnswersMatch(normaliseMathAnswer("0.333"), normaliseMathAnswer("1/3")));
    EXPECT_TRUE(mathAnswersMatch(normaliseMathAnswer("x^2+1"), normaliseMathAnswer("x^2 + 1")));
    EXPECT_FALSE(mathAnswersMatch(normaliseMathAnswer("x^2+1"), normaliseMathAnswer("x^2 - 1")));
    // Nothing extracted never matches, not even an empty reference.
    EXPECT_FALSE(mathAnswersMatch(MathAnswer {}, MathAnswer {}));
}

TEST(MathAnswer, InvalidUtf8DoesNotStopExtraction)
{
    const std::string output = std::string("The answer is 42 \xE4\xB8"); // cut mid-character
    const MathAnswer answer = extractMathAnswer(output);
    ASSERT_TRUE(answer.value.has_value());
    EXPECT_EQ(*answer.value, 42.0);
}

TEST(MathAnswer, EmptyReferenceIsAnError)
{
    EXPECT_THROW(scoreMathAnswer("\\boxed{3}", " "), Error);
}

TEST(MathAccuracy, CountsPerLabelAndFillsATable)
{
    MathAccuracy accuracy;
    accuracy.add("en", "so \\boxed{18}", "18", "en");
    accuracy.add("en", "It is 17 dollars", "18", "en");
    accuracy.add("en", "no idea", "18", "en");
    accuracy.add("de", "Die Antwort ist 1.000", "1000", "de");

    const MathAccuracyRow *en = accuracy.find("en");
    ASSERT_NE(en, nullptr);
    EXPECT_EQ(en->items, 3u);
    EXPECT_EQ(en->answered, 2u);
    EXPECT_EQ(en->boxed, 1u);
    EXPECT_EQ(en->correct, 1u);
    EXPECT_DOUBLE_EQ(en->accuracy(), 1.0 / 3.0);
    ASSERT_NE(accuracy.find("de"), nullptr);
    EXPECT_EQ(accuracy.find("de")->correct, 1u);
    EXPECT_EQ(accuracy.find("fr"), nullptr);

    MetricTable table({ "condition", "language" });
    accuracy.appendTo(table, { "baseline" }, "mgsm_");
    EXPECT_EQ(table.rowCount(), 2u);
    EXPECT_DOUBLE_EQ(*table.number({ "baseline", "en" }, "mgsm_accuracy"), 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(*table.number({ "baseline", "en" }, "mgsm_answered_rate"), 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(*table.number({ "baseline", "de" }, "mgsm_items"), 1.0);
}
