#pragma once

// The study's intervention experiments with one loaded model: every cell is
// an InterventionPlan applied through a PlanHook while the same Evaluation
// (prompts tokenised once) runs again. The study's scripts reloaded a 30B
// model for each of the 64 cells of its 8 x 8 grid; here a cell costs only
// its own forward passes.
//
//   ablation: for every layer block and masked language, mask the experts
//             exclusive to that language within the block, and evaluate all
//             languages; plus the unmasked baseline.
//   steering: the baseline and one steered condition per lambda.

#include "core/eval/metric_table.h"
#include "core/routing/intervention_plan.h"
#include "core/trace/routing_trace.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace moescope {
class JobContext;
}

namespace moescope::model {
class MoeModel;
}

namespace moescope::experiments {

class Evaluation;

struct GridCell
{
    std::vector<std::string> key; // the table's key columns except the last ("language")
    std::string name;             // file-name friendly, e.g. "mask-en-layers-0-4"
    routing::InterventionPlan plan;
    bool baseline = false;        // deltas are taken against this cell
};

struct AblationSettings
{
    std::vector<std::string> languages;      // masked; also the evaluated rows
    std::vector<routing::LayerRange> blocks; // inclusive layer ranges
    int k = 15;                              // the study's k and threshold for exclusivity
    double threshold = 0.4;
};

// Key columns {"block", "masked"}; the baseline is {"none", "none"}.
std::vector<GridCell> ablationCells(const RoutingTrace &trace, const AblationSettings &settings);

struct SteeringSettings
{
    std::string a, b;             // the language pair; scales are lambda * share of a
    std::vector<double> lambdas;  // one steered condition each
    int k = 20;                   // the study's defaults
    double threshold = 0.7;
    int firstLayer = 10, lastLayer = 39;
};

// Key column {"condition"}: "baseline", then "steer(a,b,lambda=x)".
std::vector<GridCell> steeringCells(const RoutingTrace &trace, const SteeringSettings &settings);

// Runs evaluation once per cell (a PlanHook for non-empty plans) and returns
// the table: keyColumns + "language"; the evaluation's metric columns, then
// "experts" (experts the plan touches, summed over layers) and
// "<primary>_delta" (the cell's primary metric minus the baseline's for the
// same language). Progress: tokens over all cells, the cell's name as message.
MetricTable runGrid(const Evaluation &evaluation, const std::vector<std::string> &keyColumns,
                    const std::vector<GridCell> &cells, const JobContext &job);

// Writes table as CSV and as JSON (MetricTable's JSON plus a "run" object
// with runJson's content), each atomically.
void writeResults(const MetricTable &table, const std::string &runJson, const std::string &csvPath,
                  const std::string &jsonPath);

// What results of evaluate / ablate / steer carry besides the numbers, the
// same whether the CLI or the GUI ran them: the command, the model, task,
// corpus, template, chat, decoding, MoEScope's version and the time.
nlohmann::json evaluationRunJson(const std::string &command, const model::MoeModel &model,
                                 const Evaluation &evaluation, const std::string &evalSpec);
// The same plus the grid's settings ("trace", k, threshold, languages and
// blocks, or pair, lambdas and layers).
nlohmann::json gridRunJson(const std::string &command, const model::MoeModel &model, const Evaluation &evaluation,
                           const std::string &evalSpec, const std::string &tracePath,
                           const AblationSettings &settings);
nlohmann::json gridRunJson(const std::string &command, const model::MoeModel &model, const Evaluation &evaluation,
                           const std::string &evalSpec, const std::string &tracePath,
                           const SteeringSettings &settings);

// A grid's results folder: DIR/results.csv, DIR/results.json and each
// non-baseline cell's plan as DIR/plans/<cell name>.json (what `moescope
// figures --results` and the GUI read).
void writeGridResults(const std::string &outDir, const MetricTable &table, const nlohmann::json &run,
                      const std::vector<GridCell> &cells);

} // namespace moescope::experiments
