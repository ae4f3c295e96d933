#include "ui/views/model_panel.h"

#include <QDir>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace moescope::ui {

ModelPanel::ModelPanel(QWidget *parent)
    : QWidget(parent)
    , m_status(new QLabel(this))
    , m_open(new QPushButton(tr("Open Model Folder…"), this))
    , m_factsBox(new QWidget(this))
    , m_facts(new QFormLayout(m_factsBox))
    , m_plan(new QLabel(this))
    , m_savePlan(new QPushButton(tr("Save…"), this))
    , m_clearPlan(new QPushButton(tr("Clear"), this))
{
    m_status->setWordWrap(true);
    m_status->setTextFormat(Qt::RichText);
    m_facts->setContentsMargins(0, 0, 0, 0);
    m_facts->setLabelAlignment(Qt::AlignRight);
    m_facts->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    m_plan->setWordWrap(true);
    m_plan->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto *planBox = new QGroupBox(tr("Intervention plan"), this);
    auto *planLayout = new QVBoxLayout(planBox);
    planLayout->addWidget(m_plan);
    auto *planButtons = new QHBoxLayout;
    auto *openPlan = new QPushButton(tr("Open…"), planBox);
    planButtons->addWidget(openPlan);
    planButtons->addWidget(m_savePlan);
    planButtons->addWidget(m_clearPlan);
    planButtons->addStretch(1);
    planLayout->addLayout(planButtons);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->addWidget(m_status);
    layout->addWidget(m_open, 0, Qt::AlignLeft);
    layout->addWidget(m_factsBox);
    layout->addWidget(planBox);
    layout->addStretch(1);

    connect(m_open, &QPushButton::clicked, this, &ModelPanel::openModelRequested);
    connect(openPlan, &QPushButton::clicked, this, &ModelPanel::openPlanRequested);
    connect(m_savePlan, &QPushButton::clicked, this, &ModelPanel::savePlanRequested);
    connect(m_clearPlan, &QPushButton::clicked, this, &ModelPanel::clearPlanRequested);

    setFailed(nullptr);
    setPlanSummary(tr("no plan"), {}, true);
}

QString ModelPanel::formatCount(std::uint64_t n)
{
    const double v = static_cast<double>(n);
    if (n >= 1000000000ull)
        return QStringLiteral("%1 B").arg(v / 1e9, 0, 'f', v >= 1e11 ? 0 : 1);
    if (n >= 1000000ull)
        return QStringLiteral("%1 M").arg(v / 1e6, 0, 'f', v >= 1e8 ? 0 : 1);
    if (n >= 1000ull)
        return QStringLiteral("%1 K").arg(v / 1e3, 0, 'f', 1);
    return QString::number(n);
}

QString ModelPanel::formatBytes(std::uint64_t bytes)
{
    const double v = static_cast<double>(bytes);
    if (bytes >= (1ull << 30))
        return QStringLiteral("%1 GiB").arg(v / (1ull << 30), 0, 'f', 1);
    if (bytes >= (1ull << 20))
        return QStringLiteral("%1 MiB").arg(v / (1ull << 20), 0, 'f', 1);
    if (bytes >= (1ull << 10))
        return QStringLiteral("%1 KiB").arg(v / (1ull << 10), 0, 'f', 1);
    return tr("%1 bytes").arg(bytes);
}

void ModelPanel::setFact(const QString &name, const QString &value, const QString &toolTip)
{
    auto *label = new QLabel(value, m_factsBox);
    label->setObjectName(name);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setToolTip(toolTip);
    m_facts->addRow(name + QLatin1Char(':'), label);
}

QString ModelPanel::fact(const QString &name) const
{
    const auto *label = m_factsBox->findChild<QLabel *>(name);
    return label ? label->text() : QString();
}

QString ModelPanel::statusText() const
{
    return m_status->text();
}

void ModelPanel::setLoading(const QString &directory)
{
    m_status->setText(
        tr("Loading <b>%1</b>…").arg(QFileInfo(directory).fileName().toHtmlEscaped()));
    m_open->setEnabled(false);
}

void ModelPanel::setFailed(const ModelFactsPtr &previous)
{
    m_open->setEnabled(true);
    if (previous) {
        setFacts(previous);
        return;
    }
    while (m_facts->rowCount() > 0)
        m_facts->removeRow(0);
    m_factsBox->hide();
    m_status->setText(
        tr("<b>Open a model folder</b> (a Hugging Face MoE checkpoint: config.json, "
           "*.safetensors, tokenizer.json) to generate, see per-token routing and apply "
           "plans. File → Open Model…, or <tt>moescope gui MODEL_DIR</tt>."
           "<br><br>MoEScope opens its bundled demo model by default; none was found "
           "(<tt>resources/demo-model</tt>, <tt>share/moescope/demo-model</tt> or "
           "<tt>$MOESCOPE_DEMO_MODEL</tt>)."));
}

void ModelPanel::setFacts(const ModelFactsPtr &facts)
{
    m_open->setEnabled(true);
    while (m_facts->rowCount() > 0)
        m_facts->removeRow(0);
    if (!facts) {
        setFailed(nullptr);
        return;
    }
    const auto &info = facts->info;
    m_status->setText(tr("<b>%1</b>").arg(QFileInfo(facts->directory).fileName().toHtmlEscaped()));
    m_status->setToolTip(QDir::toNativeSeparators(facts->directory));
    setFact(tr("Family"), QString::fromStdString(info.modelType));
    setFact(tr("Parameters"),
        tr("%1 total, %2 active per token")
            .arg(formatCount(info.totalParameters), formatCount(info.activeParameters)),
        tr("%1 total, %2 active").arg(info.totalParameters).arg(info.activeParameters));
    setFact(tr("Layers"), tr("%1 (%2 MoE)").arg(info.numLayers).arg(info.moeLayers.size()));
    QString experts = tr("%1 routed, top-%2").arg(info.numExperts).arg(info.topK);
    if (info.sharedExpert != "none" && !info.sharedExpert.empty())
        experts += tr(", shared expert (%1)").arg(QString::fromStdString(info.sharedExpert));
    setFact(tr("Experts"), experts, tr("expert MLP width %1").arg(info.expertIntermediate));
    setFact(tr("Hidden size"),
        tr("%1, %2 heads (%3 kv)").arg(info.hiddenSize).arg(info.numHeads).arg(info.numKvHeads));
    setFact(tr("Vocabulary"), QString::number(info.vocabSize));
    setFact(tr("dtype"),
        tr("%1 stored, computing in %2")
            .arg(QString::fromStdString(info.storageDtype), facts->computeDtype));
    std::uint64_t bytes = 0;
    QStringList files;
    for (const auto &[name, size] : info.files) {
        bytes += size;
        files << QStringLiteral("%1  %2").arg(QString::fromStdString(name), formatBytes(size));
    }
    setFact(tr("Weights"), tr("%1 in %2 file(s)").arg(formatBytes(bytes)).arg(info.files.size()),
        files.join(QLatin1Char('\n')));
    setFact(tr("Tokenizer"), facts->hasTokenizer ? tr("tokenizer.json") : facts->tokenizerProblem);
    setFact(tr("Loaded in"), tr("%1 s").arg(facts->loadSeconds, 0, 'f', 1));
    m_factsBox->show();
}

void ModelPanel::setPlanSummary(const QString &summary, const QString &path, bool empty)
{
    m_plan->setText(
        path.isEmpty() ? summary : tr("%1\n%2").arg(summary, QDir::toNativeSeparators(path)));
    m_savePlan->setEnabled(!empty);
    m_clearPlan->setEnabled(!empty);
}

} // namespace moescope::ui
