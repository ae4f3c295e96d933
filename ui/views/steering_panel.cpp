#include "ui/views/steering_panel.h"

#include "ui/figures/plan_map_renderer.h"
#include "ui/figures/steering_results_renderer.h"
#include "ui/live/live_job_tracker.h"
#include "ui/live/plan_document.h"
#include "ui/views/figure_view.h"
#include "ui/views/layer_range_slider.h"

#include "core/common/error.h"
#include "core/experiments/plan_building.h"

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
#include <QStandardPaths>
#include <QTabWidget>
#include <QTextEdit>
#include <QTimer>
#include <QVBoxLayout>

namespace moescope::ui {

QString defaultResultsFolder(const QString &kind)
{
    QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    if (dir.isEmpty())
        dir = QDir::homePath();
    return QDir(dir).filePath(QStringLiteral("%1/%2").arg(
        kind, QDateTime::currentDateTime().toString(QStringLiteral("yyyy-MM-ddTHH-mm-ss"))));
}

SteeringPanel::SteeringPanel(LiveJobTracker *jobs, PlanDocument *plan, QWidget *parent)
    : QWidget(parent)
    , m_jobs(jobs)
    , m_plan(plan)
    , m_a(new QComboBox(this))
    , m_b(new QComboBox(this))
    , m_lambda(new QDoubleSpinBox(this))
    , m_k(new QSpinBox(this))
    , m_threshold(new QDoubleSpinBox(this))
    , m_firstLayer(new QSpinBox(this))
    , m_lastLayer(new QSpinBox(this))
    , m_prompt(new QPlainTextEdit(this))
    , m_maxTokens(new QSpinBox(this))
    , m_usePlan(new QPushButton(tr("Use as Plan"), this))
    , m_summary(new QLabel(this))
    , m_baseline(new QTextEdit(this))
    , m_steered(new QTextEdit(this))
    , m_evalSpec(new QLineEdit(this))
    , m_task(new QComboBox(this))
    , m_outputDir(new QLineEdit(this))
    , m_evaluate(new QPushButton(tr("&Evaluate"), this))
    , m_evalStatus(new QLabel(this))
    , m_planFigure(new PlanMapRenderer(QStringLiteral("steering-set"), this))
    , m_resultsFigure(new SteeringResultsRenderer(this))
    , m_figureTabs(new QTabWidget(this))
    , m_debounce(new QTimer(this))
{
    // The study's defaults (arXiv 2601.14050; `moescope steer`).
    // Names for sessions (session_file.h saves and restores named controls).
    for (const auto &[widget, name] : std::initializer_list<std::pair<QWidget *, const char *>> {
             { m_a, "languageA" }, { m_b, "languageB" }, { m_lambda, "lambda" }, { m_k, "k" },
             { m_threshold, "threshold" }, { m_firstLayer, "firstLayer" },
             { m_lastLayer, "lastLayer" }, { m_prompt, "prompt" }, { m_maxTokens, "maxNewTokens" },
             { m_evalSpec, "evalCorpus" }, { m_task, "task" } })
        widget->setObjectName(QLatin1String(name));
    m_lambda->setRange(-1.0, 1.0);
    m_lambda->setDecimals(3);
    m_lambda->setSingleStep(0.002);
    m_lambda->setValue(0.022);
    m_lambda->setToolTip(tr("Steering strength: each expert's logit z becomes z + λ·share(A)·|z|"));
    m_k->setRange(1, 1024);
    m_k->setValue(20);
    m_threshold->setRange(0.5, 0.99);
    m_threshold->setSingleStep(0.05);
    m_threshold->setValue(0.7);
    m_threshold->setToolTip(
        tr("Experts in both languages' top-k whose share of A lies in (1 − T, T)"));
    m_firstLayer->setRange(0, 0);
    m_lastLayer->setRange(0, 0);
    m_prompt->setPlaceholderText(tr("Prompt for the baseline and the steered run"));
    m_prompt->setMaximumHeight(fontMetrics().lineSpacing() * 3 + 12);
    m_maxTokens->setRange(1, 1024);
    m_maxTokens->setValue(24);
    m_summary->setWordWrap(true);
    for (QTextEdit *edit : { m_baseline, m_steered })
        edit->setReadOnly(true);
    m_baseline->setPlaceholderText(tr("Baseline: the model without a plan"));
    m_steered->setPlaceholderText(tr("Steered: the pair's steering set scaled by λ"));
    m_usePlan->setToolTip(
        tr("Make this steering plan the current plan (Playground, File → Save Plan As…)"));
    m_task->addItem(tr("language consistency (CLD2)"), QStringLiteral("consistency"));
    m_task->addItem(tr("the corpus's own task (accuracy, perplexity…)"), QString());
    m_evalSpec->setToolTip(
        tr("Evaluation corpus spec, as `moescope steer --eval` (docs/corpora.md)"));
    m_outputDir->setText(defaultResultsFolder(QStringLiteral("steering")));
    m_outputDir->setToolTip(tr("results.csv, results.json and plans/ are written here, as by "
                               "`moescope steer --out`"));
    m_evalStatus->setWordWrap(true);

    auto *controls = new QFormLayout;
    auto *pairRow = new QHBoxLayout;
    pairRow->addWidget(m_a);
    pairRow->addWidget(new QLabel(tr("towards / away from"), this));
    pairRow->addWidget(m_b);
    pairRow->addStretch(1);
    controls->addRow(tr("Pair A, B:"), pairRow);
    controls->addRow(tr("&λ:"), m_lambda);
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

    auto *evalBox = new QGroupBox(tr("Evaluation (moescope steer)"), this);
    auto *evalForm = new QFormLayout(evalBox);
    evalForm->addRow(tr("Corpus:"), m_evalSpec);
    evalForm->addRow(tr("Measure:"), m_task);
    evalForm->addRow(tr("Results folder:"), m_outputDir);
    evalForm->addRow(m_evaluate, m_evalStatus);

    auto *left = new QVBoxLayout;
    left->addLayout(controls);
    left->addWidget(m_prompt);
    auto *summaryRow = new QHBoxLayout;
    summaryRow->addWidget(m_summary, 1);
    summaryRow->addWidget(m_usePlan);
    left->addLayout(summaryRow);
    left->addWidget(evalBox);

    auto *outputs = new QGridLayout;
    outputs->addWidget(new QLabel(tr("<b>Baseline</b>"), this), 0, 0);
    outputs->addWidget(new QLabel(tr("<b>Steered</b>"), this), 0, 1);
    outputs->addWidget(m_baseline, 1, 0);
    outputs->addWidget(m_steered, 1, 1);
    left->addLayout(outputs, 1);

    m_figureTabs->addTab(new FigureView(m_planFigure, m_figureTabs), tr("Steering set"));
    m_figureTabs->addTab(new FigureView(m_resultsFigure, m_figureTabs), tr("Evaluation"));

    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    auto *leftWidget = new QWidget(this);
    leftWidget->setLayout(left);
    auto *split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(leftWidget);
    split->addWidget(m_figureTabs);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    layout->addWidget(split);

    m_debounce->setSingleShot(true);
    m_debounce->setInterval(kDebounceMs);
    connect(m_debounce, &QTimer::timeout, this, &SteeringPanel::runNow);
    for (QComboBox *box : { m_a, m_b })
        connect(box, &QComboBox::currentIndexChanged, this, &SteeringPanel::scheduleUpdate);
    for (QSpinBox *box : { m_k, m_firstLayer, m_lastLayer, m_maxTokens })
        connect(box, &QSpinBox::valueChanged, this, &SteeringPanel::scheduleUpdate);
    for (QDoubleSpinBox *box : { m_lambda, m_threshold })
        connect(box, &QDoubleSpinBox::valueChanged, this, &SteeringPanel::scheduleUpdate);
    connect(m_prompt, &QPlainTextEdit::textChanged, this, &SteeringPanel::scheduleUpdate);
    connect(m_usePlan, &QPushButton::clicked, this, [this] { m_plan->setPlan(currentPlan()); });
    connect(m_evaluate, &QPushButton::clicked, this, [this] { evaluate(); });

    connect(m_jobs, &LiveJobTracker::modelLoaded, this,
        [this](quint64, ModelFactsPtr f) { onModelLoaded(f); });
    connect(m_jobs, &LiveJobTracker::generationUpdated, this, &SteeringPanel::onGeneration);
    connect(m_jobs, &LiveJobTracker::generationFailed, this, &SteeringPanel::onFailed);
    connect(m_jobs, &LiveJobTracker::taskFailed, this, &SteeringPanel::onFailed);
    connect(m_jobs, &LiveJobTracker::gridFinished, this, &SteeringPanel::onGrid);
    connect(
        m_jobs, &LiveJobTracker::jobCancelled, this, [this](quint64 tag, const QString &channel) {
            if (channel == evaluationChannel() && tag == m_evalTag) {
                m_evalTag = 0;
                m_evaluate->setEnabled(true);
                m_evalStatus->setText(tr("Cancelled."));
            }
        });
    onModelLoaded(m_jobs->model());
}

SteeringPanel::~SteeringPanel() = default;

void SteeringPanel::setSnapshot(StudySnapshotPtr snapshot, const QString &tracePath)
{
    m_snapshot = std::move(snapshot);
    m_tracePath = tracePath;
    const QSignalBlocker a(m_a), b(m_b);
    const QString previousA = m_a->currentText(), previousB = m_b->currentText();
    m_a->clear();
    m_b->clear();
    if (m_snapshot)
        for (int i = 0; i < m_snapshot->languageCount(); ++i) {
            m_a->addItem(m_snapshot->languageLabel(i));
            m_b->addItem(m_snapshot->languageLabel(i));
        }
    // The study's pair (en → zh) when the trace has it, else two different
    // languages of the trace.
    auto pick = [](QComboBox *box, const QString &previous, const QString &preferred,
                    const QString &avoid) {
        int i = box->findText(previous);
        if (i < 0 || previous == avoid)
            i = box->findText(preferred);
        for (int j = 0; (i < 0 || box->itemText(i) == avoid) && j < box->count(); ++j)
            i = j;
        box->setCurrentIndex(std::max(0, i));
    };
    // The study's k of 20 presumes 128 experts; a smaller model gets all of its own.
    if (m_snapshot && m_k->value() > m_snapshot->expertCount()) {
        const QSignalBlocker blockK(m_k);
        m_k->setValue(m_snapshot->expertCount());
    }
    pick(m_a, previousA, QStringLiteral("en"), QString());
    pick(m_b, previousB, QStringLiteral("zh"), m_a->currentText());
    if (m_evalSpec->text().isEmpty() && m_a->count() > 1)
        // Held-out articles: the recording panel's default is 1-10.
        m_evalSpec->setText(QStringLiteral("udhr:%1,%2?articles=25-30")
                                .arg(m_a->currentText(), m_b->currentText()));
    updatePlanView();
}

void SteeringPanel::onModelLoaded(ModelFactsPtr facts)
{
    const int layers = facts ? facts->info.numLayers : 1;
    const QSignalBlocker a(m_firstLayer), b(m_lastLayer);
    m_firstLayer->setRange(0, layers - 1);
    m_lastLayer->setRange(0, layers - 1);
    // The study steered layers 10-39 of 48: the middle of the stack.
    if (layers >= 48) {
        m_firstLayer->setValue(10);
        m_lastLayer->setValue(39);
    } else {
        m_firstLayer->setValue(layers * 10 / 48);
        m_lastLayer->setValue(std::max(layers * 10 / 48, layers * 39 / 48));
    }
    updatePlanView();
}

QString SteeringPanel::unavailableReason() const
{
    const auto facts = m_jobs->model();
    if (!facts)
        return tr("Open a model folder first.");
    if (!m_snapshot || m_snapshot->languageCount() < 2)
        return tr("Record (or open) a trace of this model with at least two languages.");
    if (m_snapshot->layerCount() != facts->info.numLayers
        || m_snapshot->expertCount() != facts->info.numExperts)
        return tr(
            "The loaded study is of a model with %1 layers × %2 experts; this model has %3 × %4. "
            "Record a trace on this model (Record tab).")
            .arg(m_snapshot->layerCount())
            .arg(m_snapshot->expertCount())
            .arg(facts->info.numLayers)
            .arg(facts->info.numExperts);
    if (m_a->currentText() == m_b->currentText())
        return tr("Pick two different languages.");
    if (m_k->value() > m_snapshot->expertCount())
        return tr("k is larger than the number of experts (%1).").arg(m_snapshot->expertCount());
    if (m_firstLayer->value() > m_lastLayer->value())
        return tr("The first layer comes after the last.");
    return {};
}

routing::InterventionPlan SteeringPanel::currentPlan() const
{
    if (!unavailableReason().isEmpty())
        return {};
    try {
        return experiments::steeringPlan(*m_snapshot->trace, m_a->currentText().toStdString(),
            m_b->currentText().toStdString(), m_lambda->value(), m_k->value(), m_threshold->value(),
            m_firstLayer->value(), m_lastLayer->value());
    } catch (const Error &) {
        return {};
    }
}

void SteeringPanel::updatePlanView()
{
    const QString reason = unavailableReason();
    if (!reason.isEmpty()) {
        m_summary->setText(reason);
        m_planFigure->clear(reason);
        m_usePlan->setEnabled(false);
        m_evaluate->setEnabled(false);
        return;
    }
    const auto plan = currentPlan();
    const auto facts = m_jobs->model();
    const std::size_t experts = experiments::planExpertCount(plan);
    m_planFigure->setPlan(plan, facts->info.numLayers, facts->info.numExperts,
        facts->planTarget.moeLayers,
        tr("Steering set %1 → %2, λ = %3 (layers %4–%5)")
            .arg(m_a->currentText(), m_b->currentText())
            .arg(m_lambda->value())
            .arg(m_firstLayer->value())
            .arg(m_lastLayer->value()));
    m_planFigure->setCaption(
        tr("Study: %1. Steering set: experts in the top-%2 of both %3 and %4 with "
           "share of %3 in (%5, %6); scale = λ · share. MoEScope %7")
            .arg(m_snapshot->sourceName)
            .arg(m_k->value())
            .arg(m_a->currentText(), m_b->currentText())
            .arg(1.0 - m_threshold->value(), 0, 'g', 3)
            .arg(m_threshold->value(), 0, 'g', 3)
            .arg(QStringLiteral(MOESCOPE_VERSION)));
    m_summary->setText(plan.empty()
            ? tr("%1 and %2 share no steering experts in these layers with this k and threshold.")
                  .arg(m_a->currentText(), m_b->currentText())
            : tr("Steering %1 expert-layers: %2").arg(experts).arg(PlanDocument::summarize(plan)));
    m_usePlan->setEnabled(!plan.empty());
    m_evaluate->setEnabled(m_evalTag == 0);
}

void SteeringPanel::scheduleUpdate()
{
    updatePlanView();
    m_debounce->start();
}

void SteeringPanel::runNow()
{
    m_debounce->stop();
    if (!unavailableReason().isEmpty() || m_prompt->toPlainText().isEmpty())
        return;
    GenerationRequest request;
    request.prompt = m_prompt->toPlainText();
    request.maxNewTokens = m_maxTokens->value();
    request.captureRouting = false;
    request.title = tr("Steering: baseline");
    m_jobs->generate(baselineChannel(), request);
    request.plan = currentPlan();
    request.title = tr("Steering: %1 → %2").arg(m_a->currentText(), m_b->currentText());
    m_jobs->generate(steeredChannel(), request);
}

GridRequest SteeringPanel::evaluationRequest() const
{
    GridRequest r;
    r.kind = GridRequest::Kind::Steering;
    r.trace = m_snapshot ? m_snapshot->trace : nullptr;
    r.tracePath = m_tracePath;
    r.steering.a = m_a->currentText().toStdString();
    r.steering.b = m_b->currentText().toStdString();
    r.steering.lambdas = { m_lambda->value() };
    r.steering.k = m_k->value();
    r.steering.threshold = m_threshold->value();
    r.steering.firstLayer = m_firstLayer->value();
    r.steering.lastLayer = m_lastLayer->value();
    r.evalSpec = m_evalSpec->text().trimmed();
    r.task = m_task->currentData().toString();
    r.maxNewTokens = m_maxTokens->value();
    r.outputDir = m_outputDir->text().trimmed();
    r.title = tr("Steering evaluation %1 → %2").arg(m_a->currentText(), m_b->currentText());
    return r;
}

quint64 SteeringPanel::evaluate()
{
    QString why = unavailableReason();
    if (why.isEmpty() && m_evalSpec->text().trimmed().isEmpty())
        why = tr("Give an evaluation corpus, e.g. udhr:en,zh?articles=25-30.");
    if (why.isEmpty() && m_outputDir->text().trimmed().isEmpty())
        why = tr("Choose a results folder.");
    if (!why.isEmpty()) {
        Q_EMIT errorOccurred(tr("Cannot evaluate: %1").arg(why));
        return 0;
    }
    m_evalTag = m_jobs->runGrid(evaluationChannel(), evaluationRequest());
    m_evaluate->setEnabled(false);
    m_evalStatus->setText(tr("Running (see the Jobs dock)…"));
    return m_evalTag;
}

void SteeringPanel::onGeneration(quint64, const QString &channel, GenerationOutcomePtr outcome)
{
    if (channel == baselineChannel())
        m_baseline->setPlainText(outcome->generatedText);
    else if (channel == steeredChannel())
        m_steered->setPlainText(outcome->generatedText);
}

void SteeringPanel::onGrid(quint64 tag, const QString &channel, GridOutcomePtr outcome)
{
    if (channel != evaluationChannel() || tag != m_evalTag)
        return;
    m_evalTag = 0;
    m_results = outcome;
    m_evaluate->setEnabled(unavailableReason().isEmpty());
    m_figureTabs->setCurrentIndex(1);
    try {
        m_resultsFigure->setResults(outcome->results);
    } catch (const Error &e) {
        Q_EMIT errorOccurred(QString::fromStdString(e.what()));
    }
    m_evalStatus->setText(tr("Done in %1 s: %2")
                              .arg(outcome->seconds, 0, 'f', 1)
                              .arg(QDir::toNativeSeparators(outcome->outputDir)));
    // The next run writes next to it, not over it.
    m_outputDir->setText(defaultResultsFolder(QStringLiteral("steering")));
    Q_EMIT evaluationFinished(outcome->outputDir);
}

void SteeringPanel::onFailed(quint64 tag, const QString &channel, const QString &message)
{
    if (channel == baselineChannel() || channel == steeredChannel()) {
        Q_EMIT errorOccurred(tr("Steering run failed: %1").arg(message));
    } else if (channel == evaluationChannel() && tag == m_evalTag) {
        m_evalTag = 0;
        m_evaluate->setEnabled(unavailableReason().isEmpty());
        m_evalStatus->setText(tr("Failed."));
        Q_EMIT errorOccurred(tr("Steering evaluation failed: %1").arg(message));
    }
}

QString SteeringPanel::baselineText() const
{
    return m_baseline->toPlainText();
}

QString SteeringPanel::steeredText() const
{
    return m_steered->toPlainText();
}

QString SteeringPanel::summaryText() const
{
    return m_summary->text();
}

bool SteeringPanel::loadResults(const QString &dir)
{
    try {
        auto outcome = std::make_shared<GridOutcome>();
        outcome->kind = GridRequest::Kind::Steering;
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
