#include "core/corpus/corpus_readers.h"
#include "core/corpus/prompt_template.h"

#include "core/common/error.h"

#include <gtest/gtest.h>

using namespace moescope;

namespace {

std::string data(const std::string &name)
{
    return std::string(MOESCOPE_TEST_DATA) + "/corpus/" + name;
}

Document mgsmDocument(const std::string &language, const std::string &question)
{
    Document d;
    d.language = language;
    d.id = "mgsm-1";
    d.question = question;
    d.text = question;
    d.answers = {"5"};
    return d;
}

} // namespace

TEST(PromptTemplate, BuiltinsReproduceTheStudysPrompts)
{
    const auto zh = mgsmDocument("zh", "珍妮有3个苹果。");
    // MGSM routing recording: the bare question through the chat template.
    const auto question = promptTemplate("question");
    EXPECT_TRUE(question.useChatTemplate);
    EXPECT_EQ(question.render(zh), "珍妮有3个苹果。");
    // MGSM/PolyMath ablation and steering: question + "\n" + query_dic[lang].
    EXPECT_EQ(promptTemplate("math").render(zh),
              "珍妮有3个苹果。\n注意：请将最终答案放在 $\\boxed\\{\\}$ 中。");
    EXPECT_EQ(promptTemplate("math").render(mgsmDocument("en", "Q?")),
              "Q?\nNote: Please put the final answer in the $\\boxed\\{\\}$.");

    Document flores;
    flores.language = "en";
    flores.id = "devtest-1";
    flores.text = "The committee met on Monday.";
    EXPECT_EQ(promptTemplate("translate").render(flores, "sw"),
              "Translate the following English text into Swahili.\n"
              "English: The committee met on Monday.\n\nSwahili:");
    EXPECT_EQ(promptTemplate("raw").render(flores), flores.text);
    EXPECT_FALSE(promptTemplate("raw").useChatTemplate);

    const auto xquad = readXquadFile(data("xquad/xquad.de.json"), "de");
    EXPECT_EQ(promptTemplate("qa").render(xquad[2]),
              "Die Brücke wurde 1901 gebaut.\nWann wurde die Brücke gebaut?\n"
              "Bitte geben Sie die Antwort direkt aus.");

    const auto belebele = readBelebeleFile(data("belebele/data/eng_Latn.jsonl"), "en");
    EXPECT_EQ(promptTemplate("multiple-choice").render(belebele[0]), belebele[0].text);
}

TEST(PromptTemplate, MissingValuesAreErrorsNotEmptyPrompts)
{
    Document plain;
    plain.language = "en";
    plain.id = "line-1";
    plain.text = "just text";
    EXPECT_THROW(promptTemplate("question").render(plain), Error);
    EXPECT_THROW(promptTemplate("translate").render(plain), Error); // no target language
    EXPECT_THROW(promptTemplate("no-such-template"), Error);
}

TEST(PromptTemplate, InstructionsFallBackToEnglish)
{
    EXPECT_TRUE(hasLocalisedMathInstruction("bn"));
    EXPECT_FALSE(hasLocalisedMathInstruction("pl"));
    EXPECT_EQ(mathInstruction("pl"), mathInstruction("en"));
    EXPECT_NE(mathInstruction("ja"), mathInstruction("en"));
    EXPECT_TRUE(hasLocalisedDirectAnswerInstruction("tr"));
    EXPECT_EQ(directAnswerInstruction("sw"), "Please output the answer directly.");
}

TEST(PromptTemplate, CustomTemplatesFromFiles)
{
    const auto json = promptTemplate(data("qa_template.json"));
    EXPECT_EQ(json.name, "qa_template");
    EXPECT_TRUE(json.useChatTemplate);
    EXPECT_EQ(json.render(mgsmDocument("en", "2+3?")), "Q: 2+3?\nA:");

    const auto text = promptTemplateFromFile(data("summary_template.txt"));
    EXPECT_FALSE(text.useChatTemplate);
    Document d;
    d.language = "sw";
    d.text = "Habari";
    EXPECT_EQ(text.render(d), "Summarise in Swahili: Habari"); // final newline dropped
    EXPECT_EQ(text.placeholders(), (std::vector<std::string>{"language_name", "text"}));

    try {
        promptTemplateFromFile(data("bad_template.txt"));
        FAIL();
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("unknown placeholder {nonsense}"), std::string::npos);
    }
}

TEST(PromptTemplate, DoubledBracesAreLiteral)
{
    PromptTemplate t{"braces", "{{text}} is {text}; }}", false, ""};
    Document d;
    d.text = "x";
    EXPECT_EQ(t.render(d), "{text} is x; }");
    PromptTemplate unclosed{"bad", "oops {text", false, ""};
    EXPECT_THROW(unclosed.render(d), Error);
}
