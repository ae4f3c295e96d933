#pragma once

// Plain data that crosses the worker-thread boundary (the Hotspot "data.h"
// idea): what a request asks for and what the worker found. Views and models
// read these; nothing here touches the model itself.

#include "core/model/model_info.h"
#include "core/routing/intervention_plan.h"

#include <QMetaType>
#include <QString>

#include <cstdint>
#include <memory>
#include <vector>

namespace moescope::ui {

// What the model panel shows once a model folder is loaded.
struct ModelFacts
{
    model::ModelInfo info; // `moescope info`
    QString directory;
    QString computeDtype; // "fp32" | "bf16"
    bool hasTokenizer = false;
    QString tokenizerProblem; // why prompts cannot be typed, when !hasTokenizer
    routing::PlanTarget planTarget;
    double loadSeconds = 0;
};
using ModelFactsPtr = std::shared_ptr<const ModelFacts>;

struct GenerationRequest
{
    QString prompt; // encoded with the model's tokenizer...
    std::vector<std::int64_t> promptIds; // ...unless ids are given
    bool addSpecialTokens = true; // BOS etc., as `moescope generate` does
    int maxNewTokens = 32;
    bool stopAtEos = true; // false: always generate maxNewTokens
    routing::InterventionPlan plan; // applied before expert selection
    bool captureRouting = true; // per-token routing for the grid
    QString title; // for the jobs panel
};

// One position of the sequence (prompt or generated).
struct RoutedToken
{
    std::int64_t id = 0;
    QString text; // the token's own text, for labels and tooltips
    bool generated = false;
    // [numLayers * topK] experts (descending weight) and their weights; empty
    // until this token's routing is known. Dense layers hold -1 / 0.
    std::vector<int> experts;
    std::vector<float> weights;

    bool routed() const { return !experts.empty(); }
};

struct GenerationOutcome
{
    int numLayers = 0;
    int numExperts = 0;
    int topK = 0;
    std::vector<int> moeLayers;
    int promptTokens = 0; // the first promptTokens of tokens
    std::vector<RoutedToken> tokens; // prompt, then generated
    QString generatedText; // decoded continuation (special tokens skipped)
    bool stopped = false; // ended on a stop token
    bool complete = false; // false while streaming
    bool planApplied = false;

    int generatedTokens() const { return static_cast<int>(tokens.size()) - promptTokens; }
};
using GenerationOutcomePtr = std::shared_ptr<const GenerationOutcome>;

// Progress of one job as the jobs panel shows it.
struct JobProgress
{
    std::uint64_t done = 0;
    std::uint64_t total = 0; // 0 = unknown
    QString unit;
    QString message;
    double etaSeconds = -1; // -1 = unknown
};

} // namespace moescope::ui

Q_DECLARE_METATYPE(moescope::ui::ModelFactsPtr)
Q_DECLARE_METATYPE(moescope::ui::GenerationOutcomePtr)
Q_DECLARE_METATYPE(moescope::ui::JobProgress)
