// End to end, in a real window under the X server (xcb, as `moescope` runs):
// the window opens the bundled demo model by itself (or, until
// resources/demo-model exists, the tiny fixture through MOESCOPE_DEMO_MODEL),
// records a small UDHR corpus from the Record tab while the study views
// follow, masks a language's exclusive experts in the Ablation tab and
// compares outputs, runs the ablation grid and the steering evaluation,
// exports every live figure and the paper figure set, and saves and
// reopens a session.

#include "live_test_model.h"

#include "core/model/bundled_model.h"
#include "ui/figures/ablation_grid_renderer.h"
#include "ui/figures/figure_export.h"
#include "ui/figures/plan_map_renderer.h"
#include "ui/figures/steering_results_renderer.h"
#include "ui/figures/study_figures.h"
#include "ui/jobs/study_job_tracker.h"
#include "ui/live/live_job_tracker.h"
#include "ui/live/live_workbench.h"
#include "ui/live/plan_document.h"
#include "ui/main_window.h"
#include "ui/models/language_table_model.h"
#include "ui/views/ablation_panel.h"
#include "ui/views/figure_view.h"
#include "ui/views/message_bar.h"
#include "ui/views/model_panel.h"
#include "ui/views/recording_panel.h"
#include "ui/views/steering_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QGuiApplication>
#include <QImage>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace moescope;
using namespace moescope::ui;

namespace {

constexpr int kTimeoutMs = 60000;

// Waits until cond holds, processing events; false on timeout.
template <typename Cond> bool waitFor(Cond cond, int timeoutMs = kTimeoutMs)
{
    QElapsedTimer clock;
    clock.start();
    while (!cond()) {
        if (clock.elapsed() > timeoutMs)
            return false;
        QTest::qWait(20);
    }
    return true;
}

} // namespace

class TestGuiEndToEnd : public QObject
{
    Q_OBJECT
public:
    static void initMain()
    {
        static QTemporaryDir config;
        qputenv("XDG_CONFIG_HOME", config.path().toLocal8Bit());
        qputenv("XDG_DATA_HOME", config.path().toLocal8Bit());
        QStandardPaths::setTestModeEnabled(true);
        // Named as gui_entry.cpp names the application: the folders the
        // panels propose depend on it.
        QCoreApplication::setOrganizationName(QStringLiteral("MoEScope"));
        QCoreApplication::setApplicationName(QStringLiteral("MoEScope"));
        // A real X connection when there is one (ctest runs under xvfb-run);
        // offscreen only so that a run without any display still says why.
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
            qputenv(
                "QT_QPA_PLATFORM", qEnvironmentVariableIsEmpty("DISPLAY") ? "offscreen" : "xcb");
        // The real demo model once it ships; the tiny fixture until then.
        if (qEnvironmentVariableIsEmpty("MOESCOPE_DEMO_MODEL")
            && model::bundledModelDirectory().empty()) {
            static test::LiveTestModel fixture;
            qputenv("MOESCOPE_DEMO_MODEL", fixture.path().toLocal8Bit());
        }
    }

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void opensTheDefaultModel();
    void proposesPathsInTheDataFolder();
    void recordsAndTheViewsFollow();
    void masksAndCompares();
    void runsTheAblationGrid();
    void steersAndEvaluates();
    void exportsEveryLiveFigure();
    void exportsPaperFigures();
    void savesAndReopensASession();
    void badSessionIsOneLine();

private:
    std::unique_ptr<MainWindow> m_window;
    QTemporaryDir m_tmp;
    QString m_trace;
};

void TestGuiEndToEnd::initTestCase()
{
    if (QGuiApplication::platformName() != QLatin1String("xcb"))
        qWarning("not under X (platform %s): run under xvfb-run for the real window system",
            qPrintable(QGuiApplication::platformName()));
    QVERIFY(m_tmp.isValid());
    m_window = std::make_unique<MainWindow>();
    m_window->resize(1500, 950);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
}

void TestGuiEndToEnd::cleanupTestCase()
{
    m_window.reset();
}

void TestGuiEndToEnd::opensTheDefaultModel()
{
    LiveJobTracker *jobs = m_window->live()->jobs();
    QSignalSpy loaded(jobs, &LiveJobTracker::modelLoaded);
    QVERIFY(m_window->openDefaultModel());
    QVERIFY(loaded.wait(kTimeoutMs));
    const auto facts = jobs->model();
    QVERIFY(facts);
    QCOMPARE(QDir(facts->directory).canonicalPath(),
        QDir(QString::fromStdString(model::bundledModelDirectory().string())).canonicalPath());
    QVERIFY(facts->hasTokenizer);
    QVERIFY(!m_window->live()->modelPanel()->fact(QStringLiteral("Layers")).isEmpty());
    QVERIFY(
        m_window->live()->recording()->statusText().startsWith(QLatin1String("Ready to record")));
}

// The Record tab's trace and the grids' results folders are proposed in
// MoEScope's data folder, named once (not .../MoEScope/MoEScope/...).
void TestGuiEndToEnd::proposesPathsInTheDataFolder()
{
    const QString dataFolder
        = QDir(QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation))
              .filePath(QStringLiteral("MoEScope"));
    for (const QString &path : { m_window->live()->recording()->outputEdit()->text(),
             m_window->live()->ablation()->outputDirEdit()->text(),
             m_window->live()->steering()->outputDirEdit()->text() }) {
        QVERIFY2(QDir::fromNativeSeparators(path).startsWith(dataFolder + QLatin1Char('/')),
            qPrintable(path));
        QVERIFY2(!path.contains(QStringLiteral("MoEScope/MoEScope"), Qt::CaseInsensitive),
            qPrintable(path));
        const QStringList parts
            = QDir::fromNativeSeparators(path).split(QLatin1Char('/'), Qt::SkipEmptyParts);
        for (qsizetype i = 1; i < parts.size(); ++i)
            QVERIFY2(parts[i] != parts[i - 1], qPrintable(path));
    }
    QVERIFY(m_window->live()->recording()->outputEdit()->text().endsWith(QLatin1String(".h5")));
}

void TestGuiEndToEnd::recordsAndTheViewsFollow()
{
    RecordingPanel *record = m_window->live()->recording();
    m_window->tabs()->setCurrentWidget(record);
    record->setUdhrLanguages({ QStringLiteral("en"), QStringLiteral("de") });
    record->firstArticleBox()->setValue(1);
    record->lastArticleBox()->setValue(6);
    m_trace = m_tmp.filePath(QStringLiteral("recordings/e2e.h5"));
    record->outputEdit()->setText(m_trace);
    QVERIFY(record->recordButton()->isEnabled());
    QSignalSpy updates(record, &RecordingPanel::traceUpdated);
    QSignalSpy finished(record, &RecordingPanel::recordingFinished);
    QTest::mouseClick(record->recordButton(), Qt::LeftButton);
    QVERIFY(record->isRecording());
    QVERIFY2(waitFor([&] { return !finished.isEmpty() || !record->isRecording(); }),
        qPrintable(record->statusText()));
    QVERIFY2(!finished.isEmpty(), qPrintable(m_window->messageBar()->text()));
    QVERIFY(QFile::exists(m_trace));
    // The first commit's trace reached the window while recording (one
    // language so far), then the finished one.
    QVERIFY(updates.size() >= 2);
    const auto firstTrace = updates.first().at(1).value<std::shared_ptr<const RoutingTrace>>();
    const auto lastTrace = updates.last().at(1).value<std::shared_ptr<const RoutingTrace>>();
    QVERIFY(firstTrace && lastTrace);
    auto routed = [](const RoutingTrace &t) {
        std::uint64_t n = 0;
        for (const auto &l : t.languages)
            for (const auto c : l.tokens)
                n += c;
        return n;
    };
    QVERIFY(routed(*firstTrace) > 0);
    QVERIFY(routed(*firstTrace) < routed(*lastTrace));
    QVERIFY2(record->statusText().startsWith(QLatin1String("Recorded 12 documents")),
        qPrintable(record->statusText()));

    // The recorded trace is now the window's study, and every view shows it.
    StudyJobTracker *study = m_window->jobs();
    QVERIFY(waitFor([&] {
        return study->current() && study->currentSource().path == m_trace && !study->isBusy();
    }));
    QCOMPARE(study->current()->languageCount(), 2);
    QCOMPARE(m_window->figures()->languageTableModel()->rowCount(), 2);
    QCOMPARE(study->current()->layerCount(), m_window->live()->jobs()->model()->info.numLayers);
    m_window->tabs()->setCurrentIndex(0);
    QVERIFY(m_window->currentFigure()->hasData());
    QVERIFY(m_window->windowTitle().contains(QLatin1String("e2e")));
}

void TestGuiEndToEnd::masksAndCompares()
{
    AblationPanel *ablation = m_window->live()->ablation();
    m_window->tabs()->setCurrentWidget(ablation);
    ablation->languageBox()->setCurrentIndex(
        ablation->languageBox()->findText(QStringLiteral("en")));
    ablation->kBox()->setValue(3);
    ablation->thresholdBox()->setValue(0.4);
    QVERIFY2(ablation->unavailableReason().isEmpty(), qPrintable(ablation->unavailableReason()));
    const auto plan = ablation->currentPlan();
    QVERIFY2(!plan.empty(), qPrintable(ablation->summaryText()));
    // The mask map shows exactly the plan's experts.
    PlanMapRenderer *map = ablation->planFigure();
    QVERIFY(map->hasData());
    const auto &first = plan.mask.front();
    QCOMPARE(map->cellKind(first.layers.first, first.experts.front()), 1);

    // Hand-picking: a click on an unmasked cell masks that expert too, a
    // second click takes it back.
    ablation->figureTabs()->setCurrentIndex(0);
    FigureView *view = ablation->planView();
    QVERIFY(QTest::qWaitForWindowExposed(view->window()));
    const int layer = first.layers.first;
    int expert = 0;
    while (map->cellKind(layer, expert) != 0)
        ++expert;
    const QPoint cell = map->cellRect(QRectF(view->rect()), layer, expert).center().toPoint();
    auto maskedCount = [](const routing::InterventionPlan &p) {
        std::size_t n = 0;
        for (const auto &e : p.mask)
            n += e.experts.size() * static_cast<std::size_t>(e.layers.last - e.layers.first + 1);
        return n;
    };
    QTest::mouseClick(view, Qt::LeftButton, {}, cell);
    QCOMPARE(ablation->pickCount(), 1);
    QCOMPARE(map->cellKind(layer, expert), 1);
    QCOMPARE(maskedCount(ablation->currentPlan()), maskedCount(plan) + 1);
    QTest::mouseClick(view, Qt::LeftButton, {}, cell);
    QCOMPARE(ablation->pickCount(), 0);
    QCOMPARE(map->cellKind(layer, expert), 0);
    QCOMPARE(maskedCount(ablation->currentPlan()), maskedCount(plan));

    ablation->maxTokensBox()->setValue(6);
    QSignalSpy updates(m_window->live()->jobs(), &LiveJobTracker::generationUpdated);
    ablation->promptEdit()->setPlainText(QStringLiteral("All human beings are born free"));
    QVERIFY(waitFor([&] {
        return !ablation->baselineText().isEmpty() && !ablation->intervenedText().isEmpty()
            && !m_window->live()->jobs()->isBusy();
    }));
    // "Use as Plan" applies the mask to the playground.
    QTest::mouseClick(ablation->usePlanButton(), Qt::LeftButton);
    QVERIFY(!m_window->live()->plan()->isEmpty());
    QCOMPARE(m_window->live()->plan()->plan().mask.size(), plan.mask.size());
}

void TestGuiEndToEnd::runsTheAblationGrid()
{
    AblationPanel *ablation = m_window->live()->ablation();
    QStringList languages = ablation->gridLanguagesEdit()->text().split(QLatin1Char(','));
    languages.sort();
    QCOMPARE(languages, (QStringList { QStringLiteral("de"), QStringLiteral("en") }));
    ablation->gridBlocksEdit()->setText(QStringLiteral("0-0,1-1"));
    ablation->evalSpecEdit()->setText(QStringLiteral("udhr:en,de?articles=25-25"));
    const QString out = m_tmp.filePath(QStringLiteral("ablation"));
    ablation->outputDirEdit()->setText(out);
    QSignalSpy done(ablation, &AblationPanel::gridFinished);
    QVERIFY(ablation->runGrid() != 0);
    QVERIFY(done.wait(kTimeoutMs));
    QCOMPARE(done.first().at(0).toString(), out);
    QVERIFY(QFile::exists(out + QStringLiteral("/results.json")));
    AblationGridRenderer *grid = ablation->gridFigure();
    QVERIFY(grid->hasData());
    QCOMPARE(grid->panelCount(), 2);
    QCOMPARE(ablation->figureTabs()->currentIndex(), 1);
    QVERIFY(grid->cellValue(0, 0, 0).has_value());
}

void TestGuiEndToEnd::steersAndEvaluates()
{
    SteeringPanel *steering = m_window->live()->steering();
    m_window->tabs()->setCurrentWidget(steering);
    QCOMPARE(steering->languageABox()->currentText(), QStringLiteral("en"));
    QCOMPARE(steering->languageBBox()->currentText(), QStringLiteral("de"));
    steering->kBox()->setValue(std::min(6, steering->kBox()->maximum()));
    steering->thresholdBox()->setValue(0.6);
    steering->firstLayerBox()->setValue(0);
    steering->lastLayerBox()->setValue(steering->lastLayerBox()->maximum());
    steering->lambdaBox()->setValue(0.5);
    QVERIFY2(steering->unavailableReason().isEmpty(), qPrintable(steering->unavailableReason()));
    QVERIFY(steering->planFigure()->hasData());
    steering->maxTokensBox()->setValue(4);
    steering->promptEdit()->setPlainText(QStringLiteral("Alle Menschen sind frei"));
    QVERIFY(waitFor([&] {
        return !steering->baselineText().isEmpty() && !steering->intervenedText().isEmpty()
            && !m_window->live()->jobs()->isBusy();
    }));

    steering->evalSpecEdit()->setText(QStringLiteral("udhr:en,de?articles=25-25"));
    const QString out = m_tmp.filePath(QStringLiteral("steering"));
    steering->outputDirEdit()->setText(out);
    QSignalSpy done(steering, &SteeringPanel::gridFinished);
    QVERIFY(steering->runGrid() != 0);
    QVERIFY(done.wait(kTimeoutMs));
    QVERIFY(steering->resultsFigure()->hasData());
    QCOMPARE(steering->lastResults()->results->primaryMetric, QStringLiteral("consistency"));
    QCOMPARE(steering->lastResults()->results->conditions().size(), 2);
}

void TestGuiEndToEnd::exportsEveryLiveFigure()
{
    struct Target
    {
        QWidget *tab;
        QTabWidget *figureTabs;
        int figureIndex;
    };
    AblationPanel *ablation = m_window->live()->ablation();
    SteeringPanel *steering = m_window->live()->steering();
    const QList<Target> targets { { ablation, ablation->figureTabs(), 0 },
        { ablation, ablation->figureTabs(), 1 }, { steering, steering->figureTabs(), 0 },
        { steering, steering->figureTabs(), 1 } };
    QStringList stems;
    for (const Target &t : targets) {
        m_window->tabs()->setCurrentWidget(t.tab);
        t.figureTabs->setCurrentIndex(t.figureIndex);
        FigureRenderer *figure = m_window->currentFigure();
        QVERIFY(figure && figure->hasData());
        QVERIFY(!figure->caption().isEmpty()); // provenance
        stems << figure->fileStem();
        for (const FigureFormat format :
            { FigureFormat::Svg, FigureFormat::Pdf, FigureFormat::Png }) {
            const QString path = m_tmp.filePath(
                QStringLiteral("live/%1.%2").arg(figure->fileStem(), figureFormatSuffix(format)));
            QDir().mkpath(QFileInfo(path).absolutePath());
            QVERIFY2(m_window->exportCurrentFigure(path, { format, 96, {} }), qPrintable(path));
            QVERIFY(QFileInfo(path).size() > 1000);
            if (format == FigureFormat::Png) {
                const QImage image(path);
                QCOMPARE(image.size(), figure->defaultSize().toSize());
            }
        }
    }
    QCOMPARE(QSet<QString>(stems.begin(), stems.end()).size(), 4);
    QVERIFY(stems.contains(QStringLiteral("ablation-mask")));
    QVERIFY(stems.contains(QStringLiteral("steering-set")));
}

void TestGuiEndToEnd::exportsPaperFigures()
{
    const QString dir = m_tmp.filePath(QStringLiteral("paper"));
    const QStringList written = m_window->exportPaperFigures(dir, { FigureFormat::Svg }, 96);
    QVERIFY2(!written.isEmpty(), qPrintable(m_window->messageBar()->text()));
    bool ablation = false, steering = false, usage = false;
    for (const QString &path : written) {
        QVERIFY2(QFileInfo(path).size() > 1000, qPrintable(path));
        const QString name = QFileInfo(path).fileName();
        ablation |= name.startsWith(QLatin1String("ablation-"));
        steering |= name.startsWith(QLatin1String("steering-"));
        usage |= name.startsWith(QLatin1String("expert-usage-"));
    }
    QVERIFY(ablation && steering && usage);
}

void TestGuiEndToEnd::savesAndReopensASession()
{
    AblationPanel *ablation = m_window->live()->ablation();
    ablation->kBox()->setValue(2);
    m_window->tabs()->setCurrentWidget(ablation);
    const QString path = m_tmp.filePath(QStringLiteral("e2e.session.json"));
    QVERIFY(m_window->saveSession(path));

    MainWindow reopened;
    reopened.resize(1200, 800);
    reopened.show();
    QSignalSpy loaded(reopened.live()->jobs(), &LiveJobTracker::modelLoaded);
    QVERIFY(reopened.openSession(path));
    QVERIFY(waitFor([&] {
        return reopened.jobs()->current() && reopened.live()->jobs()->hasModel()
            && reopened.tabs()->currentWidget() == reopened.live()->ablation();
    }));
    QCOMPARE(reopened.jobs()->currentSource().path, m_trace);
    QCOMPARE(
        reopened.live()->jobs()->model()->directory, m_window->live()->jobs()->model()->directory);
    QCOMPARE(reopened.live()->ablation()->kBox()->value(), 2);
    QCOMPARE(reopened.live()->ablation()->languageBox()->currentText(), QStringLiteral("en"));
    QCOMPARE(reopened.live()->ablation()->promptEdit()->toPlainText(),
        ablation->promptEdit()->toPlainText());
    QCOMPARE(
        reopened.live()->plan()->plan().mask.size(), m_window->live()->plan()->plan().mask.size());
    // The grid and the evaluation come back from their results folders.
    QVERIFY(reopened.live()->ablation()->gridFigure()->hasData());
    QCOMPARE(reopened.live()->ablation()->gridFigure()->panelCount(), 2);
    QVERIFY(reopened.live()->steering()->resultsFigure()->hasData());
    QCOMPARE(reopened.live()->steering()->lastResults()->outputDir,
        m_tmp.filePath(QStringLiteral("steering")));
    QVERIFY(reopened.live()->jobs()->waitForIdle(kTimeoutMs));
}

void TestGuiEndToEnd::badSessionIsOneLine()
{
    const QString path = m_tmp.filePath(QStringLiteral("bad.session.json"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("{\"format\": \"moescope-session\", \"version\": 1, \"plan\": 3}");
    file.close();
    QVERIFY(!m_window->openSession(path));
    const QString message = m_window->messageBar()->text();
    QVERIFY2(
        message.contains(path) && message.contains(QLatin1String("plan")), qPrintable(message));
    QVERIFY(!message.contains(QLatin1Char('\n')));
    QVERIFY(!m_window->openSession(m_tmp.filePath(QStringLiteral("missing.json"))));
    QVERIFY(m_window->messageBar()->text().contains(QLatin1String("missing.json")));
}

QTEST_MAIN(TestGuiEndToEnd)
#include "test_gui_end_to_end.moc"
