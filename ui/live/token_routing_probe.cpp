#include "ui/live/token_routing_probe.h"

#include "core/jobs/job_context.h"
#include "core/model/moe_model.h"

#include <algorithm>
#include <optional>

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

void routePositions(const model::MoeModel &model, routing::RouterHook *plan,
    const std::vector<std::int64_t> &sequence, std::size_t first, std::size_t last, int topK,
    const PositionRoutingFn &onPosition, const JobContext &job)
{
    last = std::min(last, sequence.size());
    if (first >= last)
        return;
    const auto &spec = model.spec();
    routing::RoutingRecorder recorder(spec.numLayers, spec.moe.numExperts);
    routing::RouterHookChain chain;
    chain.add(plan);
    chain.add(&recorder);
    auto totalsOfPrefix = [&](std::size_t length) {
        recorder.reset();
        model.route({ std::vector<std::int64_t>(
                        sequence.begin(), sequence.begin() + static_cast<std::ptrdiff_t>(length)) },
            chain, &job);
        return recorder.totals();
    };
    std::optional<routing::RoutingTotals> previous;
    if (first > 0)
        previous = totalsOfPrefix(first);
    for (std::size_t pos = first; pos < last; ++pos) {
        job.checkCancelled();
        auto current = totalsOfPrefix(pos + 1);
        std::vector<int> experts;
        std::vector<float> weights;
        singleTokenRouting(current, previous ? &*previous : nullptr, topK, experts, weights);
        onPosition(pos, std::move(experts), std::move(weights));
        previous = std::move(current);
    }
}

} // namespace moescope::ui
