#include "core/experiments/model_identity.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/model/model_spec.h"
#include "core/model/moe_model.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace moescope::experiments {

namespace {

std::string configuredName(const std::string &configPath)
{
    try {
        const auto config = nlohmann::json::parse(readFile(configPath));
        if (config.is_object() && config.contains("_name_or_path") && config["_name_or_path"].is_string())
            return config["_name_or_path"].get<std::string>();
    } catch (const std::exception &) {
        // The engine has parsed this config already; a name is optional.
    }
    return {};
}

} // namespace

ModelSummary summariseModel(const model::MoeModel &model)
{
    return summariseModel(model.spec(), model.directory());
}

ModelSummary summariseModel(const model::ModelSpec &spec, const std::string &modelDir)
{
    ModelSummary s;
    s.modelId = configuredName(spec.configPath);
    if (s.modelId.empty()) {
        auto dir = std::filesystem::weakly_canonical(modelDir);
        if (!dir.has_filename())
            dir = dir.parent_path();
        s.modelId = dir.filename().string();
    }
    if (s.modelId.empty())
        s.modelId = "unknown";
    s.modelType = spec.modelType;
    s.numLayers = spec.numLayers;
    s.numExperts = spec.moe.numExperts;
    s.topK = spec.moe.topK;
    s.moeLayers = spec.moeLayers();
    return s;
}

std::string describeModelShape(const ModelSummary &m)
{
    return (m.modelType.empty() ? std::string("unknown type") : m.modelType) + ", "
        + std::to_string(m.numLayers) + " layers x " + std::to_string(m.numExperts) + " experts, top-"
        + std::to_string(m.topK);
}

std::string requireTraceFitsModel(const ModelSummary &trace, const ModelSummary &loaded,
                                  const std::string &tracePath)
{
    const bool typeDiffers = !trace.modelType.empty() && trace.modelType != loaded.modelType;
    if (typeDiffers || !trace.sameShape(loaded))
        throw Error(tracePath, "recorded with model '" + trace.modelId + "' ("
                                   + describeModelShape(trace) + "), not the loaded '" + loaded.modelId
                                   + "' (" + describeModelShape(loaded) + ")");
    if (trace.modelId != loaded.modelId)
        return "trace model '" + trace.modelId + "' differs in name from the loaded '" + loaded.modelId
            + "' (same type and shape; continuing)";
    return {};
}

} // namespace moescope::experiments
