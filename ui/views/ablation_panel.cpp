#include "ui/views/ablation_panel.h"

#include "ui/figures/ablation_grid_renderer.h"
#include "ui/figures/plan_map_renderer.h"
#include "ui/live/live_job_tracker.h"
#include "ui/live/plan_document.h"
#include "ui/views/figure_view.h"

#include "core/cli/args.h"
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

#include <algorithm>
#include <cmath>
#include <map>

namespace moescope::ui {

AblationPanel::AblationPanel(LiveJobTracker *jobs, PlanDocument *plan, QWidget *parent)
    : InterventionPanel({ GridRequest::Kind::Ablation, QStringLiteral("ablation"), tr("Ablation"),
                            tr("ablation grid") },
        new PlanMapRenderer(QStringLiteral("ablation-mask")), new AblationGridRenderer, jobs,
        plan, parent)
    , m_language(new QComboBox(this))
    , m_gridLanguages(new QLineEdit(this))
    , m_gridBlocks(new QLineEdit(this))
    , m_clearPicks(new QPushButton(tr("Clear picks"), this))
{
    // Names for sessions (session_file.h saves and restores named controls).
    for (const auto &[widget, name] : std::initializer_list<std::pair<QWidget *, const char *>> {
             { m_language, "language" }, { m_gridLanguages, "gridLanguages" },
             { m_gridBlocks, "gridBlocks" }, { m_evalSpec, "gridCorpus" }, { m_task, "gridTask" } })
        widget->setObjectName(QLatin1String(name));
    m_k->setValue(15);
    m_k->setToolTip(tr("Experts kept per language and layer (the study's k)"));
    m_threshold->setRange(0.01, 0.99);
    m_threshold->setValue(0.4);
    m_threshold->setToolTip(tr("Share above which an expert is exclusive to the language"));
    m_prompt->setPlaceholderText(tr("Prompt for both runs"));
    m_intervenedHeader->setText(tr("<b>Ablated</b>"));
    m_intervened->setPlaceholderText(tr("Ablated: the language's exclusive experts masked"));
    m_usePlan->setToolTip(tr("Make this mask the current plan (Playground, File → Save Plan As…)"));
    m_controls->insertRow(0, tr("&Language:"), m_language);
    m_clearPicks->setToolTip(tr("Forget the experts picked by hand on the mask map"));
    m_clearPicks->setEnabled(false);
    m_summaryRow->insertWidget(1, m_clearPicks);

    m_gridBox->setTitle(tr("Block × language grid (moescope ablate)"));
    m_gridLanguages->setToolTip(tr("Masked and evaluated languages (moescope ablate --languages)"));
    m_gridBlocks->setToolTip(tr("Layer blocks, e.g. 0-4,22-26,43-47 (moescope ablate --blocks)"));
    m_gridForm->insertRow(0, tr("Languages:"), m_gridLanguages);
    m_gridForm->insertRow(1, tr("Blocks:"), m_gridBlocks);
    m_evalSpec->setToolTip(tr("Evaluation corpus spec (moescope ablate --eval, docs/corpora.md)"));
    m_task->addItem(tr("the corpus's own task (perplexity for text)"), QString());
    m_task->addItem(tr("language consistency (CLD2)"), QStringLiteral("consistency"));
    m_outputDir->setToolTip(tr("results.csv, results.json and plans/ are written here, as by "
                               "`moescope ablate --out`"));
    m_runGrid->setText(tr("Run &grid"));

    m_figureTabs->setTabText(0, tr("Mask"));
    m_figureTabs->setTabText(1, tr("Grid"));
    m_planView->setToolTip(tr("Click a cell to mask or unmask that expert by hand"));
    m_planView->setCursor(Qt::PointingHandCursor);
    connect(m_planView, &FigureView::clicked, this, [this](const QPointF &pos, const QRectF &rect) {
        if (const auto cell = m_planFigure->cellAt(pos, rect))
            toggleExpert(cell->first, cell->second);
    });
    connect(m_clearPicks, &QPushButton::clicked, this, &AblationPanel::clearPicks);
    connect(m_language, &QComboBox::currentIndexChanged, this, &AblationPanel::scheduleUpdate);

    orderFocus({ m_language }, { m_gridLanguages, m_gridBlocks });
    setModel(m_jobs->model());
}

AblationGridRenderer *AblationPanel::gridFigure() const
{
    return static_cast<AblationGridRenderer *>(resultsFigure());
}

void AblationPanel::applySnapshot()
{
    if (m_snapshot) {
        QStringList labels;
        for (int i = 0; i < m_snapshot->languageCount(); ++i)
            labels << m_snapshot->languageLabel(i);
        m_gridLanguages->setText(labels.join(QLatin1Char(',')));
        // Held-out articles: the recording panel's default is 1-10.
        m_evalSpec->setText(
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
}

void AblationPanel::applyModelDefaults(int numLayers)
{
    m_firstLayer->setValue(0);
    m_lastLayer->setValue(numLayers - 1);
    m_gridBlocks->setText(defaultBlocks(numLayers));
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
    r.tracePath = m_tracePath.toStdString();
    // The fields read as `moescope ablate --languages --blocks` reads them.
    r.ablation.languages = cli::splitList(m_gridLanguages->text().toStdString());
    if (r.ablation.languages.empty())
        throw Error("give the languages to mask, e.g. en,zh");
    try {
        for (const auto &[first, last] : cli::parseRanges(m_gridBlocks->text().toStdString(), "blocks"))
            r.ablation.blocks.push_back({ first, last });
    } catch (const cli::UsageError &e) {
        throw Error(e.what());
    }
    if (r.ablation.blocks.empty())
        throw Error("give at least one layer block, e.g. 0-4");
    r.ablation.k = m_k->value();
    r.ablation.threshold = m_threshold->value();
    setEvaluation(r);
    r.outputDir = m_outputDir->text().trimmed().toStdString();
    r.title = tr("Ablation grid (%1 languages × %2 blocks)")
                  .arg(r.ablation.languages.size())
                  .arg(r.ablation.blocks.size());
    return r;
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

InterventionPanel::PlanDescription AblationPanel::describe(
    const routing::InterventionPlan &plan) const
{
    const QString language = m_language->currentText();
    const QString picked
        = m_toggled.empty() ? QString() : tr(", %n picked by hand", nullptr, pickCount());
    PlanDescription about;
    about.title = tr("Experts exclusive to %1, masked (layers %2–%3)%4")
                      .arg(language)
                      .arg(m_firstLayer->value())
                      .arg(m_lastLayer->value())
                      .arg(picked);
    about.rule = tr("Exclusive: in the language's top-%1 with share > %2 "
                    "(core expertSpecialisation).")
                     .arg(m_k->value())
                     .arg(m_threshold->value(), 0, 'g', 3);
    about.summary = plan.empty()
        ? tr("%1 has no exclusive experts in these layers with this k and threshold.")
              .arg(language)
        : tr("Masking %1 experts (%2's exclusive ones%4): %3")
              .arg(experiments::planExpertCount(plan))
              .arg(language, PlanDocument::summarise(plan),
                  m_toggled.empty() ? QString()
                                    : tr(", %n flipped by hand", nullptr, pickCount()));
    about.generationTitle = tr("Ablation: %1 experts masked").arg(language);
    return about;
}

} // namespace moescope::ui
