#pragma once

// Optional token-level traces: for every routed token, its id and the experts
// each layer chose with their weights (/tokens/<label>/ in the HDF5 trace,
// docs/trace-format.md). Written by TraceWriter::addTokens.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace moescope {

// Whole documents of one language, as handed to TraceWriter::addTokens.
// Dense layers and unused slots hold expert -1 and weight 0.
struct TokenBatch
{
    std::vector<std::int32_t> tokenIds;        // [N]
    std::vector<std::int64_t> documentLengths; // tokens per document; sums to N
    std::vector<std::int16_t> topkIdx;         // [N][numLayers][topK]
    std::vector<float> topkWeights;            // [N][numLayers][topK], stored as float16
};

struct TokenTrace
{
    std::string label;
    int numLayers = 0;
    int topK = 0;
    std::vector<std::int32_t> tokenIds;   // [N]
    std::vector<std::int64_t> docOffsets; // [D+1], docOffsets[0] = 0, back() = N
    std::vector<std::int16_t> topkIdx;    // [N][numLayers][topK]
    std::vector<float> topkWeights;       // [N][numLayers][topK], float16 precision

    std::size_t numTokens() const { return tokenIds.size(); }
    std::size_t numDocuments() const { return docOffsets.empty() ? 0 : docOffsets.size() - 1; }
};

// Labels with a token-level trace, sorted by name (HDF5 link order).
std::vector<std::string> tokenTraceLabels(const std::string &path);

struct TokenTraceSize
{
    std::uint64_t documents = 0;
    std::uint64_t tokens = 0;
};
// Committed documents and tokens of label's token-level trace, without
// reading the data ({0, 0} when there is none).
TokenTraceSize tokenTraceSize(const std::string &path, const std::string &label);

// Reads the committed documents of one label's token-level trace. Tokens past
// the last document offset (a batch interrupted mid-write) are left out.
// Throws Error(path, reason) when the label has none or the data is inconsistent.
TokenTrace readTokenTrace(const std::string &path, const std::string &label);

} // namespace moescope
