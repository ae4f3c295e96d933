#include "core/experiments/intervention_grid.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/experiments/evaluation.h"
#include "core/experiments/model_identity.h"
#include "core/model/moe_model.h"
#include "core/experiments/plan_building.h"
#include "core/jobs/job_context.h"
#include "core/routing/plan_hook.h"
#include "core/trace/trace_store.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

namespace moescope::experiments {

namespace {

std::string blockName(const routing::LayerRange &r)
{
    return std::to_string(r.first) + "-" + std::to_string(r.last);
}

// Shortest text that reads back as the same double ("0.022", not "0.021999...").
std::string numberText(double x)
{
    char buf[32];
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*g", precision, x);
        if (std::strtod(buf, nullptr) == x)
            break;
    }
    return buf;
}

} // namespace

std::vector<GridCell> ablationCells(const RoutingTrace &trace, const AblationSettings &s)
{
    if (s.languages.empty())
        throw Error("the ablation grid needs at least one language");
    if (s.blocks.empty())
        throw Error("the ablation grid needs at least one layer block");
    std::vector<GridCell> cells;
    cells.push_back({{"none", "none"}, "baseline", {}, true});
    for (const auto &block : s.blocks)
        for (const auto &language : s.languages) {
            GridCell cell;
            cell.key = {blockName(block), language};
            cell.name = "mask-" + language + "-layers-" + blockName(block);
            cell.plan = maskExclusivePlan(trace, language, s.k, s.threshold, block.first, block.last);
            cells.push_back(std::move(cell));
        }
    return cells;
}

std::vector<GridCell> steeringCells(const RoutingTrace &trace, const SteeringSettings &s)
{
    if (s.lambdas.empty())
        throw Error("steering needs at least one lambda");
    std::vector<GridCell> cells;
    cells.push_back({{"baseline"}, "baseline", {}, true});
    for (const double lambda : s.lambdas) {
        GridCell cell;
        const auto l = numberText(lambda);
        cell.key = {"steer(" + s.a + "," + s.b + ",lambda=" + l + ")"};
        cell.name = "steer-" + s.a + "-" + s.b + "-lambda-" + l;
        cell.plan = steeringPlan(trace, s.a, s.b, lambda, s.k, s.threshold, s.firstLayer, s.lastLayer);
        cells.push_back(std::move(cell));
    }
    return cells;
}

MetricTable runGrid(const Evaluation &evaluation, const std::vector<std::string> &keyColumns,
                    const std::vector<GridCell> &cells, const JobContext &job)
{
    auto columns = keyColumns;
    columns.push_back("language");
    MetricTable table(columns);
    const std::size_t total = evaluation.workTokens() * cells.size();
    std::size_t done = 0;
    for (const auto &cell : cells) {
        if (cell.key.size() != keyColumns.size())
            throw Error("grid cell '" + cell.name + "' has a key of the wrong size");
        job.checkCancelled();
        job.report(done, total, "tokens", cell.name);
        std::unique_ptr<routing::PlanHook> hook;
        if (!cell.plan.empty())
            hook = std::make_unique<routing::PlanHook>(cell.plan);
        evaluation.run(hook.get(), cell.key, table, job, [&](std::size_t tokens) {
            done += tokens;
            job.report(done, total, "tokens", cell.name);
        });
        for (const auto &label : evaluation.labels()) {
            auto key = cell.key;
            key.push_back(label);
            table.set(key, "experts", static_cast<double>(planExpertCount(cell.plan)));
        }
    }
    // Deltas against the baseline, once every row exists.
    const auto primary = evaluation.primaryMetric();
    const GridCell *baseline = nullptr;
    for (const auto &cell : cells)
        if (cell.baseline)
            baseline = &cell;
    if (baseline)
        for (const auto &cell : cells)
            for (const auto &label : evaluation.labels()) {
                auto key = cell.key, base = baseline->key;
                key.push_back(label);
                base.push_back(label);
                const auto value = table.number(key, primary);
                const auto reference = table.number(base, primary);
                if (value && reference)
                    table.set(key, primary + "_delta", *value - *reference);
            }
    return table;
}

void writeResults(const MetricTable &table, const std::string &runJson, const std::string &csvPath,
                  const std::string &jsonPath)
{
    auto document = nlohmann::json::parse(table.toJson());
    document["run"] = nlohmann::json::parse(runJson);
    const auto text = document.dump(2) + "\n";
    if (!csvPath.empty())
        table.writeCsv(csvPath);
    if (!jsonPath.empty())
        writeFileAtomically(jsonPath, text);
}

nlohmann::json evaluationRunJson(const std::string &command, const model::MoeModel &model,
                                 const Evaluation &evaluation, const std::string &evalSpec)
{
    const auto &o = evaluation.options();
    const auto m = summariseModel(model);
    nlohmann::json run;
    run["command"] = command;
    run["model"] = {{"model_id", m.modelId}, {"model_type", m.modelType}, {"num_layers", m.numLayers},
                    {"num_experts", m.numExperts}, {"top_k", m.topK}, {"moe_layers", m.moeLayers}};
    run["model_dir"] = model.directory();
    run["compute_dtype"] = model.computeDtypeName();
    run["task"] = evalTaskName(o.task);
    run["primary_metric"] = evaluation.primaryMetric();
    run["higher_is_better"] = evaluation.higherIsBetter();
    run["eval_corpus"] = evalSpec;
    run["template"] = o.prompt.tmpl.name;
    run["template_body"] = o.prompt.tmpl.body;
    run["chat"] = evaluation.wrapsChat();
    run["targets"] = o.prompt.targets;
    run["max_new_tokens"] = o.maxNewTokens;
    run["batch_size"] = o.batchSize;
    if (o.task == EvalTask::Perplexity) {
        // The sliding window perplexity was scored with (null: documents
        // whole), so the record says how to reproduce its numbers.
        using nlohmann::json;
        run["perplexity_window"] = o.prompt.maxTokens > 0 ? json(o.prompt.maxTokens) : json(nullptr);
        run["perplexity_stride"] = o.stride ? json(*o.stride) : json(nullptr);
    }
    run["decoding"] = "greedy";
    run["tool_version"] = MOESCOPE_VERSION;
    run["created"] = isoTimestampNow();
    return run;
}

nlohmann::json gridRunJson(const std::string &command, const model::MoeModel &model, const Evaluation &evaluation,
                           const std::string &evalSpec, const std::string &tracePath,
                           const AblationSettings &settings)
{
    auto run = evaluationRunJson(command, model, evaluation, evalSpec);
    run["trace"] = tracePath;
    run["k"] = settings.k;
    run["threshold"] = settings.threshold;
    run["languages"] = settings.languages;
    auto blocks = nlohmann::json::array();
    for (const auto &b : settings.blocks)
        blocks.push_back({b.first, b.last});
    run["blocks"] = blocks;
    return run;
}

nlohmann::json gridRunJson(const std::string &command, const model::MoeModel &model, const Evaluation &evaluation,
                           const std::string &evalSpec, const std::string &tracePath,
                           const SteeringSettings &settings)
{
    auto run = evaluationRunJson(command, model, evaluation, evalSpec);
    run["trace"] = tracePath;
    run["pair"] = {settings.a, settings.b};
    run["lambdas"] = settings.lambdas;
    run["k"] = settings.k;
    run["threshold"] = settings.threshold;
    run["layers"] = {settings.firstLayer, settings.lastLayer};
    return run;
}

void writeGridResults(const std::string &outDir, const MetricTable &table, const nlohmann::json &run,
                      const std::vector<GridCell> &cells)
{
    namespace fs = std::filesystem;
    const auto plans = fs::path(outDir) / "plans";
    std::error_code ec;
    fs::create_directories(plans, ec);
    if (ec)
        throw Error(plans.string(), "cannot create the folder: " + ec.message());
    for (const auto &cell : cells)
        if (!cell.baseline)
            routing::savePlan(cell.plan, (plans / (cell.name + ".json")).string());
    writeResults(table, run.dump(), (fs::path(outDir) / "results.csv").string(),
                 (fs::path(outDir) / "results.json").string());
}

} // namespace moescope::experiments
