#include "core/corpus/corpus_shard.h"

#include "core/common/error.h"

#include <charconv>

namespace moescope {
namespace {

bool parseCount(const std::string &text, std::size_t &value)
{
    if (text.empty())
        return false;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return ec == std::errc() && ptr == end;
}

} // namespace

CorpusShard parseShard(const std::string &text)
{
    const auto slash = text.find('/');
    std::size_t i = 0, n = 0;
    if (slash == std::string::npos || !parseCount(text.substr(0, slash), i)
        || !parseCount(text.substr(slash + 1), n))
        throw Error("--shard", "'" + text + "' is not of the form i/N (e.g. 1/4)");
    if (n == 0 || i < 1 || i > n)
        throw Error("--shard", "'" + text + "': i must be between 1 and N");
    return {i - 1, n};
}

Corpus shardCorpus(const Corpus &corpus, const CorpusShard &shard)
{
    if (shard.count == 0 || shard.index >= shard.count)
        throw Error("--shard", "shard " + std::to_string(shard.index + 1) + "/"
                                   + std::to_string(shard.count) + " does not exist");
    Corpus out;
    out.spec = corpus.spec;
    std::size_t global = 0;
    for (const auto &language : corpus.languages) {
        LanguageCorpus part;
        part.language = language.language;
        part.source = language.source;
        part.skippedEmpty = language.skippedEmpty; // of the whole corpus, not per shard
        for (const auto &doc : language.documents) {
            if (global % shard.count == shard.index)
                part.documents.push_back(doc);
            ++global;
        }
        out.languages.push_back(std::move(part));
    }
    return out;
}

} // namespace moescope
