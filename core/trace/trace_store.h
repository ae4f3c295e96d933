#pragma once

// HDF5 trace file, format "moescope-trace" version 1 (docs/trace-format.md).

#include "core/trace/routing_trace.h"

#include <string>

namespace moescope {

// Throws Error(path, reason) for missing files, other HDF5 formats, wrong
// versions, inconsistent shapes or truncated files. Does not lock the file,
// so a trace can be read while a TraceWriter is appending to it.
RoutingTrace readTrace(const std::string &path);

// Writes to a temporary file and renames it over path. `created` is kept
// (set to now when empty); tool_version is always this build's version.
// Throws Error(path, reason) if the trace breaks a rule of validateTrace.
void writeTrace(const RoutingTrace &trace, const std::string &path);

// Current UTC time as ISO 8601, e.g. "2026-01-14T09:30:00Z".
std::string isoTimestampNow();

} // namespace moescope
