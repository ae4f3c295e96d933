#include "ui/views/steering_panel.h"

#include "ui/figures/plan_map_renderer.h"
#include "ui/figures/steering_results_renderer.h"
#include "ui/live/live_job_tracker.h"
#include "ui/live/plan_document.h"

#include "core/common/error.h"
#include "core/experiments/plan_building.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
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

namespace moescope::ui {

SteeringPanel::SteeringPanel(LiveJobTracker *jobs, PlanDocument *plan, QWidget *parent)
    : InterventionPanel({ GridRequest::Kind::Steering, QStringLiteral("steering"), tr("Steering"),
                            tr("steering evaluation") },
        new PlanMapRenderer(QStringLiteral("steering-set")), new SteeringResultsRenderer, jobs,
        plan, parent)
    , m_a(new QComboBox(this))
    , m_b(new QComboBox(this))
    , m_lambda(new QDoubleSpinBox(this))
{
    // Names for sessions (session_file.h saves and restores named controls).
    for (const auto &[widget, name] : std::initializer_list<std::pair<QWidget *, const char *>> {
             { m_a, "languageA" }, { m_b, "languageB" }, { m_lambda, "lambda" },
             { m_evalSpec, "evalCorpus" }, { m_task, "task" } })
        widget->setObjectName(QLatin1String(name));
    // The study's defaults (arXiv 2601.14050; `moescope steer`).
    m_lambda->setRange(-1.0, 1.0);
    m_lambda->setDecimals(3);
    m_lambda->setSingleStep(0.002);
    m_lambda->setValue(0.022);
    m_lambda->setToolTip(tr("Steering strength: each expert's logit z becomes z + λ·share(A)·|z|"));
    m_k->setValue(20);
    m_threshold->setRange(0.5, 0.99);
    m_threshold->setValue(0.7);
    m_threshold->setToolTip(
        tr("Experts in both languages' top-k whose share of A lies in (1 − T, T)"));
    m_prompt->setPlaceholderText(tr("Prompt for the baseline and the steered run"));
    m_intervenedHeader->setText(tr("<b>Steered</b>"));
    m_intervened->setPlaceholderText(tr("Steered: the pair's steering set scaled by λ"));
    m_usePlan->setToolTip(
        tr("Make this steering plan the current plan (Playground, File → Save Plan As…)"));
    auto *pairRow = new QHBoxLayout;
    pairRow->addWidget(m_a);
    pairRow->addWidget(new QLabel(tr("towards / away from"), this));
    pairRow->addWidget(m_b);
    pairRow->addStretch(1);
    m_controls->insertRow(0, tr("Pair A, B:"), pairRow);
    m_controls->insertRow(1, tr("&λ:"), m_lambda);

    m_gridBox->setTitle(tr("Evaluation (moescope steer)"));
    m_evalSpec->setToolTip(
        tr("Evaluation corpus spec, as `moescope steer --eval` (docs/corpora.md)"));
    m_task->addItem(tr("language consistency (CLD2)"), QStringLiteral("consistency"));
    m_task->addItem(tr("the corpus's own task (accuracy, perplexity…)"), QString());
    m_outputDir->setToolTip(tr("results.csv, results.json and plans/ are written here, as by "
                               "`moescope steer --out`"));
    m_runGrid->setText(tr("&Evaluate"));
    m_figureTabs->setTabText(0, tr("Steering set"));
    m_figureTabs->setTabText(1, tr("Evaluation"));

    for (QComboBox *box : { m_a, m_b })
        connect(box, &QComboBox::currentIndexChanged, this, &SteeringPanel::scheduleUpdate);
    connect(m_lambda, &QDoubleSpinBox::valueChanged, this, &SteeringPanel::scheduleUpdate);

    orderFocus({ m_a, m_b, m_lambda }, {});
    setModel(m_jobs->model());
}

void SteeringPanel::applySnapshot()
{
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
}

void SteeringPanel::applyModelDefaults(int numLayers)
{
    // The study steered layers 10-39 of 48: the middle of the stack.
    if (numLayers >= 48) {
        m_firstLayer->setValue(10);
        m_lastLayer->setValue(39);
    } else {
        m_firstLayer->setValue(numLayers * 10 / 48);
        m_lastLayer->setValue(std::max(numLayers * 10 / 48, numLayers * 39 / 48));
    }
}

QString SteeringPanel::unavailableReason() const
{
    if (QString why = InterventionPanel::unavailableReason(); !why.isEmpty())
        return why;
    if (m_snapshot->languageCount() < 2 || m_a->currentText() == m_b->currentText())
        return tr("Pick two different languages (the trace needs at least two).");
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

InterventionPanel::PlanDescription SteeringPanel::describe(
    const routing::InterventionPlan &plan) const
{
    const QString a = m_a->currentText(), b = m_b->currentText();
    PlanDescription about;
    about.title = tr("Steering set %1 → %2, λ = %3 (layers %4–%5)")
                      .arg(a, b)
                      .arg(m_lambda->value())
                      .arg(m_firstLayer->value())
                      .arg(m_lastLayer->value());
    about.rule = tr("Steering set: experts in the top-%1 of both %2 and %3 with share of %2 in "
                    "(%4, %5); scale = λ · share.")
                     .arg(m_k->value())
                     .arg(a, b)
                     .arg(1.0 - m_threshold->value(), 0, 'g', 3)
                     .arg(m_threshold->value(), 0, 'g', 3);
    about.summary = plan.empty()
        ? tr("%1 and %2 share no steering experts in these layers with this k and threshold.")
              .arg(a, b)
        : tr("Steering %1 expert-layers: %2")
              .arg(experiments::planExpertCount(plan))
              .arg(PlanDocument::summarise(plan));
    about.generationTitle = tr("Steering: %1 → %2").arg(a, b);
    return about;
}

GridRequest SteeringPanel::gridRequest() const
{
    GridRequest r;
    r.kind = GridRequest::Kind::Steering;
    r.trace = m_snapshot ? m_snapshot->trace : nullptr;
    r.tracePath = m_tracePath.toStdString();
    r.steering.a = m_a->currentText().toStdString();
    r.steering.b = m_b->currentText().toStdString();
    r.steering.lambdas = { m_lambda->value() };
    r.steering.k = m_k->value();
    r.steering.threshold = m_threshold->value();
    r.steering.firstLayer = m_firstLayer->value();
    r.steering.lastLayer = m_lastLayer->value();
    setEvaluation(r);
    r.outputDir = m_outputDir->text().trimmed().toStdString();
    r.title = tr("Steering evaluation %1 → %2").arg(m_a->currentText(), m_b->currentText());
    return r;
}

} // namespace moescope::ui
