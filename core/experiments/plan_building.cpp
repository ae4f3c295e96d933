#include "core/experiments/plan_building.h"

#include "core/analysis/routing_analysis.h"
#include "core/common/error.h"

#include <algorithm>
#include <map>

namespace moescope::experiments {

namespace {

void checkLayers(const RoutingTrace &trace, int firstLayer, int lastLayer)
{
    if (firstLayer < 0 || lastLayer >= trace.model.numLayers || firstLayer > lastLayer)
        throw Error("layers " + std::to_string(firstLayer) + "-" + std::to_string(lastLayer)
                    + " are not a range within the trace's 0-" + std::to_string(trace.model.numLayers - 1));
}

} // namespace

routing::InterventionPlan maskExclusivePlan(const RoutingTrace &trace, const std::string &language, int k,
                                            double threshold, int firstLayer, int lastLayer)
{
    if (!trace.find(language))
        throw Error("the trace has no language '" + language + "'");
    if (trace.languages.size() < 2)
        throw Error("exclusive experts need a trace with at least two languages");
    if (k < 1 || k > trace.model.numExperts)
        throw Error("--k must lie in 1-" + std::to_string(trace.model.numExperts) + " (the model's experts)");
    if (!(threshold > 0 && threshold < 1))
        throw Error("--threshold must lie in (0, 1)");
    checkLayers(trace, firstLayer, lastLayer);
    const auto specialisation = expertSpecialisation(trace, k, threshold);
    std::map<int, std::vector<int>> perLayer;
    if (const auto it = specialisation.exclusive.find(language); it != specialisation.exclusive.end())
        for (const auto &[layer, expert] : it->second)
            if (layer >= firstLayer && layer <= lastLayer)
                perLayer[layer].push_back(expert);
    routing::InterventionPlan plan;
    for (auto &[layer, experts] : perLayer) {
        std::sort(experts.begin(), experts.end());
        plan.mask.push_back({{layer, layer}, experts});
    }
    return plan;
}

routing::InterventionPlan steeringPlan(const RoutingTrace &trace, const std::string &a, const std::string &b,
                                       double lambda, int k, double threshold, int firstLayer, int lastLayer)
{
    checkLayers(trace, firstLayer, lastLayer);
    const auto set = steeringSet(trace, a, b, k, threshold, firstLayer, lastLayer);
    std::map<int, routing::SteerEntry> perLayer;
    for (const auto &e : set) {
        auto &entry = perLayer[e.layer];
        entry.layers = {e.layer, e.layer};
        entry.perExpertScales = true;
        entry.experts.push_back(e.expert);
        entry.scales.push_back(lambda * e.shareA);
    }
    routing::InterventionPlan plan;
    for (auto &[layer, entry] : perLayer)
        plan.steer.push_back(std::move(entry));
    return plan;
}

std::size_t planExpertCount(const routing::InterventionPlan &plan)
{
    std::size_t n = 0;
    for (const auto &m : plan.mask)
        n += m.experts.size() * static_cast<std::size_t>(m.layers.last - m.layers.first + 1);
    for (const auto &s : plan.steer)
        n += s.experts.size() * static_cast<std::size_t>(s.layers.last - s.layers.first + 1);
    return n;
}

} // namespace moescope::experiments
