#pragma once

// The routing of the one token a decode step fed, from a RoutingRecorder
// that was read and reset at every token callback: the totals then hold
// exactly that token, so streaming generation can show its experts without
// touching tensors (ui/ must not include torch). Whole sequences are routed
// at once through experiments::ScopedRoutingCapture's token records.

#include "core/routing/routing_recorder.h"

#include <cstdint>
#include <vector>

namespace moescope::ui {

// The one token that moved the totals from before (nullptr: all zero) to
// after: experts [numLayers * topK] by descending weight, and weights. A
// layer where the difference is not exactly topK experts counted once (dense
// layers, or an unexpected tie flip) holds -1 / 0.
void singleTokenRouting(const routing::RoutingTotals &after, const routing::RoutingTotals *before,
    int topK, std::vector<int> &experts, std::vector<float> &weights);

} // namespace moescope::ui
