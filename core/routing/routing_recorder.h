#pragma once

// Accumulates, per decoder layer and expert, how many real tokens selected the
// expert and the sum of their routing weights (the trace counts / gate_sum /
// tokens of docs/architecture.md). Accumulation stays on the tensors' device with
// no host sync per layer; totals() syncs once. Padding rows are skipped.

#include "core/routing/router_hook.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace moescope::routing {

struct RoutingTotals
{
    int numLayers = 0;
    int numExperts = 0;
    std::vector<std::uint64_t> counts; // [numLayers * numExperts], row-major
    std::vector<double> gateSum;       // [numLayers * numExperts]
    std::vector<std::uint64_t> tokens; // [numLayers]
};

class RoutingRecorder : public RouterHook
{
public:
    RoutingRecorder(int numLayers, int numExperts);
    ~RoutingRecorder() override;
    void afterSelection(const RouterSite &site, const at::Tensor &topkIdx,
                        const at::Tensor &topkWeights) override;
    RoutingTotals totals() const;
    void reset();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace moescope::routing
