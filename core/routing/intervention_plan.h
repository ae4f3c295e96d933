#pragma once

// PLAN.json (docs/architecture.md "Intervention plan"):
//   { "mask":  [ {"layers": [a, b], "experts": [e, ...]} ],
//     "steer": [ {"layers": [a, b], "experts": [e, ...], "scale": x} ] }
// Layer ranges are inclusive; a steer entry may carry "scales": [...] (one per
// expert) instead of "scale". Torch-free; applied by PlanHook (plan_hook.h).

#include <string>
#include <vector>

namespace moescope::routing {

struct LayerRange
{
    int first = 0;
    int last = 0; // inclusive
    bool contains(int layer) const { return layer >= first && layer <= last; }
};

struct MaskEntry
{
    LayerRange layers;
    std::vector<int> experts;
};

struct SteerEntry
{
    LayerRange layers;
    std::vector<int> experts;
    std::vector<double> scales; // one per expert
    bool perExpertScales = false; // written back as "scales" rather than "scale"
};

struct InterventionPlan
{
    std::vector<MaskEntry> mask;
    std::vector<SteerEntry> steer;
    bool empty() const { return mask.empty() && steer.empty(); }
};

// What a plan is checked against.
struct PlanTarget
{
    int numLayers = 0;
    int numExperts = 0;
    std::vector<int> moeLayers;
};

// Throws moescope::Error(source, reason) on malformed JSON or entries.
InterventionPlan parsePlan(const std::string &json, const std::string &source);
InterventionPlan loadPlan(const std::string &path);
std::string planToJson(const InterventionPlan &plan);
void savePlan(const InterventionPlan &plan, const std::string &path); // atomic

// Throws Error(source, ...) naming the first entry that addresses a layer or
// expert the model does not have, or a range with no MoE layer in it.
void validatePlan(const InterventionPlan &plan, const PlanTarget &target, const std::string &source);

} // namespace moescope::routing
