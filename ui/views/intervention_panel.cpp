#include "ui/views/intervention_panel.h"

#include "ui/figures/intervention_results_renderer.h"
#include "ui/figures/plan_map_renderer.h"
#include "ui/live/live_job_tracker.h"
#include "ui/live/plan_document.h"
#include "ui/views/figure_view.h"
#include "ui/views/layer_range_slider.h"
#include "ui/views/user_data_folder.h"

#include "core/common/error.h"
#include "core/corpus/corpus_spec.h"
#include "core/experiments/evaluation.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
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
#include <QSplitter>
#include <QTabWidget>
#include <QTextEdit>
#include <QTimer>
#include <QVBoxLayout>

namespace moescope::ui {

namespace {

// A fresh results folder under the user's data folder, e.g.
// .../steering/2026-11-26T01-40-12, so that a run never writes over the last.
QString defaultResultsFolder(const QString &id)
{
    return QDir(userDataFolder()).filePath(QStringLiteral("%1/%2").arg(
        id, QDateTime::currentDateTime().toString(QStringLiteral("yyyy-MM-ddTHH-mm-ss"))));
}

} // namespace

InterventionPanel::InterventionPanel(Experiment experiment, PlanMapRenderer *planFigure,
    InterventionResultsRenderer *resultsFigure, LiveJobTracker *jobs, PlanDocument *plan,
    QWidget *parent)
    : QWidget(parent)
    , m_jobs(jobs)
    , m_k(new QSpinBox(this))
    , m_threshold(new QDoubleSpinBox(this))
    , m_firstLayer(new QSpinBox(this))
    , m_lastLayer(new QSpinBox(this))
    , m_prompt(new QPlainTextEdit(this))
    , m_maxTokens(new QSpinBox(this))
    , m_usePlan(new QPushButton(tr("Use as Plan"), this))
    , m_intervenedHeader(new QLabel(this))
    , m_intervened(new QTextEdit(this))
    , m_controls(new QFormLayout)
    , m_summaryRow(new QHBoxLayout)
    , m_gridBox(new QGroupBox(this))
    , m_gridForm(new QFormLayout(m_gridBox))
    , m_runGrid(new QPushButton(this))
    , m_evalSpec(new QLineEdit(this))
    , m_task(new QComboBox(this))
    , m_window(new QSpinBox(this))
    , m_stride(new QSpinBox(this))
    , m_outputDir(new QLineEdit(this))
    , m_figureTabs(new QTabWidget(this))
    , m_planFigure(planFigure)
    , m_planView(new FigureView(planFigure, m_figureTabs))
    , m_experiment(std::move(experiment))
    , m_plan(plan)
    , m_summary(new QLabel(this))
    , m_baseline(new QTextEdit(this))
    , m_gridStatus(new QLabel(this))
    , m_resultsFigure(resultsFigure)
    , m_debounce(new QTimer(this))
{
    m_planFigure->setParent(this);
    m_resultsFigure->setParent(this);
    // Names for sessions (session_file.h saves and restores named controls);
    // the subclasses name their own.
    for (const auto &[widget, name] : std::initializer_list<std::pair<QWidget *, const char *>> {
             { m_k, "k" }, { m_threshold, "threshold" }, { m_firstLayer, "firstLayer" },
             { m_lastLayer, "lastLayer" }, { m_prompt, "prompt" }, { m_maxTokens, "maxNewTokens" },
             { m_window, "perplexityWindow" }, { m_stride, "perplexityStride" } })
        widget->setObjectName(QLatin1String(name));
    m_k->setRange(1, 1024);
    m_threshold->setSingleStep(0.05);
    m_firstLayer->setRange(0, 0);
    m_lastLayer->setRange(0, 0);
    m_prompt->setMaximumHeight(fontMetrics().lineSpacing() * 3 + 12);
    m_maxTokens->setRange(1, 1024);
    m_maxTokens->setValue(24);
    m_summary->setWordWrap(true);
    for (QTextEdit *edit : { m_baseline, m_intervened })
        edit->setReadOnly(true);
    m_baseline->setPlaceholderText(tr("Baseline: the model without a plan"));
    m_outputDir->setText(defaultResultsFolder(m_experiment.id));
    m_gridStatus->setWordWrap(true);
    // 0 stands for the CLI's default when the option is left out.
    constexpr int kMostTokens = 1 << 20;
    m_window->setRange(0, kMostTokens);
    m_window->setSingleStep(64);
    m_window->setSpecialValueText(tr("model context"));
    m_window->setToolTip(
        tr("Perplexity: the sliding window in tokens; longer documents are scored window by "
           "window. Other measures: the prompt limit. At most the model's context "
           "(--max-length)."));
    m_stride->setRange(0, kMostTokens);
    m_stride->setSingleStep(64);
    m_stride->setSpecialValueText(tr("half the window"));
    m_stride->setToolTip(tr("Perplexity: tokens each window advances by, 1 to the window; a "
                            "smaller stride gives tokens more context for more passes (--stride)."));

    auto *kRow = new QHBoxLayout;
    kRow->addWidget(m_k);
    kRow->addWidget(new QLabel(tr("threshold"), this));
    kRow->addWidget(m_threshold);
    kRow->addStretch(1);
    m_controls->addRow(tr("Top-k:"), kRow);
    auto *layerRow = new QHBoxLayout;
    layerRow->addWidget(m_firstLayer);
    layerRow->addWidget(new QLabel(tr("to"), this));
    layerRow->addWidget(m_lastLayer);
    layerRow->addWidget(new LayerRangeSlider(m_firstLayer, m_lastLayer, this), 1);
    m_controls->addRow(tr("Layers:"), layerRow);
    m_controls->addRow(tr("&Max new tokens:"), m_maxTokens);

    m_summaryRow->addWidget(m_summary, 1);
    m_summaryRow->addWidget(m_usePlan);

    auto *outputs = new QGridLayout;
    outputs->addWidget(new QLabel(tr("<b>Baseline</b>"), this), 0, 0);
    outputs->addWidget(m_intervenedHeader, 0, 1);
    outputs->addWidget(m_baseline, 1, 0);
    outputs->addWidget(m_intervened, 1, 1);

    m_gridForm->addRow(tr("Corpus:"), m_evalSpec);
    m_gridForm->addRow(tr("Measure:"), m_task);
    auto *windowRow = new QHBoxLayout;
    windowRow->addWidget(m_window);
    auto *strideLabel = new QLabel(tr("&stride"), this);
    strideLabel->setBuddy(m_stride);
    windowRow->addWidget(strideLabel);
    windowRow->addWidget(m_stride);
    windowRow->addStretch(1);
    m_windowLabel = new QLabel(tr("Perplexity &window:"), this);
    m_windowLabel->setBuddy(m_window);
    m_gridForm->addRow(m_windowLabel, windowRow);
    m_gridForm->addRow(tr("Results folder:"), m_outputDir);
    m_gridForm->addRow(m_runGrid, m_gridStatus);

    // Controls, the prompt and what the plan is; the two outputs; the grid.
    auto *left = new QVBoxLayout;
    left->addLayout(m_controls);
    left->addWidget(m_prompt);
    left->addLayout(m_summaryRow);
    left->addLayout(outputs, 1);
    left->addWidget(m_gridBox);
    auto *leftWidget = new QWidget(this);
    leftWidget->setLayout(left);
    m_figureTabs->addTab(m_planView, QString());
    m_figureTabs->addTab(new FigureView(m_resultsFigure, m_figureTabs), QString());
    auto *split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(leftWidget);
    split->addWidget(m_figureTabs);
    // Two fifths for the controls, as the panels' stretch factors gave
    // before they could be resized (the figures' size hints would take more).
    split->setSizes({ 2000, 3000 });
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(split);

    m_debounce->setSingleShot(true);
    m_debounce->setInterval(kDebounceMs);
    connect(m_debounce, &QTimer::timeout, this, &InterventionPanel::runNow);
    for (QSpinBox *box : { m_k, m_firstLayer, m_lastLayer, m_maxTokens })
        connect(box, &QSpinBox::valueChanged, this, &InterventionPanel::scheduleUpdate);
    connect(m_threshold, &QDoubleSpinBox::valueChanged, this, &InterventionPanel::scheduleUpdate);
    connect(m_prompt, &QPlainTextEdit::textChanged, this, &InterventionPanel::scheduleUpdate);
    connect(m_usePlan, &QPushButton::clicked, this, [this] { m_plan->setPlan(currentPlan()); });
    connect(m_runGrid, &QPushButton::clicked, this, [this] { runGrid(); });
    // The subclasses fill the measures after this; adding the first one
    // signals too.
    // --max-length is the window only for perplexity; for the other
    // measures it caps the prompt, and the label says which.
    auto updateStride = [this] {
        const bool perplexity = measuresPerplexity();
        m_stride->setEnabled(perplexity);
        m_windowLabel->setText(perplexity ? tr("Perplexity &window:") : tr("Prompt &limit:"));
    };
    connect(m_task, &QComboBox::currentIndexChanged, this, updateStride);
    connect(m_evalSpec, &QLineEdit::textChanged, this, updateStride);

    connect(m_jobs, &LiveJobTracker::modelLoaded, this,
        [this](quint64, ModelFactsPtr facts) { setModel(facts); });
    connect(m_jobs, &LiveJobTracker::generationUpdated, this, &InterventionPanel::onGeneration);
    connect(m_jobs, &LiveJobTracker::generationFailed, this, &InterventionPanel::onFailed);
    connect(m_jobs, &LiveJobTracker::taskFailed, this, &InterventionPanel::onFailed);
    connect(m_jobs, &LiveJobTracker::gridFinished, this, &InterventionPanel::onGrid);
    connect(
        m_jobs, &LiveJobTracker::jobCancelled, this, [this](quint64 tag, const QString &channel) {
            if (channel == gridChannel() && tag == m_gridTag)
                gridEnded(tr("Cancelled."));
        });
}

void InterventionPanel::setSnapshot(StudySnapshotPtr snapshot, const QString &tracePath)
{
    m_snapshot = std::move(snapshot);
    m_tracePath = tracePath;
    applySnapshot();
    updatePlanView();
}

void InterventionPanel::setModel(ModelFactsPtr facts)
{
    const int layers = facts ? facts->info.numLayers : 1;
    {
        const QSignalBlocker a(m_firstLayer), b(m_lastLayer);
        m_firstLayer->setRange(0, layers - 1);
        m_lastLayer->setRange(0, layers - 1);
        applyModelDefaults(layers);
    }
    updatePlanView();
}

void InterventionPanel::orderFocus(
    const QList<QWidget *> &controls, const QList<QWidget *> &gridControls)
{
    const QList<QWidget *> chain = controls
        + QList<QWidget *> { m_k, m_threshold, m_firstLayer, m_lastLayer, m_maxTokens, m_prompt,
              m_usePlan }
        + gridControls
        + QList<QWidget *> { m_evalSpec, m_task, m_window, m_stride, m_outputDir, m_runGrid };
    for (qsizetype i = 1; i < chain.size(); ++i)
        setTabOrder(chain[i - 1], chain[i]);
}

bool InterventionPanel::measuresPerplexity() const
{
    const QString task = m_task->currentData().toString();
    try {
        const auto measure = task.isEmpty()
            ? experiments::defaultEvalTask(
                parseCorpusSpec(m_evalSpec->text().trimmed().toStdString()).format)
            : experiments::parseEvalTask(task.toStdString());
        return measure == experiments::EvalTask::Perplexity;
    } catch (const Error &) {
        return true; // the run says what is wrong with the spec
    }
}

void InterventionPanel::setEvaluation(GridRequest &request) const
{
    auto &e = request.evaluation;
    e.evalSpec = m_evalSpec->text().trimmed().toStdString();
    const QString task = m_task->currentData().toString();
    if (!task.isEmpty())
        e.task = experiments::parseEvalTask(task.toStdString());
    e.maxNewTokens = m_maxTokens->value();
    // The panel cuts prompts at the limit (the model's context by default)
    // rather than refusing them.
    e.truncate = true;
    e.maxLength = static_cast<std::size_t>(m_window->value());
    if (!measuresPerplexity())
        return;
    if (m_stride->value() > 0)
        e.stride = static_cast<std::size_t>(m_stride->value());
    // Core's rule and reason, before anything runs.
    const auto facts = m_jobs->model();
    (void)experiments::resolvePerplexityWindow(e.maxLength, e.stride, facts ? facts->contextLength : 0);
}

QString InterventionPanel::unavailableReason() const
{
    const auto facts = m_jobs->model();
    if (!facts)
        return tr("Open a model folder first.");
    if (!m_snapshot || m_snapshot->languageCount() == 0)
        return tr("Open a study (trace) recorded on this model, or record one (Record tab).");
    if (m_snapshot->layerCount() != facts->info.numLayers
        || m_snapshot->expertCount() != facts->info.numExperts)
        return tr(
            "The loaded study is of a model with %1 layers × %2 experts; this model has %3 × %4. "
            "Record a trace on this model (Record tab), or open one.")
            .arg(m_snapshot->layerCount())
            .arg(m_snapshot->expertCount())
            .arg(facts->info.numLayers)
            .arg(facts->info.numExperts);
    if (m_k->value() > m_snapshot->expertCount())
        return tr("k is larger than the number of experts (%1).").arg(m_snapshot->expertCount());
    if (m_firstLayer->value() > m_lastLayer->value())
        return tr("The first layer comes after the last.");
    return {};
}

void InterventionPanel::updatePlanView()
{
    const QString reason = unavailableReason();
    if (!reason.isEmpty()) {
        m_summary->setText(reason);
        m_planFigure->clear(reason);
        m_usePlan->setEnabled(false);
        m_runGrid->setEnabled(false);
        return;
    }
    const auto plan = currentPlan();
    const auto facts = m_jobs->model();
    const PlanDescription about = describe(plan);
    m_planFigure->setPlan(plan, facts->info.numLayers, facts->info.numExperts,
        facts->planTarget.moeLayers, about.title);
    m_planFigure->setCaption(tr("Study: %1. %2 MoEScope %3")
                                 .arg(m_snapshot->sourceName, about.rule,
                                     QStringLiteral(MOESCOPE_VERSION)));
    m_summary->setText(about.summary);
    m_usePlan->setEnabled(!plan.empty());
    m_runGrid->setEnabled(m_gridTag == 0);
}

void InterventionPanel::scheduleUpdate()
{
    updatePlanView();
    m_debounce->start();
}

void InterventionPanel::runNow()
{
    m_debounce->stop();
    if (!unavailableReason().isEmpty() || m_prompt->toPlainText().isEmpty())
        return;
    GenerationRequest request;
    request.prompt = m_prompt->toPlainText().toStdString();
    request.maxNewTokens = m_maxTokens->value();
    request.captureRouting = false;
    request.title = tr("%1: baseline").arg(m_experiment.title);
    m_jobs->generate(baselineChannel(), request);
    request.plan = currentPlan();
    request.title = describe(request.plan).generationTitle;
    m_jobs->generate(intervenedChannel(), request);
}

quint64 InterventionPanel::runGrid()
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
    if (why.isEmpty() && request.evaluation.evalSpec.empty())
        why = tr("give an evaluation corpus, e.g. udhr:en,zh?articles=25-30");
    if (why.isEmpty() && request.outputDir.empty())
        why = tr("choose a results folder");
    if (!why.isEmpty()) {
        Q_EMIT errorOccurred(tr("Cannot run the %1: %2").arg(m_experiment.gridTitle, why));
        return 0;
    }
    m_gridTag = m_jobs->runGrid(gridChannel(), request);
    m_runGrid->setEnabled(false);
    m_gridStatus->setText(tr("Running (see the Jobs dock)…"));
    return m_gridTag;
}

void InterventionPanel::gridEnded(const QString &status)
{
    m_gridTag = 0;
    m_runGrid->setEnabled(unavailableReason().isEmpty());
    m_gridStatus->setText(status);
}

void InterventionPanel::onGeneration(
    quint64, const QString &channel, GenerationOutcomePtr outcome)
{
    if (channel == baselineChannel())
        m_baseline->setPlainText(outcome->generatedText);
    else if (channel == intervenedChannel())
        m_intervened->setPlainText(outcome->generatedText);
}

void InterventionPanel::onGrid(quint64 tag, const QString &channel, GridOutcomePtr outcome)
{
    if (channel != gridChannel() || tag != m_gridTag)
        return;
    m_results = outcome;
    gridEnded(tr("Done in %1 s: %2")
                  .arg(outcome->seconds, 0, 'f', 1)
                  .arg(QDir::toNativeSeparators(outcome->outputDir)));
    m_figureTabs->setCurrentIndex(1);
    try {
        m_resultsFigure->setResults(outcome->results);
    } catch (const Error &e) {
        Q_EMIT errorOccurred(QString::fromStdString(e.what()));
    }
    // The next run writes next to it, not over it.
    m_outputDir->setText(defaultResultsFolder(m_experiment.id));
    Q_EMIT gridFinished(outcome->outputDir);
}

void InterventionPanel::onFailed(quint64 tag, const QString &channel, const QString &message)
{
    if (channel == baselineChannel() || channel == intervenedChannel()) {
        Q_EMIT errorOccurred(tr("%1 run failed: %2").arg(m_experiment.title, message));
    } else if (channel == gridChannel() && tag == m_gridTag) {
        gridEnded(tr("Failed."));
        Q_EMIT errorOccurred(tr("The %1 failed: %2").arg(m_experiment.gridTitle, message));
    }
}

QString InterventionPanel::baselineText() const
{
    return m_baseline->toPlainText();
}

QString InterventionPanel::intervenedText() const
{
    return m_intervened->toPlainText();
}

QString InterventionPanel::summaryText() const
{
    return m_summary->text();
}

bool InterventionPanel::loadResults(const QString &dir)
{
    try {
        auto outcome = std::make_shared<GridOutcome>();
        outcome->kind = m_experiment.kind;
        outcome->results = loadInterventionResults(dir);
        outcome->outputDir = dir;
        m_resultsFigure->setResults(outcome->results);
        m_results = outcome;
        m_figureTabs->setCurrentIndex(1);
        return true;
    } catch (const Error &e) {
        Q_EMIT errorOccurred(
            tr("Could not show the results: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
}

} // namespace moescope::ui
