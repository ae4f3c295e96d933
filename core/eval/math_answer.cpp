#include "core/eval/math_answer.h"

#include "core/common/error.h"
#include "core/eval/labelled_rows.h"
#include "core/eval/language_consistency.h"
#include "core/eval/metric_table.h"
#include "core/eval/utf8_text.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

namespace moescope {
namespace {

// Text with digits of every script made ASCII and look-alike signs made
// plain ASCII, remembering where each byte came from so the answer can be
// quoted as the model wrote it.
struct FoldedText
{
    std::string text;
    std::vector<std::size_t>
        origin; // origin[i]: offset in the input of folded byte i; size()+1 entries
};

char32_t foldCharacter(char32_t c)
{
    if (c < 0x80)
        return c;
    if (const int digit = decimalDigitValue(c); digit >= 0)
        return U'0' + static_cast<char32_t>(digit);
    if (c >= 0xFF01 && c <= 0xFF5E) // full-width ASCII forms
        return c - 0xFEE0;
    switch (c) {
    case 0x00A0: // no-break space, thin spaces: thousands grouping in fr, ru, ...
    case 0x2007:
    case 0x2009:
    case 0x200A:
    case 0x202F:
    case 0x3000:
        return U' ';
    case 0x2212: // minus sign
    case 0x2012: // figure dash
    case 0x2013: // en dash, often typed for minus
    case 0xFE63:
        return U'-';
    case 0x2044: // fraction slash
    case 0x2215: // division slash
        return U'/';
    case 0x066B: // Arabic decimal separator
        return U'.';
    case 0x066C: // Arabic thousands separator
        return U',';
    case 0x066A: // Arabic percent sign
        return U'%';
    case 0x2019: // right single quotation mark: Swiss grouping 1’000
        return U'\'';
    default:
        return c;
    }
}

FoldedText fold(std::string_view input)
{
    FoldedText folded;
    folded.text.reserve(input.size());
    folded.origin.reserve(input.size() + 1);
    const auto *bytes = reinterpret_cast<const uint8_t *>(input.data());
    const auto length = static_cast<int32_t>(input.size());
    int32_t i = 0;
    while (i < length) {
        const auto start = static_cast<std::size_t>(i);
        UChar32 c;
        U8_NEXT(bytes, i, length, c);
        const std::size_t before = folded.text.size();
        appendUtf8(folded.text, foldCharacter(c < 0 ? U'\uFFFD' : static_cast<char32_t>(c)));
        folded.origin.insert(folded.origin.end(), folded.text.size() - before, start);
    }
    folded.origin.push_back(input.size());
    return folded;
}

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}

bool isAsciiLetter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isGroupingSpace(char c)
{
    return c == ' ' || c == '\'';
}

bool isNumeralSeparator(char c)
{
    return c == ',' || c == '.' || isGroupingSpace(c);
}

// Languages whose usual thousands separator is a dot (CLDR number symbols),
// so "1.234" reads as 1234 there.
bool groupsThousandsWithDot(std::string_view language)
{
    static constexpr std::array kDotGrouping = { "de", "es", "it", "pt", "nl", "id", "da", "tr",
        "el", "ro", "hr", "sl", "sr", "vi", "ca", "is" };
    if (language.empty())
        return false;
    const std::string base = baseLanguage(language);
    return std::find(kDotGrouping.begin(), kDotGrouping.end(), base) != kDotGrouping.end();
}

std::optional<double> toDouble(const std::string &plain)
{
    double value = 0;
    const auto [end, error] = std::from_chars(plain.data(), plain.data() + plain.size(), value);
    if (error != std::errc() || end != plain.data() + plain.size())
        return std::nullopt;
    return value;
}

// A numeral made of ASCII digits and separators (",", ".", space, "'"),
// starting and ending with a digit. Which separator is the decimal mark:
// - both "," and "." occur: the last one (it must occur once);
// - one of them occurs several times: it groups thousands ("1.000.000");
// - it occurs once and is followed by other than 3 digits: decimal ("2,5");
// - followed by exactly 3 digits ("1,234", "1.234"): grouping, except after
//   a lone 0 ("0.125"), after space grouping ("1 234,567", French), and for
//   "." unless the language groups with a dot.
// Grouped digits must come as 1-3 digits, then groups of exactly 3.
std::optional<double> parseNumeral(std::string_view s, bool dotGrouping)
{
    std::vector<std::string_view> groups;
    std::vector<char> separators;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || !isDigit(s[i])) {
            if (i == start)
                return std::nullopt; // empty group: leading, trailing or doubled separator
            groups.push_back(s.substr(start, i - start));
            if (i == s.size())
                break;
            if (!isNumeralSeparator(s[i]))
                return std::nullopt;
            separators.push_back(isGroupingSpace(s[i]) ? ' ' : s[i]);
            start = i + 1;
        }
    }
    if (groups.empty())
        return std::nullopt;

    const auto dots = std::count(separators.begin(), separators.end(), '.');
    const auto commas = std::count(separators.begin(), separators.end(), ',');
    const bool spaceGrouping = std::count(separators.begin(), separators.end(), ' ') > 0;
    char decimalMark = 0;
    if (dots > 0 && commas > 0) {
        decimalMark = separators.back();
        if (decimalMark == ' '
            || std::count(separators.begin(), separators.end(), decimalMark) != 1)
            return std::nullopt;
    } else if (dots + commas == 1 && (separators.back() == '.' || separators.back() == ',')) {
        const char mark = separators.back();
        const std::string_view before = groups[groups.size() - 2];
        const bool threeAfter = groups.back().size() == 3;
        const bool grouping
            = threeAfter && !spaceGrouping && before != "0" && (mark == ',' || dotGrouping);
        if (!grouping)
            decimalMark = mark;
    }

    std::string plain;
    const std::size_t integerGroups = decimalMark ? groups.size() - 1 : groups.size();
    char groupingMark = 0;
    for (std::size_t g = 0; g < integerGroups; ++g) {
        if (g > 0) {
            const char sep = separators[g - 1];
            if (groupingMark && sep != groupingMark)
                return std::nullopt; // "1,000 000": mixed grouping
            groupingMark = sep;
            if (groups[g].size() != 3 || groups[0].size() > 3)
                return std::nullopt;
        }
        plain += groups[g];
    }
    if (decimalMark) {
        plain += '.';
        plain += groups.back();
    }
    return toDouble(plain);
}

// Position just past the brace group that opens at `open` (s[open] == '{'),
// or npos when it is not closed.
std::size_t closingBrace(std::string_view s, std::size_t open)
{
    int depth = 0;
    for (std::size_t i = open; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            ++i; // \{ and \} are literal braces
            continue;
        }
        if (s[i] == '{')
            ++depth;
        else if (s[i] == '}' && --depth == 0)
            return i + 1;
    }
    return std::string_view::npos;
}

// Whether s has the control word `name` (without backslash) at `pos`.
bool controlWordAt(std::string_view s, std::size_t pos, std::string_view name)
{
    if (s.compare(pos, 1, "\\") != 0 || s.compare(pos + 1, name.size(), name) != 0)
        return false;
    const std::size_t end = pos + 1 + name.size();
    return end >= s.size() || !isAsciiLetter(s[end]);
}

std::size_t skipSpaces(std::string_view s, std::size_t pos)
{
    while (pos < s.size() && s[pos] == ' ')
        ++pos;
    return pos;
}

struct Span
{
    std::size_t begin = 0;
    std::size_t end = 0;
};

// Content span of the last complete, non-empty \boxed{...} (or \fbox{...}).
std::optional<Span> lastBoxed(std::string_view s)
{
    std::optional<Span> found;
    for (std::size_t pos = s.find('\\'); pos != std::string_view::npos;
         pos = s.find('\\', pos + 1)) {
        std::size_t nameLength = 0;
        if (controlWordAt(s, pos, "boxed"))
            nameLength = 5;
        else if (controlWordAt(s, pos, "fbox"))
            nameLength = 4;
        else
            continue;
        const std::size_t open = skipSpaces(s, pos + 1 + nameLength);
        if (open >= s.size() || s[open] != '{')
            continue;
        const std::size_t close = closingBrace(s, open);
        if (close == std::string_view::npos)
            continue; // cut off before its closing brace
        Span content { open + 1, close - 1 };
        std::string_view inside = s.substr(content.begin, content.end - content.begin);
        if (inside.find_first_not_of(" \t\r\n") != std::string_view::npos)
            found = content;
    }
    return found;
}

void replaceAll(std::string &s, std::string_view from, std::string_view to)
{
    // Built anew rather than with in-place replace(), which GCC 12 flags with a
    // false -Wrestrict.
    std::string out;
    out.reserve(s.size());
    std::size_t start = 0;
    for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, start)) {
        out.append(s, start, pos - start);
        out.append(to);
        start = pos + from.size();
    }
    out.append(s, start, std::string::npos);
    s = std::move(out);
}

// Removes `\name{` ... `}` around its content, for every occurrence.
void unwrapCommand(std::string &s, std::string_view name)
{
    for (std::size_t pos = s.find('\\'); pos != std::string::npos;) {
        if (!controlWordAt(s, pos, name)) {
            pos = s.find('\\', pos + 1);
            continue;
        }
        const std::size_t open = skipSpaces(s, pos + 1 + name.size());
        const std::size_t close
            = open < s.size() && s[open] == '{' ? closingBrace(s, open) : std::string::npos;
        if (close == std::string::npos) {
            s.erase(pos, 1 + name.size()); // no argument: drop the command word
            continue;
        }
        s.erase(close - 1, 1);
        s.erase(pos, open + 1 - pos);
    }
}

void removeControlWord(std::string &s, std::string_view name, std::string_view replacement)
{
    for (std::size_t pos = s.find('\\'); pos != std::string::npos;) {
        if (controlWordAt(s, pos, name)) {
            s.replace(pos, 1 + name.size(), replacement);
            pos = s.find('\\', pos + replacement.size());
        } else {
            pos = s.find('\\', pos + 1);
        }
    }
}

std::string collapseSpaces(std::string_view s)
{
    std::string out;
    for (char c : s) {
        const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
        if (space) {
            if (!out.empty() && out.back() != ' ')
                out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out;
}

bool isCurrencySymbol(char32_t c)
{
    return u_charType(static_cast<UChar32>(c)) == U_CURRENCY_SYMBOL;
}

// Strips LaTeX wrappers, currency and percent signs and sentence punctuation
// from an isolated answer (boxed content or a reference answer).
std::string cleanAnswerText(std::string s)
{
    for (std::string_view wrapper : { "boxed", "fbox", "text", "textbf", "textit", "textrm",
             "mathrm", "mathbf", "mathit", "mbox", "operatorname" })
        unwrapCommand(s, wrapper);
    for (std::string_view frac : { "dfrac", "tfrac", "cfrac" })
        removeControlWord(s, frac, "\\frac");
    for (std::string_view word : { "left", "right", "displaystyle", "circ", "degree" })
        removeControlWord(s, word, "");
    replaceAll(s, "{,}", ",");
    replaceAll(s, "^{}", "");
    replaceAll(s, "\\%", "%");
    replaceAll(s, "\\$", "$");
    for (std::string_view spacing : { "\\,", "\\;", "\\:", "\\ ", "~" })
        replaceAll(s, spacing, " ");
    for (std::string_view drop : { "\\!", "\\(", "\\)", "\\[", "\\]", "°", "$", "%" })
        replaceAll(s, drop, "");

    std::u32string text = decodeUtf8(s);
    std::erase_if(text, isCurrencySymbol);
    std::string cleaned = collapseSpaces(encodeUtf8(text));

    // An equation ("x = 5", "n=12") answers with its right-hand side.
    if (const auto eq = cleaned.rfind('='); eq != std::string::npos)
        cleaned = collapseSpaces(std::string_view(cleaned).substr(eq + 1));
    // Trailing sentence punctuation (ASCII and CJK) and leftover "^" of a
    // removed degree sign.
    while (!cleaned.empty()) {
        static const std::array<std::string_view, 8> kTrailing
            = { ".", ",", ";", ":", "!", "^", "。", "，" };
        auto it = std::find_if(kTrailing.begin(), kTrailing.end(),
            [&](std::string_view t) { return cleaned.ends_with(t); });
        if (it == kTrailing.end())
            break;
        cleaned.erase(cleaned.size() - it->size());
        cleaned = collapseSpaces(cleaned);
    }
    if (cleaned.starts_with(' '))
        cleaned.erase(0, 1);
    return cleaned;
}

// "-", "+" or nothing, then a numeral; or a \frac of two such; or a/b.
std::optional<double> parseNumberExpression(std::string_view s, bool dotGrouping)
{
    s = s.substr(std::min(s.find_first_not_of(' '), s.size()));
    while (s.ends_with(' '))
        s.remove_suffix(1);
    // "(3)" is 3, but "(1,2)" is a pair, not 1.2.
    if (s.size() >= 2 && s.front() == '(' && s.back() == ')') {
        const std::string_view inside = s.substr(1, s.size() - 2);
        if (inside.find(',') != std::string_view::npos)
            return std::nullopt;
        return parseNumberExpression(inside, dotGrouping);
    }
    double sign = 1;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        sign = s.front() == '-' ? -1 : 1;
        s.remove_prefix(1);
        s = s.substr(std::min(s.find_first_not_of(' '), s.size()));
        if (!s.empty() && (s.front() == '-' || s.front() == '+'))
            return std::nullopt;
    }
    if (s.empty())
        return std::nullopt;
    if (controlWordAt(s, 0, "frac")) {
        std::size_t pos = skipSpaces(s, 5);
        std::string_view numerator, denominator;
        if (pos + 1 < s.size() && isDigit(s[pos]) && isDigit(s[pos + 1]) && pos + 2 == s.size()) {
            numerator = s.substr(pos, 1); // \frac12
            denominator = s.substr(pos + 1, 1);
        } else {
            if (pos >= s.size() || s[pos] != '{')
                return std::nullopt;
            const std::size_t numEnd = closingBrace(s, pos);
            if (numEnd == std::string_view::npos)
                return std::nullopt;
            numerator = s.substr(pos + 1, numEnd - pos - 2);
            const std::size_t denOpen = skipSpaces(s, numEnd);
            if (denOpen >= s.size() || s[denOpen] != '{')
                return std::nullopt;
            const std::size_t denEnd = closingBrace(s, denOpen);
            if (denEnd != s.size())
                return std::nullopt;
            denominator = s.substr(denOpen + 1, denEnd - denOpen - 2);
        }
        const auto n = parseNumberExpression(numerator, dotGrouping);
        const auto d = parseNumberExpression(denominator, dotGrouping);
        if (!n || !d || *d == 0)
            return std::nullopt;
        return sign * *n / *d;
    }
    if (const auto slash = s.find('/'); slash != std::string_view::npos) {
        std::string_view rest = s.substr(slash + 1);
        rest = rest.substr(std::min(rest.find_first_not_of(' '), rest.size()));
        std::string_view left = s.substr(0, slash);
        while (left.ends_with(' '))
            left.remove_suffix(1);
        const auto numerator = parseNumeral(left, dotGrouping);
        const auto denominator = parseNumeral(rest, dotGrouping);
        if (!numerator || !denominator || *denominator == 0)
            return std::nullopt;
        return sign * *numerator / *denominator;
    }
    const auto value = parseNumeral(s, dotGrouping);
    if (!value)
        return std::nullopt;
    return sign * *value;
}

// A number followed by unit words ("18 dollars", "18 ডলার", "5 km"): the
// number. Only letters, spaces and dots may follow.
std::optional<double> parseNumberWithUnit(std::string_view s, bool dotGrouping)
{
    const std::u32string text = decodeUtf8(s);
    std::size_t cut = text.size();
    while (cut > 0) {
        const char32_t c = text[cut - 1];
        if (isUnicodeLetter(c) || isCombiningMark(c) || c == U' ' || c == U'.')
            --cut;
        else
            break;
    }
    if (cut == 0 || cut == text.size())
        return std::nullopt;
    return parseNumberExpression(encodeUtf8(text.substr(0, cut)), dotGrouping);
}

std::string formatNumber(double value)
{
    if (value == 0)
        return "0"; // also for -0
    if (std::abs(value) < 1e15 && value == std::round(value))
        return std::to_string(static_cast<long long>(value));
    std::array<char, 64> buffer {};
    const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return error == std::errc() ? std::string(buffer.data(), end) : std::string();
}

std::string withoutSpaces(std::string_view s)
{
    std::string out;
    for (char c : s) {
        if (c != ' ')
            out.push_back(c);
    }
    return out;
}

MathAnswer answerFromText(
    std::string_view foldedAnswer, std::string raw, MathAnswerSource source, bool dotGrouping)
{
    MathAnswer answer;
    answer.raw = std::move(raw);
    const std::string cleaned = cleanAnswerText(std::string(foldedAnswer));
    if (cleaned.empty())
        return answer; // nothing to compare: not answered
    answer.source = source;
    answer.value = parseNumberExpression(cleaned, dotGrouping);
    if (!answer.value)
        answer.value = parseNumberWithUnit(cleaned, dotGrouping);
    answer.normalised = answer.value ? formatNumber(*answer.value) : withoutSpaces(cleaned);
    return answer;
}

struct NumberCandidate
{
    Span span;
    double value = 0;
};

// Every number in running text, left to right: numerals (with grouping and
// a decimal part), optionally signed, a/b fractions and \frac{a}{b}.
std::vector<NumberCandidate> numbersInText(std::string_view s, bool dotGrouping)
{
    std::vector<NumberCandidate> found;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t fracName = 0;
        if (controlWordAt(s, i, "frac"))
            fracName = 4;
        else if (controlWordAt(s, i, "dfrac") || controlWordAt(s, i, "tfrac"))
            fracName = 5;
        if (fracName) {
            const std::size_t pos = skipSpaces(s, i + 1 + fracName);
            std::size_t end = std::string_view::npos;
            if (pos < s.size() && s[pos] == '{') {
                const std::size_t numEnd = closingBrace(s, pos);
                const std::size_t denOpen
                    = numEnd == std::string_view::npos ? numEnd : skipSpaces(s, numEnd);
                if (denOpen != std::string_view::npos && denOpen < s.size() && s[denOpen] == '{')
                    end = closingBrace(s, denOpen);
            } else if (pos + 1 < s.size() && isDigit(s[pos]) && isDigit(s[pos + 1])) {
                end = pos + 2; // \frac12
            }
            if (end != std::string_view::npos) {
                std::string expression = cleanAnswerText(std::string(s.substr(i, end - i)));
                if (const auto value = parseNumberExpression(expression, dotGrouping)) {
                    std::size_t begin = i;
                    double sign = 1;
                    if (begin > 0 && s[begin - 1] == '-'
                        && (begin == 1
                            || !std::isalnum(static_cast<unsigned char>(s[begin - 2])))) {
                        --begin;
                        sign = -1;
                    }
                    found.push_back({ { begin, end }, sign * *value });
                    i = end;
                    continue;
                }
            }
            i += 1;
            continue;
        }
        if (!isDigit(s[i])) {
            ++i;
            continue;
        }
        // Longest run of digits and single separators between digits.
        std::size_t end = i;
        while (end < s.size()) {
            if (isDigit(s[end]))
                ++end;
            else if (isNumeralSeparator(s[end]) && end + 1 < s.size() && isDigit(s[end + 1]))
                end += 1;
            else
                break;
        }
        // A run that is not one numeral ("1, 2" has no digit after the comma,
        // but "1,2,3" or "2 3" do) splits into its space-free parts, and a
        // part that still fails into its digit groups.
        std::vector<Span> parts;
        if (parseNumeral(s.substr(i, end - i), dotGrouping)) {
            parts.push_back({ i, end });
        } else {
            std::size_t p = i;
            while (p < end) {
                std::size_t q = p;
                while (q < end && !isGroupingSpace(s[q]))
                    ++q;
                if (parseNumeral(s.substr(p, q - p), dotGrouping)) {
                    parts.push_back({ p, q });
                } else {
                    for (std::size_t g = p; g < q;) {
                        std::size_t h = g;
                        while (h < q && isDigit(s[h]))
                            ++h;
                        parts.push_back({ g, h });
                        g = h + 1;
                    }
                }
                p = q + 1;
            }
        }
        for (Span part : parts) {
            auto value = parseNumeral(s.substr(part.begin, part.end - part.begin), dotGrouping);
            if (!value)
                continue;
            // A minus directly before the digits is a sign unless it joins two
            // operands ("16-3", "x-3", "(a)-3").
            if (part.begin > 0 && s[part.begin - 1] == '-') {
                const bool binary = part.begin >= 2
                    && (std::isalnum(static_cast<unsigned char>(s[part.begin - 2]))
                        || s[part.begin - 2] == ')' || s[part.begin - 2] == '}');
                if (!binary) {
                    --part.begin;
                    *value = -*value;
                }
            }
            found.push_back({ part, *value });
        }
        // a/b: a fraction when both sides are plain numerals.
        if (!found.empty() && found.back().span.end == end && end + 1 < s.size() && s[end] == '/'
            && isDigit(s[end + 1])) {
            std::size_t denEnd = end + 1;
            while (denEnd < s.size() && isDigit(s[denEnd]))
                ++denEnd;
            const auto denominator = parseNumeral(s.substr(end + 1, denEnd - end - 1), false);
            if (denominator && *denominator != 0) {
                found.back().value /= *denominator;
                found.back().span.end = denEnd;
                end = denEnd;
            }
        }
        i = end;
    }
    return found;
}

} // namespace

std::optional<double> parseNumber(std::string_view text, std::string_view language)
{
    const FoldedText folded = fold(text);
    return parseNumberExpression(collapseSpaces(folded.text), groupsThousandsWithDot(language));
}

MathAnswer extractMathAnswer(std::string_view text, std::string_view language)
{
    const bool dotGrouping = groupsThousandsWithDot(language);
    const FoldedText folded = fold(text);
    const std::string_view s = folded.text;
    auto original = [&](Span span) {
        const std::size_t begin = folded.origin[span.begin];
        return std::string(text.substr(begin, folded.origin[span.end] - begin));
    };

    if (const auto boxed = lastBoxed(s)) {
        MathAnswer answer = answerFromText(s.substr(boxed->begin, boxed->end - boxed->begin),
            original(*boxed), MathAnswerSource::Boxed, dotGrouping);
        if (answer.answered())
            return answer;
    }
    const auto numbers = numbersInText(s, dotGrouping);
    if (numbers.empty())
        return MathAnswer {};
    const NumberCandidate &last = numbers.back();
    MathAnswer answer;
    answer.source = MathAnswerSource::FinalNumber;
    answer.raw = original(last.span);
    answer.value = last.value;
    answer.normalised = formatNumber(last.value);
    return answer;
}

MathAnswer normaliseMathAnswer(std::string_view answer, std::string_view language)
{
    const FoldedText folded = fold(answer);
    const bool boxed = lastBoxed(folded.text).has_value();
    return answerFromText(folded.text, std::string(answer),
        boxed ? MathAnswerSource::Boxed : MathAnswerSource::FinalNumber,
        groupsThousandsWithDot(language));
}

bool mathAnswersMatch(const MathAnswer &prediction, const MathAnswer &gold)
{
    if (!prediction.answered() || !gold.answered())
        return false;
    if (prediction.value && gold.value) {
        const double a = *prediction.value;
        const double b = *gold.value;
        return a == b || std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b));
    }
    return prediction.normalised == gold.normalised;
}

MathScore scoreMathAnswer(std::string_view output, std::string_view gold, std::string_view language)
{
    MathScore score;
    score.gold = normaliseMathAnswer(gold, language);
    if (!score.gold.answered())
        throw Error("the reference answer \"" + std::string(gold) + "\" is empty");
    score.prediction = extractMathAnswer(output, language);
    score.correct = mathAnswersMatch(score.prediction, score.gold);
    return score;
}

MathScore MathAccuracy::add(const std::string &label, std::string_view output,
    std::string_view gold, std::string_view language)
{
    MathScore score = scoreMathAnswer(output, gold, language);
    MathAccuracyRow &row = rowWithLabel(m_rows, label);
    ++row.items;
    if (score.prediction.answered())
        ++row.answered;
    if (score.prediction.source == MathAnswerSource::Boxed)
        ++row.boxed;
    if (score.correct)
        ++row.correct;
    return score;
}

const MathAccuracyRow *MathAccuracy::find(const std::string &label) const
{
    return findRowWithLabel(m_rows, label);
}

void MathAccuracy::appendTo(MetricTable &table, const std::vector<std::string> &keyPrefix,
    const std::string &columnPrefix) const
{
    for (const auto &row : m_rows) {
        const auto key = withLabel(keyPrefix, row.label);
        const double items = double(row.items);
        table.set(key, columnPrefix + "items", items);
        table.set(key, columnPrefix + "answered_rate", items ? double(row.answered) / items : 0.0);
        table.set(key, columnPrefix + "boxed_rate", items ? double(row.boxed) / items : 0.0);
        table.set(key, columnPrefix + "accuracy", row.accuracy());
    }
}

} // namespace moescope
