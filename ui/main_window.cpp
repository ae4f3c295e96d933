#include "ui/main_window.h"

#include "resources/bundled_resources.h"
#include "ui/figures/dendrogram_renderer.h"
#include "ui/figures/expert_counts_renderer.h"
#include "ui/figures/figure_renderer.h"
#include "ui/figures/heatmap_renderer.h"
#include "ui/figures/layer_chart_renderer.h"
#include "ui/figures/similarity_renderer.h"
#include "ui/models/language_table_model.h"
#include "ui/figures/study_figures.h"
#include "ui/figures/token_routing_renderer.h"
#include "ui/jobs/study_job_tracker.h"
#include "ui/live/live_workbench.h"
#include "ui/figures/ablation_grid_renderer.h"
#include "ui/figures/paper_figures.h"
#include "ui/figures/plan_map_renderer.h"
#include "ui/figures/steering_results_renderer.h"
#include "ui/live/live_job_tracker.h"
#include "ui/live/plan_document.h"
#include "ui/live/session_file.h"
#include "ui/views/ablation_panel.h"
#include "ui/views/recording_panel.h"
#include "ui/views/steering_panel.h"
#include "ui/views/jobs_panel.h"
#include "ui/views/model_panel.h"
#include "ui/views/playground_panel.h"
#include "ui/views/analysis_params_bar.h"
#include "ui/views/figure_panel.h"
#include "ui/views/heatmap_panel.h"
#include "ui/views/message_bar.h"
#include "ui/views/similarity_panel.h"

#include "core/common/error.h"
#include "core/model/bundled_model.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QIcon>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <QJsonObject>

#include <algorithm>

namespace moescope::ui {

namespace {
constexpr auto kLastDirectoryKey = "paths/lastDirectory";
constexpr auto kGeometryKey = "mainWindow/geometry";
constexpr auto kStateKey = "mainWindow/state";
constexpr auto kSessionDirectoryKey = "paths/lastSessionDirectory";
} // namespace

struct MainWindow::PendingSession
{
    Session session;
    int waitingFor = 0; // model and study loads still to arrive
};

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent),
      m_jobs(new StudyJobTracker(this)),
      m_figures(new StudyFigures(this)),
      m_live(new LiveWorkbench(this)),
      m_tabs(new QTabWidget(this)),
      m_messageBar(new MessageBar(this)),
      m_params(new AnalysisParamsBar(this)),
      m_sourceLabel(new QLabel(this)),
      m_busyLabel(new QLabel(tr("Analysing…"), this)),
      m_busyBar(new QProgressBar(this))
{
    resources::registerBundledResources();
    setWindowTitle(QStringLiteral("MoEScope"));
    setWindowIcon(QIcon(QString::fromLatin1(resources::kAppIcon)));

    m_tabs->setDocumentMode(true);
    m_tabs->addTab(new HeatmapPanel(m_figures->usageFigure()), tr("Expert usage"));
    m_tabs->addTab(new HeatmapPanel(m_figures->differenceFigure()), tr("Language difference"));
    m_tabs->addTab(new SimilarityPanel(m_figures->similarityFigure()), tr("Similarity"));
    m_tabs->addTab(new FigurePanel(m_figures->dendrogramFigure()), tr("Clusters"));
    m_tabs->addTab(new FigurePanel(m_figures->similarityByLayerFigure()), tr("Similarity by layer"));
    m_tabs->addTab(new FigurePanel(m_figures->entropyByLayerFigure()), tr("Entropy by layer"));
    m_tabs->addTab(new FigurePanel(m_figures->expertCountsFigure()), tr("Exclusive && shared"));
    m_live->recording()->setPreviewFigure(m_figures->usageFigure());
    m_tabs->addTab(m_live->recording(), tr("Record"));
    m_tabs->addTab(m_live->playground(), tr("Playground"));
    m_tabs->addTab(m_live->ablation(), tr("Ablation"));
    m_tabs->addTab(m_live->steering(), tr("Steering"));

    auto *central = new QWidget(this);
    auto *layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_messageBar);
    layout->addWidget(m_tabs, 1);
    setCentralWidget(central);

    addToolBar(Qt::TopToolBarArea, m_params);
    connect(m_params, &AnalysisParamsBar::paramsChanged, m_jobs, &StudyJobTracker::requestParams);

    createActions();
    createDocks();
    createLiveDocks();

    m_busyBar->setRange(0, 0);
    m_busyBar->setMaximumWidth(120);
    m_busyLabel->hide();
    m_busyBar->hide();
    statusBar()->addWidget(m_sourceLabel, 1);
    statusBar()->addPermanentWidget(m_busyLabel);
    statusBar()->addPermanentWidget(m_busyBar);

    connect(m_jobs, &StudyJobTracker::snapshotReady, this,
            [this](quint64, StudySnapshotPtr snapshot) { onSnapshot(std::move(snapshot)); });
    connect(m_jobs, &StudyJobTracker::failed, this, [this](quint64, const QString &m) { onFailed(m); });
    connect(m_jobs, &StudyJobTracker::busyChanged, this, &MainWindow::onBusy);
    connect(m_live, &LiveWorkbench::errorOccurred, m_messageBar, &MessageBar::showError);
    // A recording's trace, as committed so far, becomes the window's study.
    connect(m_live->recording(), &RecordingPanel::traceUpdated, this,
            [this](const QString &path, std::shared_ptr<const RoutingTrace> trace) {
                m_jobs->requestTrace(StudySource::fromPath(path), std::move(trace));
            });
    connect(m_live->jobs(), &LiveJobTracker::modelLoaded, this, [this] { sessionPartArrived(); });
    connect(m_live->jobs(), &LiveJobTracker::modelFailed, this, [this] { sessionPartArrived(); });
    connect(m_live, &LiveWorkbench::statusMessage, this,
            [this](const QString &message) { statusBar()->showMessage(message, 5000); });

    resize(1440, 900);
    QSettings settings;
    restoreGeometry(settings.value(QLatin1String(kGeometryKey)).toByteArray());
    restoreState(settings.value(QLatin1String(kStateKey)).toByteArray());
}

MainWindow::~MainWindow() = default;

void MainWindow::createActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *open = file->addAction(tr("&Open Trace or JSON…"), this, &MainWindow::openFileDialog);
    open->setShortcut(QKeySequence::Open);
    QAction *openFolder = file->addAction(tr("Open Study JSON &Folder…"), this, &MainWindow::openFolderDialog);
    openFolder->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    file->addAction(tr("Open &Bundled Study"), this, &MainWindow::openBundled);
    file->addSeparator();
    file->addAction(m_live->openModelAction());
    file->addAction(m_live->openPlanAction());
    file->addAction(m_live->savePlanAction());
    file->addAction(m_live->clearPlanAction());
    file->addSeparator();
    file->addAction(tr("Open Sessio&n…"), this, &MainWindow::openSessionDialog);
    QAction *saveSessionAction = file->addAction(tr("Save Session &As…"), this, &MainWindow::saveSessionDialog);
    saveSessionAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    file->addSeparator();
    QAction *exportAction = file->addAction(tr("&Export Figure…"), this, &MainWindow::exportFigureDialog);
    exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    QAction *paper = file->addAction(tr("&Paper Figures…"), this, &MainWindow::paperFiguresDialog);
    paper->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    paper->setToolTip(tr("Export the study's whole figure set (and the last ablation grid and "
                         "steering evaluation) into a folder"));
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *view = m_viewMenu = menuBar()->addMenu(tr("&View"));
    for (int i = 0; i < m_tabs->count(); ++i) {
        QAction *a = view->addAction(m_tabs->tabText(i).replace(QLatin1String("&&"), QLatin1String("&")),
                                     this, [this, i] { m_tabs->setCurrentIndex(i); });
        // Alt+1 … Alt+9, then Alt+0 for the tenth tab.
        if (i < 9)
            a->setShortcut(QKeySequence(Qt::ALT | static_cast<Qt::Key>(Qt::Key_1 + i)));
        else if (i == 9)
            a->setShortcut(QKeySequence(Qt::ALT | Qt::Key_0));
    }
    view->addSeparator();
    view->addAction(m_params->toggleViewAction());

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About MoEScope"), this, &MainWindow::showAbout);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::createDocks()
{
    auto *dock = new QDockWidget(tr("Languages"), this);
    dock->setObjectName(QStringLiteral("languagesDock"));
    m_languages = new QTableView(dock);
    m_languages->setModel(m_figures->languageTableModel());
    m_languages->verticalHeader()->hide();
    m_languages->horizontalHeader()->setStretchLastSection(true);
    m_languages->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_languages->setAlternatingRowColors(true);
    m_languages->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_languages->setToolTip(tr("Tokens: prompt tokens routed per layer. Exclusive: experts exclusive to the "
                               "language over all layers, with the current k and threshold."));
    m_summary = new QLabel(dock);
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_summary->setContentsMargins(6, 6, 6, 6);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *panel = new QWidget(dock);
    auto *layout = new QVBoxLayout(panel);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_languages);
    layout->addWidget(m_summary, 1);
    dock->setWidget(panel);
    addDockWidget(Qt::LeftDockWidgetArea, dock);
    resizeDocks({dock}, {300}, Qt::Horizontal);
    m_viewMenu->addAction(dock->toggleViewAction());
}

void MainWindow::createLiveDocks()
{
    auto *modelDock = new QDockWidget(tr("Model"), this);
    modelDock->setObjectName(QStringLiteral("modelDock"));
    modelDock->setWidget(m_live->modelPanel());
    addDockWidget(Qt::RightDockWidgetArea, modelDock);
    auto *jobsDock = new QDockWidget(tr("Jobs"), this);
    jobsDock->setObjectName(QStringLiteral("jobsDock"));
    jobsDock->setWidget(m_live->jobsPanel());
    addDockWidget(Qt::RightDockWidgetArea, jobsDock);
    resizeDocks({modelDock}, {320}, Qt::Horizontal);
    resizeDocks({jobsDock}, {150}, Qt::Vertical);
    m_viewMenu->addAction(modelDock->toggleViewAction());
    m_viewMenu->addAction(jobsDock->toggleViewAction());
}

FigurePanel *MainWindow::currentPanel() const
{
    return qobject_cast<FigurePanel *>(m_tabs->currentWidget());
}

FigureRenderer *MainWindow::currentFigure() const
{
    if (FigurePanel *panel = currentPanel())
        return panel->figure();
    if (m_tabs->currentWidget() == m_live->playground())
        return m_live->playground()->routingFigure();
    if (m_tabs->currentWidget() == m_live->ablation()) {
        AblationPanel *a = m_live->ablation();
        return a->figureTabs()->currentIndex() == 1 ? static_cast<FigureRenderer *>(a->gridFigure())
                                                    : static_cast<FigureRenderer *>(a->planFigure());
    }
    if (m_tabs->currentWidget() == m_live->steering()) {
        SteeringPanel *st = m_live->steering();
        return st->figureTabs()->currentIndex() == 1 ? static_cast<FigureRenderer *>(st->resultsFigure())
                                                     : static_cast<FigureRenderer *>(st->planFigure());
    }
    return nullptr;
}

bool MainWindow::openDefaultModel()
{
    const auto dir = model::bundledModelDirectory();
    if (dir.empty())
        return false;
    openModel(QString::fromStdString(dir.string()));
    return true;
}

bool MainWindow::saveSession(const QString &path)
{
    Session s;
    if (const auto facts = m_live->jobs()->model())
        s.modelDirectory = facts->directory;
    s.studyPath = m_jobs->currentSource().path;
    if (!m_live->plan()->isEmpty())
        s.plan = m_live->plan()->plan();
    s.planPath = m_live->plan()->path();
    s.analysis = m_params->params();
    if (const auto grid = m_live->ablation()->lastResults())
        s.ablationResults = grid->outputDir;
    if (const auto steering = m_live->steering()->lastResults())
        s.steeringResults = steering->outputDir;
    s.tab = m_tabs->tabText(m_tabs->currentIndex()).remove(QLatin1Char('&'));
    s.controls.insert(QStringLiteral("record"), captureControls(m_live->recording()));
    s.controls.insert(QStringLiteral("playground"), captureControls(m_live->playground()));
    s.controls.insert(QStringLiteral("ablation"), captureControls(m_live->ablation()));
    s.controls.insert(QStringLiteral("steering"), captureControls(m_live->steering()));
    for (int i = 0; i < m_tabs->count(); ++i)
        if (auto *panel = qobject_cast<FigurePanel *>(m_tabs->widget(i)))
            s.controls.insert(QStringLiteral("view%1").arg(i), captureControls(panel));
    try {
        writeSession(s, path);
    } catch (const Error &e) {
        m_messageBar->showError(tr("Could not save the session: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    statusBar()->showMessage(tr("Saved session %1").arg(QDir::toNativeSeparators(path)), 5000);
    return true;
}

bool MainWindow::openSession(const QString &path)
{
    Session s;
    try {
        s = readSession(path);
    } catch (const Error &e) {
        m_messageBar->showError(tr("Could not open the session: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    auto pending = std::make_unique<PendingSession>();
    pending->session = s;
    pending->waitingFor = 1 + (s.modelDirectory.isEmpty() ? 0 : 1);
    m_pendingSession = std::move(pending);
    if (s.plan)
        m_live->plan()->setPlan(*s.plan);
    else
        m_live->plan()->clear();
    m_params->setParams(s.analysis);
    m_jobs->requestParams(s.analysis);
    if (!s.modelDirectory.isEmpty())
        openModel(s.modelDirectory);
    openSource(s.studyPath.isEmpty() ? StudySource::bundled() : StudySource::fromPath(s.studyPath));
    statusBar()->showMessage(tr("Opening session %1…").arg(QDir::toNativeSeparators(path)), 5000);
    return true;
}

void MainWindow::sessionPartArrived()
{
    if (!m_pendingSession || --m_pendingSession->waitingFor > 0)
        return;
    const Session s = std::move(m_pendingSession->session);
    m_pendingSession.reset();
    restoreControls(m_live->recording(), s.controls.value(QStringLiteral("record")).toObject());
    restoreControls(m_live->playground(), s.controls.value(QStringLiteral("playground")).toObject());
    restoreControls(m_live->ablation(), s.controls.value(QStringLiteral("ablation")).toObject());
    restoreControls(m_live->steering(), s.controls.value(QStringLiteral("steering")).toObject());
    for (int i = 0; i < m_tabs->count(); ++i)
        if (auto *panel = qobject_cast<FigurePanel *>(m_tabs->widget(i)))
            restoreControls(panel, s.controls.value(QStringLiteral("view%1").arg(i)).toObject());
    if (!s.ablationResults.isEmpty())
        m_live->ablation()->loadResults(s.ablationResults);
    if (!s.steeringResults.isEmpty())
        m_live->steering()->loadResults(s.steeringResults);
    for (int i = 0; i < m_tabs->count(); ++i)
        if (m_tabs->tabText(i).remove(QLatin1Char('&')) == s.tab)
            m_tabs->setCurrentIndex(i);
}

void MainWindow::saveSessionDialog()
{
    QSettings settings;
    QString path = QFileDialog::getSaveFileName(
        this, tr("Save session"),
        QDir(settings.value(QLatin1String(kSessionDirectoryKey), QDir::homePath()).toString())
            .filePath(QStringLiteral("session.moescope.json")),
        tr("MoEScope sessions (*.json)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QStringLiteral(".json");
    settings.setValue(QLatin1String(kSessionDirectoryKey), QFileInfo(path).absolutePath());
    saveSession(path);
}

void MainWindow::openSessionDialog()
{
    QSettings settings;
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open session"), settings.value(QLatin1String(kSessionDirectoryKey), QDir::homePath()).toString(),
        tr("MoEScope sessions (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    settings.setValue(QLatin1String(kSessionDirectoryKey), QFileInfo(path).absolutePath());
    openSession(path);
}

QStringList MainWindow::exportPaperFigures(const QString &dir, const QList<FigureFormat> &formats, int dpi)
{
    PaperFigureSet set;
    set.study = m_jobs->current();
    if (const auto grid = m_live->ablation()->lastResults())
        set.ablation = grid->results;
    if (const auto steering = m_live->steering()->lastResults())
        set.steering = steering->results;
    // The views' current languages, so the exported heatmaps match the screen.
    if (auto *usage = qobject_cast<HeatmapPanel *>(m_tabs->widget(0)))
        set.language = usage->languageBox()->currentText();
    if (auto *diff = qobject_cast<HeatmapPanel *>(m_tabs->widget(1)))
        set.compareLanguage = diff->compareBox()->currentText();
    FigureExportOptions options;
    options.dpi = dpi;
    try {
        const QStringList written = ui::exportPaperFigures(set, dir, formats, options);
        statusBar()->showMessage(
            tr("Exported %1 figures into %2").arg(written.size()).arg(QDir::toNativeSeparators(dir)), 8000);
        return written;
    } catch (const Error &e) {
        m_messageBar->showError(tr("Paper figures failed: %1").arg(QString::fromStdString(e.what())));
        return {};
    }
}

void MainWindow::paperFiguresDialog()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder for the paper figures"), lastDirectory());
    if (dir.isEmpty())
        return;
    rememberDirectory(dir);
    QStringList choices{tr("SVG and PDF (vector) and PNG"), tr("SVG"), tr("PDF"), tr("PNG")};
    bool ok = false;
    const QString choice = QInputDialog::getItem(this, tr("Paper figures"), tr("Formats:"), choices, 0, false, &ok);
    if (!ok)
        return;
    QList<FigureFormat> formats;
    if (choice == choices[0])
        formats = {FigureFormat::Svg, FigureFormat::Pdf, FigureFormat::Png};
    else
        formats = {parseFigureFormat(choice.toLower())};
    QSettings settings;
    exportPaperFigures(dir, formats, settings.value(QStringLiteral("export/dpi"), 150).toInt());
}

void MainWindow::openModel(const QString &directory)
{
    m_live->openModel(directory);
}

void MainWindow::openSource(const StudySource &source)
{
    m_sourceLabel->setText(tr("Loading %1…").arg(source.displayName()));
    m_jobs->requestLoad(source);
}

void MainWindow::openFileDialog()
{
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open routing trace"), lastDirectory(),
        tr("Routing data (*.h5 *.hdf5 *.json);;MoEScope traces (*.h5 *.hdf5);;Study JSON (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    rememberDirectory(QFileInfo(path).absolutePath());
    openSource(StudySource::fromPath(path));
}

void MainWindow::openFolderDialog()
{
    const QString path = QFileDialog::getExistingDirectory(this, tr("Open folder of study JSON files"),
                                                           lastDirectory());
    if (path.isEmpty())
        return;
    rememberDirectory(path);
    openSource(StudySource::fromPath(path));
}

void MainWindow::openBundled()
{
    openSource(StudySource::bundled());
}

bool MainWindow::exportCurrentFigure(const QString &path, const FigureExportOptions &options)
{
    FigureRenderer *figure = currentFigure();
    if (!figure || !figure->hasData()) {
        m_messageBar->showError(figure ? tr("Nothing to export yet: %1").arg(figure->emptyMessage())
                                       : tr("This tab has no figure to export."));
        return false;
    }
    try {
        exportFigure(*figure, path, options);
    } catch (const Error &e) {
        m_messageBar->showError(tr("Export failed: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    statusBar()->showMessage(tr("Exported %1").arg(QDir::toNativeSeparators(path)), 5000);
    return true;
}

void MainWindow::exportFigureDialog()
{
    FigureRenderer *figure = currentFigure();
    if (!figure)
        return;
    const QString svg = tr("SVG vector image (*.svg)"), pdf = tr("PDF document (*.pdf)"),
                  png = tr("PNG image (*.png)");
    QString filter = png;
    const QString suggested = QDir(lastDirectory()).filePath(figure->fileStem() + QStringLiteral(".png"));
    QString path = QFileDialog::getSaveFileName(this, tr("Export figure"), suggested,
                                                QStringList{png, svg, pdf}.join(QLatin1String(";;")), &filter);
    if (path.isEmpty())
        return;
    FigureExportOptions options;
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("svg") || suffix == QLatin1String("pdf") || suffix == QLatin1String("png"))
        options.format = parseFigureFormat(suffix);
    else
        options.format = filter == svg ? FigureFormat::Svg : (filter == pdf ? FigureFormat::Pdf : FigureFormat::Png);
    if (suffix.isEmpty())
        path += QLatin1Char('.') + figureFormatSuffix(options.format);
    if (options.format == FigureFormat::Png) {
        bool ok = false;
        QSettings settings;
        const int dpi = QInputDialog::getInt(this, tr("PNG resolution"), tr("Dots per inch:"),
                                             settings.value(QStringLiteral("export/dpi"), 150).toInt(), 24, 1200,
                                             25, &ok);
        if (!ok)
            return;
        settings.setValue(QStringLiteral("export/dpi"), dpi);
        options.dpi = dpi;
    }
    rememberDirectory(QFileInfo(path).absolutePath());
    exportCurrentFigure(path, options);
}

void MainWindow::showAbout()
{
    QMessageBox::about(
        this, tr("About MoEScope"),
        tr("<h3>MoEScope %1</h3>"
           "<p>A workbench for seeing how Mixture-of-Experts language models route tokens by "
           "language: expert usage per layer, routing similarity between languages, clusters, "
           "entropy, and exclusive and shared experts.</p>"
           "<p><b>Bundled data.</b> The study dataset shown at start-up is the expert routing "
           "counts of Qwen3-30B-A3B on MGSM (8 languages, 48 layers × 128 experts, top-8) from "
           "<i>Understanding Multilingualism in MoE LLMs: Routing Mechanism, Expert "
           "Specialization, and Layerwise Steering</i>, "
           "<a href=\"https://arxiv.org/abs/2601.14050\">arXiv 2601.14050</a>. The data is MIT "
           "licensed and taken unchanged from "
           "<a href=\"https://github.com/conctsai/Multilingualism-in-Mixture-of-Experts-LLMs\">"
           "github.com/conctsai/Multilingualism-in-Mixture-of-Experts-LLMs</a>.</p>")
            .arg(QStringLiteral(MOESCOPE_VERSION)));
}

void MainWindow::onSnapshot(StudySnapshotPtr snapshot)
{
    m_messageBar->hide();
    m_figures->setSnapshot(snapshot);
    m_live->setSnapshot(snapshot, m_jobs->currentSource().path);
    sessionPartArrived();
    m_params->setExpertCount(snapshot->expertCount());
    m_params->setParams(snapshot->analysis.params);
    m_languages->resizeColumnsToContents();
    // Tall enough for every language (up to a point), the rest for the summary.
    const int rows = m_figures->languageTableModel()->rowCount();
    m_languages->setFixedHeight(std::min(480, m_languages->horizontalHeader()->sizeHint().height()
                                                  + rows * m_languages->verticalHeader()->defaultSectionSize()
                                                  + 2 * m_languages->frameWidth() + 2));
    const auto &model = snapshot->trace->model;
    m_sourceLabel->setText(tr("%1  —  model %2 (%3 layers × %4 experts, top-%5), %6 languages")
                               .arg(snapshot->sourceDetail, QString::fromStdString(model.modelId))
                               .arg(model.numLayers)
                               .arg(model.numExperts)
                               .arg(model.topK)
                               .arg(snapshot->languageCount()));
    m_sourceLabel->setToolTip(snapshot->sourceDetail);
    const auto &first = snapshot->trace->languages.front();
    m_summary->setText(tr("<b>Model</b> %1 (%2)<br>%3 layers (%4 MoE) × %5 experts, top-%6"
                          "<br><br><b>Data</b> %7<br>tokens: %8%9")
                           .arg(QString::fromStdString(model.modelId).toHtmlEscaped(),
                                QString::fromStdString(model.modelType).toHtmlEscaped())
                           .arg(model.numLayers)
                           .arg(model.moeLayers.size())
                           .arg(model.numExperts)
                           .arg(model.topK)
                           .arg(snapshot->sourceDetail.toHtmlEscaped(),
                                QString::fromStdString(first.tokenScope).toHtmlEscaped(),
                                first.templateName.empty()
                                    ? QString()
                                    : tr(", template %1").arg(QString::fromStdString(first.templateName).toHtmlEscaped())));
    setWindowTitle(tr("MoEScope — %1").arg(snapshot->sourceName));
}

void MainWindow::onFailed(const QString &message)
{
    sessionPartArrived();
    m_messageBar->showError(tr("Could not open: %1").arg(message));
    const auto current = m_jobs->current();
    m_sourceLabel->setText(current ? current->sourceDetail : tr("No study loaded"));
}

void MainWindow::onBusy(bool busy)
{
    m_busyLabel->setVisible(busy);
    m_busyBar->setVisible(busy);
}

QString MainWindow::lastDirectory() const
{
    return QSettings().value(QLatin1String(kLastDirectoryKey), QDir::homePath()).toString();
}

void MainWindow::rememberDirectory(const QString &path)
{
    QSettings().setValue(QLatin1String(kLastDirectoryKey), path);
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    QSettings settings;
    settings.setValue(QLatin1String(kGeometryKey), saveGeometry());
    settings.setValue(QLatin1String(kStateKey), saveState());
    event->accept();
}

} // namespace moescope::ui
