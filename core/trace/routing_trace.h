#pragma once

// Plain data shared by the trace store, the analyses, the CLI and the GUI
// (the Hotspot "data.h" idea): nothing here knows about HDF5, JSON or Qt.

#include <cstdint>
#include <string>
#include <vector>

namespace moescope {

struct ModelSummary
{
    std::string modelId;   // e.g. "Qwen/Qwen3-30B-A3B" or a local folder name
    std::string modelType; // Hugging Face model_type, e.g. "qwen3_moe"
    int numLayers = 0;     // decoder layers (dense ones included)
    int numExperts = 0;    // routed experts per MoE layer
    int topK = 0;          // experts chosen per token
    std::vector<int> moeLayers; // indices of the MoE layers, ascending

    bool sameShape(const ModelSummary &o) const
    {
        return numLayers == o.numLayers && numExperts == o.numExperts && topK == o.topK
            && moeLayers == o.moeLayers;
    }
};

// Routing statistics of one language (or condition, e.g. "zh+mask(en,0-4)").
// Matrices are row-major [numLayers][numExperts]; dense layers are zero rows.
struct LanguageRouting
{
    std::string label;
    std::vector<std::uint64_t> counts; // tokens that selected the expert
    std::vector<double> gateSum;       // sum of the expert's routing weights
    std::vector<std::uint64_t> tokens; // [numLayers] tokens routed in that layer

    std::string corpus;                // free text: where the tokens came from
    std::uint64_t documents = 0;
    std::string tokenScope = "prompt"; // "prompt" | "generated" | "all"
    std::string templateName;          // prompt template used, "" for raw text

    std::uint64_t count(int layer, int expert, int numExperts) const
    {
        return counts[static_cast<std::size_t>(layer) * numExperts + expert];
    }
};

struct RoutingTrace
{
    ModelSummary model;
    std::string created;     // ISO 8601
    std::string toolVersion; // moescope version that wrote the file
    std::string provenance;  // JSON text: data source, command, licence...
    std::vector<LanguageRouting> languages;

    const LanguageRouting *find(const std::string &label) const
    {
        for (const auto &l : languages)
            if (l.label == label)
                return &l;
        return nullptr;
    }
};

} // namespace moescope
