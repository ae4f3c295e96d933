// The worker API behind the Record, Ablation-grid and Steering-evaluation
// panels, on the tiny mixtral fixture: a recording reports every committed
// batch (with the trace re-read as it grows), a cancel mid-way leaves a
// valid trace that a resume completes to exactly the counts of an
// uninterrupted recording, a newer recording supersedes an older one, the
// grids give the same table as `moescope ablate` / `moescope steer`, and the
// CLI line a grid writes into its results.json repeats it to the last digit.

#include "live_test_model.h"

#include "core/common/atomic_file.h"
#include "core/trace/trace_store.h"
#include "ui/live/live_job_tracker.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <map>

using namespace moescope;
using namespace moescope::ui;

namespace {

constexpr int kTimeoutMs = 60000;

RecordingRequest udhrRequest(const QString &spec, const QString &out)
{
    RecordingRequest r;
    r.corpusSpec = spec.toStdString();
    r.outputPath = out.toStdString();
    r.truncate = true; // as the Record tab: prompts are cut at the model's context
    r.settings.batchSize = 1; // one commit per document
    r.snapshotIntervalMs = 0; // re-read the trace after every commit
    r.mode = experiments::OutputMode::Overwrite;
    return r;
}

std::uint64_t totalTokens(const RoutingTrace &trace, const std::string &label)
{
    for (const auto &lang : trace.languages)
        if (lang.label == label) {
            std::uint64_t n = 0;
            for (const auto t : lang.tokens)
                n += t;
            return n;
        }
    return 0;
}

// The CSV rows of a results table keyed by their key columns, numbers parsed.
std::map<QString, std::map<QString, double>> csvTable(const QString &path, int keyColumns)
{
    std::map<QString, std::map<QString, double>> rows;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return rows;
    const QStringList lines
        = QString::fromUtf8(file.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    const QStringList header = lines.value(0).split(QLatin1Char(','));
    for (int i = 1; i < lines.size(); ++i) {
        const QStringList cells = lines[i].split(QLatin1Char(','));
        QString key;
        for (int c = 0; c <= keyColumns; ++c) // + "language"
            key += cells.value(c) + QLatin1Char('|');
        for (int c = keyColumns + 1; c < header.size(); ++c) {
            bool ok = false;
            const double v = cells.value(c).toDouble(&ok);
            if (ok)
                rows[key][header[c]] = v;
        }
    }
    return rows;
}

QJsonObject jsonFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(file.readAll()).object();
}

// Always single-quoted, so the test does not lean on the worker's own
// quoting rule for the words it substitutes.
QString quotedForShell(const QString &word)
{
    QString quoted = word;
    quoted.replace(QLatin1Char('\''), QStringLiteral("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

// The rows of a results.json table by their key columns ("|"-joined).
std::map<QString, QJsonObject> rowsByKey(const QJsonObject &document)
{
    std::map<QString, QJsonObject> rows;
    const QJsonArray keys = document.value(QStringLiteral("keys")).toArray();
    for (const auto &row : document.value(QStringLiteral("rows")).toArray()) {
        const QJsonObject object = row.toObject();
        QString key;
        for (const auto &k : keys)
            key += object.value(k.toString()).toString() + QLatin1Char('|');
        rows[key] = object;
    }
    return rows;
}

bool sameNumber(double a, double b)
{
    return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b));
}

} // namespace

class TestLiveRecording : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void recordsBatchByBatch();
    void cancelLeavesValidTraceAndResumeCompletes();
    void newerRecordingSupersedesOlder();
    void badCorpusIsAnError();
    void ablationGridMatchesCli();
    void steeringGridMatchesCli();
    void ablationGridCommandRepeatsTheRun();
    void steeringGridCommandRepeatsTheRun();

private:
    void load(LiveJobTracker &tracker);
    // Records spec into path and waits; the final outcome.
    RecordingOutcomePtr recordAndWait(LiveJobTracker &tracker, const RecordingRequest &request);
    GridOutcomePtr gridAndWait(LiveJobTracker &tracker, const GridRequest &request);
    // Runs the `run.command` of the GUI grid's results.json through /bin/sh
    // into a fresh folder and compares the two results.json.
    void replayGridCommand(const GridRequest &request, const QString &replayDir);
    // m_trace's file under a name a shell must have quoted.
    QString traceWithAwkwardName();

    std::unique_ptr<test::LiveTestModel> m_model;
    QTemporaryDir m_tmp;
    std::shared_ptr<const RoutingTrace> m_trace; // en,de recorded by recordsBatchByBatch
};

void TestLiveRecording::initTestCase()
{
    m_model = std::make_unique<test::LiveTestModel>();
    QVERIFY(m_model->isValid());
    QVERIFY(m_tmp.isValid());
}

void TestLiveRecording::load(LiveJobTracker &tracker)
{
    QSignalSpy loaded(&tracker, &LiveJobTracker::modelLoaded);
    tracker.loadModel(m_model->path());
    QVERIFY(loaded.wait(kTimeoutMs));
}

RecordingOutcomePtr TestLiveRecording::recordAndWait(
    LiveJobTracker &tracker, const RecordingRequest &request)
{
    QSignalSpy finished(&tracker, &LiveJobTracker::recordingFinished);
    QSignalSpy failed(&tracker, &LiveJobTracker::taskFailed);
    const quint64 tag = tracker.record(QStringLiteral("record"), request);
    const bool idle = tracker.waitForIdle(kTimeoutMs);
    if (!failed.isEmpty())
        qWarning() << "recording failed:" << failed.first().at(2).toString();
    if (!idle || !failed.isEmpty() || finished.size() != 1)
        return nullptr;
    if (finished.first().at(0).toULongLong() != tag)
        return nullptr;
    return finished.first().at(2).value<RecordingOutcomePtr>();
}

GridOutcomePtr TestLiveRecording::gridAndWait(LiveJobTracker &tracker, const GridRequest &request)
{
    QSignalSpy finished(&tracker, &LiveJobTracker::gridFinished);
    QSignalSpy failed(&tracker, &LiveJobTracker::taskFailed);
    tracker.runGrid(QStringLiteral("grid"), request);
    tracker.waitForIdle(kTimeoutMs);
    if (!failed.isEmpty())
        qWarning() << "grid failed:" << failed.first().at(2).toString();
    if (finished.size() != 1)
        return nullptr;
    return finished.first().at(2).value<GridOutcomePtr>();
}

void TestLiveRecording::recordsBatchByBatch()
{
    LiveJobTracker tracker;
    load(tracker);
    const QString path = m_tmp.filePath(QStringLiteral("en-de.h5"));
    QSignalSpy commits(&tracker, &LiveJobTracker::recordingCommitted);
    const auto outcome
        = recordAndWait(tracker, udhrRequest(QStringLiteral("udhr:en,de?articles=1-4"), path));
    QVERIFY(outcome);
    QCOMPARE(outcome->report.documentsRecorded, std::size_t(8));
    QCOMPARE(outcome->report.batches, std::size_t(8));
    // One signal per committed batch, in order, counting up to each total.
    QCOMPARE(commits.size(), 8);
    std::map<QString, std::size_t> last;
    std::uint64_t previousTokens = 0;
    for (const auto &args : commits) {
        QCOMPARE(args.at(1).toString(), QStringLiteral("record"));
        const auto commit = args.at(2).value<RecordingCommit>();
        QCOMPARE(commit.total, std::size_t(4));
        QCOMPARE(commit.committed, last[commit.label] + 1);
        last[commit.label] = commit.committed;
        // The re-read trace grows with every commit.
        QVERIFY(commit.trace);
        const std::uint64_t tokens
            = totalTokens(*commit.trace, "en") + totalTokens(*commit.trace, "de");
        QVERIFY(tokens > previousTokens);
        previousTokens = tokens;
    }
    QCOMPARE(last[QStringLiteral("en")], std::size_t(4));
    QCOMPARE(last[QStringLiteral("de")], std::size_t(4));
    // The outcome's trace is the file's.
    QVERIFY(outcome->trace);
    const RoutingTrace onDisk = readTrace(path.toStdString());
    QCOMPARE(onDisk.languages.size(), std::size_t(2));
    for (std::size_t i = 0; i < onDisk.languages.size(); ++i) {
        QCOMPARE(outcome->trace->languages[i].counts, onDisk.languages[i].counts);
        QVERIFY(totalTokens(onDisk, onDisk.languages[i].label) > 0);
    }
    QCOMPARE(totalTokens(onDisk, "en") + totalTokens(onDisk, "de"), previousTokens);
    QCOMPARE(static_cast<std::size_t>(outcome->report.tokensRouted),
        std::size_t(previousTokens / 3)); // 3 MoE layers
    m_trace = outcome->trace;
}

void TestLiveRecording::cancelLeavesValidTraceAndResumeCompletes()
{
    LiveJobTracker tracker;
    load(tracker);
    const QString spec = QStringLiteral("udhr:en,de,fr?articles=0-30");
    const QString path = m_tmp.filePath(QStringLiteral("cancelled.h5"));
    auto request = udhrRequest(spec, path);
    request.snapshotIntervalMs = 1000;
    QSignalSpy commits(&tracker, &LiveJobTracker::recordingCommitted);
    QSignalSpy cancelled(&tracker, &LiveJobTracker::jobCancelled);
    QSignalSpy finished(&tracker, &LiveJobTracker::recordingFinished);
    const quint64 tag = tracker.record(QStringLiteral("record"), request);
    QVERIFY(commits.wait(kTimeoutMs));
    QElapsedTimer clock;
    clock.start();
    tracker.cancel(tag);
    QVERIFY(cancelled.wait(kTimeoutMs));
    QVERIFY2(clock.elapsed() < 1000,
        qPrintable(QStringLiteral("cancel took %1 ms").arg(clock.elapsed())));
    QCOMPARE(cancelled.first().at(0).toULongLong(), tag);
    QVERIFY(finished.isEmpty());
    QVERIFY(tracker.waitForIdle(kTimeoutMs));

    // A valid trace with part of the corpus.
    const RoutingTrace partial = readTrace(path.toStdString());
    std::size_t committed = 0;
    for (const auto &args : commits)
        committed = std::max(committed, args.at(2).value<RecordingCommit>().committed);
    QVERIFY(committed >= 1);
    QVERIFY(totalTokens(partial, "en") > 0);
    QVERIFY(totalTokens(partial, "fr") == 0); // fr comes after en and de

    // Resume ("Continue it") ends with the counts of an uninterrupted run.
    request.mode = experiments::OutputMode::Resume;
    const auto resumed = recordAndWait(tracker, request);
    QVERIFY(resumed);
    QVERIFY(resumed->report.documentsSkipped >= committed);
    const auto whole
        = recordAndWait(tracker, udhrRequest(spec, m_tmp.filePath(QStringLiteral("whole.h5"))));
    QVERIFY(whole);
    QCOMPARE(resumed->trace->languages.size(), whole->trace->languages.size());
    for (std::size_t i = 0; i < whole->trace->languages.size(); ++i) {
        QCOMPARE(resumed->trace->languages[i].label, whole->trace->languages[i].label);
        QCOMPARE(resumed->trace->languages[i].counts, whole->trace->languages[i].counts);
        QCOMPARE(resumed->trace->languages[i].tokens, whole->trace->languages[i].tokens);
    }
}

void TestLiveRecording::newerRecordingSupersedesOlder()
{
    LiveJobTracker tracker;
    load(tracker);
    QSignalSpy commits(&tracker, &LiveJobTracker::recordingCommitted);
    QSignalSpy finished(&tracker, &LiveJobTracker::recordingFinished);
    const quint64 older = tracker.record(QStringLiteral("record"),
        udhrRequest(QStringLiteral("udhr:en,de,fr,es?articles=0-30"),
            m_tmp.filePath(QStringLiteral("older.h5"))));
    const quint64 newer = tracker.record(QStringLiteral("record"),
        udhrRequest(
            QStringLiteral("udhr:ja?articles=1-2"), m_tmp.filePath(QStringLiteral("newer.h5"))));
    QVERIFY(newer != older);
    QVERIFY(tracker.waitForIdle(kTimeoutMs));
    // Nothing of the older recording reaches the GUI.
    QVERIFY(!commits.isEmpty());
    for (const auto &args : commits) {
        QCOMPARE(args.at(0).toULongLong(), newer);
        QCOMPARE(args.at(2).value<RecordingCommit>().label, QStringLiteral("ja"));
    }
    QCOMPARE(finished.size(), 1);
    QCOMPARE(finished.first().at(0).toULongLong(), newer);
}

void TestLiveRecording::badCorpusIsAnError()
{
    LiveJobTracker tracker;
    load(tracker);
    QSignalSpy failed(&tracker, &LiveJobTracker::taskFailed);
    tracker.record(QStringLiteral("record"),
        udhrRequest(QStringLiteral("text:/no/such/file.txt?lang=en"),
            m_tmp.filePath(QStringLiteral("bad.h5"))));
    QVERIFY(tracker.waitForIdle(kTimeoutMs));
    QCOMPARE(failed.size(), 1);
    const QString message = failed.first().at(2).toString();
    QVERIFY2(message.contains(QLatin1String("/no/such/file.txt")), qPrintable(message));
    QVERIFY(!message.contains(QLatin1Char('\n')));
    QVERIFY(!QFile::exists(m_tmp.filePath(QStringLiteral("bad.h5"))));
}

void TestLiveRecording::ablationGridMatchesCli()
{
    QVERIFY(m_trace);
    LiveJobTracker tracker;
    load(tracker);
    GridRequest request;
    request.kind = GridRequest::Kind::Ablation;
    request.trace = m_trace;
    request.tracePath = m_tmp.filePath(QStringLiteral("en-de.h5")).toStdString();
    request.ablation.languages = { "en", "de" };
    request.ablation.blocks = { { 0, 0 }, { 1, 2 } };
    request.ablation.k = 3;
    request.ablation.threshold = 0.4;
    request.evaluation.evalSpec = "udhr:en,de?articles=25-26";
    request.outputDir = m_tmp.filePath(QStringLiteral("ablation-gui")).toStdString();
    request.evaluation.maxLength = 200; // the fixture's context is 256
    request.evaluation.truncate = true; // as --max-length
    const auto outcome = gridAndWait(tracker, request);
    QVERIFY(outcome);
    QVERIFY(outcome->results);
    QCOMPARE(outcome->results->kind, InterventionResults::Kind::Ablation);
    QCOMPARE(outcome->results->primaryMetric, QStringLiteral("bits_per_byte"));
    // baseline + 2 blocks x 2 masked languages, each evaluated on 2 languages.
    QCOMPARE(outcome->table->rowCount(), std::size_t(10));
    QCOMPARE(
        outcome->results->blocks(), (QStringList { QStringLiteral("0-0"), QStringLiteral("1-2") }));
    QVERIFY(QFile::exists(QString::fromStdString(request.outputDir) + QStringLiteral("/results.csv")));
    QVERIFY(QFile::exists(QString::fromStdString(request.outputDir) + QStringLiteral("/plans/")
        + QString::fromStdString(outcome->cells.back().name) + QStringLiteral(".json")));

    // The same grid through the CLI gives the same numbers.
    const QString cliOut = m_tmp.filePath(QStringLiteral("ablation-cli"));
    QProcess cli;
    cli.start(QStringLiteral(MOESCOPE_BINARY),
        { QStringLiteral("ablate"), QStringLiteral("--model"), m_model->path(),
            QStringLiteral("--trace"), QString::fromStdString(request.tracePath), QStringLiteral("--eval"),
            QString::fromStdString(request.evaluation.evalSpec), QStringLiteral("--languages"), QStringLiteral("en,de"),
            QStringLiteral("--blocks"), QStringLiteral("0-0,1-2"), QStringLiteral("--k"),
            QStringLiteral("3"), QStringLiteral("--threshold"), QStringLiteral("0.4"),
            QStringLiteral("--out"), cliOut, QStringLiteral("--max-length"), QStringLiteral("200"),
            QStringLiteral("--quiet") });
    QVERIFY(cli.waitForFinished(kTimeoutMs));
    QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());
    const auto gui = csvTable(QString::fromStdString(request.outputDir) + QStringLiteral("/results.csv"), 2);
    const auto reference = csvTable(cliOut + QStringLiteral("/results.csv"), 2);
    QCOMPARE(gui.size(), std::size_t(10));
    QCOMPARE(gui.size(), reference.size());
    for (const auto &[key, values] : reference) {
        QVERIFY2(gui.count(key), qPrintable(key));
        for (const auto &[column, value] : values) {
            const double mine = gui.at(key).at(column);
            QVERIFY2(std::abs(mine - value) <= 1e-9 * std::max(1.0, std::abs(value)),
                qPrintable(
                    QStringLiteral("%1 %2: %3 vs %4").arg(key, column).arg(mine).arg(value)));
        }
    }
}

void TestLiveRecording::steeringGridMatchesCli()
{
    QVERIFY(m_trace);
    LiveJobTracker tracker;
    load(tracker);
    GridRequest request;
    request.kind = GridRequest::Kind::Steering;
    request.trace = m_trace;
    request.tracePath = m_tmp.filePath(QStringLiteral("en-de.h5")).toStdString();
    request.steering.a = "en";
    request.steering.b = "de";
    request.steering.lambdas = { 0.5 };
    request.steering.k = 6;
    request.steering.threshold = 0.6;
    request.steering.firstLayer = 0;
    request.steering.lastLayer = 2;
    request.evaluation.evalSpec = "udhr:en,de?articles=25-25";
    request.evaluation.task = experiments::EvalTask::LanguageConsistency;
    request.evaluation.maxNewTokens = 4;
    request.outputDir = m_tmp.filePath(QStringLiteral("steering-gui")).toStdString();
    request.evaluation.maxLength = 200;
    request.evaluation.truncate = true; // as --max-length
    const auto outcome = gridAndWait(tracker, request);
    QVERIFY(outcome);
    QCOMPARE(outcome->results->kind, InterventionResults::Kind::Steering);
    QCOMPARE(outcome->results->primaryMetric, QStringLiteral("consistency"));
    QCOMPARE(outcome->results->conditions().size(), 2); // baseline, one lambda
    QCOMPARE(outcome->table->rowCount(), std::size_t(4));

    const QString cliOut = m_tmp.filePath(QStringLiteral("steering-cli"));
    QProcess cli;
    cli.start(QStringLiteral(MOESCOPE_BINARY),
        { QStringLiteral("steer"), QStringLiteral("--model"), m_model->path(),
            QStringLiteral("--trace"), QString::fromStdString(request.tracePath), QStringLiteral("--eval"),
            QString::fromStdString(request.evaluation.evalSpec), QStringLiteral("--task"), QStringLiteral("consistency"),
            QStringLiteral("--max-new-tokens"), QStringLiteral("4"), QStringLiteral("--pair"),
            QStringLiteral("en,de"), QStringLiteral("--lambda"), QStringLiteral("0.5"),
            QStringLiteral("--k"), QStringLiteral("6"), QStringLiteral("--threshold"),
            QStringLiteral("0.6"), QStringLiteral("--layers"), QStringLiteral("0-2"),
            QStringLiteral("--out"), cliOut, QStringLiteral("--max-length"), QStringLiteral("200"),
            QStringLiteral("--quiet") });
    QVERIFY(cli.waitForFinished(kTimeoutMs));
    QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());
    const auto gui = csvTable(QString::fromStdString(request.outputDir) + QStringLiteral("/results.csv"), 1);
    const auto reference = csvTable(cliOut + QStringLiteral("/results.csv"), 1);
    QCOMPARE(gui.size(), reference.size());
    for (const auto &[key, values] : reference)
        for (const auto &[column, value] : values)
            QVERIFY2(gui.count(key)
                    && std::abs(gui.at(key).at(column) - value)
                        <= 1e-9 * std::max(1.0, std::abs(value)),
                qPrintable(QStringLiteral("%1 %2").arg(key, column)));
}

QString TestLiveRecording::traceWithAwkwardName()
{
    const QString path = m_tmp.filePath(QStringLiteral("study's trace (en, de).h5"));
    if (!QFile::exists(path))
        QFile::copy(m_tmp.filePath(QStringLiteral("en-de.h5")), path);
    return path;
}

void TestLiveRecording::replayGridCommand(const GridRequest &request, const QString &replayDir)
{
    const QJsonObject gui
        = jsonFile(QDir(QString::fromStdString(request.outputDir)).filePath(QStringLiteral("results.json")));
    const QJsonObject guiRun = gui.value(QStringLiteral("run")).toObject();
    QString line = guiRun.value(QStringLiteral("command")).toString();
    QVERIFY2(!line.isEmpty(), "the GUI's results.json has no run.command");

    // What a user does with it: drop the comment, point --out elsewhere,
    // and call the installed binary (here the built one).
    const int comment = line.indexOf(QLatin1String("  # "));
    QVERIFY2(comment > 0, qPrintable(line));
    line.truncate(comment);
    const QLatin1String outOption(" --out ");
    const int out = line.lastIndexOf(outOption);
    QVERIFY2(out > 0, qPrintable(line));
    const QString outWord = line.mid(out + outOption.size());
    const QString outputDir = QString::fromStdString(request.outputDir);
    QVERIFY2(outWord == outputDir || outWord == quotedForShell(outputDir),
        qPrintable(QStringLiteral("--out is not the grid's folder, last: ") + line));
    line = line.left(out) + outOption + quotedForShell(replayDir);
    const QLatin1String program("moescope ");
    QVERIFY2(line.startsWith(program), qPrintable(line));
    line = quotedForShell(QStringLiteral(MOESCOPE_BINARY)) + QLatin1Char(' ')
        + line.mid(program.size());

    QProcess shell;
    shell.start(QStringLiteral("/bin/sh"), { QStringLiteral("-c"), line });
    QVERIFY(shell.waitForFinished(kTimeoutMs));
    QVERIFY2(shell.exitStatus() == QProcess::NormalExit && shell.exitCode() == 0,
        qPrintable(line + QLatin1Char('\n') + QString::fromUtf8(shell.readAllStandardError())));

    const QJsonObject cli = jsonFile(QDir(replayDir).filePath(QStringLiteral("results.json")));
    const QJsonObject cliRun = cli.value(QStringLiteral("run")).toObject();
    QVERIFY2(!cliRun.isEmpty(), qPrintable(replayDir));
    // The run's settings, but for when, by what, and into which folder.
    for (const QString &field : guiRun.keys()) {
        if (field == QLatin1String("command") || field == QLatin1String("created"))
            continue;
        QVERIFY2(cliRun.contains(field), qPrintable(field));
        const QJsonValue a = guiRun.value(field), b = cliRun.value(field);
        const bool same
            = a.isDouble() && b.isDouble() ? sameNumber(a.toDouble(), b.toDouble()) : a == b;
        QVERIFY2(same,
            qPrintable(
                QStringLiteral("run.%1: GUI %2, CLI %3")
                    .arg(field,
                        QString::fromUtf8(
                            QJsonDocument(QJsonArray { a }).toJson(QJsonDocument::Compact)),
                        QString::fromUtf8(
                            QJsonDocument(QJsonArray { b }).toJson(QJsonDocument::Compact)))));
    }
    QCOMPARE(cliRun.size(), guiRun.size());

    QCOMPARE(cli.value(QStringLiteral("keys")), gui.value(QStringLiteral("keys")));
    QCOMPARE(cli.value(QStringLiteral("columns")), gui.value(QStringLiteral("columns")));
    const QJsonArray columns = gui.value(QStringLiteral("columns")).toArray();
    const auto guiRows = rowsByKey(gui);
    const auto cliRows = rowsByKey(cli);
    QCOMPARE(cliRows.size(), guiRows.size());
    QCOMPARE(guiRows.size(),
        static_cast<std::size_t>(gui.value(QStringLiteral("rows")).toArray().size()));
    int numbers = 0;
    for (const auto &[key, guiRow] : guiRows) {
        QVERIFY2(cliRows.count(key), qPrintable(QStringLiteral("no CLI row ") + key));
        const QJsonObject &cliRow = cliRows.at(key);
        for (const auto &c : columns) {
            const QString column = c.toString();
            const QJsonValue a = guiRow.value(column), b = cliRow.value(column);
            const QString where = QStringLiteral("%1 %2: GUI %3, CLI %4")
                                      .arg(key, column)
                                      .arg(a.toDouble(), 0, 'g', 17)
                                      .arg(b.toDouble(), 0, 'g', 17);
            if (a.isDouble()) {
                QVERIFY2(b.isDouble() && sameNumber(a.toDouble(), b.toDouble()), qPrintable(where));
                ++numbers;
            } else {
                QVERIFY2(a == b, qPrintable(where));
            }
        }
    }
    QVERIFY(numbers > 0);
}

// A narrow window and stride (the articles are longer than 48 tokens, so
// they matter), a trace whose name needs quoting, and an --out to replace.
void TestLiveRecording::ablationGridCommandRepeatsTheRun()
{
    QVERIFY(m_trace);
    LiveJobTracker tracker;
    load(tracker);
    GridRequest request;
    request.kind = GridRequest::Kind::Ablation;
    request.trace = m_trace;
    request.tracePath = traceWithAwkwardName().toStdString();
    request.ablation.languages = { "en", "de" };
    request.ablation.blocks = { { 0, 0 }, { 1, 2 } };
    request.ablation.k = 3;
    request.ablation.threshold = 0.4;
    request.evaluation.evalSpec = "udhr:en,de?articles=25-26";
    request.outputDir = m_tmp.filePath(QStringLiteral("ablation gui 48-20")).toStdString();
    request.evaluation.maxLength = 48;
    request.evaluation.truncate = true; // as --max-length
    request.evaluation.stride = 20;
    const auto outcome = gridAndWait(tracker, request);
    QVERIFY(outcome);
    QCOMPARE(outcome->table->rowCount(), std::size_t(10));
    const QJsonObject run
        = jsonFile(QDir(QString::fromStdString(request.outputDir)).filePath(QStringLiteral("results.json")))
              .value(QStringLiteral("run"))
              .toObject();
    QCOMPARE(run.value(QStringLiteral("task")).toString(), QStringLiteral("perplexity"));
    QCOMPARE(run.value(QStringLiteral("perplexity_window")).toInt(), 48);
    QCOMPARE(run.value(QStringLiteral("perplexity_stride")).toInt(), 20);
    for (const auto &key : outcome->table->rowKeys()) {
        const auto tokens = outcome->table->number(key, "tokens");
        QVERIFY(tokens && *tokens > 2 * 48);
    }
    replayGridCommand(request, m_tmp.filePath(QStringLiteral("ablation replayed")));
}

void TestLiveRecording::steeringGridCommandRepeatsTheRun()
{
    QVERIFY(m_trace);
    LiveJobTracker tracker;
    load(tracker);
    GridRequest request;
    request.kind = GridRequest::Kind::Steering;
    request.trace = m_trace;
    request.tracePath = traceWithAwkwardName().toStdString();
    request.steering.a = "en";
    request.steering.b = "de";
    request.steering.lambdas = { 0.25, 1.5 };
    request.steering.k = 6;
    request.steering.threshold = 0.6;
    request.steering.firstLayer = 1;
    request.steering.lastLayer = 2;
    request.evaluation.languages = { "de" };
    request.evaluation.evalSpec = "udhr:en,de?articles=25-26";
    request.outputDir = m_tmp.filePath(QStringLiteral("steering gui 48-20")).toStdString();
    request.evaluation.maxLength = 48;
    request.evaluation.truncate = true; // as --max-length
    request.evaluation.stride = 20;
    const auto outcome = gridAndWait(tracker, request);
    QVERIFY(outcome);
    QCOMPARE(outcome->results->conditions().size(), 3); // baseline, two lambdas
    QCOMPARE(outcome->table->rowCount(), std::size_t(3)); // de only
    const QJsonObject run
        = jsonFile(QDir(QString::fromStdString(request.outputDir)).filePath(QStringLiteral("results.json")))
              .value(QStringLiteral("run"))
              .toObject();
    QCOMPARE(run.value(QStringLiteral("perplexity_window")).toInt(), 48);
    QCOMPARE(run.value(QStringLiteral("perplexity_stride")).toInt(), 20);
    replayGridCommand(request, m_tmp.filePath(QStringLiteral("steering replayed")));
}

QTEST_GUILESS_MAIN(TestLiveRecording)
#include "test_live_recording.moc"
