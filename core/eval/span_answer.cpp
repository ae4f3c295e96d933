// SQuAD v1.1 evaluation (evaluate-v1.1.py: normalize_answer, f1_score,
// exact_match_score, metric_max_over_ground_truths) with MLQA's extensions
// (Unicode punctuation, per-language articles, character tokens for Chinese).
#include "core/eval/span_answer.h"

#include "core/common/error.h"
#include "core/eval/labelled_rows.h"
#include "core/eval/language_consistency.h"
#include "core/eval/metric_table.h"
#include "core/eval/utf8_text.h"

#include <algorithm>
#include <array>
#include <map>

namespace moescope {
namespace {

bool isAsciiPunctuation(char32_t c)
{
    // Python's string.punctuation: also the ASCII symbols $+<=>^`|~ that
    // Unicode files under S*, so SQuAD's own rule is kept for ASCII.
    static constexpr std::u32string_view kPunctuation = U"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    return kPunctuation.find(c) != std::u32string_view::npos;
}

// Python's \w for str patterns: letters, numbers and the underscore.
// (Underscores are already gone as punctuation when this is asked.)
bool isWordCharacter(char32_t c)
{
    return isUnicodeLetter(c) || decimalDigitValue(c) >= 0 || c == U'_';
}

// Words dropped as articles (MLQA's mlqa_evaluation_v1.py lists; English is
// SQuAD's). Vietnamese follows MLQA, which also drops của and là.
const std::vector<std::u32string> &articlesFor(const std::string &language)
{
    static const std::map<std::string, std::vector<std::u32string>> kArticles = {
        { "en", { U"a", U"an", U"the" } },
        { "es", { U"un", U"una", U"unos", U"unas", U"el", U"la", U"los", U"las" } },
        { "de",
            { U"ein", U"eine", U"einen", U"einem", U"eines", U"einer", U"der", U"die", U"das",
                U"den", U"dem", U"des" } },
        { "vi", { U"của", U"là", U"cái", U"chiếc", U"những" } },
    };
    static const std::vector<std::u32string> kNone;
    const auto it = kArticles.find(language);
    return it == kArticles.end() ? kNone : it->second;
}

// Replaces whole words that are articles with a space (re.sub(r'\b(a|an|the)\b', ' ')).
// For Arabic the definite article is a prefix, so "ال" is cut from the start
// of words that have more after it (MLQA's own regex removes the two letters
// anywhere in a word, which also damages words that merely contain them).
std::u32string removeArticles(const std::u32string &text, const std::string &language)
{
    const auto &articles = articlesFor(language);
    const bool arabic = language == "ar";
    if (articles.empty() && !arabic)
        return text;
    std::u32string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (!isWordCharacter(text[i])) {
            out.push_back(text[i++]);
            continue;
        }
        std::size_t end = i;
        while (end < text.size() && isWordCharacter(text[end]))
            ++end;
        std::u32string word = text.substr(i, end - i);
        if (std::find(articles.begin(), articles.end(), word) != articles.end()) {
            out.push_back(U' ');
        } else {
            if (arabic && word.size() > 2 && word.starts_with(U"\u0627\u0644"))
                word.erase(0, 2);
            out += word;
        }
        i = end;
    }
    return out;
}

std::string effectiveLanguage(std::string_view language)
{
    return language.empty() ? std::string("en") : baseLanguage(language);
}

double f1FromTokens(
    const std::vector<std::string> &prediction, const std::vector<std::string> &gold)
{
    std::map<std::string, int> goldCounts;
    for (const auto &token : gold)
        ++goldCounts[token];
    int same = 0;
    for (const auto &token : prediction) {
        auto it = goldCounts.find(token);
        if (it != goldCounts.end() && it->second > 0) {
            --it->second;
            ++same;
        }
    }
    // SQuAD returns 0 when nothing is shared (also when both are empty).
    if (same == 0)
        return 0.0;
    const double precision = double(same) / double(prediction.size());
    const double recall = double(same) / double(gold.size());
    return 2 * precision * recall / (precision + recall);
}

std::string joinTokens(const std::vector<std::string> &tokens)
{
    std::string out;
    for (const auto &token : tokens) {
        if (!out.empty())
            out.push_back(' ');
        out += token;
    }
    return out;
}

// Whether `tokens` (space-joined) occur in `text` (space-joined) as whole tokens.
bool containsTokens(const std::string &text, const std::string &tokens)
{
    if (tokens.empty())
        return false;
    for (std::size_t pos = text.find(tokens); pos != std::string::npos;
         pos = text.find(tokens, pos + 1)) {
        const bool startsToken = pos == 0 || text[pos - 1] == ' ';
        const std::size_t end = pos + tokens.size();
        const bool endsToken = end == text.size() || text[end] == ' ';
        if (startsToken && endsToken)
            return true;
    }
    return false;
}

} // namespace

std::vector<std::string> spanAnswerTokens(std::string_view text, std::string_view language)
{
    const std::string lang = effectiveLanguage(language);
    std::u32string s = lowercase(nfc(decodeUtf8(text)));
    std::erase_if(s, [](char32_t c) { return isUnicodePunctuation(c) || isAsciiPunctuation(c); });
    s = removeArticles(s, lang);

    std::vector<std::string> tokens;
    std::u32string current;
    auto flush = [&] {
        if (!current.empty())
            tokens.push_back(encodeUtf8(current));
        current.clear();
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char32_t c = s[i];
        if (isUnicodeWhitespace(c)) {
            flush();
        } else if (isUnsegmentedScript(c) && !isCombiningMark(c)) {
            flush();
            current.push_back(c);
            while (i + 1 < s.size() && isCombiningMark(s[i + 1]))
                current.push_back(s[++i]);
            flush();
        } else {
            current.push_back(c);
        }
    }
    flush();
    return tokens;
}

std::string normaliseSpanAnswer(std::string_view text, std::string_view language)
{
    return joinTokens(spanAnswerTokens(text, language));
}

double spanExactMatch(std::string_view prediction, std::string_view gold, std::string_view language)
{
    return normaliseSpanAnswer(prediction, language) == normaliseSpanAnswer(gold, language) ? 1.0
                                                                                            : 0.0;
}

double spanF1(std::string_view prediction, std::string_view gold, std::string_view language)
{
    return f1FromTokens(spanAnswerTokens(prediction, language), spanAnswerTokens(gold, language));
}

bool spanContains(std::string_view prediction, std::string_view gold, std::string_view language)
{
    return containsTokens(
        normaliseSpanAnswer(prediction, language), normaliseSpanAnswer(gold, language));
}

SpanScore scoreSpanAnswer(
    std::string_view prediction, const std::vector<std::string> &golds, std::string_view language)
{
    if (golds.empty())
        throw Error("a span answer needs at least one reference answer");
    const auto predictionTokens = spanAnswerTokens(prediction, language);
    const std::string predictionText = joinTokens(predictionTokens);
    SpanScore score;
    for (const auto &gold : golds) {
        const auto goldTokens = spanAnswerTokens(gold, language);
        const std::string goldText = joinTokens(goldTokens);
        score.exactMatch = std::max(score.exactMatch, predictionText == goldText ? 1.0 : 0.0);
        score.f1 = std::max(score.f1, f1FromTokens(predictionTokens, goldTokens));
        if (containsTokens(predictionText, goldText))
            score.substring = true;
    }
    return score;
}

SpanScore SpanScores::add(const std::string &label, std::string_view prediction,
    const std::vector<std::string> &golds, std::string_view language)
{
    const SpanScore score = scoreSpanAnswer(prediction, golds, language);
    SpanScoresRow &row = rowWithLabel(m_rows, label);
    ++row.items;
    row.exactMatchSum += score.exactMatch;
    row.f1Sum += score.f1;
    if (score.substring)
        ++row.substringMatches;
    return score;
}

const SpanScoresRow *SpanScores::find(const std::string &label) const
{
    return findRowWithLabel(m_rows, label);
}

void SpanScores::appendTo(MetricTable &table, const std::vector<std::string> &keyPrefix,
    const std::string &columnPrefix) const
{
    for (const auto &row : m_rows) {
        const auto key = withLabel(keyPrefix, row.label);
        table.set(key, columnPrefix + "items", double(row.items));
        table.set(key, columnPrefix + "exact_match", row.exactMatch());
        table.set(key, columnPrefix + "f1", row.f1());
        table.set(key, columnPrefix + "substring_match", row.substringMatch());
    }
}

} // namespace moescope
