#include "core/model/tokenizer/added_vocabulary.h"

#include "core/model/tokenizer/unicode_text.h"

namespace moescope::tokenizer {

namespace {

bool isWordCharacter(char32_t c)
{
    return c == U'_' || isAlphanumeric(c);
}

bool endsWithWordCharacter(std::string_view text)
{
    if (text.empty())
        return false;
    std::size_t start = text.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
        --start;
    std::size_t pos = start;
    return isWordCharacter(nextCodePoint(text, pos));
}

bool startsWithWordCharacter(std::string_view text)
{
    if (text.empty())
        return false;
    std::size_t pos = 0;
    return isWordCharacter(nextCodePoint(text, pos));
}

// Start of the whitespace run that ends text (text.size() if none).
std::size_t trailingWhitespaceStart(std::string_view text)
{
    std::size_t pos = 0, runStart = text.size();
    bool inRun = false;
    while (pos < text.size()) {
        const std::size_t at = pos;
        const bool ws = isWhitespace(nextCodePoint(text, pos));
        if (ws && !inRun) {
            runStart = at;
            inRun = true;
        } else if (!ws) {
            inRun = false;
        }
    }
    return inRun ? runStart : text.size();
}

std::size_t leadingWhitespaceLength(std::string_view text)
{
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t next = pos;
        if (!isWhitespace(nextCodePoint(text, next)))
            break;
        pos = next;
    }
    return pos;
}

} // namespace

void AddedVocabulary::Trie::insert(const std::string &content, std::int32_t tokenIndex)
{
    std::int32_t node = 0;
    for (unsigned char byte : content) {
        std::int32_t child = -1;
        for (const auto &[b, index] : nodes[static_cast<std::size_t>(node)].children)
            if (b == byte)
                child = index;
        if (child < 0) {
            child = static_cast<std::int32_t>(nodes.size());
            nodes[static_cast<std::size_t>(node)].children.emplace_back(byte, child);
            nodes.emplace_back();
        }
        node = child;
    }
    // The first token with a given content wins, as in tokenizers' map.
    if (nodes[static_cast<std::size_t>(node)].tokenIndex < 0)
        nodes[static_cast<std::size_t>(node)].tokenIndex = tokenIndex;
}

std::pair<std::int32_t, std::size_t> AddedVocabulary::Trie::longestAt(std::string_view text,
                                                                      std::size_t pos) const
{
    std::pair<std::int32_t, std::size_t> best{-1, pos};
    std::int32_t node = 0;
    for (std::size_t i = pos; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        std::int32_t child = -1;
        for (const auto &[b, index] : nodes[static_cast<std::size_t>(node)].children)
            if (b == byte) {
                child = index;
                break;
            }
        if (child < 0)
            break;
        node = child;
        if (nodes[static_cast<std::size_t>(node)].tokenIndex >= 0)
            best = {nodes[static_cast<std::size_t>(node)].tokenIndex, i + 1};
    }
    return best;
}

void AddedVocabulary::add(AddedToken token)
{
    if (token.content.empty())
        return;
    const auto index = static_cast<std::int32_t>(m_tokens.size());
    (token.normalized ? m_normalizedTrie : m_rawTrie).insert(token.content, index);
    m_indexById.try_emplace(token.id, m_tokens.size());
    m_indexByContent.try_emplace(token.content, m_tokens.size());
    m_tokens.push_back(std::move(token));
}

const AddedToken *AddedVocabulary::byId(std::int32_t id) const
{
    auto it = m_indexById.find(id);
    return it == m_indexById.end() ? nullptr : &m_tokens[it->second];
}

const AddedToken *AddedVocabulary::byContent(std::string_view content) const
{
    auto it = m_indexByContent.find(std::string(content));
    return it == m_indexByContent.end() ? nullptr : &m_tokens[it->second];
}

void AddedVocabulary::findSections(const Section &input, const Trie &trie,
                                   std::vector<Section> &out) const
{
    const std::string_view text = input.text;
    std::size_t sectionStart = 0; // end of the previous added token
    const auto emitText = [&](std::size_t begin, std::size_t end) {
        if (end > begin)
            out.push_back({std::string(text.substr(begin, end - begin)), std::nullopt,
                           input.atTextStart && begin == 0});
    };
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto [tokenIndex, matchEnd] = trie.longestAt(text, pos);
        if (tokenIndex < 0) {
            ++pos;
            continue;
        }
        const AddedToken &token = m_tokens[static_cast<std::size_t>(tokenIndex)];
        std::size_t start = pos, stop = matchEnd;
        pos = matchEnd; // leftmost-longest matches never overlap
        if (token.special && !m_matchSpecial)
            continue;
        if (token.singleWord
            && ((start > 0 && endsWithWordCharacter(text.substr(0, start)))
                || (stop < text.size() && startsWithWordCharacter(text.substr(stop)))))
            continue;
        if (token.lstrip)
            start = std::max(trailingWhitespaceStart(text.substr(0, start)), sectionStart);
        if (token.rstrip) {
            stop += leadingWhitespaceLength(text.substr(stop));
            pos = stop;
        }
        emitText(sectionStart, start);
        out.push_back({std::string(text.substr(start, stop - start)), token.id, false});
        sectionStart = stop;
    }
    emitText(sectionStart, text.size());
}

std::vector<Section>
AddedVocabulary::split(const std::string &text,
                       const std::function<std::string(std::string)> &normalize) const
{
    std::vector<Section> raw;
    findSections({text, std::nullopt, true}, m_rawTrie, raw);
    std::vector<Section> result;
    result.reserve(raw.size());
    for (auto &section : raw) {
        if (section.tokenId) {
            result.push_back(std::move(section));
            continue;
        }
        section.text = normalize(std::move(section.text));
        findSections(section, m_normalizedTrie, result);
    }
    return result;
}

} // namespace moescope::tokenizer
