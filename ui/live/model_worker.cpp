#include "ui/live/model_worker.h"

#include "ui/live/token_routing_probe.h"

#include "core/common/error.h"
#include "core/model/moe_model.h"
#include "core/model/tokenizer/tokenizer.h"
#include "core/routing/plan_hook.h"

#include <QElapsedTimer>
#include <QFileInfo>

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

void ModelWorker::loadModel(quint64 tag, const JobContext &job, const QString &directory)
{
    if (job.isCancelled()) {
        Q_EMIT jobEnded(tag, true);
        return;
    }
    Run run(this, tag);
    run.progress(0, 0, {}, tr("Loading %1").arg(QFileInfo(directory).fileName()), true);
    try {
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
        facts->loadSeconds = run.elapsedMs() / 1000.0;
        loaded->facts = facts;
        m_loaded = std::move(loaded);
        Q_EMIT modelLoaded(tag, facts);
        Q_EMIT jobEnded(tag, false);
    } catch (const Cancelled &) {
        Q_EMIT jobEnded(tag, true);
    } catch (const std::exception &e) {
        Q_EMIT jobFailed(tag, QString::fromStdString(e.what()));
        Q_EMIT jobEnded(tag, false);
    }
}

void ModelWorker::generate(quint64 tag, const JobContext &job, const GenerationRequest &request)
{
    if (job.isCancelled()) {
        Q_EMIT jobEnded(tag, true);
        return;
    }
    Run run(this, tag);
    try {
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
            std::vector<std::int64_t> sequence;
            sequence.reserve(outcome->tokens.size());
            for (const auto &t : outcome->tokens)
                sequence.push_back(t.id);
            auto store
                = [&](std::size_t position, std::vector<int> experts, std::vector<float> weights) {
                      auto &t = outcome->tokens[position];
                      t.experts = std::move(experts);
                      t.weights = std::move(weights);
                      const auto done
                          = generated.size() + (position < promptIds.size() ? position + 1 : 0);
                      run.progress(done, total, tr("tokens"), tr("Routing the prompt"));
                      if (sinceStream.elapsed() >= kStreamIntervalMs)
                          publish(false);
                  };
            // The last generated token was never fed back to the model.
            if (!generated.empty())
                routePositions(model, planHook ? &*planHook : nullptr, sequence,
                    sequence.size() - 1, sequence.size(), topK, store, job);
            routePositions(model, planHook ? &*planHook : nullptr, sequence, 0, promptIds.size(),
                topK, store, job);
        }
        run.progress(total, total, tr("tokens"), tr("Done"), true);
        publish(true);
        Q_EMIT jobEnded(tag, false);
    } catch (const Cancelled &) {
        Q_EMIT jobEnded(tag, true);
    } catch (const std::exception &e) {
        Q_EMIT jobFailed(tag, QString::fromStdString(e.what()));
        Q_EMIT jobEnded(tag, false);
    }
}

} // namespace moescope::ui
