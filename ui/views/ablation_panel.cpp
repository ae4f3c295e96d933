#include "ui/views/ablation_panel.h"

#include "ui/figures/ablation_grid_renderer.h"
#include "ui/figures/plan_map_renderer.h"
#include "ui/live/live_job_tracker.h"
#include "ui/live/plan_document.h"
#include "ui/views/figure_view.h"
#include "ui/views/layer_range_slider.h"
#include "ui/views/steering_panel.h"

#include "core/analysis/routing_analysis.h"
#include "core/common/error.h"
#include "core/experiments/plan_building.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTabWidget>
#include <QTextEdit>
#include <QTimer>
#include <QVBoxLayout>

#include <QDir>

#include <algorithm>
#include <cmath>
#include <map>

namespace moescope::ui {

AblationPanel::AblationPanel(LiveJobTracker *jobs, PlanDocument *plan, QWidget *parent)
    : QWidget(parent)
    , m_jobs(jobs)
    , m_plan(plan)
    , m_language(new QComboBox(this))
    , m_k(new QSpinBox(this))
    , m_threshold(new QDoubleSpinBox(this))
    , m_firstLayer(new QSpinBox(this))
    , m_lastLayer(new QSpinBox(this))
    , m_prompt(new QPlainTextEdit(this))
    , m_maxTokens(new QSpinBox(this))
    , m_usePlan(new QPushButton(tr("Use as Plan"), this))
    , m_summary(new QLabel(this))
    , m_baseline(new QTextEdit(this))
    , m_ablated(new QTextEdit(this))
    , m_debounce(new QTimer(this))
    , m_gridLanguages(new QLineEdit(this))
    , m_gridBlocks(new QLineEdit(this))
    , m_gridEval(new QLineEdit(this))
    , m_gridTask(new QComboBox(this))
    , m_gridOutput(new QLineEdit(this))
    , m_runGrid(new QPushButton(tr("Run &grid"), this))
    , m_gridStatus(new QLabel(this))
    , m_figureTabs(new QTabWidget(this))
    , m_maskFigure(new PlanMapRenderer(QStringLiteral("ablation-mask"), this))
    , m_gridFigure(new AblationGridRenderer(this))
{
    m_k->setRange(1, 1024);
    // Names for sessions (session_file.h saves and restores named controls).
    for (const auto &[widget, name] :
        std::initializer_list<std::pair<QWidget *, const char *>> { { m_language, "language" },
            { m_k, "k" }, { m_threshold, "threshold" }, { m_firstLayer, "firstLayer" },
            { m_lastLayer, "lastLayer" }, { m_prompt, "prompt" }, { m_maxTokens, "maxNewTokens" },
            { m_gridLanguages, "gridLanguages" }, { m_gridBlocks, "gridBlocks" },
            { m_gridEval, "gridCorpus" }, { m_gridTask, "gridTask" } })
        widget->setObjectName(QLatin1String(name));
    m_k->setValue(15);
    m_k->setToolTip(tr("Experts kept per language and layer (the study's k)"));
    m_threshold->setRange(0.01, 0.99);
    m_threshold->setSingleStep(0.05);
    m_threshold->setValue(0.4);
    m_threshold->setToolTip(tr("Share above which an expert is exclusive to the language"));
    m_firstLayer->setRange(0, 0);
    m_lastLayer->setRange(0, 0);
    m_prompt->setPlaceholderText(tr("Prompt for both runs"));
    m_prompt->setMaximumHeight(fontMetrics().lineSpacing() * 3 + 12);
    m_maxTokens->setRange(1, 1024);
    m_maxTokens->setValue(24);
    m_summary->setWordWrap(true);
    for (QTextEdit *edit : { m_baseline, m_ablated }) {
        edit->setReadOnly(true);
    }
    m_baseline->setPlaceholderText(tr("Baseline: the model without a plan"));
    m_ablated->setPlaceholderText(tr("Ablated: the language's exclusive experts masked"));
    m_usePlan->setToolTip(tr("Make this mask the current plan (Playground, File → Save Plan As…)"));

    auto *controls = new QFormLayout;
    controls->addRow(tr("&Language:"), m_language);
    auto *kRow = new QHBoxLayout;
    kRow->addWidget(m_k);
    kRow->addWidget(new QLabel(tr("threshold"), this));
    kRow->addWidget(m_threshold);
    kRow->addStretch(1);
    controls->addRow(tr("Top-k:"), kRow);
    auto *layerRow = new QHBoxLayout;
    layerRow->addWidget(m_firstLayer);
    layerRow->addWidget(new QLabel(tr("to"), this));
    layerRow->addWidget(m_lastLayer);
    layerRow->addWidget(new LayerRangeSlider(m_firstLayer, m_lastLayer, this), 1);
    controls->addRow(tr("Layers:"), layerRow);
    controls->addRow(tr("&Max new tokens:"), m_maxTokens);

    // Controls, then the prompt and what the mask is, each across the column.
    auto *top = new QVBoxLayout;
    top->addLayout(controls);
    top->addWidget(m_prompt);
    auto *summaryRow = new QHBoxLayout;
    summaryRow->addWidget(m_summary, 1);
    m_clearPicks = new QPushButton(tr("Clear picks"), this);
    m_clearPicks->setToolTip(tr("Forget the experts picked by hand on the mask map"));
    m_clearPicks->setEnabled(false);
    connect(m_clearPicks, &QPushButton::clicked, this, &AblationPanel::clearPicks);
    summaryRow->addWidget(m_clearPicks);
    summaryRow->addWidget(m_usePlan);
    top->addLayout(summaryRow);

    auto *outputs = new QGridLayout;
    outputs->addWidget(new QLabel(tr("<b>Baseline</b>"), this), 0, 0);
    outputs->addWidget(new QLabel(tr("<b>Ablated</b>"), this), 0, 1);
    outputs->addWidget(m_baseline, 1, 0);
    outputs->addWidget(m_ablated, 1, 1);

    m_gridLanguages->setToolTip(tr("Masked and evaluated languages (moescope ablate --languages)"));
    m_gridBlocks->setToolTip(tr("Layer blocks, e.g. 0-4,22-26,43-47 (moescope ablate --blocks)"));
    m_gridEval->setToolTip(tr("Evaluation corpus spec (moescope ablate --eval, docs/corpora.md)"));
    m_gridTask->addItem(tr("the corpus's own task (perplexity for text)"), QString());
    m_gridTask->addItem(tr("language consistency (CLD2)"), QStringLiteral("consistency"));
    m_gridOutput->setText(defaultResultsFolder(QStringLiteral("ablation")));
    m_gridOutput->setToolTip(tr("results.csv, results.json and plans/ are written here, as by "
                                "`moescope ablate --out`"));
    m_gridStatus->setWordWrap(true);
    auto *gridBox = new QGroupBox(tr("Block × language grid (moescope ablate)"), this);
    auto *gridForm = new QFormLayout(gridBox);
    gridForm->addRow(tr("Languages:"), m_gridLanguages);
    gridForm->addRow(tr("Blocks:"), m_gridBlocks);
    gridForm->addRow(tr("Corpus:"), m_gridEval);
    gridForm->addRow(tr("Measure:"), m_gridTask);
    gridForm->addRow(tr("Results folder:"), m_gridOutput);
    gridForm->addRow(m_runGrid, m_gridStatus);
    connect(m_runGrid, &QPushButton::clicked, this, [this] { runGrid(); });

    auto *left = new QVBoxLayout;
    left->addLayout(top);
    left->addLayout(outputs, 1);
    left->addWidget(gridBox);
    m_maskView = new FigureView(m_maskFigure, m_figureTabs);
    m_maskView->setToolTip(tr("Click a cell to mask or unmask that expert by hand"));
    m_maskView->setCursor(Qt::PointingHandCursor);
    connect(m_maskView, &FigureView::clicked, this, [this](const QPointF &pos, const QRectF &rect) {
        if (const auto cell = m_maskFigure->cellAt(pos, rect))
            toggleExpert(cell->first, cell->second);
    });
    m_figureTabs->addTab(m_maskView, tr("Mask"));
    m_figureTabs->addTab(new FigureView(m_gridFigure, m_figureTabs), tr("Grid"));

    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addLayout(left, 2);
    layout->addWidget(m_figureTabs, 3);

    m_debounce->setSingleShot(true);
    m_debounce->setInterval(kDebounceMs);
    connect(m_debounce, &QTimer::timeout, this, &AblationPanel::runNow);
    connect(m_language, &QComboBox::currentIndexChanged, this, &AblationPanel::scheduleUpdate);
    for (QSpinBox *box : { m_k, m_firstLayer, m_lastLayer, m_maxTokens })
        connect(box, &QSpinBox::valueChanged, this, &AblationPanel::scheduleUpdate);
    connect(m_threshold, &QDoubleSpinBox::valueChanged, this, &AblationPanel::scheduleUpdate);
    connect(m_prompt, &QPlainTextEdit::textChanged, this, &AblationPanel::scheduleUpdate);
    connect(m_usePlan, &QPushButton::clicked, this, [this] { m_plan->setPlan(currentPlan()); });

    connect(m_jobs, &LiveJobTracker::modelLoaded, this,
        [this](quint64, ModelFactsPtr f) { onModelLoaded(f); });
    connect(m_jobs, &LiveJobTracker::generationUpdated, this, &AblationPanel::onGeneration);
    connect(m_jobs, &LiveJobTracker::generationFailed, this, &AblationPanel::onFailed);
    connect(m_jobs, &LiveJobTracker::gridFinished, this, &AblationPanel::onGrid);
    connect(m_jobs, &LiveJobTracker::taskFailed, this, &AblationPanel::onTaskFailed);
    connect(
        m_jobs, &LiveJobTracker::jobCancelled, this, [this](quint64 tag, const QString &channel) {
            if (channel == gridChannel() && tag == m_gridTag) {
                m_gridTag = 0;
                m_runGrid->setEnabled(true);
                m_gridStatus->setText(tr("Cancelled."));
            }
        });
    onModelLoaded(m_jobs->model());
}

void AblationPanel::setSnapshot(StudySnapshotPtr snapshot, const QString &tracePath)
{
    m_snapshot = std::move(snapshot);
    m_tracePath = tracePath;
    if (m_snapshot) {
        QStringList labels;
        for (int i = 0; i < m_snapshot->languageCount(); ++i)
            labels << m_snapshot->languageLabel(i);
        m_gridLanguages->setText(labels.join(QLatin1Char(',')));
        // Held-out articles: the recording panel's default is 1-10.
        m_gridEval->setText(
            QStringLiteral("udhr:%1?articles=25-27").arg(labels.join(QLatin1Char(','))));
    }
    const QSignalBlocker blocker(m_language);
    const QString previous = m_language->currentText();
    m_language->clear();
    if (m_snapshot)
        for (int i = 0; i < m_snapshot->languageCount(); ++i)
            m_language->addItem(m_snapshot->languageLabel(i));
    m_language->setCurrentIndex(std::max(0, m_language->findText(previous)));
    if (m_snapshot)
        m_k->setValue(m_snapshot->analysis.params.k);
    updateSummary();
}

void AblationPanel::onModelLoaded(ModelFactsPtr facts)
{
    const int layers = facts ? facts->info.numLayers : 1;
    const QSignalBlocker a(m_firstLayer), b(m_lastLayer);
    m_firstLayer->setRange(0, layers - 1);
    m_lastLayer->setRange(0, layers - 1);
    m_firstLayer->setValue(0);
    m_lastLayer->setValue(layers - 1);
    m_gridBlocks->setText(defaultBlocks(layers));
    updateSummary();
}

QString AblationPanel::defaultBlocks(int numLayers)
{
    if (numLayers < 1)
        return {};
    const int width = std::max(1, static_cast<int>(std::lround(numLayers * 5.0 / 48.0)));
    if (numLayers < 3 * width)
        return QStringLiteral("0-%1").arg(numLayers - 1);
    const int middle = numLayers / 2 - width / 2;
    return QStringLiteral("0-%1,%2-%3,%4-%5")
        .arg(width - 1)
        .arg(middle)
        .arg(middle + width - 1)
        .arg(numLayers - width)
        .arg(numLayers - 1);
}

GridRequest AblationPanel::gridRequest() const
{
    GridRequest r;
    r.kind = GridRequest::Kind::Ablation;
    r.trace = m_snapshot ? m_snapshot->trace : nullptr;
    r.tracePath = m_tracePath;
    for (const QString &l : m_gridLanguages->text().split(QLatin1Char(','), Qt::SkipEmptyParts))
        r.ablation.languages.push_back(l.trimmed().toStdString());
    if (r.ablation.languages.empty())
        throw Error("give the languages to mask, e.g. en,zh");
    for (const QString &block : m_gridBlocks->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QStringList ends = block.trimmed().split(QLatin1Char('-'));
        bool ok1 = false, ok2 = ends.size() == 2;
        const int first = ends.value(0).toInt(&ok1);
        const int last = ok2 ? ends.value(1).toInt(&ok2) : first;
        if (!ok1 || (ends.size() == 2 && !ok2) || ends.size() > 2 || first > last)
            throw Error(QStringLiteral("blocks: '%1' is not a layer range a-b")
                            .arg(block.trimmed())
                            .toStdString());
        r.ablation.blocks.push_back({ first, last });
    }
    if (r.ablation.blocks.empty())
        throw Error("give at least one layer block, e.g. 0-4");
    r.ablation.k = m_k->value();
    r.ablation.threshold = m_threshold->value();
    r.evalSpec = m_gridEval->text().trimmed();
    r.task = m_gridTask->currentData().toString();
    r.maxNewTokens = m_maxTokens->value();
    r.outputDir = m_gridOutput->text().trimmed();
    r.title = tr("Ablation grid (%1 languages × %2 blocks)")
                  .arg(r.ablation.languages.size())
                  .arg(r.ablation.blocks.size());
    return r;
}

quint64 AblationPanel::runGrid()
{
    QString why = unavailableReason();
    GridRequest request;
    if (why.isEmpty()) {
        try {
            request = gridRequest();
        } catch (const Error &e) {
            why = QString::fromStdString(e.what());
        }
    }
    if (why.isEmpty() && request.evalSpec.isEmpty())
        why = tr("give an evaluation corpus, e.g. udhr:en,zh?articles=25-30");
    if (why.isEmpty() && request.outputDir.isEmpty())
        why = tr("choose a results folder");
    if (!why.isEmpty()) {
        Q_EMIT errorOccurred(tr("Cannot run the grid: %1").arg(why));
        return 0;
    }
    m_gridTag = m_jobs->runGrid(gridChannel(), request);
    m_runGrid->setEnabled(false);
    m_gridStatus->setText(tr("Running (see the Jobs dock)…"));
    return m_gridTag;
}

void AblationPanel::onGrid(quint64 tag, const QString &channel, GridOutcomePtr outcome)
{
    if (channel != gridChannel() || tag != m_gridTag)
        return;
    m_gridTag = 0;
    m_grid = outcome;
    m_runGrid->setEnabled(true);
    try {
        m_gridFigure->setResults(outcome->results);
    } catch (const Error &e) {
        Q_EMIT errorOccurred(QString::fromStdString(e.what()));
    }
    m_figureTabs->setCurrentIndex(1);
    m_gridStatus->setText(tr("Done in %1 s: %2")
                              .arg(outcome->seconds, 0, 'f', 1)
                              .arg(QDir::toNativeSeparators(outcome->outputDir)));
    m_gridOutput->setText(defaultResultsFolder(QStringLiteral("ablation")));
    Q_EMIT gridFinished(outcome->outputDir);
}

void AblationPanel::onTaskFailed(quint64 tag, const QString &channel, const QString &message)
{
    if (channel != gridChannel() || tag != m_gridTag)
        return;
    m_gridTag = 0;
    m_runGrid->setEnabled(true);
    m_gridStatus->setText(tr("Failed."));
    Q_EMIT errorOccurred(tr("Ablation grid failed: %1").arg(message));
}

QString AblationPanel::unavailableReason() const
{
    const auto facts = m_jobs->model();
    if (!facts)
        return tr("Open a model folder first.");
    if (!m_snapshot || m_snapshot->languageCount() == 0)
        return tr("Open a study (trace) recorded on this model to pick a language's experts.");
    if (m_snapshot->layerCount() != facts->info.numLayers
        || m_snapshot->expertCount() != facts->info.numExperts)
        return tr(
            "The loaded study is of a model with %1 layers × %2 experts; this model has %3 × %4. "
            "Record a trace on this model (or open one).")
            .arg(m_snapshot->layerCount())
            .arg(m_snapshot->expertCount())
            .arg(facts->info.numLayers)
            .arg(facts->info.numExperts);
    if (m_k->value() > m_snapshot->expertCount())
        return tr("k is larger than the number of experts (%1).").arg(m_snapshot->expertCount());
    return {};
}

routing::InterventionPlan AblationPanel::currentPlan() const
{
    routing::InterventionPlan plan;
    if (!unavailableReason().isEmpty())
        return plan;
    // The same plan as `moescope plan --mask-exclusive` (core plan_building)...
    try {
        plan = experiments::maskExclusivePlan(*m_snapshot->trace,
            m_language->currentText().toStdString(), m_k->value(), m_threshold->value(),
            m_firstLayer->value(), m_lastLayer->value());
    } catch (const Error &) {
        plan = {};
    }
    if (m_toggled.empty())
        return plan;
    // ...edited by hand, as one would edit its PLAN.json: flipped cells.
    std::set<std::pair<int, int>> cells;
    for (const auto &entry : plan.mask)
        for (int layer = entry.layers.first; layer <= entry.layers.last; ++layer)
            for (const int expert : entry.experts)
                cells.insert({ layer, expert });
    for (const auto &cell : m_toggled)
        if (!cells.erase(cell))
            cells.insert(cell);
    std::map<int, std::vector<int>> byLayer;
    for (const auto &[layer, expert] : cells)
        byLayer[layer].push_back(expert);
    routing::InterventionPlan edited;
    for (auto &[layer, experts] : byLayer)
        edited.mask.push_back({ { layer, layer }, std::move(experts) });
    return edited;
}

void AblationPanel::toggleExpert(int layer, int expert)
{
    const auto facts = m_jobs->model();
    if (!facts || !unavailableReason().isEmpty() || expert < 0 || expert >= facts->info.numExperts)
        return;
    const auto &moe = facts->planTarget.moeLayers;
    if (std::find(moe.begin(), moe.end(), layer) == moe.end())
        return; // a dense layer has no experts to mask
    const std::pair<int, int> cell { layer, expert };
    if (!m_toggled.erase(cell))
        m_toggled.insert(cell);
    m_clearPicks->setEnabled(!m_toggled.empty());
    scheduleUpdate();
}

void AblationPanel::clearPicks()
{
    m_toggled.clear();
    m_clearPicks->setEnabled(false);
    scheduleUpdate();
}

void AblationPanel::updateSummary()
{
    const QString reason = unavailableReason();
    if (!reason.isEmpty()) {
        m_summary->setText(reason);
        m_usePlan->setEnabled(false);
        m_maskFigure->clear(reason);
        return;
    }
    const auto plan = currentPlan();
    const auto facts = m_jobs->model();
    m_maskFigure->setPlan(plan, facts->info.numLayers, facts->info.numExperts,
        facts->planTarget.moeLayers,
        tr("Experts exclusive to %1, masked (layers %2–%3)%4")
            .arg(m_language->currentText())
            .arg(m_firstLayer->value())
            .arg(m_lastLayer->value())
            .arg(m_toggled.empty() ? QString() : tr(", %n picked by hand", nullptr, pickCount())));
    m_maskFigure->setCaption(tr("Study: %1. Exclusive: in the language's top-%2 with share > %3 "
                                "(core expertSpecialisation). MoEScope %4")
                                 .arg(m_snapshot->sourceName)
                                 .arg(m_k->value())
                                 .arg(m_threshold->value(), 0, 'g', 3)
                                 .arg(QStringLiteral(MOESCOPE_VERSION)));
    m_summary->setText(plan.empty()
            ? tr("%1 has no exclusive experts in these layers with this k and threshold.")
                  .arg(m_language->currentText())
            : tr("Masking %1 experts (%2's exclusive ones%4): %3")
                  .arg([&] {
                      std::size_t n = 0;
                      for (const auto &e : plan.mask)
                          n += e.experts.size();
                      return n;
                  }())
                  .arg(m_language->currentText(), PlanDocument::summarize(plan),
                      m_toggled.empty() ? QString()
                                        : tr(", %n flipped by hand", nullptr, pickCount())));
    m_usePlan->setEnabled(!plan.empty());
}

void AblationPanel::scheduleUpdate()
{
    updateSummary();
    m_debounce->start();
}

void AblationPanel::runNow()
{
    m_debounce->stop();
    if (!unavailableReason().isEmpty() || m_prompt->toPlainText().isEmpty())
        return;
    GenerationRequest request;
    request.prompt = m_prompt->toPlainText();
    request.maxNewTokens = m_maxTokens->value();
    request.captureRouting = false;
    request.title = tr("Ablation: baseline");
    m_jobs->generate(baselineChannel(), request);
    request.plan = currentPlan();
    request.title = tr("Ablation: %1 experts masked").arg(m_language->currentText());
    m_jobs->generate(ablatedChannel(), request);
}

void AblationPanel::onGeneration(quint64, const QString &channel, GenerationOutcomePtr outcome)
{
    if (channel == baselineChannel())
        m_baseline->setPlainText(outcome->generatedText);
    else if (channel == ablatedChannel())
        m_ablated->setPlainText(outcome->generatedText);
}

void AblationPanel::onFailed(quint64, const QString &channel, const QString &message)
{
    if (channel == baselineChannel() || channel == ablatedChannel())
        Q_EMIT errorOccurred(tr("Ablation run failed: %1").arg(message));
}

QString AblationPanel::baselineText() const
{
    return m_baseline->toPlainText();
}

QString AblationPanel::ablatedText() const
{
    return m_ablated->toPlainText();
}

QString AblationPanel::summaryText() const
{
    return m_summary->text();
}

bool AblationPanel::loadResults(const QString &dir)
{
    try {
        auto outcome = std::make_shared<GridOutcome>();
        outcome->kind = GridRequest::Kind::Ablation;
        outcome->results = loadInterventionResults(dir);
        outcome->outputDir = dir;
        m_gridFigure->setResults(outcome->results);
        m_grid = outcome;
        m_figureTabs->setCurrentIndex(1);
        return true;
    } catch (const Error &e) {
        Q_EMIT errorOccurred(
            tr("Could not show the results: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
}

} // namespace moescope::ui
