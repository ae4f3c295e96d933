#include "core/experiments/evaluation_jobs.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/corpus/corpus_spec.h"
#include "core/experiments/model_identity.h"
#include "core/jobs/job_context.h"
#include "core/model/moe_model.h"
#include "core/routing/plan_hook.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace moescope::experiments {

namespace {

using nlohmann::json;

PromptOptions promptOptionsOf(const EvaluationRequest &r, EvalTask task)
{
    PromptOptions o;
    o.tmpl = r.templateName.empty() ? defaultEvalTemplate(task) : promptTemplate(r.templateName);
    o.applyChat = r.applyChat;
    o.targets = r.targets;
    o.maxTokens = r.maxLength;
    o.truncate = r.truncate;
    return o;
}

} // namespace

void checkEvaluationRequest(const EvaluationRequest &request)
{
    (void)parseCorpusSpec(request.evalSpec);
}

PreparedEvaluation prepareEvaluation(const model::MoeModel &model, const Tokenizer &tokenizer,
                                     const EvaluationRequest &request)
{
    PreparedEvaluation p;
    const auto spec = parseCorpusSpec(request.evalSpec);
    p.spec = spec.toString();
    EvaluationOptions o;
    o.task = request.task ? *request.task : defaultEvalTask(spec.format);
    o.maxNewTokens = request.maxNewTokens;
    o.batchSize = request.batchSize;
    o.maxBatchTokens = request.maxBatchTokens;
    o.prompt = promptOptionsOf(request, o.task);
    o.stride = request.stride; // Evaluation checks it with the window (resolvePerplexityWindow)
    p.corpus = loadCorpus(spec);
    p.evaluation = std::make_unique<Evaluation>(model, tokenizer, p.corpus, o);
    if (!request.languages.empty())
        p.evaluation->keepLabels(request.languages);
    return p;
}

void checkEvaluateRequest(const EvaluateRequest &request)
{
    requireWritableFile(request.outPath);
    if (!request.outputsPath.empty())
        requireWritableFile(request.outputsPath);
    checkEvaluationRequest(request.evaluation);
}

EvaluateResult runEvaluate(const model::MoeModel &model, const Tokenizer &tokenizer, const EvaluateRequest &request,
                           const JobContext &job)
{
    namespace fs = std::filesystem;
    checkEvaluateRequest(request);
    if (request.plan)
        routing::validatePlan(*request.plan, model.planTarget(), request.planSource);
    const auto setup = prepareEvaluation(model, tokenizer, request.evaluation);
    std::unique_ptr<routing::PlanHook> hook;
    if (request.plan && !request.plan->empty())
        hook = std::make_unique<routing::PlanHook>(*request.plan);
    const std::string condition =
        request.plan ? "plan:" + fs::path(request.planSource).stem().string() : "baseline";
    MetricTable table({"condition", "language"});
    std::vector<EvaluationOutput> outputs;
    std::size_t done = 0;
    const auto total = setup.evaluation->workTokens();
    setup.evaluation->run(hook.get(), {condition}, table, job, [&](std::size_t tokens) {
        done += tokens;
        job.report(done, total, "tokens", condition);
    }, request.outputsPath.empty() ? nullptr : &outputs);

    auto run = evaluationRunJson(request.command, model, *setup.evaluation, setup.spec);
    run["plan"] = request.plan ? json::parse(routing::planToJson(*request.plan)) : json(nullptr);
    run["plan_file"] = request.plan ? json(request.planSource) : json(nullptr);
    if (!request.outputsPath.empty()) {
        std::string lines;
        for (const auto &o : outputs)
            lines += json({{"condition", condition}, {"language", o.label}, {"id", o.documentId},
                           {"output", o.output}, {"score", o.score}})
                         .dump(-1, ' ', false, json::error_handler_t::replace)
                + "\n";
        writeFileAtomically(request.outputsPath, lines);
    }
    const bool csv = fs::path(request.outPath).extension() == ".csv";
    writeResults(table, run.dump(), csv ? request.outPath : std::string(), csv ? std::string() : request.outPath);
    return {table.rowCount(), setup.evaluation->primaryMetric()};
}

void checkGridRequest(const GridRequest &request)
{
    requireWritableDirectory(request.outputDir);
    checkEvaluationRequest(request.evaluation);
}

GridResult runInterventionGrid(const model::MoeModel &model, const Tokenizer &tokenizer, const RoutingTrace &trace,
                               const GridRequest &request, const JobContext &job)
{
    checkGridRequest(request);
    GridResult result;
    result.warning = requireTraceFitsModel(trace.model, summariseModel(model),
                                           request.tracePath.empty() ? "the study's trace" : request.tracePath);
    const bool ablation = request.kind == GridRequest::Kind::Ablation;
    result.cells = ablation ? ablationCells(trace, request.ablation) : steeringCells(trace, request.steering);
    for (const auto &cell : result.cells)
        if (!cell.plan.empty())
            routing::validatePlan(cell.plan, model.planTarget(), cell.name);
    auto evaluationRequest = request.evaluation;
    if (ablation)
        evaluationRequest.languages = request.ablation.languages;
    const auto setup = prepareEvaluation(model, tokenizer, evaluationRequest);

    const auto keys = ablation ? std::vector<std::string> {"block", "masked"} : std::vector<std::string> {"condition"};
    result.table = std::make_shared<const MetricTable>(runGrid(*setup.evaluation, keys, result.cells, job));
    const auto run = ablation ? gridRunJson(request.command, model, *setup.evaluation, setup.spec, request.tracePath,
                                            request.ablation)
                              : gridRunJson(request.command, model, *setup.evaluation, setup.spec, request.tracePath,
                                            request.steering);
    writeGridResults(request.outputDir, *result.table, run, result.cells);
    result.primaryMetric = setup.evaluation->primaryMetric();
    result.languages = setup.evaluation->labels().size();
    return result;
}

} // namespace moescope::experiments
