#include "ui/live/token_routing_probe.h"


#include <algorithm>

namespace moescope::ui {

void singleTokenRouting(const routing::RoutingTotals &after, const routing::RoutingTotals *before,
    int topK, std::vector<int> &experts, std::vector<float> &weights)
{
    const int L = after.numLayers, E = after.numExperts;
    experts.assign(static_cast<std::size_t>(L) * topK, -1);
    weights.assign(static_cast<std::size_t>(L) * topK, 0.0f);
    for (int l = 0; l < L; ++l) {
        std::vector<std::pair<double, int>> chosen;
        bool clean = true;
        for (int e = 0; e < E; ++e) {
            const auto i = static_cast<std::size_t>(l) * E + e;
            const auto delta = static_cast<std::int64_t>(after.counts[i])
                - (before ? static_cast<std::int64_t>(before->counts[i]) : 0);
            if (delta == 1)
                chosen.emplace_back(after.gateSum[i] - (before ? before->gateSum[i] : 0.0), e);
            else if (delta != 0)
                clean = false;
        }
        if (!clean || static_cast<int>(chosen.size()) != topK)
            continue;
        // Descending weight, ties to the lower expert index (as torch.topk
        // orders equal values on CPU).
        std::sort(chosen.begin(), chosen.end(), [](const auto &a, const auto &b) {
            return a.first != b.first ? a.first > b.first : a.second < b.second;
        });
        for (int j = 0; j < topK; ++j) {
            experts[static_cast<std::size_t>(l) * topK + j]
                = chosen[static_cast<std::size_t>(j)].second;
            weights[static_cast<std::size_t>(l) * topK + j]
                = static_cast<float>(chosen[static_cast<std::size_t>(j)].first);
        }
    }
}

} // namespace moescope::ui
