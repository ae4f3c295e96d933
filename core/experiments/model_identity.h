#pragma once

// Which model a trace belongs to: the root attributes a recording writes
// (model_id, model_type, layers, experts, top-k, MoE layers), taken from a
// loaded model, and the check that a trace fits the model it is used with.

#include "core/trace/routing_trace.h"

#include <string>

namespace moescope::model {
class MoeModel;
struct ModelSpec;
} // namespace moescope::model

namespace moescope::experiments {

// model_id is config.json's "_name_or_path" when it is set, else the model
// folder's name (so two copies of one checkpoint get the same id).
ModelSummary summariseModel(const model::MoeModel &model);
// The same from config.json alone (no weights loaded), e.g. to check a plan.
ModelSummary summariseModel(const model::ModelSpec &spec, const std::string &modelDir);

// "qwen3_moe, 48 layers x 128 experts, top-8"
std::string describeModelShape(const ModelSummary &model);

// Throws Error(tracePath, ...) when the trace was recorded with a model of
// another type or shape: its experts would not be the loaded model's. A
// different model_id with the same type and shape is accepted (the same
// checkpoint in another folder) and returned as a warning text; else "".
std::string requireTraceFitsModel(const ModelSummary &trace, const ModelSummary &loaded,
                                  const std::string &tracePath);

} // namespace moescope::experiments
