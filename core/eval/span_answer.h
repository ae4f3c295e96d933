#pragma once

// Extractive question answering metrics (XQuAD, MLQA): SQuAD v1.1 exact match
// and token F1, and substring match, over language-aware normalised answers.
// docs/evaluation.md, "Span answers", lists where this follows the official
// SQuAD v1.1 script, where MLQA's, and where it differs from both.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace moescope {

class MetricTable;

// NFC, lowercase, punctuation removed (Unicode P* and ASCII punctuation),
// the language's articles removed, then split into tokens: on white space,
// and one token per character in scripts written without spaces (Han,
// Hiragana, Katakana, Thai, Lao, Khmer, Myanmar; combining marks stay with
// their base). An empty language means English rules, as in SQuAD.
std::vector<std::string> spanAnswerTokens(std::string_view text, std::string_view language = {});

// The tokens joined by single spaces: what exact match compares.
std::string normaliseSpanAnswer(std::string_view text, std::string_view language = {});

double spanExactMatch(
    std::string_view prediction, std::string_view gold, std::string_view language = {}); // 1 or 0
double spanF1(
    std::string_view prediction, std::string_view gold, std::string_view language = {}); // 0..1
// Whether the normalised gold answer occurs in the normalised prediction as
// whole tokens ("10" does not contain "1"). An empty normalised gold never matches.
bool spanContains(
    std::string_view prediction, std::string_view gold, std::string_view language = {});

struct SpanScore
{
    double exactMatch = 0; // each the maximum over the gold answers, as in SQuAD
    double f1 = 0;
    bool substring = false;
};

// Throws moescope::Error when golds is empty.
SpanScore scoreSpanAnswer(std::string_view prediction, const std::vector<std::string> &golds,
    std::string_view language = {});

struct SpanScoresRow
{
    std::string label;
    std::size_t items = 0;
    double exactMatchSum = 0;
    double f1Sum = 0;
    std::size_t substringMatches = 0;

    double exactMatch() const { return items ? exactMatchSum / double(items) : 0.0; }
    double f1() const { return items ? f1Sum / double(items) : 0.0; }
    double substringMatch() const { return items ? double(substringMatches) / double(items) : 0.0; }
};

class SpanScores
{
public:
    SpanScore add(const std::string &label, std::string_view prediction,
        const std::vector<std::string> &golds, std::string_view language = {});

    const std::vector<SpanScoresRow> &rows() const { return m_rows; }
    const SpanScoresRow *find(const std::string &label) const;

    // Columns (after columnPrefix): items, exact_match, f1, substring_match
    // (fractions 0-1; the SQuAD script prints them times 100).
    void appendTo(MetricTable &table, const std::vector<std::string> &keyPrefix,
        const std::string &columnPrefix = {}) const;

private:
    std::vector<SpanScoresRow> m_rows;
};

} // namespace moescope
