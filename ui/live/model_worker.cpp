#include "ui/live/model_worker.h"

#include "ui/live/token_routing_probe.h"

#include "core/common/error.h"
#include "core/corpus/corpus_spec.h"
#include "core/experiments/evaluation.h"
#include "core/experiments/model_identity.h"
#include "core/experiments/routing_capture.h"
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

// Progress and streamed results are throttled so that a fast job cannot flood
// the GUI thread's event queue.
constexpr qint64 kProgressIntervalMs = 100;
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

} // namespace

// One job's bookkeeping on the worker thread: its timer (for the ETA) and
// the throttled progress reports.
class ModelWorker::Run
{
public:
    Run(ModelWorker *worker, quint64 tag)
        : m_worker(worker)
        , m_tag(tag)
    {
        m_clock.start();
        Q_EMIT m_worker->jobStarted(tag);
    }

    void progress(std::uint64_t done, std::uint64_t total, const QString &unit,
        const QString &message, bool force = false)
    {
        if (!force && m_lastReport.isValid() && m_lastReport.elapsed() < kProgressIntervalMs)
            return;
        m_lastReport.start();
        JobProgress p;
        p.done = done;
        p.total = total;
        p.unit = unit;
        p.message = message;
        const double elapsed = m_clock.elapsed() / 1000.0;
        if (done > 0 && total >= done && elapsed > 0)
            p.etaSeconds = elapsed / static_cast<double>(done) * static_cast<double>(total - done);
        Q_EMIT m_worker->jobProgress(m_tag, p);
    }

    qint64 elapsedMs() const { return m_clock.elapsed(); }

private:
    ModelWorker *m_worker;
    quint64 m_tag;
    QElapsedTimer m_clock;
    QElapsedTimer m_lastReport;
};

ModelWorker::ModelWorker(QObject *parent)
    : QObject(parent)
{ }

ModelWorker::~ModelWorker() = default;

// Every job's frame: one cancelled while queued only ends; otherwise it
// starts, runs body (which emits its results), and ends done, cancelled, or
// failed with a one-line message (HDF5's can carry a newline from ctime();
// the message bar shows one line, as the CLI does).
template <typename Body>
void ModelWorker::runJob(quint64 tag, const JobContext &job, Body &&body)
{
    if (job.isCancelled()) {
        Q_EMIT jobEnded(tag, true);
        return;
    }
    Run run(this, tag);
    try {
        body(run);
        Q_EMIT jobEnded(tag, false);
    } catch (const Cancelled &) {
        Q_EMIT jobEnded(tag, true);
    } catch (const std::exception &e) {
        QString message = QString::fromStdString(e.what());
        message.replace(QLatin1Char('\n'), QLatin1Char(' '));
        Q_EMIT jobFailed(tag, message.trimmed());
        Q_EMIT jobEnded(tag, false);
    }
}

void ModelWorker::loadModel(quint64 tag, const JobContext &job, const QString &directory)
{
    runJob(tag, job, [&](Run &run) {
        run.progress(0, 0, {}, tr("Loading %1").arg(QFileInfo(directory).fileName()), true);
        const std::string dir = directory.toStdString();
        auto facts = std::make_shared<ModelFacts>();
        facts->directory = directory;
        // inspectModel reads headers only, so a folder that is not a model
        // fails here with a clear reason before any weights are mapped.
        facts->info = model::inspectModel(dir);
        auto loaded = std::make_unique<Loaded>(
            Loaded { model::MoeModel::load(dir), std::nullopt, nullptr });
        job.checkCancelled();
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
        Q_EMIT modelLoaded(tag, facts);
    });
}

void ModelWorker::generate(quint64 tag, const JobContext &job, const GenerationRequest &request)
{
    runJob(tag, job, [&](Run &run) {
        if (!m_loaded)
            throw Error(tr("no model is loaded (File → Open Model…)").toStdString());
        const auto &model = m_loaded->model;
        const auto &tokenizer = m_loaded->tokenizer;
        const auto &spec = model.spec();

        std::vector<std::int64_t> promptIds = request.promptIds;
        if (promptIds.empty()) {
            if (!tokenizer)
                throw Error(m_loaded->facts->directory.toStdString(),
                    m_loaded->facts->tokenizerProblem.toStdString());
            const auto ids
                = tokenizer->encode(request.prompt.toStdString(), request.addSpecialTokens);
            promptIds.assign(ids.begin(), ids.end());
        }
        if (promptIds.empty())
            throw Error(tr("the prompt encodes to no tokens").toStdString());
        for (const auto id : promptIds)
            if (id < 0 || id >= spec.vocabSize)
                throw Error(tr("prompt token %1 is outside the vocabulary (0-%2)")
                                .arg(id)
                                .arg(spec.vocabSize - 1)
                                .toStdString());
        if (!request.plan.empty())
            routing::validatePlan(request.plan, model.planTarget(), "plan");

        auto outcome = std::make_shared<GenerationOutcome>();
        outcome->numLayers = spec.numLayers;
        outcome->numExperts = spec.moe.numExperts;
        outcome->topK = spec.moe.topK;
        outcome->moeLayers = spec.moeLayers();
        outcome->promptTokens = static_cast<int>(promptIds.size());
        outcome->planApplied = !request.plan.empty();
        for (const auto id : promptIds)
            outcome->tokens.push_back({ id, tokenPieceText(tokenizer, id), false, {}, {} });

        model::GenerationOptions options;
        options.maxNewTokens = std::max(0, request.maxNewTokens);
        if (!request.stopAtEos)
            options.stopTokens = std::vector<std::int64_t> {};
        else if (model.generationDefaults().eosTokenIds.empty() && tokenizer && tokenizer->eosId())
            options.stopTokens
                = std::vector<std::int64_t> { *tokenizer->eosId() }; // as `moescope generate`

        std::optional<routing::PlanHook> planHook;
        if (!request.plan.empty())
            planHook.emplace(request.plan);
        std::optional<routing::RoutingRecorder> recorder;
        if (request.captureRouting)
            recorder.emplace(spec.numLayers, spec.moe.numExperts);
        routing::RouterHookChain chain;
        if (planHook)
            chain.add(&*planHook);
        if (recorder)
            chain.add(&*recorder);

        const int topK = spec.moe.topK;
        const std::uint64_t total = static_cast<std::uint64_t>(options.maxNewTokens)
            + (request.captureRouting ? promptIds.size() + 1 : 0);
        std::vector<std::int32_t> generated;
        QElapsedTimer sinceStream;
        sinceStream.start();
        auto decodeGenerated = [&] {
            if (tokenizer)
                outcome->generatedText = QString::fromStdString(tokenizer->decode(generated, true));
        };
        auto publish = [&](bool complete) {
            outcome->complete = complete;
            decodeGenerated();
            Q_EMIT generationUpdated(tag, std::make_shared<const GenerationOutcome>(*outcome));
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
                publish(false);
        };
        const auto result = model.generate(
            { promptIds }, options, chain.empty() ? nullptr : &chain, onToken, &job);
        outcome->stopped = !result.stopped.empty() && result.stopped.front();
        publish(false);

        if (request.captureRouting) {
            // One teacher-forced pass over the whole sequence gives every
            // position's routing (the model is causal, so position i routes
            // as it did during generation). It fills the prompt tokens and
            // the last generated token, which was never fed back.
            std::vector<std::int64_t> sequence;
            sequence.reserve(outcome->tokens.size());
            for (const auto &t : outcome->tokens)
                sequence.push_back(t.id);
            run.progress(generated.size(), total, tr("tokens"), tr("Routing the prompt"), true);
            experiments::ScopedRoutingCapture capture(spec.numLayers, spec.moe.numExperts, topK, true);
            capture.beginBatch({ sequence }, { sequence.size() }, experiments::TokenScope::All);
            routing::RouterHookChain full;
            if (planHook)
                full.add(&*planHook);
            full.add(&capture);
            model.route({ sequence }, full, &job);
            const auto records = capture.tokenRecords();
            const auto perToken = static_cast<std::size_t>(spec.numLayers) * topK;
            for (std::size_t pos = 0; pos < sequence.size(); ++pos) {
                auto &t = outcome->tokens[pos];
                if (pos >= promptIds.size() && pos + 1 != sequence.size() && !t.experts.empty())
                    continue; // streamed while generating
                t.experts.assign(records.topkIdx.begin() + static_cast<std::ptrdiff_t>(pos * perToken),
                    records.topkIdx.begin() + static_cast<std::ptrdiff_t>((pos + 1) * perToken));
                t.weights.assign(records.topkWeights.begin() + static_cast<std::ptrdiff_t>(pos * perToken),
                    records.topkWeights.begin() + static_cast<std::ptrdiff_t>((pos + 1) * perToken));
            }
        }
        run.progress(total, total, tr("tokens"), tr("Done"), true);
        publish(true);
    });
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

// The CLI line that does the same recording, kept in the trace's provenance
// so a GUI recording can be repeated (and resumed) from a terminal.
std::string equivalentRecordCommand(const QString &modelDir, const std::string &spec,
    const RecordingRequest &request, const experiments::RecordingSettings &settings)
{
    QStringList args { QStringLiteral("moescope record"), QStringLiteral("--model"), modelDir,
        QStringLiteral("--corpus"), QString::fromStdString(spec), QStringLiteral("--out"),
        request.outputPath, QStringLiteral("--scope"),
        QString::fromStdString(experiments::tokenScopeName(settings.scope)),
        QStringLiteral("--template"), request.templateName };
    if (settings.scope != experiments::TokenScope::Prompt)
        args << QStringLiteral("--max-new-tokens") << QString::number(settings.maxNewTokens);
    if (!request.target.isEmpty())
        args << QStringLiteral("--target") << request.target;
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
// same cells, corpus, task and window. Options the GUI leaves at the CLI's
// defaults are left out; --max-length and --stride only when set in the panel
// (the worker's defaults for them are the CLI's).
QString equivalentGridCommand(const QString &modelDir, const std::string &spec,
    const GridRequest &request, const experiments::EvaluationOptions &options)
{
    const bool ablation = request.kind == GridRequest::Kind::Ablation;
    auto joined = [](const std::vector<std::string> &items) {
        QStringList list;
        for (const auto &item : items)
            list << QString::fromStdString(item);
        return list.join(QLatin1Char(','));
    };
    QStringList args { QStringLiteral("--model"), modelDir, QStringLiteral("--trace"),
        request.tracePath.isEmpty() ? QStringLiteral("TRACE.h5") : request.tracePath,
        QStringLiteral("--eval"), QString::fromStdString(spec) };
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
        args << QStringLiteral("--pair")
             << QString::fromStdString(s.a) + QLatin1Char(',') + QString::fromStdString(s.b)
             << QStringLiteral("--lambda") << lambdas.join(QLatin1Char(','))
             << QStringLiteral("--k") << QString::number(s.k) << QStringLiteral("--threshold")
             << shortestNumber(s.threshold) << QStringLiteral("--layers")
             << QStringLiteral("%1-%2").arg(s.firstLayer).arg(s.lastLayer);
        if (!request.languages.empty())
            args << QStringLiteral("--languages") << joined(request.languages);
    }
    if (!request.task.isEmpty())
        args << QStringLiteral("--task") << request.task;
    // Always: the run record keeps it even for tasks that do not generate,
    // and the GUI's default is not the CLI's.
    args << QStringLiteral("--max-new-tokens") << QString::number(options.maxNewTokens);
    if (request.maxLength > 0)
        args << QStringLiteral("--max-length") << QString::number(request.maxLength);
    if (request.stride > 0)
        args << QStringLiteral("--stride") << QString::number(request.stride);
    args << QStringLiteral("--out") << request.outputDir;
    QStringList words { ablation ? QStringLiteral("moescope ablate")
                                 : QStringLiteral("moescope steer") };
    for (const QString &a : args)
        words << shellWord(a);
    QString comment = QStringLiteral("  # from the MoEScope window");
    if (request.tracePath.isEmpty())
        comment += QStringLiteral(" (TRACE.h5: the study was not read from a trace file)");
    return words.join(QLatin1Char(' ')) + comment;
}

} // namespace

void ModelWorker::record(quint64 tag, const JobContext &job, const RecordingRequest &request)
{
    runJob(tag, job, [&](Run &run) {
        const Loaded &loaded = requireTokenizer();
        const auto spec = parseCorpusSpec(request.corpusSpec.toStdString());
        experiments::RecordingSettings settings = request.settings;
        settings.corpusSpec = spec.toString();
        settings.prompt.tmpl = promptTemplate(request.templateName.toStdString());
        settings.prompt.targets.clear();
        if (!request.target.isEmpty())
            settings.prompt.targets.push_back(request.target.toStdString());
        const int contextLength = loaded.model.spec().maxPositions;
        const int generated
            = settings.scope == experiments::TokenScope::Prompt ? 0 : settings.maxNewTokens;
        const int maxLength
            = request.maxLength > 0 ? request.maxLength : std::max(0, contextLength - generated);
        if (maxLength > 0) {
            settings.prompt.maxTokens = static_cast<std::size_t>(maxLength);
            settings.prompt.truncate = request.truncate;
        }
        settings.command = equivalentRecordCommand(
            loaded.facts->directory, settings.corpusSpec, request, settings);
        run.progress(0, 0, {}, tr("Reading the corpus"), true);
        const Corpus corpus = loadCorpus(spec);
        const std::string path = request.outputPath.toStdString();

        JobContext context = job; // shares the cancellation flag
        context.setProgressCallback([&run](const ProgressUpdate &u) {
            run.progress(
                u.done, u.total, QString::fromStdString(u.unit), QString::fromStdString(u.message));
        });
        QElapsedTimer sinceSnapshot;
        auto onCommit = [&](const std::string &label, std::size_t committed, std::size_t total) {
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
            Q_EMIT recordingCommitted(tag, commit);
        };
        auto outcome = std::make_shared<RecordingOutcome>();
        outcome->path = request.outputPath;
        outcome->report = experiments::recordRouting(loaded.model, *loaded.tokenizer, corpus,
            settings, path, request.mode, context, onCommit);
        outcome->trace = std::make_shared<const RoutingTrace>(readTrace(path));
        Q_EMIT recordingFinished(tag, outcome);
    });
}

void ModelWorker::runGrid(quint64 tag, const JobContext &job, const GridRequest &request)
{
    runJob(tag, job, [&](Run &run) {
        const Loaded &loaded = requireTokenizer();
        if (!request.trace)
            throw Error(tr("no study trace to take the experts from").toStdString());
        const auto warning = experiments::requireTraceFitsModel(
            request.trace->model, experiments::summariseModel(loaded.model), "the study's trace");
        (void)warning; // a model-id mismatch only; the shapes agree
        const bool ablation = request.kind == GridRequest::Kind::Ablation;
        auto outcome = std::make_shared<GridOutcome>();
        outcome->kind = request.kind;
        outcome->cells = ablation ? experiments::ablationCells(*request.trace, request.ablation)
                                  : experiments::steeringCells(*request.trace, request.steering);
        for (const auto &cell : outcome->cells)
            if (!cell.plan.empty())
                routing::validatePlan(cell.plan, loaded.model.planTarget(), cell.name);

        run.progress(0, 0, {}, tr("Preparing the evaluation"), true);
        const auto spec = parseCorpusSpec(request.evalSpec.toStdString());
        experiments::EvaluationOptions options;
        options.task = request.task.isEmpty()
            ? experiments::defaultEvalTask(spec.format)
            : experiments::parseEvalTask(request.task.toStdString());
        options.maxNewTokens = request.maxNewTokens;
        options.prompt.tmpl = experiments::defaultEvalTemplate(options.task);
        const bool generates = options.task != experiments::EvalTask::Perplexity
            && options.task != experiments::EvalTask::MultipleChoice;
        const int contextLength = loaded.model.spec().maxPositions;
        const int maxLength = request.maxLength > 0
            ? request.maxLength
            : std::max(0, contextLength - (generates ? options.maxNewTokens : 0));
        if (maxLength > 0) {
            options.prompt.maxTokens = static_cast<std::size_t>(maxLength);
            options.prompt.truncate = true;
        }
        // Evaluation checks it against the window (and the task) as for
        // `--stride`; 0 leaves the core's default, half the window.
        if (request.stride > 0)
            options.stride = static_cast<std::size_t>(request.stride);
        const Corpus corpus = loadCorpus(spec);
        experiments::Evaluation evaluation(loaded.model, *loaded.tokenizer, corpus, options);
        if (ablation)
            evaluation.keepLabels(request.ablation.languages);
        else if (!request.languages.empty())
            evaluation.keepLabels(request.languages);

        JobContext context = job;
        context.setProgressCallback([&run](const ProgressUpdate &u) {
            run.progress(
                u.done, u.total, QString::fromStdString(u.unit), QString::fromStdString(u.message));
        });
        const std::vector<std::string> keys = ablation
            ? std::vector<std::string> { "block", "masked" }
            : std::vector<std::string> { "condition" };
        outcome->table = std::make_shared<const MetricTable>(
            experiments::runGrid(evaluation, keys, outcome->cells, context));
        outcome->seconds = run.elapsedMs() / 1000.0;

        // The folder `moescope ablate/steer --out` writes, with the same run
        // object, so the figures and any later `moescope figures` read it alike.
        outcome->command = equivalentGridCommand(
            loaded.facts->directory, spec.toString(), request, options);
        const std::string command = outcome->command.toStdString();
        const auto runInfo = ablation
            ? experiments::gridRunJson(command, loaded.model, evaluation, spec.toString(),
                request.tracePath.toStdString(), request.ablation)
            : experiments::gridRunJson(command, loaded.model, evaluation, spec.toString(),
                request.tracePath.toStdString(), request.steering);
        experiments::writeGridResults(
            request.outputDir.toStdString(), *outcome->table, runInfo, outcome->cells);
        const QString jsonPath = QDir(request.outputDir).filePath(QStringLiteral("results.json"));
        outcome->outputDir = request.outputDir;
        outcome->results = loadInterventionResults(jsonPath);
        Q_EMIT gridFinished(tag, outcome);
    });
}

} // namespace moescope::ui
