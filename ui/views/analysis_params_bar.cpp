#include "ui/views/analysis_params_bar.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTimer>

namespace moescope::ui {

AnalysisParamsBar::AnalysisParamsBar(QWidget *parent)
    : QToolBar(tr("Analysis"), parent),
      m_k(new QSpinBox(this)),
      m_threshold(new QDoubleSpinBox(this)),
      m_linkage(new QComboBox(this)),
      m_debounce(new QTimer(this))
{
    setObjectName(QStringLiteral("analysisParams"));
    m_k->setRange(1, 128);
    m_k->setToolTip(tr("Experts kept per language and layer (top-k by activation frequency)"));
    m_threshold->setRange(0.05, 1.0);
    m_threshold->setSingleStep(0.05);
    m_threshold->setDecimals(2);
    m_threshold->setToolTip(tr("An expert is exclusive to a language when its share exceeds this"));
    for (auto l : {Linkage::Average, Linkage::Single, Linkage::Complete, Linkage::Ward})
        m_linkage->addItem(QString::fromStdString(linkageName(l)), static_cast<int>(l));
    m_linkage->setToolTip(tr("Linkage of the language clustering (dendrogram)"));

    auto addLabelled = [this](const QString &text, QWidget *w) {
        auto *label = new QLabel(text, this);
        label->setBuddy(w);
        label->setContentsMargins(8, 0, 4, 0);
        addWidget(label);
        addWidget(w);
    };
    addLabelled(tr("Top-&k:"), m_k);
    addLabelled(tr("&Threshold:"), m_threshold);
    addLabelled(tr("L&inkage:"), m_linkage);
    setParams(AnalysisParams{});

    m_debounce->setSingleShot(true);
    m_debounce->setInterval(250);
    connect(m_debounce, &QTimer::timeout, this, [this] { Q_EMIT paramsChanged(params()); });
    auto changed = [this] { m_debounce->start(); };
    connect(m_k, &QSpinBox::valueChanged, this, changed);
    connect(m_threshold, &QDoubleSpinBox::valueChanged, this, changed);
    connect(m_linkage, &QComboBox::currentIndexChanged, this, changed);
}

AnalysisParams AnalysisParamsBar::params() const
{
    AnalysisParams p;
    p.k = m_k->value();
    p.threshold = m_threshold->value();
    p.linkage = static_cast<Linkage>(m_linkage->currentData().toInt());
    return p;
}

void AnalysisParamsBar::setParams(const AnalysisParams &params)
{
    const QSignalBlocker a(m_k), b(m_threshold), c(m_linkage);
    m_k->setValue(params.k);
    m_threshold->setValue(params.threshold);
    m_linkage->setCurrentIndex(m_linkage->findData(static_cast<int>(params.linkage)));
}

void AnalysisParamsBar::setExpertCount(int experts)
{
    if (experts > 0)
        m_k->setMaximum(experts);
}

} // namespace moescope::ui
