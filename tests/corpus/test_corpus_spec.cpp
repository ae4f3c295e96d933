#include "core/corpus/corpus_spec.h"

#include "core/common/error.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <functional>

using namespace moescope;

namespace {

std::string data(const std::string &name)
{
    return std::string(MOESCOPE_TEST_DATA) + "/corpus/" + name;
}

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

} // namespace

TEST(CorpusSpec, ParsesUdhrLanguageListsAndOptions)
{
    auto spec = parseCorpusSpec("udhr:en,zho_Hans,deu");
    EXPECT_EQ(spec.format, "udhr");
    EXPECT_EQ(spec.languages, (std::vector<std::string>{"en", "zh", "de"}));
    EXPECT_TRUE(spec.options.empty());
    EXPECT_EQ(spec.toString(), "udhr:en,zh,de");

    spec = parseCorpusSpec("udhr:all");
    EXPECT_TRUE(spec.languages.empty());
    EXPECT_EQ(spec.toString(), "udhr:all");
    EXPECT_TRUE(parseCorpusSpec("udhr").languages.empty());

    spec = parseCorpusSpec("udhr:en,zh?unit=paragraphs&articles=1-24");
    EXPECT_EQ(spec.option("articles"), "1-24");
    EXPECT_EQ(spec.option("unit"), "paragraphs");
    // Options come out sorted, so equal specs print equally.
    EXPECT_EQ(spec.toString(), "udhr:en,zh?articles=1-24&unit=paragraphs");
    EXPECT_EQ(parseCorpusSpec(spec.toString()).toString(), spec.toString());
}

TEST(CorpusSpec, ParsesPathFormats)
{
    auto spec = parseCorpusSpec("flores:/data/flores200?split=dev&langs=eng_Latn,zho_Hant");
    EXPECT_EQ(spec.format, "flores");
    EXPECT_EQ(spec.location, "/data/flores200");
    EXPECT_EQ(spec.languages, (std::vector<std::string>{"en", "zh-Hant"}));
    EXPECT_EQ(spec.option("split"), "dev");
    EXPECT_EQ(spec.toString(), "flores:/data/flores200?langs=en,zh-Hant&split=dev");

    spec = parseCorpusSpec("text:notes.txt?lang=fr&split=paragraphs");
    EXPECT_EQ(spec.languages, (std::vector<std::string>{"fr"}));
    EXPECT_EQ(spec.option("split"), "paragraphs");
    spec = parseCorpusSpec("jsonl:a.jsonl?field=body&lang_field=language&limit=10");
    EXPECT_EQ(spec.option("field"), "body");
    EXPECT_EQ(spec.option("limit"), "10");
    EXPECT_EQ(parseCorpusSpec("polymath:pm?level=low").option("level"), "low");
    EXPECT_EQ(parseCorpusSpec("MGSM:dir").format, "mgsm");
}

TEST(CorpusSpec, RejectsBadSpecsWithAReason)
{
    auto has = [](const std::string &spec, const std::string &needle) {
        const auto message = errorOf([&] { parseCorpusSpec(spec); });
        EXPECT_NE(message.find(needle), std::string::npos) << spec << " -> " << message;
    };
    has("", "empty");
    has("wiki:dump.xml", "unknown corpus format 'wiki'");
    has("flores", "flores needs a path");
    has("flores:dir?split=test", "split must be devtest or dev");
    has("flores:dir?lang=en&langs=de", "languages given twice");
    has("flores:dir?colour=blue", "unknown option 'colour' for flores");
    has("mgsm:dir?langs=en,xx", "unknown language code 'xx'");
    has("mgsm:dir?langs=en,eng", "language 'en' is listed twice");
    has("udhr:en?articles=25-40", "within 0-30");
    has("udhr:en?articles=9-3", "articles");
    has("udhr:en?unit=sentences", "unit must be articles or paragraphs");
    has("udhr:en?langs=de", "unknown option 'langs' for udhr");
    has("text:x.txt?limit=0", "limit must be a positive integer");
    has("text:x.txt?split", "not key=value");
    has("text:x.txt?split=lines&split=paragraphs", "given twice");
    has("polymath:d?level=easy", "level must be");
}

TEST(CorpusSpec, LoadsEveryFormatFromFixtures)
{
    auto corpus = loadCorpus("text:" + data("en_lines.txt") + "?lang=en");
    ASSERT_EQ(corpus.languages.size(), 1u);
    EXPECT_EQ(corpus.documentCount(), 3u);

    corpus = loadCorpus("text:" + data("en_paragraphs.txt") + "?lang=en&split=paragraphs");
    EXPECT_EQ(corpus.documentCount(), 3u);

    corpus = loadCorpus("jsonl:" + data("mixed.jsonl") + "?field=content&lang_field=language");
    EXPECT_EQ(corpus.labels(), (std::vector<std::string>{"de", "en", "zh"}));
    corpus = loadCorpus("jsonl:" + data("mixed.jsonl")
                        + "?field=content&lang_field=language&langs=zh,de");
    EXPECT_EQ(corpus.labels(), (std::vector<std::string>{"zh", "de"}));

    corpus = loadCorpus("flores:" + data("flores200") + "?langs=eng_Latn,zho_Hans");
    EXPECT_EQ(corpus.labels(), (std::vector<std::string>{"en", "zh"}));
    EXPECT_EQ(corpus.find("zh")->documents.size(), 3u);
    EXPECT_EQ(corpus.find("ko"), nullptr);

    EXPECT_EQ(loadCorpus("mgsm:" + data("mgsm") + "?langs=zh").documentCount(), 3u);
    EXPECT_EQ(loadCorpus("polymath:" + data("polymath") + "?level=low").documentCount(), 4u);
    EXPECT_EQ(loadCorpus("xquad:" + data("xquad")).documentCount(), 6u);
    EXPECT_EQ(loadCorpus("belebele:" + data("belebele")).documentCount(), 4u);
}

TEST(CorpusSpec, LimitKeepsTheFirstDocumentsOfEachLanguage)
{
    const auto corpus = loadCorpus("flores:" + data("flores200") + "?limit=2");
    for (const auto &lc : corpus.languages) {
        ASSERT_EQ(lc.documents.size(), 2u);
        EXPECT_EQ(lc.documents[0].id, "devtest-1");
        EXPECT_EQ(lc.documents[1].id, "devtest-2");
    }
}

TEST(CorpusSpec, LoadErrorsNameTheFile)
{
    auto message = errorOf([] { loadCorpus("text:" + data("en_lines.txt")); });
    EXPECT_NE(message.find("needs lang=CODE"), std::string::npos) << message;
    message = errorOf([] { loadCorpus("mgsm:" + data("no-such-dir")); });
    EXPECT_NE(message.find("no-such-dir: no such directory"), std::string::npos) << message;
    message = errorOf([] { loadCorpus("jsonl:" + data("malformed.jsonl") + "?lang=en"); });
    EXPECT_NE(message.find("line 3"), std::string::npos) << message;
    message = errorOf([] { loadCorpus("xquad:" + data("mgsm")); });
    EXPECT_NE(message.find("no xquad.<lang>.json files found"), std::string::npos) << message;
}

TEST(CorpusSpec, ALanguageWithNoDocumentsIsAnError)
{
    // Every record is empty -> skipped -> nothing left for the language.
    const std::string dir = ::testing::TempDir() + "/moescope_corpus_empty";
    std::filesystem::create_directories(dir);
    const std::string path = dir + "/empty.jsonl";
    {
        std::FILE *f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("{\"text\": \"\"}\n{\"text\": \"  \"}\n", f);
        std::fclose(f);
    }
    const auto message = errorOf([&] { loadCorpus("jsonl:" + path + "?lang=en"); });
    EXPECT_NE(message.find("no documents for language 'en' (2 empty records skipped)"),
              std::string::npos)
        << message;
}

TEST(CorpusSpec, LoadingIsDeterministic)
{
    const std::string spec = "flores:" + data("flores200");
    const auto a = loadCorpus(spec);
    const auto b = loadCorpus(spec);
    ASSERT_EQ(a.labels(), b.labels());
    for (std::size_t i = 0; i < a.languages.size(); ++i)
        for (std::size_t j = 0; j < a.languages[i].documents.size(); ++j) {
            EXPECT_EQ(a.languages[i].documents[j].id, b.languages[i].documents[j].id);
            EXPECT_EQ(a.languages[i].documents[j].text, b.languages[i].documents[j].text);
        }
    EXPECT_EQ(a.spec, b.spec);
}
