#pragma once

// The analysis JSON written by `moescope analyze` (docs/architecture.md "Analysis
// JSON"). Kept apart from routing_analysis.h so code that only needs the
// numbers does not pull in nlohmann-json.

#include "core/analysis/routing_analysis.h"

#include <nlohmann/json.hpp>

#include <string>

namespace moescope {

// Per-layer arrays under "entropy" and "experts" are indexed by layer
// (dense layers 0); "similarity" lists only the analysed layers and names
// them. source: the file or folder the trace came from ("" to omit).
nlohmann::json analysisToJson(
    const AnalysisResult &result, const RoutingTrace &trace, const std::string &source = {});

} // namespace moescope
