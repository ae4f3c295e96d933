#pragma once

// Multiple-choice accuracy from answer log-likelihoods (Belebele): the model
// scores each choice as a continuation of the prompt, the highest score is
// its answer. The engine computes the log-likelihoods; this is the rest.

#include <cstddef>
#include <string>
#include <vector>

namespace moescope {

class MetricTable;

// Index of the most likely choice. With `lengths` (one per choice, e.g. the
// choice's token count) each log-likelihood is divided by its length first,
// which removes the bias towards short answers. Ties go to the lowest index
// (numpy.argmax, as in lm-evaluation-harness). -inf is a valid score.
// Throws moescope::Error for no choices, a NaN or +inf score, a lengths
// vector of another size, or a length that is not positive.
std::size_t pickChoice(
    const std::vector<double> &logLikelihoods, const std::vector<double> &lengths = {});

struct MultipleChoiceRow
{
    std::string label; // language or condition the items were counted under
    std::size_t items = 0;
    std::size_t correct = 0; // by summed log-likelihood
    std::size_t normalisedItems = 0; // items that came with lengths
    std::size_t correctNormalised = 0;

    double accuracy() const { return items ? double(correct) / double(items) : 0.0; }
    double accuracyNormalised() const
    {
        return normalisedItems ? double(correctNormalised) / double(normalisedItems) : 0.0;
    }
};

class MultipleChoiceAccuracy
{
public:
    // Scores one item; returns the choice picked by summed log-likelihood.
    // Throws moescope::Error when correctChoice is out of range (and as pickChoice).
    std::size_t add(const std::string &label, const std::vector<double> &logLikelihoods,
        std::size_t correctChoice, const std::vector<double> &lengths = {});

    const std::vector<MultipleChoiceRow> &rows() const { return m_rows; }
    const MultipleChoiceRow *find(const std::string &label) const;

    // One row per label, key = keyPrefix + {label}; columns (after
    // columnPrefix): items, accuracy, and accuracy_length_normalised when
    // any item had lengths.
    void appendTo(MetricTable &table, const std::vector<std::string> &keyPrefix,
        const std::string &columnPrefix = {}) const;

private:
    std::vector<MultipleChoiceRow> m_rows;
};

} // namespace moescope
