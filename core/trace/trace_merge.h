#pragma once

#include "core/trace/routing_trace.h"

#include <string>
#include <vector>

namespace moescope {

// Counts are additive: languages present in several traces are summed,
// others copied. Throws Error naming the offending file when the models differ.
RoutingTrace mergeTraces(const std::vector<RoutingTrace> &traces,
                         const std::vector<std::string> &names);
RoutingTrace mergeTraceFiles(const std::vector<std::string> &paths);

} // namespace moescope
