#pragma once

// Answer extraction and comparison for math word problems (MGSM, PolyMath).
// The rules (which answer counts, how numbers written in different scripts
// and locales are read) are in docs/evaluation.md, "Math answers".

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moescope {

class MetricTable;

enum class MathAnswerSource {
    None, // no \boxed{} and no number in the text
    Boxed, // content of the last non-empty \boxed{...}
    FinalNumber, // the last number in the text (a \frac{a}{b} counts as one number)
};

struct MathAnswer
{
    MathAnswerSource source = MathAnswerSource::None;
    std::string raw; // the answer as written (boxed content or the number's text)
    std::string normalised; // canonical text: the number ("1234", "-3.5", "0.5") or the
                            // cleaned expression without spaces ("2\sqrt{3}")
    std::optional<double> value; // when the answer is a number or a fraction of numbers

    bool answered() const { return !normalised.empty(); }
};

// `language` is the label of the text's language. It only decides how
// "1.234" is read: as 1234 where a dot groups thousands (de, es, it, pt, ...),
// as 1.234 otherwise. Empty means "not known" (read as a decimal point).
MathAnswer extractMathAnswer(std::string_view text, std::string_view language = {});

// Normalises a reference answer, or any answer text that is already isolated
// (source is Boxed when the text contained \boxed{}, else FinalNumber when it
// is non-empty).
MathAnswer normaliseMathAnswer(std::string_view answer, std::string_view language = {});

// The number written in `text` (digits of any script, grouping separators,
// decimal comma or point, sign), or nothing when text is not exactly a number.
std::optional<double> parseNumber(std::string_view text, std::string_view language = {});

// Numbers compare by value (relative difference at most 1e-9, so 0.5 and
// \frac{1}{2} agree); anything else compares by normalised text.
bool mathAnswersMatch(const MathAnswer &prediction, const MathAnswer &gold);

struct MathScore
{
    MathAnswer prediction;
    MathAnswer gold;
    bool correct = false;
};

// Extracts the answer from a model output and compares it with the reference.
// Throws moescope::Error when the reference itself has no answer (empty).
MathScore scoreMathAnswer(
    std::string_view output, std::string_view gold, std::string_view language = {});

struct MathAccuracyRow
{
    std::string label;
    std::size_t items = 0;
    std::size_t answered = 0; // an answer was extracted
    std::size_t boxed = 0; // ... from \boxed{}
    std::size_t correct = 0;

    double accuracy() const { return items ? double(correct) / double(items) : 0.0; }
};

class MathAccuracy
{
public:
    // Scores one output under `label` (language or condition); `language` is
    // passed to the extraction (see extractMathAnswer), empty for unknown.
    MathScore add(const std::string &label, std::string_view output, std::string_view gold,
        std::string_view language = {});

    const std::vector<MathAccuracyRow> &rows() const { return m_rows; }
    const MathAccuracyRow *find(const std::string &label) const;

    // Columns (after columnPrefix): items, answered_rate, boxed_rate, accuracy.
    void appendTo(MetricTable &table, const std::vector<std::string> &keyPrefix,
        const std::string &columnPrefix = {}) const;

private:
    std::vector<MathAccuracyRow> m_rows;
};

} // namespace moescope
