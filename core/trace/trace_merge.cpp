#include "core/trace/trace_merge.h"

#include "core/common/error.h"
#include "core/trace/trace_store.h"
#include "core/trace/trace_validation.h"

#include <nlohmann/json.hpp>

namespace moescope {

namespace {

std::string shapeText(const ModelSummary &m)
{
    std::string text = "'";
    text += m.modelId;
    text += "', " + std::to_string(m.numLayers) + " layers, " + std::to_string(m.numExperts)
        + " experts, top-" + std::to_string(m.topK) + ", MoE layers [";
    for (std::size_t i = 0; i < m.moeLayers.size(); ++i) {
        if (i)
            text += ',';
        text += std::to_string(m.moeLayers[i]);
    }
    return text + "]";
}

} // namespace

RoutingTrace mergeTraces(const std::vector<RoutingTrace> &traces,
                         const std::vector<std::string> &names)
{
    if (traces.empty())
        throw Error("nothing to merge");
    if (names.size() != traces.size())
        throw Error("mergeTraces: one name per trace expected");
    const ModelSummary &model = traces.front().model;
    RoutingTrace merged;
    merged.model = model;
    merged.created = isoTimestampNow();
    merged.toolVersion = MOESCOPE_VERSION;
    nlohmann::json inputs = nlohmann::json::array();

    for (std::size_t i = 0; i < traces.size(); ++i) {
        const RoutingTrace &t = traces[i];
        const std::string &name = names[i];
        validateTrace(t, name);
        if (!t.model.sameShape(model) || t.model.modelId != model.modelId
            || t.model.modelType != model.modelType)
            throw Error(name, "model differs from " + names.front() + ": " + shapeText(t.model)
                                  + " vs " + shapeText(model));
        nlohmann::json provenance = nlohmann::json::parse(t.provenance, nullptr, false);
        if (provenance.is_discarded())
            provenance = t.provenance;
        nlohmann::json labels = nlohmann::json::array();
        for (const auto &lang : t.languages)
            labels.push_back(lang.label);
        inputs.push_back({{"file", name},
                          {"created", t.created},
                          {"tool_version", t.toolVersion},
                          {"languages", labels},
                          {"provenance", provenance}});

        for (const LanguageRouting &lang : t.languages) {
            LanguageRouting *into = nullptr;
            for (auto &m : merged.languages)
                if (m.label == lang.label)
                    into = &m;
            if (!into) {
                merged.languages.push_back(lang);
                continue;
            }
            // Summing prompt counts with generated ones, or counts taken
            // under different templates, would mix two different measurements.
            if (into->tokenScope != lang.tokenScope)
                throw Error(name, "language '" + lang.label + "' has token_scope '"
                                      + lang.tokenScope + "' but '" + into->tokenScope
                                      + "' in an earlier input");
            if (into->templateName != lang.templateName)
                throw Error(name, "language '" + lang.label + "' was recorded with template '"
                                      + lang.templateName + "' but '" + into->templateName
                                      + "' in an earlier input");
            if (into->corpus != lang.corpus) {
                // Shards of different corpora: keep every source, once.
                const std::string sep = "; ";
                const std::string haystack = sep + into->corpus + sep;
                if (haystack.find(sep + lang.corpus + sep) == std::string::npos)
                    into->corpus += sep + lang.corpus;
            }
            for (std::size_t c = 0; c < into->counts.size(); ++c) {
                into->counts[c] += lang.counts[c];
                into->gateSum[c] += lang.gateSum[c];
            }
            for (std::size_t l = 0; l < into->tokens.size(); ++l)
                into->tokens[l] += lang.tokens[l];
            into->documents += lang.documents;
        }
    }
    merged.provenance = nlohmann::json{{"source", "merge"}, {"inputs", inputs}}.dump();
    validateTrace(merged, "merged trace");
    return merged;
}

RoutingTrace mergeTraceFiles(const std::vector<std::string> &paths)
{
    std::vector<RoutingTrace> traces;
    for (const auto &p : paths)
        traces.push_back(readTrace(p));
    return mergeTraces(traces, paths);
}

} // namespace moescope
