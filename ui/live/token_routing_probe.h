#pragma once

// Per-token routing (which experts each layer chose for one token, with
// their weights) without touching tensors: ui/ must not include torch, and
// core's public hooks only hand out per-layer totals (RoutingRecorder). A
// token's routing is the difference between the recorder's totals just
// after and just before that token was routed:
//  - while generating, the recorder is read and reset at every token
//    callback, so it holds exactly the one token the last decode step fed;
//  - for prompt tokens, prefixes of growing length are routed and
//    consecutive totals subtracted (a causal model routes position i the
//    same whatever follows it).
// Stopgap until core offers a torch-free per-token capture hook; see the
// report to the lead (docs/gui.md, "Token routing").

#include "core/routing/routing_recorder.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace moescope {
class JobContext;
}
namespace moescope::model {
class MoeModel;
}

namespace moescope::ui {

// The one token that moved the totals from before (nullptr: all zero) to
// after: experts [numLayers * topK] by descending weight, and weights. A
// layer where the difference is not exactly topK experts counted once (dense
// layers, or an unexpected tie flip) holds -1 / 0.
void singleTokenRouting(const routing::RoutingTotals &after, const routing::RoutingTotals *before,
    int topK, std::vector<int> &experts, std::vector<float> &weights);

using PositionRoutingFn = std::function<void(
    std::size_t position, std::vector<int> experts, std::vector<float> weights)>;

// Routing of sequence[first, last), one prefix per position, through plan
// (may be null) then a recorder. Calls onPosition in order; checks job for
// cancellation per prefix (and core checks it per layer).
void routePositions(const model::MoeModel &model, routing::RouterHook *plan,
    const std::vector<std::int64_t> &sequence, std::size_t first, std::size_t last, int topK,
    const PositionRoutingFn &onPosition, const JobContext &job);

} // namespace moescope::ui
