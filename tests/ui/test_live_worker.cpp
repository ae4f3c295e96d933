// The worker thread behind the live panels, through LiveJobTracker's API:
// loading (and failing to load) a model, streaming generation with
// per-token routing (checked against `forward`'s own top-k dump), plans,
// cancellation within a second, superseded requests, and a responsiveness
// probe on the GUI thread while a job runs.

#include "live_test_model.h"

#include "core/common/error.h"
#include "core/model/moe_model.h"
#include "core/model/safetensors.h"
#include "core/model/tokenizer/tokenizer.h"
#include "core/eval/metric_table.h"
#include "ui/jobs/job_tracker.h"
#include "ui/live/live_job_tracker.h"
#include "ui/models/job_list_model.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace moescope;
using namespace moescope::ui;

namespace {

constexpr int kTimeoutMs = 30000;

GenerationRequest textRequest(const QString &prompt, int maxNewTokens, bool stopAtEos = false)
{
    GenerationRequest r;
    r.prompt = prompt.toStdString();
    r.maxNewTokens = maxNewTokens;
    r.stopAtEos = stopAtEos;
    return r;
}

// The final outcome delivered for tag, or nullptr.
GenerationOutcomePtr finalOutcome(const QSignalSpy &spy, quint64 tag)
{
    for (const auto &args : spy) {
        auto outcome = args.at(2).value<GenerationOutcomePtr>();
        if (args.at(0).toULongLong() == tag && outcome->complete)
            return outcome;
    }
    return nullptr;
}

// An ablation grid on the fixture: en's experts (0-3 of 8, every layer of
// a synthetic study of the fixture's shape) masked in all three layers,
// scored by perplexity on two held-out UDHR articles.
GridRequest perplexityGrid(const QString &outputDir)
{
    const auto trace = test::twoLanguageStudy("en", "de");
    GridRequest r;
    r.kind = GridRequest::Kind::Ablation;
    r.trace = trace;
    r.ablation.languages = { "en" };
    r.ablation.blocks = { { 0, 2 } };
    r.ablation.k = 4;
    r.ablation.threshold = 0.4;
    r.evaluation.evalSpec = "udhr:en?articles=25-26";
    r.outputDir = outputDir.toStdString();
    return r;
}

// results.json's "run" object, as written.
QJsonObject runRecord(const QString &outputDir)
{
    QFile file(QDir(outputDir).filePath(QStringLiteral("results.json")));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(file.readAll()).object().value(QStringLiteral("run")).toObject();
}

} // namespace

class TestLiveWorker : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void loadsModelFacts();
    void badFolderFailsAndKeepsModel();
    void streamsGenerationAndRouting();
    void routingMatchesForwardDump();
    void planMasksExperts();
    void invalidPlanIsAnError();
    void cancelAnswersWithinASecond();
    void newerRequestSupersedesOlder();
    void guiStaysResponsive();
    void noModelIsAnError();
    void gridTakesPerplexityWindowAndStride();
    void strideLongerThanWindowFailsTheGrid();
    void trackerDeliversOnlyTheNewestJobOfAKind();

private:
    void loadTestModel(LiveJobTracker &tracker);

    // Runs request and returns its outcome (nullptr on failure).
    GridOutcomePtr gridAndWait(LiveJobTracker &tracker, const GridRequest &request);

    std::unique_ptr<test::LiveTestModel> m_model;
    QTemporaryDir m_tmp;
};

void TestLiveWorker::initTestCase()
{
    m_model = std::make_unique<test::LiveTestModel>();
    QVERIFY(m_model->isValid());
}

void TestLiveWorker::loadTestModel(LiveJobTracker &tracker)
{
    QSignalSpy loaded(&tracker, &LiveJobTracker::modelLoaded);
    tracker.loadModel(m_model->path());
    QVERIFY(loaded.wait(kTimeoutMs));
}

void TestLiveWorker::loadsModelFacts()
{
    LiveJobTracker tracker;
    QSignalSpy loaded(&tracker, &LiveJobTracker::modelLoaded);
    QSignalSpy busy(&tracker, &LiveJobTracker::busyChanged);
    const quint64 tag = tracker.loadModel(m_model->path());
    QCOMPARE(tracker.jobList()->rowCount(), 1);
    QVERIFY(loaded.wait(kTimeoutMs));
    QCOMPARE(loaded.first().at(0).toULongLong(), tag);
    const auto facts = loaded.first().at(1).value<ModelFactsPtr>();
    QVERIFY(facts);
    QCOMPARE(QString::fromStdString(facts->info.modelType), QStringLiteral("mixtral"));
    QCOMPARE(facts->info.numLayers, 3);
    QCOMPARE(facts->info.numExperts, 8);
    QCOMPARE(facts->info.topK, 2);
    QCOMPARE(facts->info.moeLayers.size(), std::size_t(3));
    QVERIFY(facts->info.totalParameters > facts->info.activeParameters);
    QVERIFY(facts->hasTokenizer);
    QCOMPARE(facts->computeDtype, QStringLiteral("fp32"));
    QVERIFY(tracker.waitForIdle(kTimeoutMs));
    QCOMPARE(tracker.jobList()->rowCount(), 0);
    QVERIFY(tracker.hasModel());
    QCOMPARE(busy.count(), 2); // busy, then idle
    QCOMPARE(busy.last().at(0).toBool(), false);
}

void TestLiveWorker::badFolderFailsAndKeepsModel()
{
    LiveJobTracker tracker;
    loadTestModel(tracker);
    QTemporaryDir empty;
    QSignalSpy failed(&tracker, &LiveJobTracker::modelFailed);
    QSignalSpy loaded(&tracker, &LiveJobTracker::modelLoaded);
    tracker.loadModel(empty.path());
    QVERIFY(failed.wait(kTimeoutMs));
    const QString message = failed.first().at(1).toString();
    QVERIFY2(message.contains(empty.path()), qPrintable(message));
    QVERIFY(message.contains(QLatin1String("config.json")));
    QCOMPARE(loaded.count(), 0);
    // The previous model still answers.
    QSignalSpy generated(&tracker, &LiveJobTracker::generationUpdated);
    const quint64 tag = tracker.generate(QStringLiteral("p"), textRequest(QStringLiteral("hi"), 3));
    QVERIFY(tracker.waitForIdle(kTimeoutMs));
    QVERIFY(finalOutcome(generated, tag));

    // A folder whose weights are garbage: an error, not a crash.
    QTemporaryDir broken;
    QFile::copy(m_model->path() + QStringLiteral("/config.json"),
        broken.filePath(QStringLiteral("config.json")));
    QFile weights(broken.filePath(QStringLiteral("model.safetensors")));
    QVERIFY(weights.open(QIODevice::WriteOnly));
    weights.write("not a safetensors file");
    weights.close();
    tracker.loadModel(broken.path());
    QVERIFY(failed.wait(kTimeoutMs));
    QVERIFY(failed.last().at(1).toString().contains(QLatin1String("model.safetensors")));
}

void TestLiveWorker::streamsGenerationAndRouting()
{
    LiveJobTracker tracker;
    loadTestModel(tracker);
    QSignalSpy updates(&tracker, &LiveJobTracker::generationUpdated);
    const QString prompt = QStringLiteral("Héllo, wörld");
    const int maxNew = 400; // long enough to stream (updates come every 50 ms)
    const quint64 tag = tracker.generate(QStringLiteral("playground"), textRequest(prompt, maxNew));
    QVERIFY(tracker.waitForIdle(kTimeoutMs));
    const auto outcome = finalOutcome(updates, tag);
    QVERIFY(outcome);
    QCOMPARE(updates.first().at(2).value<GenerationOutcomePtr>()->complete, false);
    // Partial results arrive while generating, and grow monotonically.
    int previous = 0;
    bool midway = false;
    for (const auto &args : updates) {
        const auto o = args.at(2).value<GenerationOutcomePtr>();
        QVERIFY(o->generatedTokens() >= previous);
        previous = o->generatedTokens();
        midway = midway || (o->generatedTokens() > 0 && o->generatedTokens() < maxNew);
    }
    QVERIFY2(midway, "no partial result arrived while generating");

    // Same tokens as the engine gives for the tokenized prompt.
    const auto tokenizer = Tokenizer::load(m_model->path().toStdString());
    const auto ids32 = tokenizer.encode(prompt.toStdString(), true);
    const std::vector<std::int64_t> ids(ids32.begin(), ids32.end());
    QCOMPARE(outcome->promptTokens, static_cast<int>(ids.size()));
    const auto model = model::MoeModel::load(m_model->path().toStdString());
    model::GenerationOptions options;
    options.maxNewTokens = maxNew;
    options.stopTokens = std::vector<std::int64_t> {};
    const auto reference = model.generate({ ids }, options);
    QCOMPARE(outcome->generatedTokens(), maxNew);
    std::vector<std::int32_t> generated;
    for (int i = 0; i < outcome->generatedTokens(); ++i) {
        const auto &t = outcome->tokens[static_cast<std::size_t>(outcome->promptTokens + i)];
        QVERIFY(t.generated);
        QCOMPARE(t.id, reference.tokens[0][static_cast<std::size_t>(i)]);
        generated.push_back(static_cast<std::int32_t>(t.id));
    }
    QCOMPARE(outcome->generatedText, QString::fromStdString(tokenizer.decode(generated, true)));
    // Every token of this all-MoE model is routed to top-k distinct experts
    // in every layer, with weights that a softmax-top-k router renormalises
    // to one (mixtral).
    for (const auto &t : outcome->tokens) {
        QCOMPARE(t.experts.size(), std::size_t(3 * 2));
        for (int l = 0; l < 3; ++l) {
            const int a = t.experts[static_cast<std::size_t>(l * 2)],
                      b = t.experts[static_cast<std::size_t>(l * 2 + 1)];
            QVERIFY(a >= 0 && a < 8 && b >= 0 && b < 8 && a != b);
            const float wa = t.weights[static_cast<std::size_t>(l * 2)],
                        wb = t.weights[static_cast<std::size_t>(l * 2 + 1)];
            QVERIFY(wa >= wb);
            QVERIFY(std::abs(wa + wb - 1.0f) < 1e-4f);
        }
    }
}

// The per-token routing the playground shows equals the top-k that
// `moescope forward` dumps for the same sequence (a different code path:
// the engine's own capture of the full forward pass).
void TestLiveWorker::routingMatchesForwardDump()
{
    LiveJobTracker tracker;
    loadTestModel(tracker);
    QSignalSpy updates(&tracker, &LiveJobTracker::generationUpdated);
    GenerationRequest request = textRequest(QStringLiteral("Bonjour le monde"), 12);
    request.plan.steer.push_back({ { 1, 2 }, { 2, 3 }, { 0.5, 0.5 }, false });
    const quint64 tag = tracker.generate(QStringLiteral("p"), request);
    QVERIFY(tracker.waitForIdle(kTimeoutMs));
    const auto outcome = finalOutcome(updates, tag);
    QVERIFY(outcome);
    QVERIFY(outcome->planApplied);

    const auto T = static_cast<std::int64_t>(outcome->tokens.size());
    std::vector<std::int64_t> ids;
    for (const auto &t : outcome->tokens)
        ids.push_back(t.id);
    QTemporaryDir tmp;
    const std::string idsPath = tmp.filePath(QStringLiteral("ids.safetensors")).toStdString();
    const std::string outPath = tmp.filePath(QStringLiteral("out.safetensors")).toStdString();
    model::SafetensorsWriter writer;
    writer.add(
        "input_ids", model::DType::I64, { 1, T }, ids.data(), ids.size() * sizeof(std::int64_t));
    writer.write(idsPath);
    const auto model = model::MoeModel::load(m_model->path().toStdString());
    model.forwardFile(idsPath, outPath, &request.plan);
    const auto dump = model::SafetensorsFile::open(outPath);
    for (int l = 0; l < 3; ++l) {
        const auto &idxRec = dump->get("topk_idx." + std::to_string(l));
        const auto &wRec = dump->get("topk_w." + std::to_string(l));
        const auto *idx = reinterpret_cast<const std::int64_t *>(dump->data(idxRec));
        const auto *w = reinterpret_cast<const float *>(dump->data(wRec));
        for (std::int64_t p = 0; p < T; ++p)
            for (int j = 0; j < 2; ++j) {
                const auto &t = outcome->tokens[static_cast<std::size_t>(p)];
                QCOMPARE(t.experts[static_cast<std::size_t>(l * 2 + j)],
                    static_cast<int>(idx[p * 2 + j]));
                QVERIFY(std::abs(t.weights[static_cast<std::size_t>(l * 2 + j)] - w[p * 2 + j])
                    < 1e-5f);
            }
    }
}

void TestLiveWorker::planMasksExperts()
{
    LiveJobTracker tracker;
    loadTestModel(tracker);
    QSignalSpy updates(&tracker, &LiveJobTracker::generationUpdated);
    const quint64 baseline
        = tracker.generate(QStringLiteral("a"), textRequest(QStringLiteral("Habari ya dunia"), 16));
    GenerationRequest masked = textRequest(QStringLiteral("Habari ya dunia"), 16);
    masked.plan.mask.push_back({ { 0, 2 }, { 0, 1, 2 } });
    const quint64 ablated = tracker.generate(QStringLiteral("b"), masked);
    QVERIFY(tracker.waitForIdle(kTimeoutMs));
    const auto base = finalOutcome(updates, baseline), abl = finalOutcome(updates, ablated);
    QVERIFY(base && abl);
    bool baselineUsesMasked = false;
    for (const auto &t : base->tokens)
        for (int e : t.experts)
            baselineUsesMasked = baselineUsesMasked || (e >= 0 && e <= 2);
    QVERIFY(baselineUsesMasked); // otherwise the test proves nothing
    for (const auto &t : abl->tokens)
        for (int e : t.experts)
            QVERIFY2(e > 2, "a masked expert was chosen");
}

void TestLiveWorker::invalidPlanIsAnError()
{
    LiveJobTracker tracker;
    loadTestModel(tracker);
    QSignalSpy failed(&tracker, &LiveJobTracker::generationFailed);
    GenerationRequest request = textRequest(QStringLiteral("x"), 4);
    request.plan.mask.push_back({ { 0, 1 }, { 99 } });
    tracker.generate(QStringLiteral("p"), request);
    QVERIFY(failed.wait(kTimeoutMs));
    QVERIFY2(failed.first().at(2).toString().contains(QLatin1String("99")),
        qPrintable(failed.first().at(2).toString()));
}

void TestLiveWorker::cancelAnswersWithinASecond()
{
    LiveJobTracker tracker;
    loadTestModel(tracker);
    QSignalSpy updates(&tracker, &LiveJobTracker::generationUpdated);
    QSignalSpy cancelled(&tracker, &LiveJobTracker::jobCancelled);
    const quint64 tag
        = tracker.generate(QStringLiteral("p"), textRequest(QStringLiteral("long"), 100000));
    QVERIFY(updates.wait(kTimeoutMs)); // running and streaming
    QElapsedTimer clock;
    clock.start();
    tracker.cancel(tag);
    QVERIFY(cancelled.wait(kTimeoutMs));
    const qint64 ms = clock.elapsed();
    QVERIFY2(ms < 1000, qPrintable(QStringLiteral("cancel took %1 ms").arg(ms)));
    QCOMPARE(cancelled.first().at(0).toULongLong(), tag);
    QVERIFY(!finalOutcome(updates, tag));
    QCOMPARE(tracker.jobList()->rowCount(), 0);
    QVERIFY(!tracker.isBusy());
}

void TestLiveWorker::newerRequestSupersedesOlder()
{
    LiveJobTracker tracker;
    loadTestModel(tracker);
    QSignalSpy updates(&tracker, &LiveJobTracker::generationUpdated);
    QSignalSpy cancelled(&tracker, &LiveJobTracker::jobCancelled);
    const quint64 older
        = tracker.generate(QStringLiteral("p"), textRequest(QStringLiteral("older"), 100000));
    QVERIFY(updates.wait(kTimeoutMs)); // the older one is running
    const quint64 other
        = tracker.generate(QStringLiteral("q"), textRequest(QStringLiteral("other"), 5));
    const quint64 newer
        = tracker.generate(QStringLiteral("p"), textRequest(QStringLiteral("newer"), 5));
    QCOMPARE(tracker.latest(QStringLiteral("p")), newer);
    updates.clear();
    QVERIFY(tracker.waitForIdle(kTimeoutMs));
    for (const auto &args : updates)
        QVERIFY2(args.at(0).toULongLong() != older, "a superseded request's result was delivered");
    QVERIFY(finalOutcome(updates, newer));
    QVERIFY(finalOutcome(updates, other)); // other channels are not affected
    QCOMPARE(cancelled.count(), 0); // superseded, not cancelled by the user
}

// The bar: no event-loop stall over 50 ms while a job runs. The
// job streams results for 1.5 s and is then cancelled (so the test stays
// short whatever the machine's speed).
void TestLiveWorker::guiStaysResponsive()
{
    LiveJobTracker tracker;
    loadTestModel(tracker);
    QSignalSpy updates(&tracker, &LiveJobTracker::generationUpdated);
    QElapsedTimer sinceTick, jobClock;
    qint64 longestGap = 0;
    QTimer probe;
    probe.setInterval(10);
    connect(&probe, &QTimer::timeout, this,
        [&] { longestGap = std::max(longestGap, sinceTick.restart()); });
    sinceTick.start();
    jobClock.start();
    probe.start();
    const quint64 tag
        = tracker.generate(QStringLiteral("p"), textRequest(QStringLiteral("responsive"), 100000));
    QTimer::singleShot(1500, &tracker, [&tracker, tag] { tracker.cancel(tag); });
    QVERIFY(tracker.waitForIdle(kTimeoutMs));
    probe.stop();
    const qint64 jobMs = jobClock.elapsed();
    QVERIFY2(updates.count() >= 5, "the job should have streamed results while the probe ran");
    QVERIFY2(jobMs >= 1000, qPrintable(QStringLiteral("job took only %1 ms").arg(jobMs)));
    QVERIFY2(
        longestGap < 50, qPrintable(QStringLiteral("GUI thread stalled %1 ms").arg(longestGap)));
    qInfo("job %lld ms, longest event-loop gap %lld ms", jobMs, longestGap);
}

void TestLiveWorker::noModelIsAnError()
{
    LiveJobTracker tracker;
    QSignalSpy failed(&tracker, &LiveJobTracker::generationFailed);
    tracker.generate(QStringLiteral("p"), textRequest(QStringLiteral("x"), 4));
    QVERIFY(failed.wait(kTimeoutMs));
    QVERIFY(failed.first().at(2).toString().contains(QLatin1String("no model")));
}

GridOutcomePtr TestLiveWorker::gridAndWait(LiveJobTracker &tracker, const GridRequest &request)
{
    QSignalSpy finished(&tracker, &LiveJobTracker::gridFinished);
    QSignalSpy failed(&tracker, &LiveJobTracker::taskFailed);
    tracker.runGrid(QStringLiteral("grid"), request);
    if (!tracker.waitForIdle(kTimeoutMs))
        return nullptr;
    if (!failed.isEmpty())
        qWarning() << "grid failed:" << failed.first().at(2).toString();
    if (finished.size() != 1)
        return nullptr;
    return finished.first().at(2).value<GridOutcomePtr>();
}

// An explicit window and stride reach the evaluation: core records them in
// the run, the numbers change (each token is still scored once), and the
// CLI line carries them; without them the run uses the model's context and
// half of it, as `moescope ablate` does.
void TestLiveWorker::gridTakesPerplexityWindowAndStride()
{
    LiveJobTracker tracker;
    loadTestModel(tracker);
    QCOMPARE(tracker.model()->contextLength, 256);

    GridRequest narrow = perplexityGrid(m_tmp.filePath(QStringLiteral("narrow")));
    narrow.evaluation.maxLength = 48;
    narrow.evaluation.stride = 20;
    const auto windowed = gridAndWait(tracker, narrow);
    QVERIFY(windowed);
    const QJsonObject run = runRecord(QString::fromStdString(narrow.outputDir));
    QCOMPARE(run.value(QStringLiteral("task")).toString(), QStringLiteral("perplexity"));
    QCOMPARE(run.value(QStringLiteral("perplexity_window")).toInt(), 48);
    QCOMPARE(run.value(QStringLiteral("perplexity_stride")).toInt(), 20);
    QCOMPARE(run.value(QStringLiteral("command")).toString(), windowed->command);
    QVERIFY2(windowed->command.contains(QLatin1String(" --max-length 48 --stride 20 ")),
        qPrintable(windowed->command));

    const auto whole = gridAndWait(tracker, perplexityGrid(m_tmp.filePath(QStringLiteral("whole"))));
    QVERIFY(whole);
    const QJsonObject defaults = runRecord(m_tmp.filePath(QStringLiteral("whole")));
    QCOMPARE(defaults.value(QStringLiteral("perplexity_window")).toInt(), 256);
    QCOMPARE(defaults.value(QStringLiteral("perplexity_stride")).toInt(), 128);
    QVERIFY2(!whole->command.contains(QLatin1String("--max-length"))
            && !whole->command.contains(QLatin1String("--stride")),
        qPrintable(whole->command));

    // The articles are longer than 48 byte tokens, so the narrow window
    // scores them with less context: other losses over the same tokens.
    bool differs = false;
    const auto keys = whole->table->rowKeys();
    QCOMPARE(keys.size(), std::size_t(2)); // baseline and en masked, on en
    for (const auto &key : keys) {
        const auto tokens = whole->table->number(key, "tokens");
        QVERIFY(tokens && *tokens > 2 * 48);
        QCOMPARE(windowed->table->number(key, "tokens"), tokens);
        const auto a = whole->table->number(key, "bits_per_byte");
        const auto b = windowed->table->number(key, "bits_per_byte");
        QVERIFY(a && b);
        differs = differs || *a != *b;
    }
    QVERIFY(differs);
}

// The worker leaves the stride's check to core Evaluation, whose reason
// reaches the GUI as the job's one-line failure; nothing is written.
void TestLiveWorker::strideLongerThanWindowFailsTheGrid()
{
    LiveJobTracker tracker;
    loadTestModel(tracker);
    GridRequest request = perplexityGrid(m_tmp.filePath(QStringLiteral("refused")));
    request.evaluation.maxLength = 32;
    request.evaluation.stride = 40;
    QSignalSpy failed(&tracker, &LiveJobTracker::taskFailed);
    QVERIFY(!gridAndWait(tracker, request));
    QCOMPARE(failed.size(), 1);
    const QString message = failed.first().at(2).toString();
    QVERIFY2(message.contains(QLatin1String("--stride 40 is longer than the window of 32 tokens")),
        qPrintable(message));
    QVERIFY(!QFile::exists(QDir(QString::fromStdString(request.outputDir)).filePath(QStringLiteral("results.json"))));
}

// The one tracker under model and study jobs: of two pool jobs of one kind
// only the newer one's result and failure arrive, a job of another kind is
// not superseded, and a failure is one line for the newest job only.
void TestLiveWorker::trackerDeliversOnlyTheNewestJobOfAKind()
{
    JobTracker tracker;
    QList<int> results;
    QStringList failures;
    const auto slowValue = [](int value) {
        return [value](JobRun &run) {
            for (int i = 0; i < 20 && !run.context().isCancelled(); ++i)
                QThread::msleep(5);
            return value;
        };
    };
    const auto collect = [&](quint64, int value) { results << value; };
    const auto noteFailure = [&](quint64, const QString &message) { failures << message; };
    const quint64 older = tracker.startJob(QStringLiteral("a"), QStringLiteral("older"),
        JobThread::Pool, slowValue(1), collect, noteFailure);
    const quint64 newer = tracker.startJob(QStringLiteral("a"), QStringLiteral("newer"),
        JobThread::Pool, slowValue(2), collect, noteFailure);
    tracker.startJob(QStringLiteral("b"), QStringLiteral("other kind"), JobThread::Pool,
        slowValue(3), collect, noteFailure);
    QVERIFY(newer > older);
    QCOMPARE(tracker.latest(QStringLiteral("a")), newer);
    QVERIFY(!tracker.isCurrent(older));
    QVERIFY(tracker.waitForIdle(kTimeoutMs));
    std::sort(results.begin(), results.end());
    QCOMPARE(results, (QList<int> { 2, 3 }));
    QVERIFY(failures.isEmpty());

    const auto failing = [](const char *message) {
        return [message](JobRun &) -> int { throw moescope::Error(message); };
    };
    tracker.startJob(QStringLiteral("c"), QStringLiteral("superseded failure"), JobThread::Pool,
        failing("first\nline"), collect, noteFailure);
    tracker.startJob(QStringLiteral("c"), QStringLiteral("newest failure"), JobThread::Pool,
        failing("second\nline"), collect, noteFailure);
    QVERIFY(tracker.waitForIdle(kTimeoutMs));
    QCOMPARE(failures, QStringList { QStringLiteral("second line") });
    QCOMPARE(tracker.jobList()->rowCount(), 0);
}

QTEST_GUILESS_MAIN(TestLiveWorker)
#include "test_live_worker.moc"
