#pragma once

// Splitting a corpus for `moescope record --shard i/N`: N processes (or
// machines) each record one shard and the traces merge by summation
// (docs/architecture.md). Shards partition the documents exactly and do not
// depend on anything but the corpus, so a re-run gets the same shard.

#include "core/corpus/corpus.h"

#include <cstddef>
#include <string>

namespace moescope {

struct CorpusShard
{
    std::size_t index = 0; // 0-based
    std::size_t count = 1;
};

// Parses "i/N" with 1 <= i <= N (so "1/4" .. "4/4" are the four shards).
// Throws moescope::Error naming the text on anything else.
CorpusShard parseShard(const std::string &text);

// The documents of one shard. Documents are numbered in corpus order
// (language by language) and dealt round-robin: shard i gets numbers
// g with g mod N == i. Dealing rather than cutting blocks gives every shard
// a similar mix of languages and document lengths. Every language stays in
// the result, possibly with no documents, so that shards list the same labels.
Corpus shardCorpus(const Corpus &corpus, const CorpusShard &shard);

} // namespace moescope
