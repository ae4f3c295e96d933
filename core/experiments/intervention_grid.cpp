#include "core/experiments/intervention_grid.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/experiments/evaluation.h"
#include "core/experiments/plan_building.h"
#include "core/jobs/job_context.h"
#include "core/routing/plan_hook.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
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

} // namespace moescope::experiments
