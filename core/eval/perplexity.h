#pragma once

// Perplexity and bits per byte from summed negative log-likelihoods. The
// engine sums -log p (natural log) over the tokens it scored; this turns the
// sums into corpus-level numbers per language:
//   perplexity    = exp(sum nll / sum tokens)
//   bits per byte = sum nll / ln 2 / sum UTF-8 bytes
// Sums are taken over documents before dividing, so a long document weighs
// in proportion to its length (not the mean of per-document perplexities).
// Bits per byte compares across tokenizers and languages; perplexity does
// not (a language split into more tokens gets a lower per-token loss).

#include <cstddef>
#include <string>
#include <vector>

namespace moescope {

class MetricTable;

// exp(nllNats / tokens). Throws moescope::Error for zero tokens or a
// negative or NaN sum.
double perplexityFromNll(double nllNats, std::size_t tokens);
// nllNats / ln 2 / bytes. Throws moescope::Error for zero bytes or a
// negative or NaN sum.
double bitsPerByte(double nllNats, std::size_t bytes);

struct PerplexityRow
{
    std::string label;
    std::size_t documents = 0;
    std::size_t tokens = 0; // tokens whose NLL was summed (not the unscored first one)
    std::size_t bytes = 0; // UTF-8 bytes of the text those tokens cover
    double nll = 0; // summed negative log-likelihood, nats

    double nllPerToken() const;
    double perplexity() const;
    double bitsPerByte() const;
};

// One model pass of a sliding-window perplexity evaluation: tokens
// [begin, end) of the document go to the model, and the NLL of tokens
// [scoredFrom, end) is summed; tokens [begin, scoredFrom) are context only
// (label -100 in Hugging Face's "Perplexity of fixed-length models" guide).
struct PerplexityWindow
{
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t scoredFrom = 1;
};

// The windows that score a document of `tokens` tokens with at most `window`
// tokens per pass, following the guide's loop: window k starts at k * stride
// and scores only the tokens no earlier window scored. A document that fits
// is one window [0, tokens) scoring tokens 1.. (exactly the one-pass result).
// A window's first token is never scored (nothing before it in the window
// predicts it), so a window scores at most window - 1 new tokens and the
// start advances by min(stride, window - 1): with stride == window,
// consecutive windows share exactly the one token that conditions the next
// window's first prediction, instead of leaving that token unscored as the
// guide's non-overlapping case does. Every token after the first is scored
// exactly once; the last window may be shorter than `window`.
// Throws moescope::Error for fewer than 2 tokens, a window below 2, or a
// stride of 0 or above the window.
std::vector<PerplexityWindow> perplexityWindows(std::size_t tokens, std::size_t window, std::size_t stride);

class PerplexityByLabel
{
public:
    // Adds one document. Throws moescope::Error for a negative or NaN sum, or
    // a positive sum over zero tokens. +inf (a token of probability 0) is
    // kept and makes the perplexity infinite.
    void add(const std::string &label, double nllNats, std::size_t tokens, std::size_t bytes);

    const std::vector<PerplexityRow> &rows() const { return m_rows; }
    const PerplexityRow *find(const std::string &label) const;

    // Columns (after columnPrefix): documents, tokens, bytes, nll_per_token,
    // perplexity, bits_per_byte; a row without tokens (bytes) leaves the
    // per-token (per-byte) columns empty.
    void appendTo(MetricTable &table, const std::vector<std::string> &keyPrefix,
        const std::string &columnPrefix = {}) const;

private:
    std::vector<PerplexityRow> m_rows;
};

} // namespace moescope
