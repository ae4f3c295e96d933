// The GUI on the bundled study: models against core/analysis, views,
// exports, errors, and the headless `moescope figures` command.

#include "core/analysis/routing_analysis.h"
#include "core/trace/routing_trace.h"
#include "ui/figures/dendrogram_renderer.h"
#include "ui/figures/expert_counts_renderer.h"
#include "ui/figures/layer_chart_renderer.h"
#include "ui/figures/similarity_renderer.h"
#include "ui/figures/figure_export.h"
#include "ui/figures/figure_renderer.h"
#include "ui/figures/heatmap_renderer.h"
#include "ui/figures/study_figures.h"
#include "ui/jobs/study_job_tracker.h"
#include "ui/live/live_workbench.h"
#include "ui/main_window.h"
#include "ui/models/dendrogram_model.h"
#include "ui/models/expert_counts_model.h"
#include "ui/models/heatmap_model.h"
#include "ui/models/language_table_model.h"
#include "ui/models/layer_series_model.h"
#include "ui/models/model_roles.h"
#include "ui/models/similarity_model.h"
#include "ui/study/study_source.h"
#include "ui/views/analysis_params_bar.h"
#include "ui/views/figure_panel.h"
#include "ui/views/figure_view.h"
#include "ui/views/heatmap_panel.h"
#include "ui/views/message_bar.h"
#include "ui/views/playground_panel.h"
#include "ui/views/similarity_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QSvgRenderer>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QtTest>

#include <cmath>
#include <memory>

using namespace moescope;
using namespace moescope::ui;

namespace {

constexpr int kTimeoutMs = 60000;

// Distinct colours in a (downscaled) image: a blank or single-colour export
// has one or two.
int distinctColors(const QImage &image)
{
    const QImage small = image.scaled(200, 120, Qt::IgnoreAspectRatio, Qt::FastTransformation);
    QSet<QRgb> colors;
    for (int y = 0; y < small.height(); ++y)
        for (int x = 0; x < small.width(); ++x)
            colors.insert(small.pixel(x, y));
    return static_cast<int>(colors.size());
}

void checkSvg(const QString &path)
{
    QFile file(path);
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(path));
    const QByteArray bytes = file.readAll();
    QVERIFY(bytes.size() > 1000);
    QXmlStreamReader xml(bytes);
    bool sawSvg = false;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement() && xml.name() == QLatin1String("svg"))
            sawSvg = true;
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QVERIFY(sawSvg);
    QSvgRenderer renderer(path);
    QVERIFY(renderer.isValid());
}

void checkPdf(const QString &path)
{
    QFile file(path);
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(path));
    const QByteArray bytes = file.readAll();
    QVERIFY(bytes.size() > 1000);
    QVERIFY(bytes.startsWith("%PDF"));
    QVERIFY(bytes.trimmed().endsWith("%%EOF"));
}

void checkPng(const QString &path, const QSizeF &logicalSize, int dpi)
{
    QImage image;
    QVERIFY2(image.load(path, "PNG"), qPrintable(path));
    // 1 logical unit = 1/96 inch.
    QCOMPARE(image.width(), static_cast<int>(std::lround(logicalSize.width() * dpi / 96.0)));
    QCOMPARE(image.height(), static_cast<int>(std::lround(logicalSize.height() * dpi / 96.0)));
    QCOMPARE(std::lround(image.dotsPerMeterX() * 0.0254), static_cast<long>(dpi));
    QVERIFY2(distinctColors(image) > 20, qPrintable(path));
}

// The study's JSON, read here with Qt rather than through core's importer.
QJsonObject studyJson(const QString &lang)
{
    QFile file(QStringLiteral(MOESCOPE_SOURCE_DIR "/resources/data/qwen3-30b-a3b-mgsm/mgsm_%1.json").arg(lang));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(file.readAll()).object();
}

struct CliResult
{
    int exitCode = -1;
    QByteArray out, err;
};

CliResult runCli(const QStringList &args, bool withoutDisplay)
{
    QProcess process;
    if (withoutDisplay) {
        auto env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("DISPLAY"));
        env.remove(QStringLiteral("WAYLAND_DISPLAY"));
        env.remove(QStringLiteral("QT_QPA_PLATFORM"));
        process.setProcessEnvironment(env);
    }
    process.start(QStringLiteral(MOESCOPE_BINARY), args);
    process.waitForFinished(120000);
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
            process.readAllStandardOutput(), process.readAllStandardError()};
}

} // namespace

class TestGui : public QObject
{
    Q_OBJECT
public:
    static void initMain()
    {
        // Keep the test's QSettings away from the user's.
        static QTemporaryDir config;
        qputenv("XDG_CONFIG_HOME", config.path().toLocal8Bit());
        QStandardPaths::setTestModeEnabled(true);
        // Same platform as `moescope figures`, so that the GUI's exports and
        // the CLI's can be compared pixel for pixel.
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
            qputenv("QT_QPA_PLATFORM", "offscreen");
    }

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void modelsMatchCore();
    void modelsMatchStudyFiles();
    void parametersRerunAnalysis();
    void staleResultsAreDropped();
    void everyViewShowsItsFigure();
    void controlsDriveModels();
    void tooltipsGiveExactValues();
    void exportsEveryFigureInEveryFormat();
    void exportIsIdenticalToCli();
    void badFileShowsErrorAndKeepsStudy();
    void figuresCommandRunsHeadless();
    void figuresCommandRejectsBadInput();

private:
    void waitForSnapshot(QSignalSpy &spy);

    std::unique_ptr<MainWindow> m_window;
    std::shared_ptr<const RoutingTrace> m_trace; // loaded independently of the window
    AnalysisResult m_expected;                   // core analysis with default parameters
    QTemporaryDir m_tmp;
};

void TestGui::waitForSnapshot(QSignalSpy &spy)
{
    QVERIFY(spy.count() > 0 || spy.wait(kTimeoutMs));
    m_window->jobs()->waitForIdle();
}

void TestGui::initTestCase()
{
    QVERIFY(m_tmp.isValid());
    m_trace = loadBundledStudy();
    m_expected = analyzeTrace(*m_trace, AnalysisParams{});

    m_window = std::make_unique<MainWindow>();
    m_window->resize(1400, 900);
    m_window->show();
    QSignalSpy ready(m_window->jobs(), &StudyJobTracker::snapshotReady);
    QSignalSpy reset(m_window->figures()->usageModel(), &QAbstractItemModel::modelReset);
    m_window->openSource(StudySource::bundled());
    waitForSnapshot(ready);
    QCOMPARE(ready.count(), 1);
    QVERIFY(reset.count() >= 1);
    QVERIFY(m_window->jobs()->current());
    QVERIFY(m_window->windowTitle().contains(QLatin1String("Qwen3-30B-A3B")));
}

void TestGui::cleanupTestCase()
{
    m_window.reset();
}

void TestGui::modelsMatchCore()
{
    StudyFigures *f = m_window->figures();
    const auto &model = m_trace->model;
    QCOMPARE(model.numLayers, 48);
    QCOMPARE(model.numExperts, 128);
    const int n = static_cast<int>(m_trace->languages.size());
    QCOMPARE(n, 8);

    // Usage heatmap: en by default, f = counts / tokens from core.
    HeatmapModel *usage = f->usageModel();
    QCOMPARE(usage->rowCount(), 48);
    QCOMPARE(usage->columnCount(), 128);
    const int en = f->snapshot()->languageIndex(QStringLiteral("en"));
    QVERIFY(en >= 0);
    QCOMPARE(usage->language(), en);
    const auto freq = activationFrequency(m_trace->languages[static_cast<std::size_t>(en)], model);
    for (auto [layer, expert] : {std::pair{0, 0}, std::pair{7, 93}, std::pair{47, 127}, std::pair{23, 64}}) {
        const QModelIndex idx = usage->index(layer, expert);
        QCOMPARE(usage->data(idx, ValueRole).toDouble(), freq[static_cast<std::size_t>(layer * 128 + expert)]);
        QCOMPARE(usage->data(idx, CountRole).toULongLong(),
                 static_cast<qulonglong>(m_trace->languages[static_cast<std::size_t>(en)].count(layer, expert, 128)));
    }
    // Each token picks top-8 experts, so f sums to ~8 per layer (the study's
    // README measures 7.998–8.002).
    for (int layer : {0, 20, 47}) {
        double sum = 0;
        for (int e = 0; e < 128; ++e)
            sum += usage->data(usage->index(layer, e), ValueRole).toDouble();
        QVERIFY2(std::abs(sum - 8.0) < 0.01, qPrintable(QString::number(sum)));
    }
    QCOMPARE(usage->valueRange().min, 0.0);
    QCOMPARE(usage->valueRange().max, *std::max_element(freq.begin(), freq.end()));

    usage->setMeasure(HeatmapModel::Measure::Share);
    QCOMPARE(usage->data(usage->index(10, 5), ValueRole).toDouble(),
             m_expected.experts.share[static_cast<std::size_t>(en)][10 * 128 + 5]);
    usage->setMeasure(HeatmapModel::Measure::Frequency);

    // Difference: en − zh, symmetric colour range.
    HeatmapModel *diff = f->differenceModel();
    const int zh = f->snapshot()->languageIndex(QStringLiteral("zh"));
    QCOMPARE(diff->language(), en);
    QCOMPARE(diff->compareLanguage(), zh);
    const auto freqZh = activationFrequency(m_trace->languages[static_cast<std::size_t>(zh)], model);
    QCOMPARE(diff->data(diff->index(30, 40), ValueRole).toDouble(),
             freq[30 * 128 + 40] - freqZh[30 * 128 + 40]);
    QCOMPARE(diff->valueRange().min, -diff->valueRange().max);

    // Similarity: mean matrix and one layer.
    SimilarityModel *sim = f->similarityModel();
    QCOMPARE(sim->rowCount(), n);
    QCOMPARE(sim->columnCount(), n);
    for (int a = 0; a < n; ++a) {
        QVERIFY(std::abs(sim->value(a, a) - 1.0) < 1e-9);
        for (int b = 0; b < n; ++b) {
            QCOMPARE(sim->value(a, b), m_expected.similarity.mean[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)]);
            QCOMPARE(sim->value(a, b), sim->value(b, a));
        }
    }
    sim->setLayer(12);
    QCOMPARE(sim->value(1, 3), m_expected.similarity.perLayer[12][1][3]);
    sim->setLayer(SimilarityModel::kMeanOverLayers);

    // Dendrogram: n − 1 merges at core's heights, leaves in core's order.
    DendrogramModel *dendro = f->dendrogramModel();
    QCOMPARE(dendro->rowCount(), n - 1);
    QCOMPARE(dendro->leafCount(), n);
    for (int i = 0; i < n - 1; ++i)
        QCOMPARE(dendro->merge(i).height, m_expected.dendrogram.merges[static_cast<std::size_t>(i)].height);
    for (int pos = 0; pos < n; ++pos)
        QCOMPARE(dendro->leafLabel(pos).toStdString(),
                 m_expected.dendrogram.labels[static_cast<std::size_t>(m_expected.dendrogram.leafOrder[static_cast<std::size_t>(pos)])]);
    // Merge heights never decrease for these linkages, so the last merge
    // (everything) is the highest node.
    QCOMPARE(dendro->maxHeight(), m_expected.dendrogram.merges.back().height);

    // Per-layer series.
    LayerSeriesModel *simLayers = f->similarityByLayerModel();
    QCOMPARE(simLayers->rowCount(), 48);
    QCOMPARE(simLayers->columnCount(), n + 1);
    QCOMPARE(simLayers->value(5, 0), m_expected.similarity.meanPairwisePerLayer[5]);
    double enToOthers = 0;
    for (int b = 0; b < n; ++b)
        if (b != en)
            enToOthers += m_expected.similarity.perLayer[9][static_cast<std::size_t>(en)][static_cast<std::size_t>(b)];
    QVERIFY(std::abs(simLayers->value(9, en + 1) - enToOthers / (n - 1)) < 1e-12);
    LayerSeriesModel *entropy = f->entropyByLayerModel();
    QCOMPARE(entropy->rowCount(), 48);
    QCOMPARE(entropy->columnCount(), n);
    QCOMPARE(entropy->value(17, 3), m_expected.entropy[3][17]);
    // Entropy of a distribution over 128 experts is at most 7 bits.
    QVERIFY(entropy->valueRange().max <= 7.0 + 1e-9);

    // Exclusive and shared counts.
    ExpertCountsModel *counts = f->expertCountsModel();
    QCOMPARE(counts->rowCount(), 48);
    QCOMPARE(counts->columnCount(), n + 1);
    for (int layer : {0, 24, 47}) {
        for (int l = 0; l < n; ++l)
            QCOMPARE(counts->exclusive(layer, l), m_expected.experts.exclusivePerLayer[static_cast<std::size_t>(l)][static_cast<std::size_t>(layer)]);
        QCOMPARE(counts->shared(layer), m_expected.experts.sharedPerLayer[static_cast<std::size_t>(layer)]);
    }
    QCOMPARE(f->languageTableModel()->rowCount(), n);
}

void TestGui::modelsMatchStudyFiles()
{
    // Independent of core's importer: counts and tokens straight from JSON.
    const QJsonObject zhJson = studyJson(QStringLiteral("zh"));
    QVERIFY(!zhJson.isEmpty());
    HeatmapModel *usage = m_window->figures()->usageModel();
    const int zh = m_window->figures()->snapshot()->languageIndex(QStringLiteral("zh"));
    usage->setLanguage(zh);
    const QJsonObject layer11 = zhJson.value(QStringLiteral("11")).toObject();
    const double total = layer11.value(QStringLiteral("total_tokens")).toDouble();
    QCOMPARE(total, 19413.0); // the study README's token count for zh
    for (int expert : {0, 42, 127}) {
        const double count = layer11.value(QString::number(expert)).toObject().value(QStringLiteral("activation_tokens")).toDouble();
        QCOMPARE(usage->data(usage->index(11, expert), CountRole).toULongLong(), static_cast<qulonglong>(count));
        QVERIFY(std::abs(usage->data(usage->index(11, expert), ValueRole).toDouble() - count / total) < 1e-12);
    }
    const auto *table = m_window->figures()->languageTableModel();
    QCOMPARE(table->data(table->index(zh, LanguageTableModel::TokensColumn)).toULongLong(), 19413ULL);
    usage->setLanguage(m_window->figures()->snapshot()->languageIndex(QStringLiteral("en")));
}

void TestGui::parametersRerunAnalysis()
{
    AnalysisParamsBar *bar = m_window->paramsBar();
    QSignalSpy ready(m_window->jobs(), &StudyJobTracker::snapshotReady);
    QSignalSpy countsReset(m_window->figures()->expertCountsModel(), &QAbstractItemModel::modelReset);
    bar->kBox()->setValue(20);
    bar->thresholdBox()->setValue(0.5);
    waitForSnapshot(ready);
    QCOMPARE(ready.count(), 1); // debounced: one analysis for two edits
    QVERIFY(countsReset.count() >= 1);
    const auto snap = m_window->jobs()->current();
    QCOMPARE(snap->analysis.params.k, 20);
    QCOMPARE(snap->analysis.params.threshold, 0.5);
    // The trace is reused, not re-read.
    QCOMPARE(snap->trace.get(), m_window->figures()->snapshot()->trace.get());

    const auto expected = expertSpecialisation(*m_trace, 20, 0.5);
    ExpertCountsModel *counts = m_window->figures()->expertCountsModel();
    for (int layer = 0; layer < 48; ++layer)
        QCOMPARE(counts->shared(layer), expected.sharedPerLayer[static_cast<std::size_t>(layer)]);
    QVERIFY(m_window->figures()->expertCountsFigure()->caption().contains(QLatin1String("k = 20")));

    // Linkage changes the dendrogram only.
    bar->linkageBox()->setCurrentIndex(bar->linkageBox()->findText(QStringLiteral("complete")));
    ready.clear();
    waitForSnapshot(ready);
    const auto complete = clusterLanguages(m_expected.languages, [&] {
        auto d = m_expected.similarity.mean;
        for (auto &row : d)
            for (auto &v : row)
                v = 1.0 - v;
        for (std::size_t i = 0; i < d.size(); ++i)
            d[i][i] = 0.0;
        return d;
    }(), Linkage::Complete);
    QCOMPARE(m_window->figures()->dendrogramModel()->merge(0).height, complete.merges[0].height);
    QCOMPARE(m_window->figures()->dendrogramModel()->linkageLabel(), QStringLiteral("complete"));

    // Back to the defaults for the following tests.
    ready.clear();
    bar->setParams(AnalysisParams{});
    m_window->jobs()->requestParams(AnalysisParams{});
    waitForSnapshot(ready);
    QCOMPARE(m_window->jobs()->current()->analysis.params.k, 15);
}

void TestGui::staleResultsAreDropped()
{
    StudyJobTracker *jobs = m_window->jobs();
    QSignalSpy ready(jobs, &StudyJobTracker::snapshotReady);
    AnalysisParams a, b;
    a.k = 5;
    b.k = 30;
    const quint64 tagA = jobs->requestParams(a);
    const quint64 tagB = jobs->requestParams(b);
    QVERIFY(tagB > tagA);
    QVERIFY(jobs->isBusy());
    waitForSnapshot(ready);
    jobs->waitForIdle();
    // Results arrive through the event loop, after both requests were made:
    // the first is superseded and never delivered.
    QCOMPARE(ready.count(), 1);
    QCOMPARE(ready.at(0).at(0).toULongLong(), tagB);
    QCOMPARE(jobs->current()->analysis.params.k, 30);
    QVERIFY(!jobs->isBusy());
    ready.clear();
    jobs->requestParams(AnalysisParams{});
    waitForSnapshot(ready);
}

void TestGui::everyViewShowsItsFigure()
{
    QTabWidget *tabs = m_window->tabs();
    // One tab per study figure, then record, playground, ablation and steering.
    const int studyTabs = static_cast<int>(m_window->figures()->figures().size());
    QCOMPARE(tabs->count(), studyTabs + 4);
    for (int i = 0; i < studyTabs; ++i) {
        tabs->setCurrentIndex(i);
        QCoreApplication::processEvents();
        FigurePanel *panel = m_window->currentPanel();
        QVERIFY(panel);
        QCOMPARE(panel->figure(), m_window->figures()->figures().at(i));
        QVERIFY(panel->figure()->hasData());
        QVERIFY(panel->view()->isVisible());
        QVERIFY(panel->view()->width() > 400);
        const QImage shot = panel->view()->grab().toImage();
        QVERIFY2(distinctColors(shot) > 20, qPrintable(tabs->tabText(i)));
    }
    tabs->setCurrentIndex(0);
}

void TestGui::controlsDriveModels()
{
    QTabWidget *tabs = m_window->tabs();
    auto *usagePanel = qobject_cast<HeatmapPanel *>(tabs->widget(0));
    QVERIFY(usagePanel);
    QCOMPARE(usagePanel->languageBox()->count(), 8);
    HeatmapModel *usage = m_window->figures()->usageModel();
    QSignalSpy reset(usage, &QAbstractItemModel::modelReset);
    usagePanel->languageBox()->setCurrentIndex(usagePanel->languageBox()->findText(QStringLiteral("sw")));
    QCOMPARE(reset.count(), 1);
    QCOMPARE(usage->language(), m_window->figures()->snapshot()->languageIndex(QStringLiteral("sw")));
    QVERIFY(usage->title().contains(QLatin1String("sw")));
    usagePanel->measureBox()->setCurrentIndex(1);
    QCOMPARE(usage->measure(), HeatmapModel::Measure::Share);
    usagePanel->measureBox()->setCurrentIndex(0);
    usagePanel->languageBox()->setCurrentIndex(usagePanel->languageBox()->findText(QStringLiteral("en")));

    auto *diffPanel = qobject_cast<HeatmapPanel *>(tabs->widget(1));
    QVERIFY(diffPanel && diffPanel->compareBox());
    diffPanel->compareBox()->setCurrentIndex(diffPanel->compareBox()->findText(QStringLiteral("ja")));
    QCOMPARE(m_window->figures()->differenceModel()->compareLanguage(),
             m_window->figures()->snapshot()->languageIndex(QStringLiteral("ja")));
    diffPanel->compareBox()->setCurrentIndex(diffPanel->compareBox()->findText(QStringLiteral("zh")));

    auto *simPanel = qobject_cast<SimilarityPanel *>(tabs->widget(2));
    QVERIFY(simPanel);
    SimilarityModel *sim = m_window->figures()->similarityModel();
    simPanel->meanBox()->setChecked(false);
    simPanel->layerSlider()->setValue(30);
    QCOMPARE(sim->layer(), 30);
    QCOMPARE(sim->value(0, 1), m_expected.similarity.perLayer[30][0][1]);
    simPanel->meanBox()->setChecked(true);
    QCOMPARE(sim->layer(), SimilarityModel::kMeanOverLayers);
    QVERIFY(!simPanel->layerSlider()->isEnabled());
}

void TestGui::tooltipsGiveExactValues()
{
    StudyFigures *f = m_window->figures();
    const QRectF rect(0, 0, 1200, 640);
    // The heatmap's plot spans most of the figure; its centre is a cell.
    const QString heat = f->usageFigure()->toolTipAt(rect.center(), rect);
    QVERIFY2(heat.contains(QLatin1String("Layer")) && heat.contains(QLatin1String("count")), qPrintable(heat));
    QVERIFY(heat.contains(QLatin1String("f = ")));
    QVERIFY(f->usageFigure()->toolTipAt(QPointF(2, 2), rect).isEmpty());

    const QRectF simRect(0, 0, 820, 720);
    const QString sim = f->similarityFigure()->toolTipAt(simRect.center(), simRect);
    QVERIFY2(sim.contains(QLatin1String("similarity")), qPrintable(sim));

    const QString chart = f->entropyByLayerFigure()->toolTipAt(QPointF(500, 300), QRectF(0, 0, 1100, 560));
    QVERIFY2(chart.startsWith(QLatin1String("Layer")) && chart.contains(QLatin1String("en:")), qPrintable(chart));
}

void TestGui::exportsEveryFigureInEveryFormat()
{
    QTabWidget *tabs = m_window->tabs();
    for (int i = 0; i < static_cast<int>(m_window->figures()->figures().size()); ++i) {
        tabs->setCurrentIndex(i);
        FigureRenderer *figure = m_window->currentPanel()->figure();
        const QString base = m_tmp.filePath(QStringLiteral("gui-") + figure->fileStem());
        FigureExportOptions svg{FigureFormat::Svg, 150, {}};
        FigureExportOptions pdf{FigureFormat::Pdf, 150, {}};
        QVERIFY(m_window->exportCurrentFigure(base + QStringLiteral(".svg"), svg));
        QVERIFY(m_window->exportCurrentFigure(base + QStringLiteral(".pdf"), pdf));
        checkSvg(base + QStringLiteral(".svg"));
        checkPdf(base + QStringLiteral(".pdf"));
        for (int dpi : {72, 200}) {
            const QString png = base + QStringLiteral("-%1.png").arg(dpi);
            QVERIFY(m_window->exportCurrentFigure(png, {FigureFormat::Png, dpi, {}}));
            checkPng(png, figure->defaultSize(), dpi);
        }
        // No temporary files are left next to the outputs.
        QCOMPARE(QDir(m_tmp.path()).entryList({QStringLiteral(".*tmp*")}, QDir::Files | QDir::Hidden).size(), 0);
    }
    QVERIFY(m_window->messageBar()->isHidden());
    // Export into a folder that does not exist fails with a message, not a crash.
    QVERIFY(!m_window->exportCurrentFigure(m_tmp.filePath(QStringLiteral("no/such/dir/x.png")),
                                           {FigureFormat::Png, 100, {}}));
    QVERIFY(m_window->messageBar()->isVisible());
    QVERIFY(m_window->messageBar()->text().contains(QLatin1String("no/such/dir")));
    m_window->messageBar()->hide();
    // The playground's token routing has nothing to export before a model
    // generated something: a message, no file.
    tabs->setCurrentIndex(tabs->indexOf(m_window->live()->playground()));
    const QString empty = m_tmp.filePath(QStringLiteral("token-routing.png"));
    QVERIFY(!m_window->exportCurrentFigure(empty, {FigureFormat::Png, 100, {}}));
    QVERIFY(!QFile::exists(empty));
    QVERIFY(m_window->messageBar()->text().contains(QLatin1String("Generate")));
    m_window->messageBar()->hide();
    tabs->setCurrentIndex(0);
}

void TestGui::exportIsIdenticalToCli()
{
    // One drawing path: the GUI's export and `moescope figures` on the same
    // data produce the same pixels.
    const QString out = m_tmp.filePath(QStringLiteral("cli-same"));
    const CliResult r = runCli({QStringLiteral("figures"), QStringLiteral("--out"), out, QStringLiteral("--format"),
                                QStringLiteral("png"), QStringLiteral("--dpi"), QStringLiteral("100"),
                                QStringLiteral("--quiet")},
                               true);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    for (FigureRenderer *figure : m_window->figures()->figures()) {
        const QString gui = m_tmp.filePath(QStringLiteral("same-") + figure->fileStem() + QStringLiteral(".png"));
        exportFigure(*figure, gui, {FigureFormat::Png, 100, {}});
        QImage a(gui), b(QDir(out).filePath(figure->fileStem() + QStringLiteral(".png")));
        QVERIFY2(!b.isNull(), qPrintable(figure->fileStem()));
        QCOMPARE(a.size(), b.size());
        QVERIFY2(a.convertToFormat(QImage::Format_RGB32) == b.convertToFormat(QImage::Format_RGB32),
                 qPrintable(figure->fileStem()));
    }
}

void TestGui::badFileShowsErrorAndKeepsStudy()
{
    const auto before = m_window->jobs()->current();
    const QString bad = m_tmp.filePath(QStringLiteral("not-a-trace.h5"));
    {
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("this is not HDF5\n");
    }
    const QString badJsonDir = m_tmp.filePath(QStringLiteral("bad-json"));
    QVERIFY(QDir().mkpath(badJsonDir));
    {
        QFile f(badJsonDir + QStringLiteral("/mgsm_xx.json"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{ \"0\": [1, 2");
    }
    for (const QString &path : {bad, badJsonDir, m_tmp.filePath(QStringLiteral("missing.h5"))}) {
        QSignalSpy failed(m_window->jobs(), &StudyJobTracker::failed);
        m_window->openSource(StudySource::fromPath(path));
        // Delivered through the event loop, never from inside openSource().
        QCOMPARE(failed.count(), 0);
        QVERIFY(failed.wait(kTimeoutMs));
        QCoreApplication::processEvents();
        QVERIFY(m_window->messageBar()->isVisible());
        QVERIFY(m_window->messageBar()->isError());
        QVERIFY2(m_window->messageBar()->text().contains(QFileInfo(path).fileName()),
                 qPrintable(m_window->messageBar()->text()));
        // The study on screen stays.
        QCOMPARE(m_window->jobs()->current(), before);
        QCOMPARE(m_window->figures()->snapshot(), before);
    }
    // A parameter change after a failed open re-analyses the study on screen.
    QSignalSpy ready(m_window->jobs(), &StudyJobTracker::snapshotReady);
    AnalysisParams p;
    p.k = 12;
    m_window->jobs()->requestParams(p);
    waitForSnapshot(ready);
    QCOMPARE(m_window->jobs()->current()->trace, before->trace);
    QVERIFY(m_window->messageBar()->isHidden());
}

void TestGui::figuresCommandRunsHeadless()
{
    const QString out = m_tmp.filePath(QStringLiteral("figures"));
    const CliResult r = runCli({QStringLiteral("figures"), QStringLiteral("--out"), out, QStringLiteral("--format"),
                                QStringLiteral("svg,png,pdf"), QStringLiteral("--dpi"), QStringLiteral("72"),
                                QStringLiteral("--k"), QStringLiteral("10"), QStringLiteral("--linkage"),
                                QStringLiteral("ward"), QStringLiteral("--language"), QStringLiteral("fr"),
                                QStringLiteral("--compare"), QStringLiteral("de")},
                               true);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QStringList written = QString::fromLocal8Bit(r.out).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(written.size(), 7 * 3);
    const QStringList stems = {QStringLiteral("expert-usage-fr"),   QStringLiteral("expert-usage-diff-fr-de"),
                               QStringLiteral("similarity-mean"),   QStringLiteral("dendrogram"),
                               QStringLiteral("similarity-by-layer"), QStringLiteral("entropy-by-layer"),
                               QStringLiteral("expert-counts")};
    StudyFigures reference; // default sizes, to check PNG dimensions
    for (int i = 0; i < stems.size(); ++i) {
        const QString base = QDir(out).filePath(stems[i]);
        checkSvg(base + QStringLiteral(".svg"));
        checkPdf(base + QStringLiteral(".pdf"));
        checkPng(base + QStringLiteral(".png"), reference.figures().at(i)->defaultSize(), 72);
    }
    // The parameters reach the caption drawn into the figure.
    QFile svg(QDir(out).filePath(QStringLiteral("dendrogram.svg")));
    QVERIFY(svg.open(QIODevice::ReadOnly));
    const QByteArray text = svg.readAll();
    QVERIFY(text.contains("k = 10"));
    QVERIFY(text.contains("linkage = ward"));

    // An HDF5 trace written by `moescope import-json` is read the same way.
    const QString trace = m_tmp.filePath(QStringLiteral("study.h5"));
    const CliResult imp = runCli({QStringLiteral("import-json"),
                                  QStringLiteral(MOESCOPE_SOURCE_DIR "/resources/data/qwen3-30b-a3b-mgsm"),
                                  QStringLiteral("--out"), trace},
                                 true);
    if (imp.exitCode == 0) {
        const QString out2 = m_tmp.filePath(QStringLiteral("figures-h5"));
        const CliResult r2 = runCli({QStringLiteral("figures"), trace, QStringLiteral("--out"), out2,
                                     QStringLiteral("--format"), QStringLiteral("png"), QStringLiteral("--quiet")},
                                    true);
        QVERIFY2(r2.exitCode == 0, r2.err.constData());
        QVERIFY(r2.out.isEmpty());
        QVERIFY(QFileInfo(QDir(out2).filePath(QStringLiteral("similarity-mean.png"))).size() > 1000);
    } else {
        qWarning("import-json unavailable (%s); skipping the HDF5 part", imp.err.constData());
    }
}

void TestGui::figuresCommandRejectsBadInput()
{
    const QString out = m_tmp.filePath(QStringLiteral("bad"));
    auto expectError = [&](const QStringList &args, int code) {
        const CliResult r = runCli(args, true);
        QVERIFY2(r.exitCode == code, qPrintable(QStringLiteral("%1 -> %2: %3").arg(args.join(QLatin1Char(' '))).arg(r.exitCode).arg(QString::fromLocal8Bit(r.err))));
        // One line, naming the command.
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY(r.err.startsWith("moescope figures: error:"));
    };
    expectError({QStringLiteral("figures"), m_tmp.filePath(QStringLiteral("nope.h5")), QStringLiteral("--out"), out}, 1);
    expectError({QStringLiteral("figures"), QStringLiteral("--out"), out, QStringLiteral("--format"), QStringLiteral("bmp")}, 2);
    expectError({QStringLiteral("figures"), QStringLiteral("--out"), out, QStringLiteral("--dpi"), QStringLiteral("5")}, 2);
    expectError({QStringLiteral("figures"), QStringLiteral("--out"), out, QStringLiteral("--language"), QStringLiteral("xx")}, 1);
    expectError({QStringLiteral("figures"), QStringLiteral("--out"), out, QStringLiteral("--linkage"), QStringLiteral("median")}, 2);
    expectError({QStringLiteral("figures")}, 2);
    // The GUI itself refuses cleanly without a display.
    const CliResult gui = runCli({QStringLiteral("gui")}, true);
    QCOMPARE(gui.exitCode, 1);
    QVERIFY(gui.err.contains("no display"));
}

QTEST_MAIN(TestGui)
#include "test_gui.moc"
