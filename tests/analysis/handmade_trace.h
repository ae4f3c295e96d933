#pragma once

// Builds small routing traces by hand for the analysis tests.

#include "core/trace/routing_trace.h"

#include <cstdint>
#include <string>
#include <vector>

namespace moescope::testing {

inline RoutingTrace handmadeTrace(
    int numLayers, int numExperts, int topK, std::vector<int> moeLayers)
{
    RoutingTrace trace;
    trace.model.modelId = "handmade";
    trace.model.modelType = "test";
    trace.model.numLayers = numLayers;
    trace.model.numExperts = numExperts;
    trace.model.topK = topK;
    trace.model.moeLayers = std::move(moeLayers);
    return trace;
}

// counts: one row of numExperts values per layer; tokens: one per layer.
inline void addLanguage(RoutingTrace &trace, const std::string &label,
    const std::vector<std::vector<std::uint64_t>> &counts, const std::vector<std::uint64_t> &tokens)
{
    LanguageRouting lang;
    lang.label = label;
    for (const auto &row : counts)
        lang.counts.insert(lang.counts.end(), row.begin(), row.end());
    lang.gateSum.assign(lang.counts.size(), 0.0);
    lang.tokens = tokens;
    trace.languages.push_back(std::move(lang));
}

} // namespace moescope::testing
