#include "core/model/tokenizer/pre_tokenizers.h"

#include "core/common/error.h"
#include "core/model/tokenizer/regex_pattern.h"
#include "core/model/tokenizer/tokenizer_json.h"
#include "core/model/tokenizer/unicode_text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>

namespace moescope::tokenizer {

namespace {

// How a piece is cut around the matches of a pattern
// (tokenizers/src/tokenizer/normalizer.rs, SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

SplitBehavior parseSplitBehavior(const std::string &name, const std::string &file)
{
    if (name == "Removed")
        return SplitBehavior::Removed;
    if (name == "Isolated")
        return SplitBehavior::Isolated;
    if (name == "MergedWithPrevious")
        return SplitBehavior::MergedWithPrevious;
    if (name == "MergedWithNext")
        return SplitBehavior::MergedWithNext;
    if (name == "Contiguous")
        return SplitBehavior::Contiguous;
    throw Error(file, "unsupported tokenizer feature: split behavior " + name);
}

struct Segment
{
    ByteRange range;
    bool isMatch;
};

// Cuts piece at the given matches (sorted, non-overlapping) and appends the
// non-empty results to out.
void splitPiece(const TextPiece &piece, const std::vector<ByteRange> &matches,
                SplitBehavior behavior, bool invert, std::vector<TextPiece> &out)
{
    const std::size_t length = piece.text.size();
    std::vector<Segment> segments;
    std::size_t previous = 0;
    for (const auto &m : matches) {
        if (m.begin > previous)
            segments.push_back({{previous, m.begin}, false});
        segments.push_back({m, true});
        previous = m.end;
    }
    if (previous < length)
        segments.push_back({{previous, length}, false});
    if (invert)
        for (auto &s : segments)
            s.isMatch = !s.isMatch;

    std::vector<ByteRange> kept;
    bool previousMatch = false;
    switch (behavior) {
    case SplitBehavior::Removed:
        for (const auto &s : segments)
            if (!s.isMatch)
                kept.push_back(s.range);
        break;
    case SplitBehavior::Isolated:
        for (const auto &s : segments)
            kept.push_back(s.range);
        break;
    case SplitBehavior::Contiguous:
        for (const auto &s : segments) {
            if (s.isMatch == previousMatch && !kept.empty())
                kept.back().end = s.range.end;
            else
                kept.push_back(s.range);
            previousMatch = s.isMatch;
        }
        break;
    case SplitBehavior::MergedWithPrevious:
        for (const auto &s : segments) {
            if (s.isMatch && !previousMatch && !kept.empty())
                kept.back().end = s.range.end;
            else
                kept.push_back(s.range);
            previousMatch = s.isMatch;
        }
        break;
    case SplitBehavior::MergedWithNext:
        for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
            if (it->isMatch && !previousMatch && !kept.empty())
                kept.back().begin = it->range.begin;
            else
                kept.push_back(it->range);
            previousMatch = it->isMatch;
        }
        std::reverse(kept.begin(), kept.end());
        break;
    }
    for (const auto &r : kept)
        if (r.end > r.begin)
            out.push_back({piece.text.substr(r.begin, r.end - r.begin),
                           piece.atTextStart && r.begin == 0});
}

// Every character for which predicate holds is a match of its own, as
// tokenizers' `impl Pattern for Fn(char) -> bool` does.
std::vector<ByteRange> characterMatches(std::string_view text,
                                        const std::function<bool(char32_t)> &predicate)
{
    std::vector<ByteRange> matches;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t start = pos;
        if (predicate(nextCodePoint(text, pos)))
            matches.push_back({start, pos});
    }
    return matches;
}

using MatchFinder = std::function<std::vector<ByteRange>(std::string_view)>;

void splitAll(std::vector<TextPiece> &pieces, const MatchFinder &find, SplitBehavior behavior,
              bool invert)
{
    std::vector<TextPiece> out;
    out.reserve(pieces.size());
    for (const auto &piece : pieces)
        splitPiece(piece, find(piece.text), behavior, invert, out);
    pieces = std::move(out);
}

class SplitPreTokenizer final : public PreTokenizer
{
public:
    SplitPreTokenizer(TextPattern pattern, SplitBehavior behavior, bool invert)
        : m_pattern(std::move(pattern)), m_behavior(behavior), m_invert(invert)
    {
    }
    void apply(std::vector<TextPiece> &pieces) const override
    {
        splitAll(pieces, [this](std::string_view t) { return m_pattern.findAll(t); }, m_behavior,
                 m_invert);
    }

private:
    TextPattern m_pattern;
    SplitBehavior m_behavior;
    bool m_invert;
};

// GPT-2's pre-tokenizer regex as tokenizers' ByteLevel uses it.
constexpr const char *kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer final : public PreTokenizer
{
public:
    ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex, const std::string &file)
        : m_addPrefixSpace(addPrefixSpace)
    {
        if (useRegex)
            m_regex.emplace(kGpt2Pattern, file);
    }
    void apply(std::vector<TextPiece> &pieces) const override
    {
        if (m_addPrefixSpace)
            for (auto &piece : pieces)
                if (piece.text.empty() || piece.text.front() != ' ')
                    piece.text.insert(piece.text.begin(), ' ');
        if (m_regex)
            splitAll(pieces, [this](std::string_view t) { return m_regex->findAll(t); },
                     SplitBehavior::Isolated, false);
        const auto &alphabet = byteLevelAlphabet();
        for (auto &piece : pieces) {
            std::string mapped;
            mapped.reserve(piece.text.size() * 2);
            for (char byte : piece.text)
                mapped += alphabet[static_cast<unsigned char>(byte)];
            piece.text = std::move(mapped);
        }
    }

private:
    bool m_addPrefixSpace;
    std::optional<RegexPattern> m_regex;
};

enum class PrependScheme { Always, First, Never };

class MetaspacePreTokenizer final : public PreTokenizer
{
public:
    MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
        : m_replacement(std::move(replacement)), m_scheme(scheme), m_split(split)
    {
    }
    void apply(std::vector<TextPiece> &pieces) const override
    {
        for (auto &piece : pieces) {
            std::string replaced = replaceAll(piece.text, " ", m_replacement);
            const bool startsWithReplacement = replaced.rfind(m_replacement, 0) == 0;
            const bool prepend = !startsWithReplacement
                && (m_scheme == PrependScheme::Always
                    || (m_scheme == PrependScheme::First && piece.atTextStart));
            piece.text = prepend ? m_replacement + replaced : std::move(replaced);
        }
        if (m_split) {
            const std::string &rep = m_replacement;
            splitAll(
                pieces,
                [&rep](std::string_view t) { return TextPattern::literal(rep).findAll(t); },
                SplitBehavior::MergedWithNext, false);
        }
    }

private:
    std::string m_replacement;
    PrependScheme m_scheme;
    bool m_split;
};

class CharacterClassPreTokenizer final : public PreTokenizer
{
public:
    CharacterClassPreTokenizer(std::function<bool(char32_t)> predicate, SplitBehavior behavior)
        : m_predicate(std::move(predicate)), m_behavior(behavior)
    {
    }
    void apply(std::vector<TextPiece> &pieces) const override
    {
        splitAll(pieces,
                 [this](std::string_view t) { return characterMatches(t, m_predicate); },
                 m_behavior, false);
    }

private:
    std::function<bool(char32_t)> m_predicate;
    SplitBehavior m_behavior;
};

class WhitespacePreTokenizer final : public PreTokenizer
{
public:
    // tokenizers/src/pre_tokenizers/whitespace.rs keeps the matches of
    // \w+|[^\w\s]+ and drops everything else.
    explicit WhitespacePreTokenizer(const std::string &file) : m_pattern(R"(\w+|[^\w\s]+)", file)
    {
    }
    void apply(std::vector<TextPiece> &pieces) const override
    {
        splitAll(pieces, [this](std::string_view t) { return m_pattern.findAll(t); },
                 SplitBehavior::Removed, true);
    }

private:
    RegexPattern m_pattern;
};

class SequencePreTokenizer final : public PreTokenizer
{
public:
    explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
        : m_steps(std::move(steps))
    {
    }
    void apply(std::vector<TextPiece> &pieces) const override
    {
        for (const auto &step : m_steps)
            step->apply(pieces);
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> m_steps;
};

} // namespace

std::unique_ptr<PreTokenizer> parsePreTokenizer(const nlohmann::json &spec,
                                                const std::string &file)
{
    if (spec.is_null())
        return nullptr;
    const std::string type = requireString(spec, "type", file, "pre_tokenizer");
    if (type == "Sequence") {
        std::vector<std::unique_ptr<PreTokenizer>> steps;
        for (const auto &item : requireArray(spec, "pretokenizers", file, type))
            if (auto step = parsePreTokenizer(item, file))
                steps.push_back(std::move(step));
        return std::make_unique<SequencePreTokenizer>(std::move(steps));
    }
    if (type == "ByteLevel")
        return std::make_unique<ByteLevelPreTokenizer>(optionalBool(spec, "add_prefix_space", true),
                                                       optionalBool(spec, "use_regex", true), file);
    if (type == "Split") {
        const std::string behavior = optionalString(spec, "behavior").value_or("Isolated");
        return std::make_unique<SplitPreTokenizer>(
            parseTextPattern(spec.value("pattern", nlohmann::json()), file, type),
            parseSplitBehavior(behavior, file), optionalBool(spec, "invert", false));
    }
    if (type == "Metaspace") {
        const std::string replacement = optionalString(spec, "replacement").value_or("\u2581");
        PrependScheme scheme = PrependScheme::Always;
        if (auto name = optionalString(spec, "prepend_scheme")) {
            if (*name == "always")
                scheme = PrependScheme::Always;
            else if (*name == "first")
                scheme = PrependScheme::First;
            else if (*name == "never")
                scheme = PrependScheme::Never;
            else
                throw Error(file, "unsupported tokenizer feature: Metaspace prepend_scheme "
                                      + *name);
        } else if (!optionalBool(spec, "add_prefix_space", true)) {
            scheme = PrependScheme::Never; // the pre-0.15 spelling of the same setting
        }
        return std::make_unique<MetaspacePreTokenizer>(replacement, scheme,
                                                       optionalBool(spec, "split", true));
    }
    if (type == "Digits")
        return std::make_unique<CharacterClassPreTokenizer>(
            isNumeric, optionalBool(spec, "individual_digits", false) ? SplitBehavior::Isolated
                                                                      : SplitBehavior::Contiguous);
    if (type == "Punctuation")
        return std::make_unique<CharacterClassPreTokenizer>(
            isPunctuation,
            parseSplitBehavior(optionalString(spec, "behavior").value_or("Isolated"), file));
    if (type == "WhitespaceSplit")
        return std::make_unique<CharacterClassPreTokenizer>(isWhitespace, SplitBehavior::Removed);
    if (type == "Whitespace")
        return std::make_unique<WhitespacePreTokenizer>(file);
    throw Error(file, "unsupported tokenizer feature: pre_tokenizer " + type);
}

} // namespace moescope::tokenizer
