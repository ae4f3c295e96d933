#pragma once

// Language consistency of generated text: does the model answer in the
// language it was asked in? Detection is CLD2's (Compact Language Detector
// 2, Debian libcld2); docs/evaluation.md explains the preprocessing, the
// "unknown" rule and how CLD2's codes become MoEScope language labels.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace moescope {

class MetricTable;

// The label used for text CLD2 cannot name reliably (too short, gibberish,
// numbers and formulas only, a language outside its tables).
inline constexpr std::string_view kUnknownLanguage = "unknown";

struct LanguageShare
{
    std::string language; // label, as in LanguageDetection::language
    int percent = 0; // CLD2's share of the text's letters, 0-100
};

struct LanguageDetection
{
    // Language label (ISO 639-1 where there is one, core/corpus/language_codes.h)
    // without a script subtag, or kUnknownLanguage.
    std::string language;
    bool reliable = false; // CLD2's isReliable (false for a best-effort guess)
    std::string cld2Code; // what CLD2 returned, e.g. "zh-Hant", "iw", "un"
    int textBytes = 0; // letter bytes CLD2 scored (after preprocessing)
    std::vector<LanguageShare> top; // CLD2's top languages (up to 3), share > 0 only
};

// Text as it is handed to CLD2: invalid UTF-8 replaced by U+FFFD and LaTeX
// control words (\boxed, \frac, \times, ...) removed, because CLD2 reads
// them as English words and turns a formula-only answer into "English".
std::string languageDetectionText(std::string_view text);

// What to do with text CLD2 does not call reliably (mostly short text).
enum class UnreliableText {
    Unknown, // count it as kUnknownLanguage (the default: no guessing)
    BestEffort, // take CLD2's best-effort guess (kCLDFlagBestEffort); text without
                // letters stays unknown. Short answers then count, but guesses on
                // one or two words are often wrong ("Ok" -> en).
};

// Detects the language of one text. Thread-safe (CLD2 keeps no state).
LanguageDetection detectLanguage(
    std::string_view text, UnreliableText unreliable = UnreliableText::Unknown);

// The language part of a label ("zh-Hant" -> "zh", "pt-BR" -> "pt"): the
// study asks whether the answer is in the right language, not the script.
std::string baseLanguage(std::string_view label);

// Maps a CLD2 language code to a MoEScope base-language label ("iw" -> "he",
// "jw" -> "jv", "zh-Hant" -> "zh", "no" -> "nb"); "un", "xxx" and the
// script-only codes "xx-Xxxx" map to kUnknownLanguage.
std::string labelForCld2Code(std::string_view cld2Code);

struct LanguageConsistencyRow
{
    std::string expected; // the expected label as given (normalised)
    std::size_t texts = 0; // texts with this expected language
    std::size_t consistent = 0; // detected as the expected (base) language
    std::size_t unknown = 0; // detected as kUnknownLanguage
    // Detected label -> count (the expected language and "unknown" included).
    std::map<std::string, std::size_t> detected;
    double shareSum = 0; // sum of the expected language's CLD2 share (0-1)

    double consistency() const { return texts ? double(consistent) / double(texts) : 0.0; }
    // Consistency among texts CLD2 could classify (unknown ones left out).
    double consistencyOfDetected() const;
    // Mean share of the text's letters in the expected language: partial credit
    // for answers that switch language mid-way.
    double meanExpectedShare() const { return texts ? shareSum / double(texts) : 0.0; }
};

// Accumulates detections per expected language.
class LanguageConsistency
{
public:
    explicit LanguageConsistency(UnreliableText unreliable = UnreliableText::Unknown)
        : m_unreliable(unreliable)
    { }

    // Detects the text's language, counts it under `expectedLanguage` (any
    // code normaliseLanguage accepts; throws moescope::Error for an unknown
    // code) and returns the detection.
    LanguageDetection add(const std::string &expectedLanguage, std::string_view text);

    // Counts an existing detection (e.g. computed on another thread).
    void add(const std::string &expectedLanguage, const LanguageDetection &detection);

    // Rows in the order their expected language was first seen.
    const std::vector<LanguageConsistencyRow> &rows() const { return m_rows; }
    const LanguageConsistencyRow *find(const std::string &expectedLanguage) const;

    // All detected labels over all rows, sorted, kUnknownLanguage last: the
    // columns of a confusion table.
    std::vector<std::string> detectedLabels() const;

    // One row per expected language, key = keyPrefix + {expected}; columns
    // (after columnPrefix): texts, consistency, consistency_of_detected,
    // unknown_rate, expected_share.
    void appendTo(MetricTable &table, const std::vector<std::string> &keyPrefix,
        const std::string &columnPrefix = {}) const;

    // The confusion table: key column "expected", one count column per
    // detected label (detectedLabels() order, "unknown" last).
    MetricTable confusionTable() const;

private:
    UnreliableText m_unreliable;
    std::vector<LanguageConsistencyRow> m_rows;
};

} // namespace moescope
