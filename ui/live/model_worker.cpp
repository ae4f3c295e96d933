#include "ui/live/model_worker.h"

#include "ui/jobs/job_tracker.h"
#include "ui/live/token_routing_probe.h"

#include "core/common/error.h"
#include "core/corpus/corpus_spec.h"
#include "core/experiments/evaluation.h"
#include "core/experiments/model_identity.h"
#include "core/experiments/routing_capture.h"
#include "core/experiments/text_generation.h"
#include "core/model/moe_model.h"
#include "core/model/tokenizer/tokenizer.h"
#include "core/routing/plan_hook.h"
#include "core/trace/trace_store.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLocale>
#include <QRegularExpression>

#include <filesystem>
#include <optional>

namespace moescope::ui {

struct ModelWorker::Loaded
{
    model::MoeModel model;
    std::optional<Tokenizer> tokenizer;
    ModelFactsPtr facts;
};

namespace {

// Streamed results are throttled so that a fast job cannot flood the GUI
// thread's event queue.
constexpr qint64 kStreamIntervalMs = 50;

QString tokenPieceText(const std::optional<Tokenizer> &tokenizer, std::int64_t id)
{
    if (!tokenizer)
        return QStringLiteral("#%1").arg(id);
    const auto id32 = static_cast<std::int32_t>(id);
    const QString decoded = QString::fromStdString(tokenizer->decode({ id32 }, false));
    // A byte-fallback or partial UTF-8 piece decodes to U+FFFD; its raw
    // vocabulary string (e.g. <0xE4>) says more.
    if (decoded.isEmpty() || decoded.contains(QChar(0xFFFD)))
        return QString::fromStdString(tokenizer->tokenText(id32));
    return decoded;
}

// One teacher-forced pass over the whole sequence gives every position's
// routing (the model is causal, so position i routes as it did during
// generation). It fills the prompt tokens and the last generated token,
// which was never fed back; the others were filled while generating.
void routeWholeSequence(const model::MoeModel &model, const experiments::PreparedGeneration &prepared,
    GenerationOutcome &outcome, const JobContext &job)
{
    const auto &spec = model.spec();
    const int topK = spec.moe.topK;
    std::vector<std::int64_t> sequence;
    sequence.reserve(outcome.tokens.size());
    for (const auto &t : outcome.tokens)
        sequence.push_back(t.id);
    experiments::ScopedRoutingCapture capture(spec.numLayers, spec.moe.numExperts, topK, true);
    capture.beginBatch({ sequence }, { sequence.size() }, experiments::TokenScope::All);
    std::optional<routing::PlanHook> planHook;
    if (prepared.plan)
        planHook.emplace(*prepared.plan);
    routing::RouterHookChain full;
    if (planHook)
        full.add(&*planHook);
    full.add(&capture);
    model.route({ sequence }, full, &job);
    const auto records = capture.tokenRecords();
    const auto perToken = static_cast<std::size_t>(spec.numLayers) * topK;
    const auto promptTokens = static_cast<std::size_t>(outcome.promptTokens);
    for (std::size_t pos = 0; pos < sequence.size(); ++pos) {
        auto &t = outcome.tokens[pos];
        if (pos >= promptTokens && pos + 1 != sequence.size() && !t.experts.empty())
            continue; // streamed while generating
        const auto from = static_cast<std::ptrdiff_t>(pos * perToken);
        const auto to = static_cast<std::ptrdiff_t>((pos + 1) * perToken);
        t.experts.assign(records.topkIdx.begin() + from, records.topkIdx.begin() + to);
        t.weights.assign(records.topkWeights.begin() + from, records.topkWeights.begin() + to);
    }
}

} // namespace

ModelWorker::ModelWorker() = default;

ModelWorker::~ModelWorker() = default;

ModelFactsPtr ModelWorker::loadModel(JobRun &run, const QString &directory)
{
    run.progress(0, 0, {}, tr("Loading %1").arg(QFileInfo(directory).fileName()), true);
    const std::string dir = directory.toStdString();
    auto facts = std::make_shared<ModelFacts>();
    facts->directory = directory;
    // inspectModel reads headers only, so a folder that is not a model
    // fails here with a clear reason before any weights are mapped.
    facts->info = model::inspectModel(dir);
    auto loaded = std::make_unique<Loaded>(
        Loaded { model::MoeModel::load(dir), std::nullopt, nullptr });
    run.context().checkCancelled();
    if (std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json")) {
        try {
            loaded->tokenizer = Tokenizer::load(dir);
            facts->hasTokenizer = true;
        } catch (const Error &e) {
            facts->tokenizerProblem = QString::fromStdString(e.what());
        }
    } else {
        facts->tokenizerProblem = tr("no tokenizer.json in the folder: prompts can't be typed");
    }
    facts->computeDtype = QString::fromStdString(loaded->model.computeDtypeName());
    facts->planTarget = loaded->model.planTarget();
    facts->contextLength = std::max(0, loaded->model.spec().maxPositions);
    facts->loadSeconds = run.elapsedMs() / 1000.0;
    loaded->facts = facts;
    m_loaded = std::move(loaded);
    return facts;
}

GenerationOutcomePtr ModelWorker::generate(JobRun &run, const GenerationRequest &request,
    const std::function<void(GenerationOutcomePtr)> &stream)
{
    const JobContext &job = run.context();
    if (!m_loaded)
        throw Error(tr("no model is loaded (File → Open Model…)").toStdString());
    const auto &model = m_loaded->model;
    const auto &tokenizer = m_loaded->tokenizer;
    const auto &spec = model.spec();
    const auto prepared
        = experiments::prepareGeneration(model, tokenizer ? &*tokenizer : nullptr, request);
    const auto &promptIds = prepared.prompts.front();

    auto outcome = std::make_shared<GenerationOutcome>();
    outcome->numLayers = spec.numLayers;
    outcome->numExperts = spec.moe.numExperts;
    outcome->topK = spec.moe.topK;
    outcome->moeLayers = spec.moeLayers();
    outcome->promptTokens = static_cast<int>(promptIds.size());
    outcome->planApplied = prepared.plan.has_value();
    for (const auto id : promptIds)
        outcome->tokens.push_back({ id, tokenPieceText(tokenizer, id), false, {}, {} });

    std::optional<routing::RoutingRecorder> recorder;
    if (request.captureRouting)
        recorder.emplace(spec.numLayers, spec.moe.numExperts);
    const int topK = spec.moe.topK;
    const std::uint64_t total = static_cast<std::uint64_t>(prepared.options.maxNewTokens)
        + (request.captureRouting ? promptIds.size() + 1 : 0);
    std::vector<std::int32_t> generated;
    QElapsedTimer sinceStream;
    sinceStream.start();
    auto publish = [&] {
        if (tokenizer)
            outcome->generatedText = QString::fromStdString(tokenizer->decode(generated, true));
        stream(std::make_shared<const GenerationOutcome>(*outcome));
        sinceStream.restart();
    };

    auto onToken = [&](std::size_t, std::int64_t token) {
        job.checkCancelled();
        if (recorder) {
            // The recorder now holds the input of the step that chose this
            // token: the whole prompt for the first one, else the previous
            // generated token.
            const auto totals = recorder->totals();
            recorder->reset();
            if (!generated.empty()) {
                auto &previous = outcome->tokens.back();
                singleTokenRouting(totals, nullptr, topK, previous.experts, previous.weights);
            }
        }
        generated.push_back(static_cast<std::int32_t>(token));
        outcome->tokens.push_back({ token, tokenPieceText(tokenizer, token), true, {}, {} });
        run.progress(generated.size(), total, tr("tokens"), tr("Generating"));
        if (sinceStream.elapsed() >= kStreamIntervalMs)
            publish();
    };
    const auto result = experiments::runGeneration(
        model, prepared, job, onToken, recorder ? &*recorder : nullptr);
    outcome->stopped = !result.stopped.empty() && result.stopped.front();
    publish();
    if (request.captureRouting) {
        run.progress(generated.size(), total, tr("tokens"), tr("Routing the prompt"), true);
        routeWholeSequence(model, prepared, *outcome, job);
    }
    run.progress(total, total, tr("tokens"), tr("Done"), true);
    outcome->complete = true;
    return outcome;
}

const ModelWorker::Loaded &ModelWorker::requireTokenizer() const
{
    if (!m_loaded)
        throw Error(tr("no model is loaded (File → Open Model…)").toStdString());
    if (!m_loaded->tokenizer)
        throw Error(m_loaded->facts->directory.toStdString(),
            m_loaded->facts->tokenizerProblem.toStdString());
    return *m_loaded;
}

namespace {

// One argument as a POSIX shell reads it back: bare when no character of
// it means anything to a shell, else in single quotes.
QString shellWord(const QString &arg)
{
    static const QRegularExpression bare(QStringLiteral("^[A-Za-z0-9_@%+=:,./-]+$"));
    if (bare.match(arg).hasMatch())
        return arg;
    QString quoted = arg;
    quoted.replace(QLatin1Char('\''), QStringLiteral("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

QString fromStd(const std::string &text)
{
    return QString::fromStdString(text);
}

// The CLI line that does the same recording, kept in the trace's provenance
// so a GUI recording can be repeated (and resumed) from a terminal.
std::string equivalentRecordCommand(const QString &modelDir, const RecordingRequest &request,
    const experiments::RecordingSettings &settings)
{
    QStringList args { QStringLiteral("moescope record"), QStringLiteral("--model"), modelDir,
        QStringLiteral("--corpus"), fromStd(settings.corpusSpec), QStringLiteral("--out"),
        fromStd(request.outputPath), QStringLiteral("--scope"),
        fromStd(experiments::tokenScopeName(settings.scope)), QStringLiteral("--template"),
        fromStd(request.templateName) };
    if (settings.scope != experiments::TokenScope::Prompt)
        args << QStringLiteral("--max-new-tokens") << QString::number(settings.maxNewTokens);
    if (!request.target.empty())
        args << QStringLiteral("--target") << fromStd(request.target);
    if (settings.prompt.maxTokens > 0 && settings.prompt.truncate)
        args << QStringLiteral("--max-length") << QString::number(settings.prompt.maxTokens);
    args << QStringLiteral("--batch-size") << QString::number(settings.batchSize);
    QStringList words { args.takeFirst() };
    for (const QString &a : args)
        words << shellWord(a);
    return (words.join(QLatin1Char(' ')) + QStringLiteral("  # from the MoEScope window"))
        .toStdString();
}

QString shortestNumber(double value)
{
    return QString::number(value, 'g', QLocale::FloatingPointShortest);
}

// The `moescope ablate` / `moescope steer` line that repeats a GUI grid: the
// same cells, corpus, task and window. Options left at the request's
// defaults (the CLI's) are left out; --max-length and --stride only when set.
QString equivalentGridCommand(const QString &modelDir, const GridRequest &request)
{
    const bool ablation = request.kind == GridRequest::Kind::Ablation;
    const auto &evaluation = request.evaluation;
    auto joined = [](const std::vector<std::string> &items) {
        QStringList list;
        for (const auto &item : items)
            list << fromStd(item);
        return list.join(QLatin1Char(','));
    };
    QStringList args { QStringLiteral("--model"), modelDir, QStringLiteral("--trace"),
        request.tracePath.empty() ? QStringLiteral("TRACE.h5") : fromStd(request.tracePath),
        QStringLiteral("--eval"), fromStd(parseCorpusSpec(evaluation.evalSpec).toString()) };
    if (ablation) {
        QStringList blocks;
        for (const auto &[first, last] : request.ablation.blocks)
            blocks << QStringLiteral("%1-%2").arg(first).arg(last);
        args << QStringLiteral("--languages") << joined(request.ablation.languages)
             << QStringLiteral("--blocks") << blocks.join(QLatin1Char(','))
             << QStringLiteral("--k") << QString::number(request.ablation.k)
             << QStringLiteral("--threshold") << shortestNumber(request.ablation.threshold);
    } else {
        const auto &s = request.steering;
        QStringList lambdas;
        for (const double lambda : s.lambdas)
            lambdas << shortestNumber(lambda);
        args << QStringLiteral("--pair") << fromStd(s.a) + QLatin1Char(',') + fromStd(s.b)
             << QStringLiteral("--lambda") << lambdas.join(QLatin1Char(','))
             << QStringLiteral("--k") << QString::number(s.k) << QStringLiteral("--threshold")
             << shortestNumber(s.threshold) << QStringLiteral("--layers")
             << QStringLiteral("%1-%2").arg(s.firstLayer).arg(s.lastLayer);
        if (!evaluation.languages.empty())
            args << QStringLiteral("--languages") << joined(evaluation.languages);
    }
    if (evaluation.task)
        args << QStringLiteral("--task") << fromStd(experiments::evalTaskName(*evaluation.task));
    // Always: the run record keeps it even for tasks that do not generate.
    args << QStringLiteral("--max-new-tokens") << QString::number(evaluation.maxNewTokens);
    if (evaluation.maxLength > 0)
        args << QStringLiteral("--max-length") << QString::number(evaluation.maxLength);
    if (evaluation.stride)
        args << QStringLiteral("--stride") << QString::number(*evaluation.stride);
    args << QStringLiteral("--out") << fromStd(request.outputDir);
    QStringList words { ablation ? QStringLiteral("moescope ablate")
                                 : QStringLiteral("moescope steer") };
    for (const QString &a : args)
        words << shellWord(a);
    QString comment = QStringLiteral("  # from the MoEScope window");
    if (request.tracePath.empty())
        comment += QStringLiteral(" (TRACE.h5: the study was not read from a trace file)");
    return words.join(QLatin1Char(' ')) + comment;
}

} // namespace

RecordingOutcomePtr ModelWorker::record(JobRun &run, const RecordingRequest &request,
    const std::function<void(const RecordingCommit &)> &onCommit)
{
    const Loaded &loaded = requireTokenizer();
    RecordingRequest resolved = request;
    resolved.settings.command = equivalentRecordCommand(loaded.facts->directory, request,
        experiments::recordingSettings(loaded.model, request));
    run.progress(0, 0, {}, tr("Reading the corpus"), true);
    const std::string path = request.outputPath;
    QElapsedTimer sinceSnapshot;
    auto committedBatch = [&](const std::string &label, std::size_t committed, std::size_t total) {
        RecordingCommit commit;
        commit.label = QString::fromStdString(label);
        commit.committed = committed;
        commit.total = total;
        // Re-read here, on the thread that writes, between two commits:
        // the file is consistent and nobody else touches it.
        if (!sinceSnapshot.isValid() || sinceSnapshot.elapsed() >= request.snapshotIntervalMs) {
            commit.trace = std::make_shared<const RoutingTrace>(readTrace(path));
            sinceSnapshot.start();
        }
        onCommit(commit);
    };
    auto outcome = std::make_shared<RecordingOutcome>();
    outcome->path = fromStd(path);
    outcome->report = experiments::runRecording(
        loaded.model, *loaded.tokenizer, resolved, run.context(), committedBatch);
    outcome->trace = std::make_shared<const RoutingTrace>(readTrace(path));
    return outcome;
}

GridOutcomePtr ModelWorker::runGrid(JobRun &run, const GridRequest &request)
{
    const Loaded &loaded = requireTokenizer();
    if (!request.trace)
        throw Error(tr("no study trace to take the experts from").toStdString());
    run.progress(0, 0, {}, tr("Preparing the evaluation"), true);
    auto outcome = std::make_shared<GridOutcome>();
    outcome->kind = request.kind;
    // The folder `moescope ablate/steer --out` writes, with the same run
    // object, so the figures and any later `moescope figures` read it alike.
    outcome->command = equivalentGridCommand(loaded.facts->directory, request);
    GridRequest resolved = request;
    resolved.command = outcome->command.toStdString();
    auto result = experiments::runInterventionGrid(
        loaded.model, *loaded.tokenizer, *request.trace, resolved, run.context());
    outcome->cells = std::move(result.cells);
    outcome->table = std::move(result.table);
    outcome->seconds = run.elapsedMs() / 1000.0;
    outcome->outputDir = fromStd(request.outputDir);
    outcome->results = loadInterventionResults(
        QDir(outcome->outputDir).filePath(QStringLiteral("results.json")));
    return outcome;
}

} // namespace moescope::ui
