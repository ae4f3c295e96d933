#include "core/corpus/corpus_readers.h"

#include "core/common/error.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

using namespace moescope;

namespace {

std::string data(const std::string &name)
{
    return std::string(MOESCOPE_TEST_DATA) + "/corpus/" + name;
}

// Runs f, which must throw moescope::Error, and returns its message.
std::string errorOf(const std::function<void()> &f)
{
    try {
        f();
    } catch (const Error &e) {
        return e.what();
    }
    ADD_FAILURE() << "expected moescope::Error";
    return {};
}

std::vector<std::string> texts(const std::vector<Document> &docs)
{
    std::vector<std::string> out;
    for (const auto &d : docs)
        out.push_back(d.text);
    return out;
}

} // namespace

TEST(PlainTextReader, OneDocumentPerLineDropsBlankLinesAndCarriageReturns)
{
    const auto docs = readPlainTextFile(data("en_lines.txt"), "eng", TextSplit::Lines);
    EXPECT_EQ(texts(docs), (std::vector<std::string>{"The cat sleeps on the mat.",
                                                     "The dog barks at night.",
                                                     "Birds sing in the morning."}));
    EXPECT_EQ(docs[0].language, "en");
    EXPECT_EQ(docs[0].id, "line-1");
    EXPECT_EQ(docs[1].id, "line-4");
}

TEST(PlainTextReader, ParagraphsAreBlocksSeparatedByBlankLines)
{
    const auto docs = readPlainTextFile(data("en_paragraphs.txt"), "en", TextSplit::Paragraphs);
    ASSERT_EQ(docs.size(), 3u);
    EXPECT_EQ(docs[0].text, "First paragraph, first line.\nFirst paragraph, second line.");
    EXPECT_EQ(docs[1].text, "Second paragraph.");
    EXPECT_EQ(docs[2].id, "line-7");
}

TEST(PlainTextReader, DirectoryOfLanguageFilesIgnoresOtherFiles)
{
    auto all = readPlainTextDirectory(data("text_dir"), {}, TextSplit::Lines);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].language, "de");
    EXPECT_EQ(all[0].documents.size(), 3u);
    EXPECT_EQ(all[1].language, "en");
    auto picked = readPlainTextDirectory(data("text_dir"), {"en"}, TextSplit::Lines);
    ASSERT_EQ(picked.size(), 1u);
    EXPECT_EQ(picked[0].language, "en");
    EXPECT_NE(errorOf([] { readPlainTextDirectory(data("text_dir"), {"fr"}, TextSplit::Lines); })
                  .find("no <lang>.txt file for language 'fr' (found: de,en)"),
              std::string::npos);
}

TEST(PlainTextReader, RejectsInvalidUtf8WithTheLineNumber)
{
    const auto message =
        errorOf([] { readPlainTextFile(data("invalid_utf8.txt"), "en", TextSplit::Lines); });
    EXPECT_NE(message.find("invalid_utf8.txt"), std::string::npos);
    EXPECT_NE(message.find("line 2: not valid UTF-8"), std::string::npos);
    EXPECT_NE(errorOf([] { readPlainTextFile(data("nope.txt"), "en", TextSplit::Lines); })
                  .find("no such file"),
              std::string::npos);
}

TEST(JsonlReader, ReadsTheChosenFieldAndSkipsEmptyRecords)
{
    JsonlOptions options;
    options.language = "fra";
    const auto groups = readJsonlFile(data("fr.jsonl"), options);
    ASSERT_EQ(groups.size(), 1u);
    const auto &fr = groups[0];
    EXPECT_EQ(fr.language, "fr");
    EXPECT_EQ(fr.skippedEmpty, 1u);
    ASSERT_EQ(fr.documents.size(), 2u);
    EXPECT_EQ(fr.documents[0].id, "fr-1");
    EXPECT_EQ(fr.documents[1].text, "Le chien aboie la nuit.");
    EXPECT_EQ(fr.documents[1].fields.at("source"), "hand-made");
    EXPECT_EQ(fr.documents[1].fields.at("year"), "2024");
}

TEST(JsonlReader, LanguageFromAFieldGroupsRecords)
{
    JsonlOptions options;
    options.textField = "content";
    options.languageField = "language";
    const auto groups = readJsonlFile(data("mixed.jsonl"), options);
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_EQ(groups[0].language, "de");
    EXPECT_EQ(texts(groups[0].documents), (std::vector<std::string>{"Guten Morgen.", "Gute Nacht."}));
    EXPECT_EQ(groups[2].language, "zh");
    EXPECT_EQ(groups[1].documents[0].id, "line-2");
}

TEST(JsonlReader, MalformedLinesAndMissingFieldsNameTheLine)
{
    JsonlOptions options;
    options.language = "en";
    auto message = errorOf([&] { readJsonlFile(data("malformed.jsonl"), options); });
    EXPECT_NE(message.find("malformed.jsonl: line 3: malformed JSON"), std::string::npos) << message;
    message = errorOf([&] { readJsonlFile(data("missing_field.jsonl"), options); });
    EXPECT_NE(message.find("line 2: missing field 'text'"), std::string::npos) << message;
}

TEST(JsonlReader, DirectoryOfLanguageFiles)
{
    const auto groups = readJsonlDirectory(data("jsonl_dir"), {"sw", "ja"}, JsonlOptions{});
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].language, "sw"); // the requested order, not sorted
    EXPECT_EQ(groups[0].documents.size(), 2u);
    EXPECT_EQ(groups[1].documents[0].text, "猫はマットの上で寝ています。");
}

TEST(FloresReader, Flores200LayoutAlignsSentencesByNumber)
{
    const auto all = readFlores(data("flores200"), "devtest", {});
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0].language, "de");
    EXPECT_EQ(all[1].language, "en");
    EXPECT_EQ(all[2].language, "zh");
    EXPECT_EQ(all[3].language, "zh-Hant");
    for (const auto &lc : all) {
        ASSERT_EQ(lc.documents.size(), 3u);
        EXPECT_EQ(lc.documents[1].id, "devtest-2");
    }
    EXPECT_EQ(all[2].documents[0].text, "委员会星期一开会。");

    const auto picked = readFlores(data("flores200"), "devtest", {"zh", "en"});
    ASSERT_EQ(picked.size(), 2u);
    EXPECT_EQ(picked[0].language, "zh");

    const auto dev = readFlores(data("flores200"), "dev", {});
    ASSERT_EQ(dev.size(), 1u);
    EXPECT_EQ(dev[0].documents.size(), 2u);
    EXPECT_EQ(dev[0].documents[0].id, "dev-1");
}

TEST(FloresReader, FloresPlusLayoutsPlainAndJsonl)
{
    // devtest/devtest.eng_Latn; a dev.* file in the same folder is ignored.
    const auto plain = readFlores(data("floresplus"), "devtest", {});
    ASSERT_EQ(plain.size(), 2u);
    EXPECT_EQ(plain[0].language, "en");
    EXPECT_EQ(plain[0].documents.size(), 2u);
    EXPECT_EQ(plain[1].language, "sw");

    const auto jsonl = readFlores(data("floresplus_jsonl") + "/devtest", "devtest", {"arb_Arab"});
    ASSERT_EQ(jsonl.size(), 1u);
    EXPECT_EQ(jsonl[0].language, "ar");
    ASSERT_EQ(jsonl[0].documents.size(), 2u);
    EXPECT_EQ(jsonl[0].documents[1].id, "devtest-2");
    EXPECT_EQ(jsonl[0].documents[0].fields.at("domain"), "wikinews");
}

TEST(FloresReader, TwoFilesForOneLanguageAndMissingLanguagesAreErrors)
{
    auto message = errorOf([] { readFlores(data("flores_collision"), "devtest", {}); });
    EXPECT_NE(message.find("two files for language 'zh'"), std::string::npos) << message;
    message = errorOf([] { readFlores(data("flores200"), "devtest", {"ko"}); });
    EXPECT_NE(message.find("no FLORES devtest file for language 'ko'"), std::string::npos)
        << message;
    EXPECT_THROW(readFlores(data("flores200"), "test", {}), Error);
    EXPECT_THROW(readFlores(data("does-not-exist"), "devtest", {}), Error);
}

TEST(MgsmReader, QuestionTabAnswerWithPandasStyleQuoting)
{
    const auto en = readMgsmFile(data("mgsm/mgsm_en.tsv"), "en");
    ASSERT_EQ(en.size(), 3u);
    EXPECT_EQ(en[0].question, "Janet has 3 apples and buys 2 more. How many apples does she have?");
    EXPECT_EQ(en[0].text, en[0].question);
    EXPECT_EQ(en[0].answers, (std::vector<std::string>{"5"}));
    EXPECT_EQ(en[1].question, "A shop sells pens for $2 each.\tHow much do 4 pens cost?");
    EXPECT_EQ(en[2].id, "mgsm-3");

    const auto fr = readMgsmFile(data("mgsm_quoted/mgsm_fr.tsv"), "fr");
    ASSERT_EQ(fr.size(), 2u);
    EXPECT_EQ(fr[0].question, "Line one of the question,\nline two with \"quotes\" inside.");
    EXPECT_EQ(fr[0].answers.front(), "42");
    EXPECT_EQ(fr[1].question, "Unquoted question?");
}

TEST(MgsmReader, DirectoryAndMalformedLines)
{
    const auto all = readMgsm(data("mgsm"), {});
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].language, "en");
    EXPECT_EQ(all[1].language, "zh");
    EXPECT_EQ(all[1].documents[1].answers.front(), "8");
    const auto message = errorOf([] { readMgsm(data("mgsm_bad"), {}); });
    EXPECT_NE(message.find("mgsm_de.tsv: line 2: expected question<TAB>answer, found 3 field(s)"),
              std::string::npos)
        << message;
}

TEST(PolyMathReader, LanguageFoldersWithLevelFiles)
{
    const auto all = readPolyMath(data("polymath"), {}, "all");
    ASSERT_EQ(all.size(), 2u);
    const auto &en = all[0];
    EXPECT_EQ(en.language, "en");
    ASSERT_EQ(en.documents.size(), 4u);
    // Levels come easiest first whatever the file order.
    EXPECT_EQ(en.documents[0].level, "low");
    EXPECT_EQ(en.documents[2].level, "medium");
    EXPECT_EQ(en.documents[3].level, "top");
    EXPECT_EQ(en.documents[3].answers.front(), "8");

    const auto low = readPolyMath(data("polymath"), {"zh", "en"}, "low");
    ASSERT_EQ(low.size(), 2u);
    EXPECT_EQ(low[0].language, "zh");
    EXPECT_EQ(low[0].documents.size(), 2u);
    EXPECT_EQ(low[1].documents.size(), 2u);
    EXPECT_EQ(low[0].documents[0].id, "low-zh-0");
}

TEST(PolyMathReader, FlatFileNamesAndLevelsFromIds)
{
    const auto de = readPolyMath(data("polymath_flat"), {}, "high");
    ASSERT_EQ(de.size(), 1u);
    EXPECT_EQ(de[0].language, "de");
    ASSERT_EQ(de[0].documents.size(), 1u);
    EXPECT_EQ(de[0].documents[0].answers.front(), "8"); // a JSON number in the file

    const auto ja = readPolyMath(data("polymath_single"), {}, "low");
    ASSERT_EQ(ja.size(), 1u);
    ASSERT_EQ(ja[0].documents.size(), 2u);
    EXPECT_EQ(ja[0].documents[0].id, "low-ja-0");
    EXPECT_THROW(readPolyMath(data("polymath"), {}, "easy"), Error);
}

TEST(XquadReader, OneDocumentPerQuestionWithAlignedIds)
{
    const auto all = readXquad(data("xquad"), {});
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].language, "de");
    const auto &en = all[1].documents;
    ASSERT_EQ(en.size(), 3u);
    EXPECT_EQ(en[0].id, all[0].documents[0].id);
    EXPECT_EQ(en[1].question, "How long is the river?");
    EXPECT_EQ(en[1].answers.front(), "300 kilometres");
    EXPECT_EQ(en[2].passage, "The bridge was built in 1901.");
    EXPECT_EQ(en[2].text, "The bridge was built in 1901.\nWhen was the bridge built?");
    EXPECT_EQ(en[0].fields.at("title"), "Hand_made");

    const auto message = errorOf([] { readXquadFile(data("xquad_bad_structure.json"), "en"); });
    EXPECT_NE(message.find("data[0].paragraphs[0]: missing or mistyped 'context'"),
              std::string::npos)
        << message;
}

TEST(BelebeleReader, ChoicesCorrectAnswerAndTheStudysPrompt)
{
    const auto all = readBelebele(data("belebele"), {"zho_Hans", "eng_Latn"});
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].language, "zh");
    const auto &en = all[1].documents;
    ASSERT_EQ(en.size(), 2u);
    EXPECT_EQ(en[0].choices.size(), 4u);
    EXPECT_EQ(en[0].correctChoice, 1);
    EXPECT_EQ(en[0].answers.front(), "On Sundays");
    EXPECT_EQ(en[1].correctChoice, 0); // correct_answer_num given as a number
    EXPECT_EQ(en[0].text,
              "The museum opens at nine and closes at five. Entry is free on Sundays.\n"
              "When is entry free?\nA. On Mondays\nB. On Sundays\nC. Every day\nD. Never");
    EXPECT_EQ(en[1].id, all[0].documents[1].id);
    EXPECT_EQ(en[0].fields.at("question_number"), "1");

    const auto message = errorOf([] { readBelebeleFile(data("belebele_bad_answer.jsonl"), "en"); });
    EXPECT_NE(message.find("line 1: correct_answer_num must be 1..4"), std::string::npos) << message;
}
