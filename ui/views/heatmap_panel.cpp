#include "ui/views/heatmap_panel.h"

#include "ui/figures/heatmap_renderer.h"
#include "ui/models/heatmap_model.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QToolButton>

namespace moescope::ui {

HeatmapPanel::HeatmapPanel(HeatmapRenderer *figure, QWidget *parent)
    : FigurePanel(figure, parent), m_model(figure->model()), m_language(new QComboBox(this))
{
    const bool difference = m_model->measure() == HeatmapModel::Measure::Difference;
    auto *languageLabel = new QLabel(tr("&Language:"), this);
    languageLabel->setBuddy(m_language);
    controls()->addWidget(languageLabel);
    controls()->addWidget(m_language);
    connect(m_language, &QComboBox::currentIndexChanged, m_model, &HeatmapModel::setLanguage);

    if (difference) {
        m_compare = new QComboBox(this);
        auto *compareLabel = new QLabel(tr("&minus:"), this);
        compareLabel->setBuddy(m_compare);
        auto *swap = new QToolButton(this);
        swap->setText(QStringLiteral("⇄"));
        swap->setToolTip(tr("Swap the two languages"));
        controls()->addWidget(compareLabel);
        controls()->addWidget(m_compare);
        controls()->addWidget(swap);
        connect(m_compare, &QComboBox::currentIndexChanged, m_model, &HeatmapModel::setCompareLanguage);
        connect(swap, &QToolButton::clicked, this, [this] {
            const int a = m_model->language(), b = m_model->compareLanguage();
            m_model->setLanguage(b);
            m_model->setCompareLanguage(a);
        });
    } else {
        m_measure = new QComboBox(this);
        m_measure->addItem(tr("Activation frequency f"), static_cast<int>(HeatmapModel::Measure::Frequency));
        m_measure->addItem(tr("Share among languages"), static_cast<int>(HeatmapModel::Measure::Share));
        m_measure->setToolTip(tr("f = tokens routed to the expert / tokens in the layer.\n"
                                 "Share = f of this language / sum of f over languages, over each "
                                 "language's top-k experts (the k of the analysis)."));
        auto *measureLabel = new QLabel(tr("&Colour:"), this);
        measureLabel->setBuddy(m_measure);
        controls()->addSpacing(12);
        controls()->addWidget(measureLabel);
        controls()->addWidget(m_measure);
        connect(m_measure, &QComboBox::currentIndexChanged, this, [this](int i) {
            m_model->setMeasure(static_cast<HeatmapModel::Measure>(m_measure->itemData(i).toInt()));
        });
    }
    controls()->addStretch(1);
    controls()->addWidget(new QLabel(tr("Hover a cell for exact values."), this));
    connect(m_model, &QAbstractItemModel::modelReset, this, &HeatmapPanel::syncFromModel);
    syncFromModel();
}

void HeatmapPanel::syncFromModel()
{
    const auto snapshot = m_model->snapshot();
    QStringList labels;
    if (snapshot)
        for (int i = 0; i < snapshot->languageCount(); ++i)
            labels << snapshot->languageLabel(i);
    auto fill = [&labels](QComboBox *box, int current) {
        const QSignalBlocker block(box);
        QStringList existing;
        for (int i = 0; i < box->count(); ++i)
            existing << box->itemText(i);
        if (existing != labels) {
            box->clear();
            box->addItems(labels);
        }
        box->setCurrentIndex(current);
    };
    fill(m_language, m_model->language());
    if (m_compare)
        fill(m_compare, m_model->compareLanguage());
    if (m_measure) {
        const QSignalBlocker block(m_measure);
        m_measure->setCurrentIndex(m_measure->findData(static_cast<int>(m_model->measure())));
    }
}

} // namespace moescope::ui
