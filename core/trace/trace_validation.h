#pragma once

// The consistency rules of a routing trace (docs/trace-format.md,
// "Validation"), shared by the HDF5 reader, the writers, study-JSON import
// and merge so that every way into a RoutingTrace checks the same things.

#include "core/trace/routing_trace.h"

#include <string>

namespace moescope {

// Throws Error(file, reason) unless name is usable as a language label: not
// empty, no '/', not "." and no control characters (it becomes an HDF5 link
// name and an export file name).
void validateLabel(const std::string &label, const std::string &file);

// Throws Error(file, reason) for an impossible model shape (no layers or
// experts, top_k outside 1..num_experts, MoE layers not ascending and in range).
void validateModel(const ModelSummary &model, const std::string &file);

// Throws Error(file, reason) naming the language and the first violated rule:
// array sizes, dense layers not zero, counts without tokens, a count above its
// layer's tokens, gate sums that are negative, not finite or non-zero for an
// unused expert, unknown token_scope, duplicate labels.
void validateTrace(const RoutingTrace &trace, const std::string &file);

} // namespace moescope
