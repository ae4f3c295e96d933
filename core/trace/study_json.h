#pragma once

// The study's routing JSON (arXiv 2601.14050 code, routing/*_result/*.json):
// one file per language, {layer: {expert: {activation_tokens,
// gate_values_sum}, total_tokens}}.

#include "core/trace/routing_trace.h"

#include <string>
#include <vector>

namespace moescope {

struct StudyJsonOptions
{
    std::string modelId = "unknown";
    std::string modelType;
    std::vector<std::string> labels; // overrides labels derived from file names
    std::string corpus;              // e.g. "mgsm"; default: file-name prefix
};

struct StudyJsonDocument
{
    std::string name; // file name (label is derived from it: mgsm_en.json -> en)
    std::string text; // JSON contents
};

// paths: JSON files and/or folders of them (sorted by file name).
RoutingTrace importStudyJson(const std::vector<std::string> &paths,
                             const StudyJsonOptions &options = {});
// Same from in-memory documents (e.g. embedded resources).
RoutingTrace importStudyJsonDocuments(const std::vector<StudyJsonDocument> &documents,
                                      const StudyJsonOptions &options = {});
// Writes <dir>/<prefix><label>.json per language; lossless w.r.t. import.
void exportStudyJson(const RoutingTrace &trace, const std::string &dir,
                     const std::string &prefix = {});

} // namespace moescope
