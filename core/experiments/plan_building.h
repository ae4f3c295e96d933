#pragma once

// `moescope plan`: intervention plans derived from a trace with the study's
// rules (arXiv 2601.14050). Both return one plan entry per layer that has
// experts to act on, so a plan reads layer by layer and can be edited by hand.

#include "core/routing/intervention_plan.h"
#include "core/trace/routing_trace.h"

#include <string>

namespace moescope::experiments {

// Masks, in every layer of [firstLayer, lastLayer], the experts exclusive to
// `language` (expertSpecialisation with k and threshold: the language's share
// of the expert's top-k-filtered activation frequency exceeds threshold).
// An empty plan means the language has no exclusive expert there.
routing::InterventionPlan maskExclusivePlan(const RoutingTrace &trace, const std::string &language, int k,
                                            double threshold, int firstLayer, int lastLayer);

// The study's steering set for languages a, b (steeringSet: experts in both
// top-k lists with shareA in (1 - thr, thr)) with per-expert scales
// lambda * shareA, the paper's x = lambda * s applied as z + x * |z|.
routing::InterventionPlan steeringPlan(const RoutingTrace &trace, const std::string &a, const std::string &b,
                                       double lambda, int k, double threshold, int firstLayer, int lastLayer);

// Experts a plan touches (mask and steer entries, per layer covered).
std::size_t planExpertCount(const routing::InterventionPlan &plan);

} // namespace moescope::experiments
