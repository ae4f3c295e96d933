#include "core/eval/perplexity.h"

#include "core/common/error.h"
#include "core/eval/labelled_rows.h"
#include "core/eval/metric_table.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace moescope {
namespace {

void checkNll(double nllNats)
{
    if (std::isnan(nllNats) || nllNats < 0)
        throw Error("a summed negative log-likelihood must be a non-negative number, not "
            + std::to_string(nllNats));
}

} // namespace

double perplexityFromNll(double nllNats, std::size_t tokens)
{
    checkNll(nllNats);
    if (tokens == 0)
        throw Error("perplexity needs at least one scored token");
    return std::exp(nllNats / double(tokens));
}

double bitsPerByte(double nllNats, std::size_t bytes)
{
    checkNll(nllNats);
    if (bytes == 0)
        throw Error("bits per byte needs at least one byte of text");
    return nllNats / std::numbers::ln2 / double(bytes);
}

std::vector<PerplexityWindow> perplexityWindows(std::size_t tokens, std::size_t window, std::size_t stride)
{
    if (tokens < 2)
        throw Error("perplexity needs a document of at least two tokens, not " + std::to_string(tokens));
    if (window < 2)
        throw Error("a perplexity window needs at least two tokens (its first is context only), not "
            + std::to_string(window));
    if (stride == 0 || stride > window)
        throw Error("the perplexity stride must be between 1 and the window of " + std::to_string(window)
            + " tokens, not " + std::to_string(stride));
    const std::size_t advance = std::min(stride, window - 1);
    std::vector<PerplexityWindow> windows;
    std::size_t begin = 0;
    std::size_t scoredFrom = 1;
    while (true) {
        const std::size_t end = std::min(begin + window, tokens);
        windows.push_back({begin, end, scoredFrom});
        if (end == tokens)
            return windows;
        // advance < window keeps the next window's start before `end`, so
        // the token at `end` has at least one token of context.
        scoredFrom = end;
        begin += advance;
    }
}

double PerplexityRow::nllPerToken() const
{
    return tokens ? nll / double(tokens) : 0.0;
}

double PerplexityRow::perplexity() const
{
    return perplexityFromNll(nll, tokens);
}

double PerplexityRow::bitsPerByte() const
{
    return moescope::bitsPerByte(nll, bytes);
}

void PerplexityByLabel::add(
    const std::string &label, double nllNats, std::size_t tokens, std::size_t bytes)
{
    checkNll(nllNats);
    if (tokens == 0 && nllNats > 0)
        throw Error("a document with no scored tokens cannot have a negative log-likelihood of "
            + std::to_string(nllNats));
    PerplexityRow &row = rowWithLabel(m_rows, label);
    ++row.documents;
    row.tokens += tokens;
    row.bytes += bytes;
    row.nll += nllNats;
}

const PerplexityRow *PerplexityByLabel::find(const std::string &label) const
{
    return findRowWithLabel(m_rows, label);
}

void PerplexityByLabel::appendTo(MetricTable &table, const std::vector<std::string> &keyPrefix,
    const std::string &columnPrefix) const
{
    for (const auto &row : m_rows) {
        const auto key = withLabel(keyPrefix, row.label);
        table.set(key, columnPrefix + "documents", double(row.documents));
        table.set(key, columnPrefix + "tokens", double(row.tokens));
        table.set(key, columnPrefix + "bytes", double(row.bytes));
        // Declared even when this row leaves them empty, so the column order
        // does not depend on which row came first.
        table.addColumn(columnPrefix + "nll_per_token");
        table.addColumn(columnPrefix + "perplexity");
        table.addColumn(columnPrefix + "bits_per_byte");
        if (row.tokens > 0) {
            table.set(key, columnPrefix + "nll_per_token", row.nllPerToken());
            table.set(key, columnPrefix + "perplexity", row.perplexity());
        }
        if (row.bytes > 0)
            table.set(key, columnPrefix + "bits_per_byte", row.bitsPerByte());
    }
}

} // namespace moescope
