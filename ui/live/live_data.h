#pragma once

// Plain data that crosses the worker-thread boundary (the Hotspot "data.h"
// idea): what a request asks for and what the worker found. Views and models
// read these; nothing here touches the model itself.

#include "core/eval/metric_table.h"
#include "core/experiments/evaluation_jobs.h"
#include "core/experiments/intervention_grid.h"
#include "core/experiments/routing_recording.h"
#include "core/experiments/text_generation.h"
#include "core/model/model_info.h"
#include "core/routing/intervention_plan.h"
#include "core/trace/routing_trace.h"
#include "ui/figures/intervention_results.h"

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
    // Positions the model declares (config max_position_embeddings): the
    // perplexity window an evaluation uses unless told otherwise; 0 = none.
    int contextLength = 0;
    double loadSeconds = 0;
};
using ModelFactsPtr = std::shared_ptr<const ModelFacts>;

// A generation from the GUI: core's request (core/experiments/
// text_generation.h), as `moescope generate` fills it, plus what the GUI
// asks of the worker around it.
struct GenerationRequest : experiments::GenerationRequest
{
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

// `moescope record` from the GUI: core's request (core/experiments/
// routing_recording.h) plus the GUI's side of the job.
struct RecordingRequest : experiments::RecordingRequest
{
    // The trace is re-read after a commit at most this often (and once at
    // the end), so the study views follow the recording.
    int snapshotIntervalMs = 1000;
    QString title;
};

// A committed batch, and (throttled) the trace as it now is on disk.
struct RecordingCommit
{
    QString label;
    std::size_t committed = 0; // documents of label in the file
    std::size_t total = 0; // documents of label in the corpus
    std::shared_ptr<const RoutingTrace> trace; // null when not re-read this time
};

struct RecordingOutcome
{
    QString path;
    experiments::RecordingReport report;
    std::shared_ptr<const RoutingTrace> trace; // the finished (or cancelled) trace
    bool cancelled = false;
};
using RecordingOutcomePtr = std::shared_ptr<const RecordingOutcome>;

// `moescope ablate` / `moescope steer` from the GUI: core's request
// (core/experiments/evaluation_jobs.h) over the study's trace, which the GUI
// holds in memory rather than reads from tracePath.
struct GridRequest : experiments::GridRequest
{
    std::shared_ptr<const RoutingTrace> trace;
    QString title;
};

struct GridOutcome
{
    GridRequest::Kind kind = GridRequest::Kind::Ablation;
    std::shared_ptr<const MetricTable> table;
    std::vector<experiments::GridCell> cells;
    InterventionResultsPtr results; // results.json read back, for the figures
    QString outputDir;
    // The `moescope ablate/steer` line that repeats the run (results.json's
    // run.command).
    QString command;
    double seconds = 0;
};
using GridOutcomePtr = std::shared_ptr<const GridOutcome>;

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
Q_DECLARE_METATYPE(moescope::ui::RecordingCommit)
Q_DECLARE_METATYPE(moescope::ui::RecordingOutcomePtr)
Q_DECLARE_METATYPE(moescope::ui::GridOutcomePtr)
