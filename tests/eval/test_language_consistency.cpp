#include "core/common/error.h"
#include "core/corpus/udhr_corpus.h"
#include "core/eval/language_consistency.h"
#include "core/eval/metric_table.h"

#include <gtest/gtest.h>

using namespace moescope;

namespace {

// Article 1 of the bundled Universal Declaration of Human Rights.
std::string udhrArticle1(const std::string &language)
{
    for (const auto &article : bundledUdhr(language).articles) {
        if (article.number == 1) {
            std::string text;
            for (const auto &paragraph : article.paragraphs)
                text += paragraph + "\n";
            return text;
        }
    }
    ADD_FAILURE() << "no article 1 for " << language;
    return {};
}

} // namespace

TEST(LanguageDetection, UdhrArticlesInManyLanguages)
{
    // The study's languages and others of different scripts and families.
    // CLD2 names Hebrew "iw" and Norwegian "no": they must come out as the
    // corpus labels he and nb; Traditional Chinese comes out as zh.
    const std::vector<std::pair<std::string, std::string>> cases
        = { { "en", "en" }, { "de", "de" }, { "fr", "fr" }, { "es", "es" }, { "sw", "sw" },
              { "bn", "bn" }, { "zh", "zh" }, { "ja", "ja" }, { "zh-Hant", "zh" }, { "ru", "ru" },
              { "ar", "ar" }, { "hi", "hi" }, { "ko", "ko" }, { "he", "he" }, { "nb", "nb" },
              { "th", "th" }, { "tr", "tr" }, { "vi", "vi" } };
    for (const auto &[udhrLabel, expected] : cases) {
        SCOPED_TRACE(udhrLabel);
        const LanguageDetection detection = detectLanguage(udhrArticle1(udhrLabel));
        EXPECT_TRUE(detection.reliable);
        EXPECT_EQ(detection.language, expected) << "CLD2 said " << detection.cld2Code;
        ASSERT_FALSE(detection.top.empty());
        EXPECT_EQ(detection.top.front().language, expected);
        EXPECT_GT(detection.top.front().percent, 80);
    }
}

TEST(LanguageDetection, ShortAnswersInTheStudyLanguages)
{
    // Written for these tests: the kind of one-sentence answer a model gives.
    const std::vector<std::pair<std::string, std::string>> cases = {
        { "en", "Janet has sixteen eggs and sells the rest at the market every morning." },
        { "de", "Janet hat sechzehn Eier und verkauft den Rest jeden Morgen auf dem Markt." },
        { "fr", "Janet a seize œufs et vend le reste au marché chaque matin." },
        { "es", "Janet tiene dieciséis huevos y vende el resto en el mercado cada mañana." },
        { "sw", "Janet ana mayai kumi na sita na anauza yaliyobaki sokoni kila asubuhi." },
        { "bn", "জ্যানেটের ষোলোটি ডিম আছে এবং সে প্রতিদিন সকালে বাকিগুলো বাজারে বিক্রি করে।" },
        { "zh", "珍妮特有十六个鸡蛋，她每天早上把剩下的鸡蛋拿到市场上卖。" },
        { "ja", "ジャネットは卵を十六個持っていて、毎朝残りを市場で売っています。" },
    };
    for (const auto &[expected, text] : cases) {
        SCOPED_TRACE(text);
        const LanguageDetection detection = detectLanguage(text);
        EXPECT_EQ(detection.language, expected) << "CLD2 said " << detection.cld2Code;
    }
}

TEST(LanguageDetection, ShortOrMeaninglessTextIsUnknown)
{
    for (const std::string text :
        { "", "hello", "Ok", "42", "৪২", "asdfgh qwerty zxcvb", "!!! ???", "Jibu ni 18." }) {
        SCOPED_TRACE(text);
        const LanguageDetection detection = detectLanguage(text);
        EXPECT_EQ(detection.language, kUnknownLanguage) << "CLD2 said " << detection.cld2Code;
    }
}

TEST(LanguageDetection, BestEffortGuessesOnlyWhereThereAreLetters)
{
    // Too short for CLD2 to call reliably...
    EXPECT_EQ(detectLanguage("Jibu ni 18.").language, kUnknownLanguage);
    // ...but its best-effort guess is right here; it is marked unreliable.
    const LanguageDetection guess = detectLanguage("Jibu ni 18.", UnreliableText::BestEffort);
    EXPECT_EQ(guess.language, "sw");
    EXPECT_FALSE(guess.reliable);
    // CLD2 finds this mid-length Chinese clause unreliable (simplified and
    // traditional Chinese compete); best effort names it.
    const std::string clause = "珍妮特有十六个鸡蛋，她每天早上";
    EXPECT_EQ(detectLanguage(clause).language, kUnknownLanguage);
    EXPECT_EQ(detectLanguage(clause, UnreliableText::BestEffort).language, "zh");
    // Without letters there is nothing to guess from.
    for (const std::string text : { "", "42", "$16 - 3 - 4 = 9$", "!!! ???" })
        EXPECT_EQ(detectLanguage(text, UnreliableText::BestEffort).language, kUnknownLanguage)
            << text;
    // A reliable detection is the same either way.
    const std::string english
        = "Janet has sixteen eggs and sells the rest at the market every morning.";
    EXPECT_TRUE(detectLanguage(english, UnreliableText::BestEffort).reliable);

    LanguageConsistency consistency(UnreliableText::BestEffort);
    consistency.add("sw", "Jibu ni 18.");
    consistency.add("sw", "42");
    EXPECT_EQ(consistency.find("sw")->consistent, 1u);
    EXPECT_EQ(consistency.find("sw")->unknown, 1u);
}

TEST(LanguageDetection, LatexIsNotEnglish)
{
    const std::string formula = "$16 - 3 - 4 = 9$, $9 \\times 2 = 18$. \\boxed{18}";
    // Left in, CLD2 reads "times" and "boxed" as English words.
    EXPECT_EQ(languageDetectionText(formula).find("times"), std::string::npos);
    EXPECT_EQ(languageDetectionText(formula).find("boxed"), std::string::npos);
    EXPECT_EQ(detectLanguage(formula).language, kUnknownLanguage);
    // \text{} keeps its words.
    EXPECT_NE(languageDetectionText("\\text{Die Antwort}").find("Die Antwort"), std::string::npos);
    EXPECT_EQ(
        detectLanguage("Die Antwort ist \\boxed{18}, denn sie verkauft neun Eier.").language, "de");
}

TEST(LanguageDetection, InvalidUtf8IsRepairedNotRejected)
{
    // CLD2 gives up on the whole text at the first invalid byte; generation
    // cut mid-character must not turn a clear answer into "unknown".
    const std::string text
        = "\xff\xfe The cat is sleeping on the warm windowsill this afternoon. \xe4\xb8";
    EXPECT_EQ(detectLanguage(text).language, "en");
}

TEST(LanguageDetection, MixedTextReportsShares)
{
    const std::string mixed = "Let me solve this step by step. The farmer has five apples and "
                              "buys three more. 小明有五个苹果，他又买了三个，所以一共有八个苹果。";
    const LanguageDetection detection = detectLanguage(mixed);
    ASSERT_EQ(detection.top.size(), 2u);
    int en = 0, zh = 0;
    for (const auto &share : detection.top) {
        if (share.language == "en")
            en = share.percent;
        if (share.language == "zh")
            zh = share.percent;
    }
    EXPECT_GT(en, 20);
    EXPECT_GT(zh, 20);
    EXPECT_GE(en + zh, 95);
}

TEST(LanguageDetection, Cld2CodesBecomeLabels)
{
    EXPECT_EQ(labelForCld2Code("en"), "en");
    EXPECT_EQ(labelForCld2Code("iw"), "he");
    EXPECT_EQ(labelForCld2Code("jw"), "jv");
    EXPECT_EQ(labelForCld2Code("no"), "nb");
    EXPECT_EQ(labelForCld2Code("zh-Hant"), "zh");
    EXPECT_EQ(labelForCld2Code("sr-ME"), "sr");
    EXPECT_EQ(labelForCld2Code("haw"), "haw"); // outside the label table: kept
    EXPECT_EQ(labelForCld2Code("un"), kUnknownLanguage);
    EXPECT_EQ(labelForCld2Code("xxx"), kUnknownLanguage);
    EXPECT_EQ(labelForCld2Code("xx-Hani"), kUnknownLanguage);
    EXPECT_EQ(baseLanguage("pt-BR"), "pt");
    EXPECT_EQ(baseLanguage("zh_Hant"), "zh");
}

TEST(LanguageConsistency, CountsAndConfusion)
{
    const std::string chinese = "珍妮特有十六个鸡蛋，她每天早上把剩下的鸡蛋拿到市场上卖。";
    const std::string english
        = "Janet has sixteen eggs and sells the rest at the market every morning.";
    const std::string german
        = "Janet hat sechzehn Eier und verkauft den Rest jeden Morgen auf dem Markt.";
    LanguageConsistency consistency;
    consistency.add("zh", chinese);
    consistency.add("zh", english);
    consistency.add("ZH", "42"); // same row: labels are normalised
    // CLD2 calls this short Han text zh-Hant; the language is still Chinese.
    EXPECT_EQ(consistency.add("zh", "答案是 42。").cld2Code, "zh-Hant");
    consistency.add("en", english);
    consistency.add("en", german);
    consistency.add("zh-Hant", "珍妮特有十六個雞蛋，她每天早上把剩下的雞蛋拿到市場上賣。");
    EXPECT_THROW(consistency.add("not-a-language", english), Error);

    ASSERT_EQ(consistency.rows().size(), 3u);
    const LanguageConsistencyRow *zh = consistency.find("zh");
    ASSERT_NE(zh, nullptr);
    EXPECT_EQ(zh->texts, 4u);
    EXPECT_EQ(zh->consistent, 2u);
    EXPECT_EQ(zh->unknown, 1u);
    EXPECT_EQ(zh->detected.at("zh"), 2u);
    EXPECT_EQ(zh->detected.at("en"), 1u);
    EXPECT_EQ(zh->detected.at("unknown"), 1u);
    EXPECT_DOUBLE_EQ(zh->consistency(), 0.5);
    EXPECT_DOUBLE_EQ(zh->consistencyOfDetected(), 2.0 / 3.0);
    // Two all-Chinese texts (share near 1), one English, one unknown.
    EXPECT_GT(zh->meanExpectedShare(), 0.4);
    EXPECT_LE(zh->meanExpectedShare(), 0.5);
    const LanguageConsistencyRow *hant = consistency.find("zh-Hant");
    ASSERT_NE(hant, nullptr);
    EXPECT_EQ(hant->consistent, 1u);

    EXPECT_EQ(
        consistency.detectedLabels(), (std::vector<std::string> { "de", "en", "zh", "unknown" }));
    const MetricTable confusion = consistency.confusionTable();
    EXPECT_EQ(confusion.keyColumns(), (std::vector<std::string> { "expected" }));
    EXPECT_EQ(confusion.columns(), (std::vector<std::string> { "de", "en", "zh", "unknown" }));
    EXPECT_EQ(confusion.number({ "en" }, "de"), 1.0);
    EXPECT_EQ(confusion.number({ "en" }, "en"), 1.0);
    EXPECT_EQ(confusion.number({ "en" }, "zh"), 0.0);
    EXPECT_EQ(confusion.number({ "zh" }, "unknown"), 1.0);
    EXPECT_EQ(confusion.number({ "zh-Hant" }, "zh"), 1.0);

    MetricTable table({ "condition", "language" });
    consistency.appendTo(table, { "baseline" });
    EXPECT_EQ(table.number({ "baseline", "zh" }, "consistency"), 0.5);
    EXPECT_EQ(table.number({ "baseline", "zh" }, "unknown_rate"), 0.25);
    EXPECT_EQ(table.number({ "baseline", "en" }, "texts"), 2.0);
}
