#include "core/model/tokenizer/bpe_model.h"

#include "core/common/error.h"
#include "core/model/tokenizer/tokenizer_json.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <mutex>
#include <queue>
#include <shared_mutex>
#include <unordered_map>

namespace moescope::tokenizer {

namespace {

struct StringHash
{
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

using Vocabulary = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;

struct MergeResult
{
    std::int32_t rank;
    std::int32_t mergedId;
};

std::uint64_t pairKey(std::int32_t left, std::int32_t right)
{
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32)
        | static_cast<std::uint32_t>(right);
}

// One symbol of a word being merged; a doubly linked list over a vector so
// merging is O(1) and stale queue entries can be recognised.
struct Symbol
{
    std::int32_t id;
    std::int32_t prev;
    std::int32_t next;
    bool removed;
};

struct QueuedMerge
{
    std::int32_t rank;
    std::int32_t position;
    std::int32_t mergedId;
    // std::priority_queue pops the largest: lowest rank first, then leftmost
    // (tokenizers/src/models/bpe/word.rs, `impl Ord for Merge`).
    bool operator<(const QueuedMerge &other) const
    {
        if (rank != other.rank)
            return rank > other.rank;
        return position > other.position;
    }
};

// Words longer than this are not memoised: Llama-style tokenizers without a
// pre-tokenizer hand whole paragraphs to the model, which would never repeat.
constexpr std::size_t kMaxCachedWordBytes = 256;
constexpr std::size_t kMaxCacheEntries = 100000;

} // namespace

struct BpeModel::Impl
{
    Vocabulary vocab;
    std::vector<const std::string *> idToToken; // points into vocab's keys
    std::unordered_map<std::uint64_t, MergeResult> merges;
    std::optional<std::string> unkToken;
    std::optional<std::int32_t> unkId;
    std::string continuingSubwordPrefix;
    std::string endOfWordSuffix;
    bool byteFallback = false;
    bool fuseUnk = false;
    bool ignoreMerges = false;
    std::int32_t maxId = -1;

    mutable std::shared_mutex cacheMutex;
    mutable std::unordered_map<std::string, std::vector<std::int32_t>, StringHash, std::equal_to<>>
        cache;

    std::vector<std::int32_t> mergeWord(std::string_view word) const;
};

BpeModel::BpeModel(const nlohmann::json &model,
                   std::optional<std::vector<std::pair<std::string, std::int64_t>>> vocab,
                   std::optional<std::vector<std::pair<std::string, std::string>>> merges,
                   const std::string &file)
    : m_impl(std::make_unique<Impl>())
{
    auto &d = *m_impl;
    if (!model.is_object())
        throw Error(file, "tokenizer.json has no \"model\" object");
    const std::string type = model.contains("type") && model["type"].is_string()
        ? model["type"].get<std::string>()
        : (merges ? "BPE" : "unknown");
    if (type != "BPE")
        throw Error(file, "unsupported tokenizer feature: model type " + type);
    if (model.contains("dropout") && model["dropout"].is_number()
        && model["dropout"].get<double>() > 0)
        throw Error(file, "unsupported tokenizer feature: BPE dropout");
    if (!vocab)
        throw Error(file, "BPE model: missing \"vocab\" object");
    if (!merges)
        throw Error(file, "BPE model: missing \"merges\" array");

    d.vocab.reserve(vocab->size());
    for (auto &[token, id] : *vocab) {
        const auto value = static_cast<std::int32_t>(id); // range-checked by the parser
        d.maxId = std::max(d.maxId, value);
        d.vocab.insert_or_assign(std::move(token), value);
    }
    d.idToToken.assign(static_cast<std::size_t>(d.maxId + 1), nullptr);
    for (const auto &[token, id] : d.vocab)
        d.idToToken[static_cast<std::size_t>(id)] = &token;

    d.unkToken = optionalString(model, "unk_token");
    if (d.unkToken) {
        auto it = d.vocab.find(*d.unkToken);
        if (it == d.vocab.end())
            throw Error(file, "BPE model: unk_token '" + *d.unkToken + "' is not in the vocabulary");
        d.unkId = it->second;
    }
    d.continuingSubwordPrefix = optionalString(model, "continuing_subword_prefix").value_or("");
    d.endOfWordSuffix = optionalString(model, "end_of_word_suffix").value_or("");
    d.byteFallback = optionalBool(model, "byte_fallback", false);
    d.fuseUnk = optionalBool(model, "fuse_unk", false);
    d.ignoreMerges = optionalBool(model, "ignore_merges", false);

    d.merges.reserve(merges->size());
    const std::size_t prefixLength = d.continuingSubwordPrefix.size();
    std::string merged;
    for (std::size_t i = 0; i < merges->size(); ++i) {
        const auto &[left, right] = (*merges)[i];
        const auto leftIt = d.vocab.find(left);
        const auto rightIt = d.vocab.find(right);
        if (leftIt == d.vocab.end() || rightIt == d.vocab.end())
            throw Error(file, "BPE model: merge " + std::to_string(i + 1)
                                  + " uses a token missing from the vocabulary");
        merged.assign(left);
        merged.append(right, std::min(prefixLength, right.size()));
        const auto mergedIt = d.vocab.find(merged);
        if (mergedIt == d.vocab.end())
            throw Error(file, "BPE model: merge " + std::to_string(i + 1) + " produces '"
                                  + merged + "', which is not in the vocabulary");
        // Like tokenizers' HashMap collect, a repeated pair keeps its last rank.
        d.merges.insert_or_assign(pairKey(leftIt->second, rightIt->second),
                                  MergeResult{static_cast<std::int32_t>(i), mergedIt->second});
    }
}

BpeModel::BpeModel(BpeModel &&) noexcept = default;
BpeModel &BpeModel::operator=(BpeModel &&) noexcept = default;
BpeModel::~BpeModel() = default;

std::vector<std::int32_t> BpeModel::Impl::mergeWord(std::string_view word) const
{
    // Initial symbols: one per character (tokenizers/src/models/bpe/model.rs,
    // merge_word), falling back to <0xXX> byte tokens, then to unk.
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    constexpr std::int32_t kNone = -1;
    std::int32_t pendingUnk = kNone; // unk not yet pushed, so fuse_unk can extend it
    const auto push = [&](std::int32_t id) {
        const auto index = static_cast<std::int32_t>(symbols.size());
        symbols.push_back({id, index - 1, index + 1, false});
    };
    const auto flushUnk = [&] {
        if (pendingUnk != kNone) {
            push(pendingUnk);
            pendingUnk = kNone;
        }
    };
    std::size_t pos = 0;
    std::string piece;
    while (pos < word.size()) {
        std::size_t end = pos + 1;
        while (end < word.size() && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80)
            ++end;
        const std::string_view character = word.substr(pos, end - pos);
        piece.clear();
        if (pos > 0)
            piece += continuingSubwordPrefix;
        piece += character;
        if (end == word.size())
            piece += endOfWordSuffix;
        pos = end;

        if (auto it = vocab.find(piece); it != vocab.end()) {
            flushUnk();
            push(it->second);
            continue;
        }
        if (byteFallback) {
            std::vector<std::int32_t> byteIds;
            for (unsigned char byte : piece) {
                char name[8];
                std::snprintf(name, sizeof name, "<0x%02X>", byte);
                auto it = vocab.find(std::string_view(name));
                if (it == vocab.end())
                    break;
                byteIds.push_back(it->second);
            }
            if (byteIds.size() == piece.size()) {
                flushUnk();
                for (auto id : byteIds)
                    push(id);
                continue;
            }
        }
        if (unkId && !(pendingUnk != kNone && fuseUnk)) {
            flushUnk();
            pendingUnk = *unkId;
        }
        // Without an unk token an unknown character is dropped, as in tokenizers.
    }
    flushUnk();
    if (!symbols.empty())
        symbols.back().next = -1;

    std::priority_queue<QueuedMerge> queue;
    const auto lookup = [&](std::int32_t left, std::int32_t right) -> const MergeResult * {
        auto it = merges.find(pairKey(left, right));
        return it == merges.end() ? nullptr : &it->second;
    };
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
        if (const auto *m = lookup(symbols[i].id, symbols[i + 1].id))
            queue.push({m->rank, static_cast<std::int32_t>(i), m->mergedId});

    while (!queue.empty()) {
        const QueuedMerge top = queue.top();
        queue.pop();
        Symbol &left = symbols[static_cast<std::size_t>(top.position)];
        if (left.removed || left.next < 0)
            continue;
        Symbol &right = symbols[static_cast<std::size_t>(left.next)];
        // Skip entries made stale by an earlier merge at this position.
        const auto *current = lookup(left.id, right.id);
        if (!current || current->mergedId != top.mergedId)
            continue;
        left.id = top.mergedId;
        right.removed = true;
        left.next = right.next;
        if (right.next >= 0)
            symbols[static_cast<std::size_t>(right.next)].prev = top.position;
        if (left.prev >= 0) {
            const auto &previous = symbols[static_cast<std::size_t>(left.prev)];
            if (const auto *m = lookup(previous.id, left.id))
                queue.push({m->rank, left.prev, m->mergedId});
        }
        if (left.next >= 0) {
            const auto &next = symbols[static_cast<std::size_t>(left.next)];
            if (const auto *m = lookup(left.id, next.id))
                queue.push({m->rank, top.position, m->mergedId});
        }
    }

    std::vector<std::int32_t> ids;
    ids.reserve(symbols.size());
    for (const auto &s : symbols)
        if (!s.removed)
            ids.push_back(s.id);
    return ids;
}

void BpeModel::tokenize(std::string_view word, std::vector<std::int32_t> &ids) const
{
    if (word.empty())
        return;
    const auto &d = *m_impl;
    if (d.ignoreMerges) {
        if (auto it = d.vocab.find(word); it != d.vocab.end()) {
            ids.push_back(it->second);
            return;
        }
    }
    const bool cacheable = word.size() <= kMaxCachedWordBytes;
    if (cacheable) {
        std::shared_lock lock(d.cacheMutex);
        if (auto it = d.cache.find(word); it != d.cache.end()) {
            ids.insert(ids.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<std::int32_t> merged = d.mergeWord(word);
    ids.insert(ids.end(), merged.begin(), merged.end());
    if (cacheable) {
        std::unique_lock lock(d.cacheMutex);
        if (d.cache.size() >= kMaxCacheEntries)
            d.cache.clear();
        d.cache.emplace(std::string(word), std::move(merged));
    }
}

std::optional<std::int32_t> BpeModel::tokenToId(std::string_view token) const
{
    auto it = m_impl->vocab.find(token);
    if (it == m_impl->vocab.end())
        return std::nullopt;
    return it->second;
}

const std::string *BpeModel::idToToken(std::int32_t id) const
{
    if (id < 0 || id > m_impl->maxId)
        return nullptr;
    return m_impl->idToToken[static_cast<std::size_t>(id)];
}

std::int32_t BpeModel::maxId() const
{
    return m_impl->maxId;
}

const std::optional<std::string> &BpeModel::unkToken() const
{
    return m_impl->unkToken;
}

} // namespace moescope::tokenizer
