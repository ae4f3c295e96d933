#include "core/corpus/corpus_spec.h"
#include "core/corpus/udhr_corpus.h"

#include "core/common/error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

using namespace moescope;

TEST(UdhrCorpus, BundlesTheStudysLanguagesAndManyMore)
{
    const auto languages = bundledUdhrLanguages();
    EXPECT_GE(languages.size(), 30u);
    const std::set<std::string> have(languages.begin(), languages.end());
    for (const char *label : {"bn", "de", "en", "es", "fr", "ja", "sw", "zh", "ar", "ru", "ko",
                              "hi", "th", "he", "am", "zh-Hant"})
        EXPECT_TRUE(have.count(label)) << label;
}

TEST(UdhrCorpus, LoadsFromAnyWorkingDirectory)
{
    // The data is compiled in: no file next to the binary or the source tree.
    const auto previous = std::filesystem::current_path();
    std::filesystem::current_path(std::filesystem::temp_directory_path());
    const auto corpus = loadCorpus("udhr:en,zh,de");
    std::filesystem::current_path(previous);
    EXPECT_EQ(corpus.labels(), (std::vector<std::string>{"en", "zh", "de"}));
    EXPECT_EQ(corpus.find("en")->documents.size(), 31u); // preamble + 30 articles
    EXPECT_EQ(corpus.find("en")->documents[1].text.rfind("All human beings are born free", 0), 0u);
    EXPECT_EQ(corpus.find("zh")->documents[1].text.rfind("人人生而自由", 0), 0u);
}

TEST(UdhrCorpus, ArticlesAlignAcrossAllBundledLanguages)
{
    const auto corpus = loadCorpus("udhr:all");
    ASSERT_GE(corpus.languages.size(), 20u);
    for (const auto &lc : corpus.languages) {
        std::set<int> numbers;
        for (const auto &d : lc.documents) {
            ASSERT_TRUE(d.article.has_value());
            EXPECT_EQ(d.id, "article-" + std::to_string(*d.article));
            EXPECT_FALSE(d.text.empty());
            EXPECT_EQ(d.language, lc.language);
            numbers.insert(*d.article);
        }
        // Articles 1..30 everywhere; the preamble (0) where the translation has one.
        for (int n = 1; n <= 30; ++n)
            EXPECT_TRUE(numbers.count(n)) << lc.language << " lacks article " << n;
        EXPECT_LE(numbers.size(), 31u);
        EXPECT_EQ(*numbers.rbegin(), 30);
    }
}

TEST(UdhrCorpus, HeldOutArticlesAreDisjointFromTheRest)
{
    const auto train = loadCorpus("udhr:en,zh,sw?articles=0-24");
    const auto heldOut = loadCorpus("udhr:en,zh,sw?articles=25-30");
    const auto all = loadCorpus("udhr:en,zh,sw");
    for (const auto &label : all.labels()) {
        std::set<std::string> a, b;
        for (const auto &d : train.find(label)->documents)
            a.insert(d.id);
        for (const auto &d : heldOut.find(label)->documents) {
            b.insert(d.id);
            EXPECT_GE(*d.article, 25);
        }
        EXPECT_EQ(b.size(), 6u);
        for (const auto &id : b)
            EXPECT_FALSE(a.count(id)) << id;
        EXPECT_EQ(a.size() + b.size(), all.find(label)->documents.size());
    }
}

TEST(UdhrCorpus, ParagraphUnitSplitsArticles)
{
    const auto corpus = loadCorpus("udhr:en?unit=paragraphs&articles=26");
    const auto &docs = corpus.find("en")->documents;
    ASSERT_EQ(docs.size(), 3u); // article 26 has three numbered paragraphs
    EXPECT_EQ(docs[0].id, "article-26.1");
    EXPECT_EQ(docs[2].id, "article-26.3");
    EXPECT_EQ(docs[2].text.rfind("Parents have a prior right", 0), 0u);
    const auto whole = loadCorpus("udhr:en?articles=26").find("en")->documents.at(0).text;
    EXPECT_EQ(whole, docs[0].text + "\n" + docs[1].text + "\n" + docs[2].text);
}

TEST(UdhrCorpus, UnbundledLanguagesAreErrors)
{
    EXPECT_THROW(bundledUdhr("gv"), Error); // a valid code we do not ship
    EXPECT_THROW(loadCorpus("udhr:en,gv"), Error);
    const auto d = bundledUdhr("cmn_Hans");
    EXPECT_EQ(d.language, "zh");
    EXPECT_EQ(d.udhrCode, "cmn_hans");
    EXPECT_EQ(bundledUdhr("ar").direction, "rtl");
}
