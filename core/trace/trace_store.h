#pragma once

// HDF5 trace file, format "moescope-trace" version 1 (docs/trace-format.md).

#include "core/trace/routing_trace.h"

#include <string>

namespace moescope {

// Throws Error(path, reason) for missing files, other HDF5 formats, wrong
// versions, inconsistent shapes or truncated files.
RoutingTrace readTrace(const std::string &path);

// Writes to a temporary file and renames it over path.
void writeTrace(const RoutingTrace &trace, const std::string &path);

} // namespace moescope
