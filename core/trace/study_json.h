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
    int topK = 0;                    // 0: round(mean selections per routed token)
    std::string tokenScope = "prompt"; // the study counted prompt tokens only
    std::string templateName;
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
// One language in the study layout (indent 4, layers and experts in numeric
// order, shortest round-trip doubles).
std::string studyJsonText(const RoutingTrace &trace, const LanguageRouting &lang);
// Writes <dir>/<prefix><label>.json per language (creating dir); lossless
// w.r.t. import. Files are renamed into place only after all were written.
void exportStudyJson(const RoutingTrace &trace, const std::string &dir,
                     const std::string &prefix = {});

} // namespace moescope
