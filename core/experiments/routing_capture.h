#pragma once

// The router hook a recording runs with: it decides which token positions of
// a batch count (the prompt, the generated continuation, or both), hands
// those to a RoutingRecorder (counts, gate sums, tokens) and, on request,
// keeps their top-k experts and weights for the token-level trace.
// Torch-free header; routing_capture.cpp includes ATen.

#include "core/routing/router_hook.h"
#include "core/routing/routing_recorder.h"
#include "core/trace/token_trace.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moescope::experiments {

enum class TokenScope { Prompt, Generated, All };
// "prompt" | "generated" | "all"; throws Error otherwise.
TokenScope parseTokenScope(const std::string &text);
std::string tokenScopeName(TokenScope scope);

class ScopedRoutingCapture : public routing::RouterHook
{
public:
    // Token records hold expert -1 in layers that never route (dense ones).
    ScopedRoutingCapture(int numLayers, int numExperts, int topK, bool keepTokenRecords);
    ~ScopedRoutingCapture() override;

    // Declares the rows of the next forward pass (MoeModel::route, which left
    // pads them to the longest): rows[b] = the full sequence routed,
    // promptTokens[b] = how many of its first tokens are the prompt. Clears
    // what the previous batch captured.
    void beginBatch(std::vector<std::vector<std::int64_t>> rows, std::vector<std::size_t> promptTokens,
                    TokenScope scope);

    void afterSelection(const routing::RouterSite &site, const at::Tensor &topkIdx,
                        const at::Tensor &topkWeights) override;

    // What this batch routed in scope.
    routing::RoutingTotals totals() const;
    // The counted tokens of every row of the batch, one document per row
    // (only with keepTokenRecords).
    TokenBatch tokenRecords() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

} // namespace moescope::experiments
