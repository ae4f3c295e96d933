// record, plan, evaluate, ablate, steer: the study's experimental pipeline
// (docs/experiments.md). Thin wrappers over core/experiments; the GUI calls
// the same functions.
#include "core/cli/command.h"
#include "core/cli/common_options.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/logging.h"
#include "core/common/progress.h"
#include "core/corpus/corpus_shard.h"
#include "core/experiments/evaluation_jobs.h"
#include "core/experiments/model_identity.h"
#include "core/experiments/plan_building.h"
#include "core/experiments/routing_recording.h"
#include "core/model/model_spec.h"
#include "core/model/moe_model.h"
#include "core/model/tokenizer/tokenizer.h"
#include "core/routing/intervention_plan.h"
#include "core/trace/trace_store.h"

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

namespace moescope::cli {

namespace {

namespace fs = std::filesystem;
using model::MoeModel;

Tokenizer loadModelTokenizer(const std::string &dir)
{
    if (!fs::exists(fs::path(dir) / "tokenizer.json"))
        throw Error(dir, "no tokenizer.json: MoEScope needs the model's tokenizer to turn corpus text into tokens");
    return Tokenizer::load(dir);
}

std::vector<std::string> languageList(const ArgParser &p, const std::string &name)
{
    std::vector<std::string> out;
    for (const auto &item : splitList(p.get(name)))
        if (!item.empty())
            out.push_back(item);
    return out;
}

std::vector<double> numberList(const std::string &text, const std::string &option)
{
    std::vector<double> out;
    for (const auto &item : splitList(text)) {
        try {
            std::size_t used = 0;
            out.push_back(std::stod(item, &used));
            if (used != item.size())
                throw std::invalid_argument(item);
        } catch (const std::exception &) {
            throw UsageError("option --" + option + " expects numbers, got '" + item + "'");
        }
    }
    if (out.empty())
        throw UsageError("option --" + option + " needs a value");
    return out;
}

routing::LayerRange singleRange(const std::string &text, const std::string &option)
{
    const auto ranges = parseRanges(text, "--" + option);
    if (ranges.size() != 1)
        throw UsageError("option --" + option + " takes one range a-b");
    return {ranges.front().first, ranges.front().second};
}

// The prompt options shared by record and the evaluation commands.
void declarePromptOptions(ArgParser &p, const std::string &templateDefault,
                          const std::string &maxLengthHelp =
                              "truncate prompts to N tokens (default: refuse prompts longer than the model's context)")
{
    p.option("template", "NAME|FILE",
             "prompt template: raw, chat, question, math, translate, qa, multiple-choice, or a file"
                 + (templateDefault.empty() ? std::string() : " (default: " + templateDefault + ")"))
        .option("target", "LANG[,LANG...]", "target language(s) for templates with {target_language}")
        .flag("no-chat", "do not wrap chat templates in the model's chat format")
        .option("max-length", "N", maxLengthHelp)
        .option("batch-size", "N", "prompts per forward pass", "8")
        .option("max-batch-tokens", "N", "cap on padded tokens per batch (0 = none)", "0")
        .option("dtype", "fp32|bf16", "compute dtype (default: the checkpoint's own)");
}

void declareEvaluationOptions(ArgParser &p)
{
    p.option("eval", "SPEC", "evaluation corpus spec (required), e.g. 'udhr:en,zh?articles=25-30'")
        .option("task", "TASK",
                "perplexity | consistency | math | qa | multiple-choice (default: by corpus format: "
                "mgsm/polymath math, xquad qa, belebele multiple-choice, text formats perplexity)")
        .option("max-new-tokens", "N", "generation cap per prompt (generation tasks)", "64")
        .option("stride", "N",
                "perplexity: tokens a sliding window advances by over documents longer than the window; "
                "each window scores only the tokens no earlier window scored (default: half the window)");
    declarePromptOptions(p, "",
                         "perplexity: the sliding window's length, documents are never cut (default: the model's "
                         "context); other tasks: truncate prompts to N tokens (default: refuse prompts longer "
                         "than the model's context)");
}

// --eval and the prompt options, as core's EvaluationRequest.
experiments::EvaluationRequest evaluationRequest(const ArgParser &p)
{
    experiments::EvaluationRequest r;
    r.evalSpec = required(p, "eval", "SPEC");
    if (p.has("task"))
        r.task = experiments::parseEvalTask(p.get("task"));
    r.maxNewTokens = static_cast<int>(positiveOption(p, "max-new-tokens"));
    r.batchSize = positiveOption(p, "batch-size");
    r.maxBatchTokens = nonNegativeOption(p, "max-batch-tokens");
    if (p.has("template"))
        r.templateName = p.get("template");
    r.applyChat = !p.flagSet("no-chat");
    r.targets = languageList(p, "target");
    if (p.has("max-length")) {
        r.maxLength = positiveOption(p, "max-length");
        r.truncate = true;
    }
    if (p.has("stride"))
        r.stride = nonNegativeOption(p, "stride"); // 0 is refused by core, with the window's other checks
    if (p.has("languages"))
        r.languages = languageList(p, "languages");
    return r;
}

// Prints core's warning that a trace's model_id differs from the model's.
void warnAbout(const std::string &warning)
{
    if (!warning.empty() && verbosity() != Verbosity::Quiet)
        std::fprintf(stderr, "moescope: warning: %s\n", warning.c_str());
}

int record(const std::vector<std::string> &args)
{
    ArgParser p("record", "[--model DIR] --corpus SPEC --out TRACE.h5 [options]",
                "Routes every document of a corpus through the model and writes per-language\n"
                "expert counts, gate sums and token totals into an HDF5 trace (docs/trace-format.md).\n"
                "Documents are batched by length and committed batch by batch: Ctrl-C or a kill\n"
                "leaves a valid trace holding every committed batch, and --resume continues it\n"
                "to exactly the counts of an uninterrupted run (same settings required).\n"
                "--shard i/N records one of N deterministic slices; `moescope merge` adds them up.");
    p.option("model", "DIR", "model folder with tokenizer.json (default: the bundled demo model)")
        .option("corpus", "SPEC", "corpus spec (required), e.g. 'udhr:en,zh?articles=1-24' (docs/corpora.md)")
        .option("out", "TRACE.h5", "trace to write (required)")
        .option("scope", "prompt|generated|all", "tokens counted: the prompt, a greedy continuation, or both", "prompt")
        .option("max-new-tokens", "N", "continuation length for --scope generated|all", "32")
        .flag("tokens", "also write token-level traces (/tokens/<label>)")
        .option("shard", "i/N", "record only shard i of N")
        .flag("resume", "continue an interrupted recording of the same settings (starts one if OUT is missing)")
        .flag("overwrite", "replace an existing OUT")
        .option("plan", "PLAN.json", "mask/steer plan applied while recording");
    declarePromptOptions(p, "raw");
    if (!parseCommon(p, args))
        return 0;
    const auto dir = modelOrBundled(p, "record");
    if (p.flagSet("resume") && p.flagSet("overwrite"))
        throw UsageError("--resume and --overwrite exclude each other");
    experiments::RecordingRequest request;
    request.corpusSpec = required(p, "corpus", "SPEC");
    request.outputPath = required(p, "out", "TRACE.h5");
    request.mode = p.flagSet("resume") ? experiments::OutputMode::Resume
        : p.flagSet("overwrite")       ? experiments::OutputMode::Overwrite
                                       : experiments::OutputMode::CreateNew;
    auto &settings = request.settings;
    settings.scope = experiments::parseTokenScope(p.get("scope"));
    settings.maxNewTokens = p.getInt("max-new-tokens");
    settings.tokenRecords = p.flagSet("tokens");
    settings.batchSize = positiveOption(p, "batch-size");
    settings.maxBatchTokens = nonNegativeOption(p, "max-batch-tokens");
    settings.prompt.applyChat = !p.flagSet("no-chat");
    if (p.has("template"))
        request.templateName = p.get("template");
    const auto targets = languageList(p, "target");
    if (targets.size() > 1)
        throw UsageError("record takes one --target language");
    if (!targets.empty())
        request.target = targets.front();
    if (p.has("max-length")) {
        request.maxLength = positiveOption(p, "max-length");
        request.truncate = true;
    }
    settings.command = commandLine("record", args);
    if (p.has("shard"))
        settings.shard = parseShard(p.get("shard"));

    // Cheap checks first: nothing is loaded for a run that cannot write.
    experiments::checkRecordingRequest(request);
    if (p.has("plan")) {
        settings.planSource = p.get("plan");
        settings.plan = routing::loadPlan(settings.planSource);
    }
    const auto tokenizer = loadModelTokenizer(dir);
    const auto model = MoeModel::load(dir, {dtypeOption(p), 0});

    ConsoleProgress progress("record");
    JobContext job(progress.callback());
    InterruptCancels interrupt(job);
    const bool verbose = verbosity() == Verbosity::Verbose;
    experiments::RecordingReport report;
    try {
        report = experiments::runRecording(
            model, tokenizer, request, job,
            [&](const std::string &label, std::size_t committed, std::size_t total) {
                if (verbose)
                    std::fprintf(stderr, "committed %s %zu/%zu\n", label.c_str(), committed, total);
            });
    } catch (const Error &e) {
        // HDF5's write errors quote ctime(), newline included: keep the CLI's one line.
        std::string reason = e.reason();
        for (auto &c : reason)
            if (c == '\n' || c == '\r')
                c = ' ';
        throw Error(e.file(), reason);
    }
    progress.finish();
    if (verbosity() != Verbosity::Quiet) {
        std::fprintf(stderr, "recorded %zu documents (%zu tokens) into %s", report.documentsRecorded,
                     report.tokensRouted, request.outputPath.c_str());
        if (report.documentsSkipped)
            std::fprintf(stderr, "; %zu were already there", report.documentsSkipped);
        if (report.truncated)
            std::fprintf(stderr, "; %zu prompts truncated", report.truncated);
        std::fprintf(stderr, "\n");
    }
    return 0;
}

int plan(const std::vector<std::string> &args)
{
    ArgParser p("plan", "--trace TRACE.h5 --out PLAN.json (--mask-exclusive LANG | --steer A,B) [options]",
                "Builds an intervention plan (docs/architecture.md, PLAN.json) from a trace:\n"
                "  --mask-exclusive LANG  mask the experts exclusive to LANG (share of the top-k-\n"
                "                         filtered activation frequency > threshold), layer by layer\n"
                "                         (defaults: k 15, threshold 0.4, every layer)\n"
                "  --steer A,B            the study's steering set for the pair, each expert scaled\n"
                "                         by lambda * share of A (defaults: k 20, threshold 0.7,\n"
                "                         layers 10-39, lambda 0.022)\n"
                "With --model the plan is checked against that model's layers and experts.");
    p.option("trace", "TRACE.h5", "trace to derive the plan from (required)")
        .option("out", "PLAN.json", "plan file to write (required)")
        .option("mask-exclusive", "LANG", "mask the experts exclusive to LANG")
        .option("steer", "A,B", "steer with the study's set for languages A and B")
        .option("k", "N", "experts kept per language and layer")
        .option("threshold", "T", "share above which an expert counts (exclusive / steering band)")
        .option("layers", "A-B", "inclusive layer range")
        .option("lambda", "X", "steering strength (scale = lambda * share of A)", "0.022")
        .option("model", "DIR", "check the plan against this model (config.json only)");
    if (!parseCommon(p, args))
        return 0;
    const auto tracePath = required(p, "trace", "TRACE.h5");
    const auto out = required(p, "out", "PLAN.json");
    if (p.has("mask-exclusive") == p.has("steer"))
        throw UsageError("give exactly one of --mask-exclusive LANG and --steer A,B");
    requireWritableFile(out);
    const auto trace = readTrace(tracePath);
    if (p.has("model")) {
        const auto dir = p.get("model");
        const auto spec = model::describeModelDirectory(dir);
        const auto warning =
            experiments::requireTraceFitsModel(trace.model, experiments::summariseModel(spec, dir), tracePath);
        if (!warning.empty() && verbosity() != Verbosity::Quiet)
            std::fprintf(stderr, "moescope plan: warning: %s\n", warning.c_str());
    }
    const bool mask = p.has("mask-exclusive");
    const int k = p.has("k") ? p.getInt("k") : (mask ? 15 : 20);
    const double threshold = p.has("threshold") ? p.getDouble("threshold") : (mask ? 0.4 : 0.7);
    routing::LayerRange layers = mask ? routing::LayerRange {0, trace.model.numLayers - 1} : routing::LayerRange {10, 39};
    if (p.has("layers"))
        layers = singleRange(p.get("layers"), "layers");
    routing::InterventionPlan result;
    if (mask) {
        result = experiments::maskExclusivePlan(trace, p.get("mask-exclusive"), k, threshold, layers.first, layers.last);
    } else {
        const auto pair = splitList(p.get("steer"));
        if (pair.size() != 2)
            throw UsageError("option --steer takes two languages A,B");
        result = experiments::steeringPlan(trace, pair[0], pair[1], p.getDouble("lambda"), k, threshold,
                                           layers.first, layers.last);
    }
    if (!result.empty())
        routing::validatePlan(result, {trace.model.numLayers, trace.model.numExperts, trace.model.moeLayers}, out);
    routing::savePlan(result, out);
    if (verbosity() != Verbosity::Quiet) {
        std::fprintf(stderr, "%s: %zu entries, %zu experts%s\n", out.c_str(), result.mask.size() + result.steer.size(),
                     experiments::planExpertCount(result),
                     result.empty() ? " (nothing matched: the plan changes nothing)" : "");
    }
    return 0;
}

int evaluate(const std::vector<std::string> &args)
{
    ArgParser p("evaluate", "[--model DIR] --eval SPEC --out RESULTS.json|.csv [options]",
                "Evaluates the model on a corpus, per language, by task: perplexity and bits per\n"
                "byte (text corpora), language consistency of greedy continuations (CLD2), math\n"
                "answer accuracy (MGSM, PolyMath), XQuAD exact match / F1, Belebele accuracy by\n"
                "answer log-likelihood. --plan applies a mask/steer plan. The JSON output carries\n"
                "the model, plan, template and versions; .csv writes the bare table.");
    p.option("model", "DIR", "model folder with tokenizer.json (default: the bundled demo model)")
        .option("out", "FILE", "results: .json (table + run metadata) or .csv (required)")
        .option("plan", "PLAN.json", "mask/steer plan applied in the router")
        .option("languages", "A,B,...", "evaluate only these languages of the corpus")
        .option("outputs", "FILE.jsonl", "also write every prompt's output (generated text or chosen answer)");
    declareEvaluationOptions(p);
    if (!parseCommon(p, args))
        return 0;
    const auto dir = modelOrBundled(p, "evaluate");
    experiments::EvaluateRequest request;
    request.outPath = required(p, "out", "FILE");
    request.evaluation = evaluationRequest(p);
    if (p.has("outputs"))
        request.outputsPath = p.get("outputs");
    request.command = commandLine("evaluate", args);
    experiments::checkEvaluateRequest(request);
    if (p.has("plan")) {
        request.planSource = p.get("plan");
        request.plan = routing::loadPlan(request.planSource);
    }
    const auto tokenizer = loadModelTokenizer(dir);
    const auto model = MoeModel::load(dir, {dtypeOption(p), 0});

    ConsoleProgress progress("evaluate");
    JobContext job(progress.callback());
    InterruptCancels interrupt(job);
    const auto result = experiments::runEvaluate(model, tokenizer, request, job);
    progress.finish();
    if (verbosity() != Verbosity::Quiet)
        std::fprintf(stderr, "%s: %zu rows (%s)\n", request.outPath.c_str(), result.rows,
                     result.primaryMetric.c_str());
    return 0;
}

// ablate and steer once their request is parsed: cheap checks, the model
// and the trace loaded, the grid run with Ctrl-C cancelling it.
int runGridCommand(const std::string &name, const std::string &dir, const ArgParser &p,
                   const experiments::GridRequest &request,
                   const std::function<void(const experiments::GridResult &)> &summarise)
{
    experiments::checkGridRequest(request);
    const auto tokenizer = loadModelTokenizer(dir);
    const auto model = MoeModel::load(dir, {dtypeOption(p), 0});
    const auto trace = readTrace(request.tracePath);

    ConsoleProgress progress(name);
    JobContext job(progress.callback());
    InterruptCancels interrupt(job);
    const auto result = experiments::runInterventionGrid(model, tokenizer, trace, request, job);
    progress.finish();
    warnAbout(result.warning);
    if (verbosity() != Verbosity::Quiet)
        summarise(result);
    return 0;
}

int ablate(const std::vector<std::string> &args)
{
    ArgParser p("ablate", "[--model DIR] --trace TRACE.h5 --eval SPEC --languages A,B,... --blocks 0-4,... --out DIR",
                "The study's ablation grid, with the model loaded once: for every layer block and\n"
                "every language, mask the experts exclusive to that language (from the trace,\n"
                "k / threshold) within the block and evaluate every language; plus the unmasked\n"
                "baseline. Writes DIR/results.csv and DIR/results.json (rows: block, masked,\n"
                "language; the task's metrics, 'experts' masked, '<metric>_delta' vs baseline)\n"
                "and each cell's plan in DIR/plans/. `moescope figures` draws the heatmaps.");
    p.option("model", "DIR", "model folder with tokenizer.json (default: the bundled demo model)")
        .option("trace", "TRACE.h5", "routing trace of the same model (required)")
        .option("languages", "A,B,...", "masked and evaluated languages (required)")
        .option("blocks", "A-B,...", "layer blocks, e.g. 0-4,22-26,43-47 (required)")
        .option("k", "N", "experts kept per language and layer", "15")
        .option("threshold", "T", "share above which an expert is exclusive", "0.4")
        .option("out", "DIR", "output folder (required)");
    declareEvaluationOptions(p);
    if (!parseCommon(p, args))
        return 0;
    const auto dir = modelOrBundled(p, "ablate");
    experiments::GridRequest request;
    request.kind = experiments::GridRequest::Kind::Ablation;
    request.tracePath = required(p, "trace", "TRACE.h5");
    request.outputDir = required(p, "out", "DIR");
    request.evaluation = evaluationRequest(p);
    auto &settings = request.ablation;
    settings.languages = languageList(p, "languages");
    if (settings.languages.empty())
        throw UsageError("--languages A,B,... is required");
    for (const auto &[first, last] : parseRanges(required(p, "blocks", "A-B,..."), "--blocks"))
        settings.blocks.push_back({first, last});
    settings.k = p.getInt("k");
    settings.threshold = p.getDouble("threshold");
    request.command = commandLine("ablate", args);
    return runGridCommand("ablate", dir, p, request, [&](const experiments::GridResult &r) {
        std::fprintf(stderr, "%s: %zu cells x %zu languages (%s)\n", request.outputDir.c_str(), r.cells.size(),
                     settings.languages.size(), r.primaryMetric.c_str());
    });
}

int steer(const std::vector<std::string> &args)
{
    ArgParser p("steer", "[--model DIR] --trace TRACE.h5 --eval SPEC --pair A,B --lambda X[,Y...] --out DIR",
                "The study's steering evaluation with the model loaded once: the baseline and,\n"
                "for each lambda, the model steered with the pair's steering set (experts in both\n"
                "languages' top-k with A's share in (1-thr, thr), each scaled by lambda * share of\n"
                "A), evaluated per language. Writes DIR/results.csv, DIR/results.json (rows:\n"
                "condition, language) and the plans in DIR/plans/.");
    p.option("model", "DIR", "model folder with tokenizer.json (default: the bundled demo model)")
        .option("trace", "TRACE.h5", "routing trace of the same model (required)")
        .option("pair", "A,B", "language pair (required); scales follow A's share")
        .option("lambda", "X[,Y...]", "steering strength(s) (study: 0.022 for en,zh; 0.034 for zh,en)", "0.022")
        .option("k", "N", "experts kept per language and layer", "20")
        .option("threshold", "T", "steering band (1 - T, T) for A's share", "0.7")
        .option("layers", "A-B", "layers steered", "10-39")
        .option("languages", "A,B,...", "evaluate only these languages of the corpus")
        .option("out", "DIR", "output folder (required)");
    declareEvaluationOptions(p);
    if (!parseCommon(p, args))
        return 0;
    const auto dir = modelOrBundled(p, "steer");
    experiments::GridRequest request;
    request.kind = experiments::GridRequest::Kind::Steering;
    request.tracePath = required(p, "trace", "TRACE.h5");
    request.outputDir = required(p, "out", "DIR");
    request.evaluation = evaluationRequest(p);
    const auto pair = splitList(required(p, "pair", "A,B"));
    if (pair.size() != 2)
        throw UsageError("option --pair takes two languages A,B");
    auto &settings = request.steering;
    settings.a = pair[0];
    settings.b = pair[1];
    settings.lambdas = numberList(p.get("lambda"), "lambda");
    settings.k = p.getInt("k");
    settings.threshold = p.getDouble("threshold");
    const auto layers = singleRange(p.get("layers"), "layers");
    settings.firstLayer = layers.first;
    settings.lastLayer = layers.last;
    request.command = commandLine("steer", args);
    return runGridCommand("steer", dir, p, request, [&](const experiments::GridResult &r) {
        std::fprintf(stderr, "%s: baseline + %zu steered conditions (%s)\n", request.outputDir.c_str(),
                     settings.lambdas.size(), r.primaryMetric.c_str());
    });
}

} // namespace

std::vector<Command> experimentCommands()
{
    return {
        {"record", "record routing over a corpus into an HDF5 trace (batched, resumable, shardable)", record},
        {"plan", "build a mask/steer plan from a trace (exclusive experts, steering set)", plan},
        {"evaluate", "evaluate a model on a corpus, optionally under a plan", evaluate},
        {"ablate", "the ablation grid: mask each language's exclusive experts per layer block", ablate},
        {"steer", "the steering evaluation: baseline vs steered, per language", steer},
    };
}

} // namespace moescope::cli
