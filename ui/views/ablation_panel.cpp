#include "ui/views/ablation_panel.h"

#include "ui/live/live_job_tracker.h"
#include "ui/live/plan_document.h"

#include "core/analysis/routing_analysis.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTextEdit>
#include <QTimer>
#include <QVBoxLayout>

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
{
    m_k->setRange(1, 1024);
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
    controls->addRow(tr("Top-&k:"), kRow);
    auto *layerRow = new QHBoxLayout;
    layerRow->addWidget(m_firstLayer);
    layerRow->addWidget(new QLabel(tr("to"), this));
    layerRow->addWidget(m_lastLayer);
    layerRow->addStretch(1);
    controls->addRow(tr("La&yers:"), layerRow);
    controls->addRow(tr("&Max new tokens:"), m_maxTokens);

    auto *top = new QHBoxLayout;
    top->addLayout(controls);
    auto *promptColumn = new QVBoxLayout;
    promptColumn->addWidget(m_prompt);
    auto *summaryRow = new QHBoxLayout;
    summaryRow->addWidget(m_summary, 1);
    summaryRow->addWidget(m_usePlan);
    promptColumn->addLayout(summaryRow);
    top->addLayout(promptColumn, 1);

    auto *outputs = new QGridLayout;
    outputs->addWidget(new QLabel(tr("<b>Baseline</b>"), this), 0, 0);
    outputs->addWidget(new QLabel(tr("<b>Ablated</b>"), this), 0, 1);
    outputs->addWidget(m_baseline, 1, 0);
    outputs->addWidget(m_ablated, 1, 1);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addLayout(top);
    layout->addLayout(outputs, 1);

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
    onModelLoaded(m_jobs->model());
}

void AblationPanel::setSnapshot(StudySnapshotPtr snapshot)
{
    m_snapshot = std::move(snapshot);
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
    updateSummary();
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
    // The study's exclusive experts (core/analysis), grouped by layer.
    const auto experts
        = expertSpecialisation(*m_snapshot->trace, m_k->value(), m_threshold->value());
    const auto it = experts.exclusive.find(m_language->currentText().toStdString());
    if (it == experts.exclusive.end())
        return plan;
    std::map<int, std::vector<int>> byLayer;
    for (const auto &[layer, expert] : it->second)
        if (layer >= m_firstLayer->value() && layer <= m_lastLayer->value())
            byLayer[layer].push_back(expert);
    for (auto &[layer, list] : byLayer)
        plan.mask.push_back({ { layer, layer }, std::move(list) });
    return plan;
}

void AblationPanel::updateSummary()
{
    const QString reason = unavailableReason();
    if (!reason.isEmpty()) {
        m_summary->setText(reason);
        m_usePlan->setEnabled(false);
        return;
    }
    const auto plan = currentPlan();
    m_summary->setText(plan.empty()
            ? tr("%1 has no exclusive experts in these layers with this k and threshold.")
                  .arg(m_language->currentText())
            : tr("Masking %1 exclusive experts of %2: %3")
                  .arg([&] {
                      std::size_t n = 0;
                      for (const auto &e : plan.mask)
                          n += e.experts.size();
                      return n;
                  }())
                  .arg(m_language->currentText(), PlanDocument::summarize(plan)));
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

} // namespace moescope::ui
