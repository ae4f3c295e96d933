// The live side of the main window on the tiny mixtral fixture: the model
// dock's facts, load errors in the message bar, the playground end to end
// (generate, stream, token routing grid, export), the jobs dock's Cancel,
// plans (open, apply, save, bad files) and share colouring from a study of
// the same shape.

#include "live_test_model.h"

#include "core/routing/intervention_plan.h"
#include "ui/figures/figure_export.h"
#include "ui/figures/token_routing_renderer.h"
#include "ui/live/live_job_tracker.h"
#include "ui/live/live_workbench.h"
#include "ui/live/plan_document.h"
#include "ui/live/session_file.h"
#include "ui/main_window.h"
#include "ui/models/job_list_model.h"
#include "ui/models/token_routing_model.h"
#include "ui/views/ablation_panel.h"
#include "ui/views/layer_range_slider.h"
#include "ui/views/jobs_panel.h"
#include "ui/views/message_bar.h"
#include "ui/views/model_panel.h"
#include "ui/views/playground_panel.h"
#include "ui/views/steering_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QMouseEvent>
#include <QFile>
#include <QJsonObject>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSet>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include <cmath>

using namespace moescope;
using namespace moescope::ui;

namespace {

constexpr int kTimeoutMs = 30000;

int distinctColors(const QImage &image)
{
    QSet<QRgb> colors;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2)
            colors.insert(image.pixel(x, y));
    return static_cast<int>(colors.size());
}

// A study with the tiny model's shape (3 layers x 8 experts, top-2) where
// "aa" uses experts 0-3 and "bb" experts 4-7 in every layer.
std::shared_ptr<const RoutingTrace> matchingStudy()
{
    return test::twoLanguageStudy("aa", "bb");
}

// matchingStudy() with the bundled UDHR's language codes, so that its
// grids can be evaluated on `udhr:en,de`.
std::shared_ptr<const RoutingTrace> udhrStudy()
{
    auto trace = std::make_shared<RoutingTrace>(*matchingStudy());
    trace->languages[0].label = "en";
    trace->languages[1].label = "de";
    return trace;
}

// The control Tab moves to from w (past w's own parts, such as a spin
// box's line edit).
QWidget *nextControl(QWidget *w)
{
    QWidget *next = w->nextInFocusChain();
    while (next != w && w->isAncestorOf(next))
        next = next->nextInFocusChain();
    return next;
}

} // namespace

class TestLivePanels : public QObject
{
    Q_OBJECT
public:
    static void initMain()
    {
        static QTemporaryDir config;
        qputenv("XDG_CONFIG_HOME", config.path().toLocal8Bit());
        QStandardPaths::setTestModeEnabled(true);
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
            qputenv("QT_QPA_PLATFORM", "offscreen");
    }

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void withoutModelAsksForOne();
    void badModelFolderShowsMessage();
    void modelDockShowsInfo();
    void playgroundGeneratesAndExports();
    void jobsDockCancels();
    void plansOpenApplyAndSave();
    void sharesColourTheGrid();
    void ablationComparesDebounced();
    void gridTakesWindowAndStride();
    void strideLongerThanWindowStartsNothing();

private:
    PlaygroundPanel *playground() const { return m_window->live()->playground(); }
    // Generates from prompt in the playground and waits for the final result.
    GenerationOutcomePtr generate(const QString &prompt, int maxNewTokens);

    std::unique_ptr<test::LiveTestModel> m_model;
    std::unique_ptr<MainWindow> m_window;
    QTemporaryDir m_tmp;
};

void TestLivePanels::initTestCase()
{
    m_model = std::make_unique<test::LiveTestModel>();
    QVERIFY(m_model->isValid());
    m_window = std::make_unique<MainWindow>();
    m_window->resize(1400, 900);
    m_window->show();
}

void TestLivePanels::cleanupTestCase()
{
    m_window.reset();
}

GenerationOutcomePtr TestLivePanels::generate(const QString &prompt, int maxNewTokens)
{
    QSignalSpy updates(m_window->live()->jobs(), &LiveJobTracker::generationUpdated);
    playground()->promptEdit()->setPlainText(prompt);
    playground()->maxTokensBox()->setValue(maxNewTokens);
    const quint64 tag = playground()->generate();
    if (!tag || !m_window->live()->jobs()->waitForIdle(kTimeoutMs))
        return nullptr;
    for (const auto &args : updates) {
        auto o = args.at(2).value<GenerationOutcomePtr>();
        if (args.at(0).toULongLong() == tag && o->complete)
            return o;
    }
    return nullptr;
}

void TestLivePanels::withoutModelAsksForOne()
{
    QVERIFY(m_window->live()->modelPanel()->statusText().contains(
        QLatin1String("Open a model folder")));
    QVERIFY(!playground()->generateButton()->isEnabled());
    QVERIFY(playground()->statusText().contains(QLatin1String("Open a model folder")));
    QVERIFY(!playground()->routingFigure()->hasData());
    // Generating anyway (e.g. by shortcut) says why not.
    QSignalSpy errors(playground(), &PlaygroundPanel::errorOccurred);
    QCOMPARE(playground()->generate(), quint64(0));
    QCOMPARE(errors.count(), 1);
    QVERIFY(m_window->messageBar()->isVisible());
    m_window->messageBar()->hide();
}

void TestLivePanels::badModelFolderShowsMessage()
{
    QTemporaryDir notAModel;
    QFile junk(notAModel.filePath(QStringLiteral("config.json")));
    QVERIFY(junk.open(QIODevice::WriteOnly));
    junk.write("{ this is not json");
    junk.close();
    QSignalSpy failed(m_window->live()->jobs(), &LiveJobTracker::modelFailed);
    m_window->openModel(notAModel.path());
    QVERIFY(failed.wait(kTimeoutMs));
    QVERIFY(m_window->messageBar()->isVisible());
    QVERIFY(m_window->messageBar()->isError());
    QVERIFY2(m_window->messageBar()->text().contains(notAModel.path()),
        qPrintable(m_window->messageBar()->text()));
    QVERIFY(m_window->live()->modelPanel()->statusText().contains(
        QLatin1String("Open a model folder")));
    QVERIFY(!playground()->generateButton()->isEnabled());
    m_window->messageBar()->hide();
}

void TestLivePanels::modelDockShowsInfo()
{
    QSignalSpy loaded(m_window->live()->jobs(), &LiveJobTracker::modelLoaded);
    m_window->openModel(m_model->path());
    QVERIFY(m_window->live()->modelPanel()->statusText().contains(QLatin1String("Loading")));
    QVERIFY(loaded.wait(kTimeoutMs));
    const ModelPanel *panel = m_window->live()->modelPanel();
    QCOMPARE(panel->fact(QStringLiteral("Family")), QStringLiteral("mixtral"));
    QCOMPARE(panel->fact(QStringLiteral("Layers")), QStringLiteral("3 (3 MoE)"));
    QCOMPARE(panel->fact(QStringLiteral("Experts")), QStringLiteral("8 routed, top-2"));
    QCOMPARE(panel->fact(QStringLiteral("Vocabulary")), QStringLiteral("512"));
    const auto facts = m_window->live()->jobs()->model();
    QCOMPARE(panel->fact(QStringLiteral("Parameters")),
        QStringLiteral("%1 total, %2 active per token")
            .arg(ModelPanel::formatCount(facts->info.totalParameters),
                ModelPanel::formatCount(facts->info.activeParameters)));
    QVERIFY(panel->fact(QStringLiteral("Weights")).contains(QLatin1String("1 file")));
    QVERIFY(playground()->generateButton()->isEnabled());
    QCOMPARE(ModelPanel::formatCount(46700000000ull), QStringLiteral("46.7 B"));
    QCOMPARE(ModelPanel::formatBytes(3ull << 20), QStringLiteral("3.0 MiB"));
}

void TestLivePanels::playgroundGeneratesAndExports()
{
    m_window->tabs()->setCurrentWidget(playground());
    const auto outcome = generate(QStringLiteral("Habari ya dunia"), 8);
    QVERIFY(outcome);
    QCOMPARE(outcome->generatedTokens(), 8);
    QCOMPARE(playground()->generatedText(), outcome->generatedText);
    QVERIFY(playground()->statusText().contains(QLatin1String("8 new tokens")));
    TokenRoutingModel *grid = playground()->routingModel();
    QCOMPARE(grid->columnCount(), static_cast<int>(outcome->tokens.size()));
    QCOMPARE(grid->rowCount(), 3);
    // The grid's values are the top-1 experts the worker found.
    for (int t = 0; t < grid->columnCount(); ++t)
        for (int l = 0; l < 3; ++l)
            QCOMPARE(grid->topExpert(l, t),
                outcome->tokens[static_cast<std::size_t>(t)]
                    .experts[static_cast<std::size_t>(l * 2)]);
    // Hover text names the token, layer, experts and weights.
    const QString tip = grid->toolTip(1, outcome->promptTokens);
    QVERIFY(tip.contains(QLatin1String("Generated")));
    QVERIFY(tip.contains(QLatin1String("layer 1")));
    QVERIFY(
        tip.contains(QStringLiteral("expert %1").arg(grid->topExpert(1, outcome->promptTokens))));
    QVERIFY(tip.contains(QLatin1String("weight")));
    QVERIFY(grid->toolTip(0, 0).contains(QLatin1String("Prompt")));

    // File → Export Figure on the playground tab exports the routing grid.
    QCOMPARE(m_window->currentFigure(), playground()->routingFigure());
    const QString png = m_tmp.filePath(QStringLiteral("token-routing.png"));
    const QString svg = m_tmp.filePath(QStringLiteral("token-routing.svg"));
    QVERIFY(m_window->exportCurrentFigure(png, { FigureFormat::Png, 96, {} }));
    QVERIFY(m_window->exportCurrentFigure(svg, { FigureFormat::Svg, 96, {} }));
    QImage image;
    QVERIFY(image.load(png));
    QCOMPARE(image.size(), playground()->routingFigure()->defaultSize().toSize());
    QVERIFY(distinctColors(image) > 8); // expert colours, text, axes
    QFile svgFile(svg);
    QVERIFY(svgFile.open(QIODevice::ReadOnly));
    QVERIFY(svgFile.readAll().contains("<svg"));

    // A UDHR sentence from the bundled corpus becomes the prompt.
    playground()->useUdhrSentence(QStringLiteral("sw"));
    QVERIFY(playground()->promptEdit()->toPlainText().startsWith(QLatin1String("Watu wote")));
}

void TestLivePanels::jobsDockCancels()
{
    LiveJobTracker *jobs = m_window->live()->jobs();
    QSignalSpy updates(jobs, &LiveJobTracker::generationUpdated);
    QSignalSpy cancelled(jobs, &LiveJobTracker::jobCancelled);
    playground()->promptEdit()->setPlainText(QStringLiteral("long"));
    playground()->maxTokensBox()->setValue(4096);
    playground()->applyPlanBox()->setChecked(false);
    // Stop at end of text off, so the job really runs long.
    playground()->stopAtEosBox()->setChecked(false);
    QVERIFY(playground()->generate() != 0);
    QVERIFY(updates.wait(kTimeoutMs));
    QCOMPARE(jobs->jobList()->rowCount(), 1);
    JobsPanel *panel = m_window->live()->jobsPanel();
    QVERIFY(panel->cancelButton(0));
    QTRY_VERIFY(panel->progressBar(0)->value() > 0);
    QVERIFY(playground()->stopButton()->isEnabled());
    QTest::mouseClick(panel->cancelButton(0), Qt::LeftButton);
    QVERIFY(cancelled.wait(2000));
    QCOMPARE(jobs->jobList()->rowCount(), 0);
    QVERIFY(!panel->cancelButton(0));
    QCOMPARE(playground()->statusText(), QStringLiteral("Stopped."));
    QVERIFY(!playground()->stopButton()->isEnabled());
    playground()->stopAtEosBox()->setChecked(true);
}

void TestLivePanels::plansOpenApplyAndSave()
{
    LiveWorkbench *live = m_window->live();
    const QString planPath = m_tmp.filePath(QStringLiteral("mask.json"));
    QFile file(planPath);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"({"mask": [{"layers": [0, 2], "experts": [0, 1, 2, 3]}]})");
    file.close();
    QVERIFY(live->openPlan(planPath));
    QCOMPARE(live->plan()->plan().mask.size(), std::size_t(1));
    QVERIFY(playground()->applyPlanBox()->isEnabled());
    QVERIFY(playground()->applyPlanBox()->text().contains(QLatin1String("mask 4 experts")));
    playground()->applyPlanBox()->setChecked(true);

    const auto outcome = generate(QStringLiteral("Hello"), 6);
    QVERIFY(outcome);
    QVERIFY(outcome->planApplied);
    for (const auto &t : outcome->tokens)
        for (int e : t.experts)
            QVERIFY2(e >= 4, "a masked expert was chosen");
    QVERIFY(playground()->routingFigure()->title().contains(QLatin1String("with plan")));

    const QString saved = m_tmp.filePath(QStringLiteral("saved.json"));
    QVERIFY(live->savePlan(saved));
    const auto reread = routing::loadPlan(saved.toStdString());
    QCOMPARE(reread.mask.size(), std::size_t(1));
    QCOMPARE(reread.mask[0].experts, (std::vector<int> { 0, 1, 2, 3 }));

    // A plan the model can't take (expert 99) is reported, not applied silently.
    const QString bad = m_tmp.filePath(QStringLiteral("bad.json"));
    QFile badFile(bad);
    QVERIFY(badFile.open(QIODevice::WriteOnly));
    badFile.write(R"({"mask": [{"layers": [0, 1], "experts": [99]}]})");
    badFile.close();
    QVERIFY(!live->openPlan(bad));
    QVERIFY(m_window->messageBar()->text().contains(QLatin1String("99")));
    m_window->messageBar()->hide();
    live->plan()->clear();
    QVERIFY(!playground()->applyPlanBox()->isEnabled());
}

void TestLivePanels::sharesColourTheGrid()
{
    const auto snapshot
        = analyzeStudy(matchingStudy(), AnalysisParams { 4, 0.4, Linkage::Average, std::nullopt },
            QStringLiteral("synthetic"), QStringLiteral("synthetic"));
    playground()->setSnapshot(snapshot);
    QVERIFY(generate(QStringLiteral("Hello"), 4));
    TokenRoutingModel *grid = playground()->routingModel();
    QVERIFY2(grid->sharesAvailable(), qPrintable(grid->sharesUnavailableReason()));
    QComboBox *colouring = playground()->colouringBox();
    QCOMPARE(colouring->count(), 3); // top-1 expert, share of aa, share of bb
    colouring->setCurrentIndex(colouring->findData(1));
    QCOMPARE(grid->colouring(), TokenRoutingModel::Colouring::LanguageShare);
    QCOMPARE(grid->languageLabel(), QStringLiteral("bb"));
    // bb owns experts 4-7 entirely.
    for (int t = 0; t < grid->columnCount(); ++t)
        for (int l = 0; l < 3; ++l) {
            const int e = grid->topExpert(l, t);
            QCOMPARE(grid->data(grid->index(l, t), ValueRole).toDouble(), e >= 4 ? 1.0 : 0.0);
        }
    QVERIFY(playground()->routingFigure()->title().contains(QLatin1String("share of bb")));

    // A study of another shape offers no shares.
    playground()->setSnapshot(nullptr);
    QCOMPARE(colouring->count(), 1);
    QCOMPARE(grid->colouring(), TokenRoutingModel::Colouring::TopExpert);
}

// The ablation panel masks a language's exclusive experts from the loaded
// study and re-runs baseline and ablated generations once the controls
// settle.
void TestLivePanels::ablationComparesDebounced()
{
    AblationPanel *panel = m_window->live()->ablation();
    LiveJobTracker *jobs = m_window->live()->jobs();
    panel->setSnapshot(nullptr);
    QVERIFY(panel->unavailableReason().contains(QLatin1String("study")));
    QVERIFY(panel->currentPlan().empty());

    const auto snapshot
        = analyzeStudy(matchingStudy(), AnalysisParams { 4, 0.4, Linkage::Average, std::nullopt },
            QStringLiteral("synthetic"), QStringLiteral("synthetic"));
    panel->setSnapshot(snapshot);
    QVERIFY2(panel->unavailableReason().isEmpty(), qPrintable(panel->unavailableReason()));
    panel->languageBox()->setCurrentIndex(panel->languageBox()->findText(QStringLiteral("aa")));
    panel->kBox()->setValue(4);
    panel->firstLayerBox()->setValue(1);
    panel->lastLayerBox()->setValue(2);
    // aa owns experts 0-3: masked in layers 1 and 2 only.
    const auto plan = panel->currentPlan();
    QCOMPARE(plan.mask.size(), std::size_t(2));
    QCOMPARE(plan.mask[0].layers.first, 1);
    QCOMPARE(plan.mask[1].layers.last, 2);
    QCOMPARE(plan.mask[0].experts, (std::vector<int> { 0, 1, 2, 3 }));
    QVERIFY(panel->summaryText().contains(QLatin1String("Masking 8")));
    // Tab goes through the controls as they read: the panel's own language
    // box first, then the shared top-k (made earlier, in the base class).
    QWidget *next = panel->languageBox()->nextInFocusChain();
    QVERIFY(next == panel->kBox() || next->parentWidget() == panel->kBox());

    // The range slider follows the spin boxes and drives them: dragging the
    // last handle from layer 2 to layer 1 narrows the mask to one layer, and
    // the first handle can't pass it.
    auto *slider = panel->findChild<LayerRangeSlider *>();
    QVERIFY(slider);
    slider->resize(240, 24); // its tab is not the current one here, so it has no layout size yet
    const QPoint lastHandle = slider->handleCentre(2).toPoint();
    QTest::mousePress(slider, Qt::LeftButton, {}, lastHandle);
    QMouseEvent drag(QEvent::MouseMove, slider->handleCentre(1), slider->mapToGlobal(slider->handleCentre(1)),
        Qt::NoButton, Qt::LeftButton, {});
    QApplication::sendEvent(slider, &drag);
    QTest::mouseRelease(slider, Qt::LeftButton, {}, slider->handleCentre(1).toPoint());
    QCOMPARE(panel->lastLayerBox()->value(), 1);
    QCOMPARE(panel->currentPlan().mask.size(), std::size_t(1));
    // A click moves the nearer handle there: far right the last, far left the first.
    const int top = panel->lastLayerBox()->maximum();
    QTest::mouseClick(slider, Qt::LeftButton, {}, slider->handleCentre(top).toPoint());
    QCOMPARE(panel->lastLayerBox()->value(), top);
    QCOMPARE(panel->firstLayerBox()->value(), 1);
    QTest::mouseClick(slider, Qt::LeftButton, {}, slider->handleCentre(0).toPoint());
    QCOMPARE(panel->firstLayerBox()->value(), 0);
    QCOMPARE(panel->lastLayerBox()->value(), top);
    panel->firstLayerBox()->setValue(1);
    panel->lastLayerBox()->setValue(2);
    QCOMPARE(panel->currentPlan().mask.size(), std::size_t(2));

    // Several quick edits make one pair of runs after the pause.
    QSignalSpy updates(jobs, &LiveJobTracker::generationUpdated);
    const quint64 before = jobs->latest(panel->intervenedChannel());
    panel->maxTokensBox()->setValue(6);
    panel->promptEdit()->setPlainText(QStringLiteral("Bonjour"));
    panel->thresholdBox()->setValue(0.45);
    QCOMPARE(jobs->latest(panel->intervenedChannel()), before); // nothing yet: debounced
    QTRY_VERIFY_WITH_TIMEOUT(jobs->latest(panel->intervenedChannel()) != before, 5000);
    const quint64 ablatedTag = jobs->latest(panel->intervenedChannel());
    QVERIFY(jobs->waitForIdle(kTimeoutMs));
    QCOMPARE(jobs->latest(panel->intervenedChannel()), ablatedTag); // one run, not three
    QVERIFY(!panel->baselineText().isEmpty());
    QVERIFY(!panel->intervenedText().isEmpty());

    // The ablated text is what the engine gives with that plan.
    GenerationOutcomePtr ablated;
    for (const auto &args : updates)
        if (args.at(0).toULongLong() == ablatedTag
            && args.at(2).value<GenerationOutcomePtr>()->complete)
            ablated = args.at(2).value<GenerationOutcomePtr>();
    QVERIFY(ablated);
    QVERIFY(ablated->planApplied);
    QCOMPARE(panel->intervenedText(), ablated->generatedText);
}

// The grid's perplexity window and stride go from the panel into the
// request, the run (core records them in results.json) and the CLI line
// that repeats it; they are kept in sessions and come in Tab order after the
// measure.
void TestLivePanels::gridTakesWindowAndStride()
{
    AblationPanel *panel = m_window->live()->ablation();
    LiveJobTracker *jobs = m_window->live()->jobs();
    QVERIFY(jobs->model());
    QCOMPARE(jobs->model()->contextLength, 256); // the fixture's max_position_embeddings
    panel->setSnapshot(
        analyzeStudy(udhrStudy(), AnalysisParams { 4, 0.4, Linkage::Average, std::nullopt },
            QStringLiteral("synthetic"), QStringLiteral("synthetic")),
        m_tmp.filePath(QStringLiteral("study.h5")));
    QVERIFY2(panel->unavailableReason().isEmpty(), qPrintable(panel->unavailableReason()));
    panel->kBox()->setValue(4);
    panel->thresholdBox()->setValue(0.4);
    panel->gridLanguagesEdit()->setText(QStringLiteral("en,de"));
    panel->gridBlocksEdit()->setText(QStringLiteral("0-2"));
    panel->evalSpecEdit()->setText(QStringLiteral("udhr:en,de?articles=25-26"));
    panel->taskBox()->setCurrentIndex(panel->taskBox()->findData(QString()));
    const QString out = m_tmp.filePath(QStringLiteral("ablation-window"));
    panel->outputDirEdit()->setText(out);

    // The defaults are the CLI's: no --max-length, no --stride.
    QCOMPARE(panel->windowBox()->value(), 0);
    QCOMPARE(panel->strideBox()->value(), 0);
    QCOMPARE(panel->gridRequest().evaluation.maxLength, std::size_t(0));
    QVERIFY(!panel->gridRequest().evaluation.stride);

    // Tab: corpus, measure, window, stride, results folder.
    QCOMPARE(nextControl(panel->evalSpecEdit()), static_cast<QWidget *>(panel->taskBox()));
    QCOMPARE(nextControl(panel->taskBox()), static_cast<QWidget *>(panel->windowBox()));
    QCOMPARE(nextControl(panel->windowBox()), static_cast<QWidget *>(panel->strideBox()));
    QCOMPARE(nextControl(panel->strideBox()), static_cast<QWidget *>(panel->outputDirEdit()));
    SteeringPanel *steering = m_window->live()->steering();
    QCOMPARE(nextControl(steering->taskBox()), static_cast<QWidget *>(steering->windowBox()));
    QCOMPARE(nextControl(steering->windowBox()), static_cast<QWidget *>(steering->strideBox()));
    QCOMPARE(nextControl(steering->strideBox()), static_cast<QWidget *>(steering->outputDirEdit()));
    QVERIFY(!steering->strideBox()->isEnabled()); // its default measure is language consistency

    // The stride is perplexity's alone: off for language consistency, where
    // the window box is the prompt limit and says so.
    auto windowLabel = [](QWidget *box) {
        for (auto *label : box->window()->findChildren<QLabel *>())
            if (label->buddy() == box)
                return label->text();
        return QString();
    };
    QVERIFY(panel->strideBox()->isEnabled()); // UDHR is text: perplexity
    QCOMPARE(windowLabel(panel->windowBox()), QStringLiteral("Perplexity &window:"));
    panel->strideBox()->setValue(16);
    panel->taskBox()->setCurrentIndex(panel->taskBox()->findData(QStringLiteral("consistency")));
    QVERIFY(!panel->strideBox()->isEnabled());
    QCOMPARE(windowLabel(panel->windowBox()), QStringLiteral("Prompt &limit:"));
    QVERIFY(!panel->gridRequest().evaluation.stride);
    panel->taskBox()->setCurrentIndex(panel->taskBox()->findData(QString()));
    QVERIFY(panel->strideBox()->isEnabled());
    QCOMPARE(windowLabel(panel->windowBox()), QStringLiteral("Perplexity &window:"));

    panel->windowBox()->setValue(64);
    const GridRequest request = panel->gridRequest();
    QCOMPARE(request.evaluation.maxLength, std::size_t(64));
    QCOMPARE(request.evaluation.stride, std::optional<std::size_t>(16));

    // Sessions keep them under their own names, next to the existing ones.
    const QJsonObject saved = captureControls(panel);
    QCOMPARE(saved.value(QStringLiteral("perplexityWindow")).toInt(), 64);
    QCOMPARE(saved.value(QStringLiteral("perplexityStride")).toInt(), 16);
    for (const char *key : { "k", "maxNewTokens", "gridCorpus", "gridTask", "gridBlocks" })
        QVERIFY2(saved.contains(QLatin1String(key)), key);
    panel->windowBox()->setValue(0);
    panel->strideBox()->setValue(0);
    restoreControls(panel, saved);
    QCOMPARE(panel->windowBox()->value(), 64);
    QCOMPARE(panel->strideBox()->value(), 16);

    QSignalSpy finished(panel, &InterventionPanel::gridFinished);
    QSignalSpy errors(panel, &InterventionPanel::errorOccurred);
    QVERIFY(panel->runGrid() != 0);
    QVERIFY(jobs->waitForIdle(kTimeoutMs));
    QVERIFY2(errors.isEmpty(), errors.isEmpty() ? "" : qPrintable(errors.first().at(0).toString()));
    QCOMPARE(finished.count(), 1);
    const GridOutcomePtr outcome = panel->lastResults();
    QVERIFY(outcome && outcome->results);
    // What the evaluation used, as core recorded it...
    const QJsonObject run = outcome->results->run;
    QCOMPARE(run.value(QStringLiteral("perplexity_window")).toInt(), 64);
    QCOMPARE(run.value(QStringLiteral("perplexity_stride")).toInt(), 16);
    // ...and the CLI line that repeats the run, which the record keeps.
    const QString command = outcome->command;
    QCOMPARE(run.value(QStringLiteral("command")).toString(), command);
    QVERIFY2(command.startsWith(QLatin1String("moescope ablate --model ")), qPrintable(command));
    for (const QString &part :
        { QStringLiteral(" --max-length 64 --stride 16 "),
            QStringLiteral(" --eval 'udhr:en,de?articles=25-26' "),
            QStringLiteral(" --languages en,de --blocks 0-2 --k 4 --threshold 0.4 "),
            QStringLiteral(" --trace ") + m_tmp.filePath(QStringLiteral("study.h5")),
            QStringLiteral(" --out ") + out })
        QVERIFY2(command.contains(part), qPrintable(command + QStringLiteral(" lacks ") + part));
    QVERIFY(!command.contains(QLatin1String("--task")));
}

// A stride longer than the window the evaluation would use is refused in
// the panel with core's reason, and no job starts.
void TestLivePanels::strideLongerThanWindowStartsNothing()
{
    AblationPanel *panel = m_window->live()->ablation();
    LiveJobTracker *jobs = m_window->live()->jobs();
    QVERIFY(panel->unavailableReason().isEmpty());
    QVERIFY(panel->strideBox()->isEnabled());
    const quint64 before = jobs->latest(panel->gridChannel());
    QSignalSpy started(jobs, &LiveJobTracker::busyChanged);
    QSignalSpy errors(panel, &InterventionPanel::errorOccurred);
    m_window->messageBar()->hide();

    // window, stride, and the window core would slide: an explicit one, the
    // model's context (0), or the context when longer than it.
    const struct
    {
        int window, stride, used;
    } cases[] = { { 64, 100, 64 }, { 0, 300, 256 }, { 1000, 300, 256 } };
    for (const auto &c : cases) {
        panel->windowBox()->setValue(c.window);
        panel->strideBox()->setValue(c.stride);
        errors.clear();
        QCOMPARE(panel->runGrid(), quint64(0));
        QCOMPARE(errors.count(), 1);
        const QString message = errors.first().at(0).toString();
        QVERIFY2(message.contains(QStringLiteral("--stride %1 is longer than the window of %2 tokens")
                                      .arg(c.stride)
                                      .arg(c.used)),
            qPrintable(message));
        QVERIFY(m_window->messageBar()->isVisible());
        QVERIFY(m_window->messageBar()->isError());
        QCOMPARE(m_window->messageBar()->text(), message);
        m_window->messageBar()->hide();
    }
    // A window of one token is no perplexity window either.
    panel->windowBox()->setValue(1);
    panel->strideBox()->setValue(0);
    errors.clear();
    QCOMPARE(panel->runGrid(), quint64(0));
    QCOMPARE(errors.count(), 1);
    QVERIFY2(errors.first().at(0).toString().contains(QLatin1String("--max-length must be at least 2")),
        qPrintable(errors.first().at(0).toString()));
    m_window->messageBar()->hide();

    QCOMPARE(jobs->latest(panel->gridChannel()), before);
    QCOMPARE(started.count(), 0);
    // A stride that fits runs.
    panel->outputDirEdit()->setText(m_tmp.filePath(QStringLiteral("ablation-stride")));
    panel->windowBox()->setValue(0);
    panel->strideBox()->setValue(256);
    QVERIFY(panel->runGrid() != 0);
    QVERIFY(jobs->waitForIdle(kTimeoutMs));
    QCOMPARE(panel->lastResults()->results->run.value(QStringLiteral("perplexity_stride")).toInt(),
        256);
    QCOMPARE(panel->lastResults()->results->run.value(QStringLiteral("perplexity_window")).toInt(),
        256);
}

QTEST_MAIN(TestLivePanels)
#include "test_live_panels.moc"
