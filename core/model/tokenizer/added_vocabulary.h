#pragma once

// Added tokens of tokenizer.json ("added_tokens"): special and user tokens
// that are cut out of the text before normalization and pre-tokenization
// (tokenizers/src/tokenizer/added_vocabulary.rs). Matching is
// leftmost-longest, then the lstrip/rstrip/single_word flags apply; tokens
// with normalized=true are matched on the normalized text.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace moescope::tokenizer {

struct AddedToken
{
    std::int32_t id = 0;
    std::string content;
    bool special = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = false;
    bool singleWord = false;
};

// A stretch of input after added-token extraction: either an added token's
// id, or (normalized) text the model still has to tokenize.
struct Section
{
    std::string text;
    std::optional<std::int32_t> tokenId;
    bool atTextStart = false;
};

class AddedVocabulary
{
public:
    void add(AddedToken token);
    // split_special_tokens in tokenizer_config.json: special tokens in the
    // text are then tokenized as plain text.
    void setMatchSpecialTokens(bool match) { m_matchSpecial = match; }

    std::vector<Section> split(const std::string &text,
                               const std::function<std::string(std::string)> &normalize) const;

    const AddedToken *byId(std::int32_t id) const;
    const AddedToken *byContent(std::string_view content) const;
    const std::vector<AddedToken> &tokens() const { return m_tokens; }

private:
    // A byte trie over token contents; children kept in small vectors since
    // most nodes have one child.
    struct TrieNode
    {
        std::vector<std::pair<unsigned char, std::int32_t>> children;
        std::int32_t tokenIndex = -1;
    };
    struct Trie
    {
        std::vector<TrieNode> nodes{TrieNode{}};
        void insert(const std::string &content, std::int32_t tokenIndex);
        // Longest token starting at pos, as (tokenIndex, end), or tokenIndex -1.
        std::pair<std::int32_t, std::size_t> longestAt(std::string_view text,
                                                       std::size_t pos) const;
    };
    void findSections(const Section &input, const Trie &trie, std::vector<Section> &out) const;

    std::vector<AddedToken> m_tokens;
    std::unordered_map<std::int32_t, std::size_t> m_indexById;
    std::unordered_map<std::string, std::size_t> m_indexByContent;
    Trie m_rawTrie;        // normalized == false: matched on the input as given
    Trie m_normalizedTrie; // normalized == true: matched after normalization
    bool m_matchSpecial = true;
};

} // namespace moescope::tokenizer
