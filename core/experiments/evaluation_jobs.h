#pragma once

// The jobs built on Evaluation, as the CLI and the GUI both run them: a
// request type each, filled from argv (`moescope evaluate / ablate / steer`)
// or from the GUI's widgets, and one function that validates it, applies
// the defaults and runs it with a JobContext. Neither front-end holds a
// default or a rule of its own.

#include "core/corpus/corpus.h"
#include "core/eval/metric_table.h"
#include "core/experiments/evaluation.h"
#include "core/experiments/intervention_grid.h"
#include "core/routing/intervention_plan.h"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace moescope::experiments {

// What an evaluation runs on and how (--eval, --task, prompt options).
struct EvaluationRequest
{
    std::string evalSpec;           // e.g. "udhr:en,zh?articles=25-30" (core/corpus/corpus_spec.h)
    std::optional<EvalTask> task;   // default: by the corpus format (defaultEvalTask)
    std::string templateName;       // "" = the task's (defaultEvalTemplate)
    std::vector<std::string> targets;
    bool applyChat = true;
    // Perplexity: the sliding window (resolvePerplexityWindow); other tasks:
    // the prompt limit. 0 = the model's context (less maxNewTokens).
    std::size_t maxLength = 0;
    bool truncate = false;          // other tasks: cut prompts over the limit (else refuse them)
    std::optional<std::size_t> stride; // perplexity only
    int maxNewTokens = 64;          // generation tasks
    std::size_t batchSize = 8;
    std::size_t maxBatchTokens = 0;
    std::vector<std::string> languages; // evaluated labels (empty = all of the corpus)
};

struct PreparedEvaluation
{
    std::string spec; // canonical
    Corpus corpus;
    std::unique_ptr<Evaluation> evaluation; // reads corpus
};

// Throws Error for a spec that does not parse: cheap, before a model loads.
void checkEvaluationRequest(const EvaluationRequest &request);
// Loads the corpus and builds the evaluation (prompts tokenised once).
PreparedEvaluation prepareEvaluation(const model::MoeModel &model, const Tokenizer &tokenizer,
                                     const EvaluationRequest &request);

// `moescope evaluate`: one evaluation, optionally under a plan.
struct EvaluateRequest
{
    EvaluationRequest evaluation;
    std::optional<routing::InterventionPlan> plan;
    std::string planSource;  // the plan's file: the condition's name and the run record
    std::string outPath;     // .json (table + run) or .csv (the bare table)
    std::string outputsPath; // "" or a .jsonl of every prompt's output
    std::string command;     // for the run record
};

struct EvaluateResult
{
    std::size_t rows = 0;
    std::string primaryMetric;
};

// Output paths writable, spec parses; cheap, before a model loads.
void checkEvaluateRequest(const EvaluateRequest &request);
EvaluateResult runEvaluate(const model::MoeModel &model, const Tokenizer &tokenizer, const EvaluateRequest &request,
                           const JobContext &job);

// `moescope ablate` / `moescope steer`: the cells core builds from a trace,
// run over one evaluation, written to outputDir (writeGridResults).
struct GridRequest
{
    enum class Kind { Ablation, Steering };
    Kind kind = Kind::Ablation;
    AblationSettings ablation; // its languages are also the evaluated labels
    SteeringSettings steering;
    EvaluationRequest evaluation;
    std::string tracePath; // for the run record
    std::string outputDir;
    std::string command;   // for the run record
};

struct GridResult
{
    std::vector<GridCell> cells;
    std::shared_ptr<const MetricTable> table;
    std::string primaryMetric;
    std::size_t languages = 0;
    std::string warning; // the trace's model_id differs (same type and shape)
};

// Output folder writable (created), spec parses; cheap, before a model loads.
void checkGridRequest(const GridRequest &request);
// Throws Error when the trace is of another model type or shape, for plans
// that do not fit the model, and as prepareEvaluation.
GridResult runInterventionGrid(const model::MoeModel &model, const Tokenizer &tokenizer, const RoutingTrace &trace,
                               const GridRequest &request, const JobContext &job);

} // namespace moescope::experiments
