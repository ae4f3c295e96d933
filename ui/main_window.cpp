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
#include "ui/views/ablation_panel.h"
#include "ui/views/jobs_panel.h"
#include "ui/views/model_panel.h"
#include "ui/views/playground_panel.h"
#include "ui/views/analysis_params_bar.h"
#include "ui/views/figure_panel.h"
#include "ui/views/heatmap_panel.h"
#include "ui/views/message_bar.h"
#include "ui/views/similarity_panel.h"

#include "core/common/error.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
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

#include <algorithm>

namespace moescope::ui {

namespace {
constexpr auto kLastDirectoryKey = "paths/lastDirectory";
constexpr auto kGeometryKey = "mainWindow/geometry";
constexpr auto kStateKey = "mainWindow/state";
} // namespace

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
    m_tabs->addTab(m_live->playground(), tr("Playground"));
    m_tabs->addTab(m_live->ablation(), tr("Ablation"));

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
    QAction *exportAction = file->addAction(tr("&Export Figure…"), this, &MainWindow::exportFigureDialog);
    exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu *view = m_viewMenu = menuBar()->addMenu(tr("&View"));
    for (int i = 0; i < m_tabs->count(); ++i) {
        QAction *a = view->addAction(m_tabs->tabText(i).replace(QLatin1String("&&"), QLatin1String("&")),
                                     this, [this, i] { m_tabs->setCurrentIndex(i); });
        a->setShortcut(QKeySequence(Qt::ALT | static_cast<Qt::Key>(Qt::Key_1 + i)));
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
    return nullptr;
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
    m_live->setSnapshot(snapshot);
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
