#include "core/common/error.h"
#include "core/eval/metric_table.h"
#include "core/eval/span_answer.h"

#include <gtest/gtest.h>

using namespace moescope;

// Expected values below are worked out by hand from the SQuAD v1.1 rules
// (evaluate-v1.1.py): lowercase, drop punctuation, drop a/an/the, split on
// white space; F1 = 2PR/(P+R) over the multiset of shared tokens.

TEST(SpanAnswer, SquadNormalisation)
{
    EXPECT_EQ(normaliseSpanAnswer("  The   Eiffel\tTower. "), "eiffel tower");
    EXPECT_EQ(normaliseSpanAnswer("an apple a day"), "apple day");
    // Punctuation is removed, not replaced by a space (as in SQuAD).
    EXPECT_EQ(normaliseSpanAnswer("Saint-Denis!"), "saintdenis");
    EXPECT_EQ(normaliseSpanAnswer("Levi's Stadium"), "levis stadium");
    // "theater" is not the article "the".
    EXPECT_EQ(normaliseSpanAnswer("The theater"), "theater");
}

TEST(SpanAnswer, SquadExactMatchAndF1)
{
    // Same tokens after normalisation.
    EXPECT_EQ(spanExactMatch("the Denver Broncos", "Denver Broncos"), 1.0);
    EXPECT_DOUBLE_EQ(spanF1("the Denver Broncos", "Denver Broncos"), 1.0);
    // [denver broncos won] vs [denver broncos]: 2 shared, P = 2/3, R = 1,
    // F1 = 2 (2/3) / (5/3) = 0.8.
    EXPECT_EQ(spanExactMatch("Denver Broncos won", "Denver Broncos"), 0.0);
    EXPECT_DOUBLE_EQ(spanF1("Denver Broncos won", "Denver Broncos"), 0.8);
    // [broncos] vs [denver broncos]: P = 1, R = 1/2, F1 = 2/3.
    EXPECT_DOUBLE_EQ(spanF1("Broncos", "Denver Broncos"), 2.0 / 3.0);
    // Repeated tokens count once per occurrence: [paris paris] vs
    // [paris]: 1 shared, P = 1/2, R = 1, F1 = 2/3.
    EXPECT_DOUBLE_EQ(spanF1("Paris Paris", "Paris"), 2.0 / 3.0);
    // No shared token.
    EXPECT_DOUBLE_EQ(spanF1("Saint-Denis", "saint denis"), 0.0);
    // Both empty after normalisation: EM 1, F1 0 (SQuAD returns 0 when
    // nothing is shared).
    EXPECT_EQ(spanExactMatch("the", "a"), 1.0);
    EXPECT_DOUBLE_EQ(spanF1("the", "a"), 0.0);
}

TEST(SpanAnswer, MaximumOverGoldAnswers)
{
    // SQuAD dev, Super Bowl 50 venue question.
    const std::vector<std::string> golds = { "Santa Clara", "Levi's Stadium",
        "Levi's Stadium in the San Francisco Bay Area at Santa Clara, California." };
    const SpanScore exact = scoreSpanAnswer("Levi's Stadium", golds);
    EXPECT_EQ(exact.exactMatch, 1.0);
    EXPECT_DOUBLE_EQ(exact.f1, 1.0);
    EXPECT_TRUE(exact.substring);

    // [santa clara california] vs gold 1 [santa clara]: P = 2/3, R = 1 -> 0.8;
    // vs gold 3 (11 tokens, "the" removed): P = 1, R = 3/11 -> 6/14 = 3/7.
    // The maximum is 0.8.
    const SpanScore partial = scoreSpanAnswer("Santa Clara, California", golds);
    EXPECT_EQ(partial.exactMatch, 0.0);
    EXPECT_DOUBLE_EQ(partial.f1, 0.8);
    EXPECT_DOUBLE_EQ(spanF1("Santa Clara, California", golds[2]), 3.0 / 7.0);
    EXPECT_TRUE(partial.substring);

    EXPECT_THROW(scoreSpanAnswer("x", {}), Error);
}

TEST(SpanAnswer, SubstringMatchUsesWholeTokens)
{
    EXPECT_TRUE(spanContains("It happened in 1990, the year after.", "1990"));
    EXPECT_FALSE(spanContains("10 km", "1"));
    EXPECT_TRUE(spanContains("He was born in Denver, Colorado", "Denver"));
    EXPECT_FALSE(spanContains("Denver", "Denver Broncos"));
    // An answer that normalises to nothing is never "contained".
    EXPECT_FALSE(spanContains("the answer", "the"));
}

TEST(SpanAnswer, UnicodePunctuationAndCase)
{
    // « » and — are Unicode punctuation (Pi, Pf, Pd); SQuAD's ASCII list
    // would keep them.
    EXPECT_EQ(spanExactMatch("«Paris»", "Paris", "fr"), 1.0);
    EXPECT_EQ(spanExactMatch("Paris — France", "Paris France", "fr"), 1.0);
    EXPECT_EQ(spanExactMatch("ÉCOLE", "école", "fr"), 1.0);
    // Decomposed é (e + U+0301) equals the composed one after NFC.
    EXPECT_EQ(spanExactMatch("e\u0301cole", "\u00e9cole", "fr"), 1.0);
    EXPECT_EQ(normaliseSpanAnswer("ΑΘΗΝΑ", "el"), "αθηνα");
}

TEST(SpanAnswer, ArticlesDependOnTheLanguage)
{
    EXPECT_EQ(spanExactMatch("der Rhein", "Rhein", "de"), 1.0);
    // English rules do not know German articles.
    EXPECT_EQ(spanExactMatch("der Rhein", "Rhein", "en"), 0.0);
    EXPECT_EQ(spanExactMatch("el río Ebro", "río Ebro", "es"), 1.0);
    // French has no article list: "la" stays.
    EXPECT_EQ(spanExactMatch("la Seine", "Seine", "fr"), 0.0);
    // Arabic: the article al- is a prefix of the word.
    EXPECT_EQ(spanExactMatch("القاهرة", "قاهرة", "ar"), 1.0);
    EXPECT_EQ(normaliseSpanAnswer("ال", "ar"), "ال"); // the bare letters are not stripped
}

TEST(SpanAnswer, CharacterTokensForUnsegmentedScripts)
{
    // [北 京 大 学] vs [北 京]: P = 2/4, R = 1, F1 = 2 (1/2) / (3/2) = 2/3.
    EXPECT_DOUBLE_EQ(spanF1("北京大学", "北京", "zh"), 2.0 / 3.0);
    EXPECT_TRUE(spanContains("北京大学", "北京", "zh"));
    EXPECT_EQ(spanExactMatch("《红楼梦》", "红楼梦", "zh"), 1.0);
    // Digits stay one token between Han characters: [2008 年 北 京 奥 运 会]
    // vs [2008 年]: P = 2/7, R = 1, F1 = (4/7) / (9/7) = 4/9.
    EXPECT_EQ(spanAnswerTokens("2008年北京奥运会", "zh"),
        (std::vector<std::string> { "2008", "年", "北", "京", "奥", "运", "会" }));
    EXPECT_DOUBLE_EQ(spanF1("2008年北京奥运会", "2008年", "zh"), 4.0 / 9.0);
    // Japanese kana are split too: [東 京 タ ワ ー] vs [東 京]: F1 = (4/5) / (7/5) = 4/7.
    EXPECT_DOUBLE_EQ(spanF1("東京タワー", "東京", "ja"), 4.0 / 7.0);
    // Thai: a combining vowel sign stays with its consonant (รุ).
    const auto thai = spanAnswerTokens("กรุงเทพ", "th");
    EXPECT_EQ(thai, (std::vector<std::string> { "ก", "รุ", "ง", "เ", "ท", "พ" }));
    // กรุงเทพมหานคร adds ม ห า น ค ร: 6 of 12 shared, P = 1, R = 1/2, F1 = 2/3.
    EXPECT_DOUBLE_EQ(spanF1("กรุงเทพ", "กรุงเทพมหานคร", "th"), 2.0 / 3.0);
    // Korean is written with spaces: words stay whole.
    EXPECT_EQ(
        spanAnswerTokens("서울 특별시", "ko"), (std::vector<std::string> { "서울", "특별시" }));
}

TEST(SpanScores, AveragesPerLabel)
{
    SpanScores scores;
    scores.add("en", "Denver Broncos won", { "Denver Broncos" }, "en"); // EM 0, F1 0.8, sub 1
    scores.add("en", "Denver Broncos", { "Denver Broncos" }, "en"); // EM 1, F1 1, sub 1
    scores.add("en", "Carolina", { "Denver Broncos" }, "en"); // 0, 0, 0
    scores.add("zh", "北京大学", { "北京" }, "zh"); // 0, 2/3, 1
    const SpanScoresRow *en = scores.find("en");
    ASSERT_NE(en, nullptr);
    EXPECT_EQ(en->items, 3u);
    EXPECT_DOUBLE_EQ(en->exactMatch(), 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(en->f1(), 1.8 / 3.0);
    EXPECT_DOUBLE_EQ(en->substringMatch(), 2.0 / 3.0);

    MetricTable table({ "language" });
    scores.appendTo(table, {});
    EXPECT_EQ(table.columns(),
        (std::vector<std::string> { "items", "exact_match", "f1", "substring_match" }));
    EXPECT_DOUBLE_EQ(*table.number({ "zh" }, "f1"), 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(*table.number({ "zh" }, "substring_match"), 1.0);
}
