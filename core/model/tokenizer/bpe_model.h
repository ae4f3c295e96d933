#pragma once

// The BPE model of tokenizer.json (tokenizers/src/models/bpe): vocabulary,
// ranked merges, unk/byte-fallback handling and ignore_merges. Words are
// merged with a priority queue over merge ranks and memoised per word.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moescope::tokenizer {

class BpeModel
{
public:
    // model: the "model" object of tokenizer.json without its vocab and
    // merges, which come pre-split (see parseTokenizerJson). Throws
    // Error(file, ...) for malformed data or models other than BPE.
    BpeModel(const nlohmann::json &model,
             std::optional<std::vector<std::pair<std::string, std::int64_t>>> vocab,
             std::optional<std::vector<std::pair<std::string, std::string>>> merges,
             const std::string &file);
    BpeModel(BpeModel &&) noexcept;
    BpeModel &operator=(BpeModel &&) noexcept;
    ~BpeModel();

    // Appends the ids of one pre-tokenized word. Thread-safe.
    void tokenize(std::string_view word, std::vector<std::int32_t> &ids) const;

    std::optional<std::int32_t> tokenToId(std::string_view token) const;
    const std::string *idToToken(std::int32_t id) const; // nullptr if unknown
    std::int32_t maxId() const;
    const std::optional<std::string> &unkToken() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace moescope::tokenizer
