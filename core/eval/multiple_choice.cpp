#include "core/eval/multiple_choice.h"

#include "core/common/error.h"
#include "core/eval/labelled_rows.h"
#include "core/eval/metric_table.h"

#include <cmath>

namespace moescope {

std::size_t pickChoice(
    const std::vector<double> &logLikelihoods, const std::vector<double> &lengths)
{
    if (logLikelihoods.empty())
        throw Error("a multiple-choice item needs at least one choice");
    if (!lengths.empty() && lengths.size() != logLikelihoods.size())
        throw Error("a multiple-choice item has " + std::to_string(logLikelihoods.size())
            + " log-likelihoods but " + std::to_string(lengths.size()) + " lengths");
    std::size_t best = 0;
    double bestScore = 0;
    for (std::size_t i = 0; i < logLikelihoods.size(); ++i) {
        const double ll = logLikelihoods[i];
        // A log-likelihood is at most 0; NaN or +inf means the engine failed.
        if (std::isnan(ll) || ll == INFINITY)
            throw Error("log-likelihood of choice " + std::to_string(i + 1) + " is not a number");
        double score = ll;
        if (!lengths.empty()) {
            if (!(lengths[i] > 0) || !std::isfinite(lengths[i]))
                throw Error("length of choice " + std::to_string(i + 1) + " is not positive");
            score = ll / lengths[i];
        }
        // Strictly greater: the first of equal scores stays.
        if (i == 0 || score > bestScore) {
            best = i;
            bestScore = score;
        }
    }
    return best;
}

std::size_t MultipleChoiceAccuracy::add(const std::string &label,
    const std::vector<double> &logLikelihoods, std::size_t correctChoice,
    const std::vector<double> &lengths)
{
    if (correctChoice >= logLikelihoods.size())
        throw Error("correct choice " + std::to_string(correctChoice + 1) + " of a "
            + std::to_string(logLikelihoods.size()) + "-choice item does not exist");
    const std::size_t picked = pickChoice(logLikelihoods);
    const bool normalised = !lengths.empty();
    const std::size_t pickedNormalised = normalised ? pickChoice(logLikelihoods, lengths) : 0;

    MultipleChoiceRow &row = rowWithLabel(m_rows, label);
    ++row.items;
    if (picked == correctChoice)
        ++row.correct;
    if (normalised) {
        ++row.normalisedItems;
        if (pickedNormalised == correctChoice)
            ++row.correctNormalised;
    }
    return picked;
}

const MultipleChoiceRow *MultipleChoiceAccuracy::find(const std::string &label) const
{
    return findRowWithLabel(m_rows, label);
}

void MultipleChoiceAccuracy::appendTo(MetricTable &table, const std::vector<std::string> &keyPrefix,
    const std::string &columnPrefix) const
{
    for (const auto &row : m_rows) {
        const auto key = withLabel(keyPrefix, row.label);
        table.set(key, columnPrefix + "items", double(row.items));
        table.set(key, columnPrefix + "accuracy", row.accuracy());
        if (row.normalisedItems > 0)
            table.set(key, columnPrefix + "accuracy_length_normalised", row.accuracyNormalised());
    }
}

} // namespace moescope
