#include "ui/views/similarity_panel.h"

#include "ui/figures/similarity_renderer.h"
#include "ui/models/similarity_model.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>

#include <algorithm>

namespace moescope::ui {

SimilarityPanel::SimilarityPanel(SimilarityRenderer *figure, QWidget *parent)
    : FigurePanel(figure, parent),
      m_model(figure->model()),
      m_mean(new QCheckBox(tr("&Mean over layers"), this)),
      m_slider(new QSlider(Qt::Horizontal, this)),
      m_layerLabel(new QLabel(this))
{
    m_mean->setChecked(true);
    m_slider->setMinimumWidth(280);
    m_slider->setTickPosition(QSlider::TicksBelow);
    m_layerLabel->setMinimumWidth(70);
    controls()->addWidget(m_mean);
    controls()->addSpacing(12);
    controls()->addWidget(new QLabel(tr("Layer:"), this));
    controls()->addWidget(m_slider);
    controls()->addWidget(m_layerLabel);
    controls()->addStretch(1);
    controls()->addWidget(new QLabel(tr("Hover a cell for the exact similarity."), this));
    connect(m_mean, &QCheckBox::toggled, this, &SimilarityPanel::apply);
    connect(m_slider, &QSlider::valueChanged, this, &SimilarityPanel::apply);
    connect(m_model, &QAbstractItemModel::modelReset, this, &SimilarityPanel::syncFromModel);
    syncFromModel();
}

void SimilarityPanel::syncFromModel()
{
    m_layers = m_model->moeLayers();
    const QSignalBlocker blockSlider(m_slider), blockMean(m_mean);
    m_slider->setRange(0, std::max(0, static_cast<int>(m_layers.size()) - 1));
    m_slider->setTickInterval(4);
    const int layer = m_model->layer();
    m_mean->setChecked(layer == SimilarityModel::kMeanOverLayers);
    const auto it = std::find(m_layers.begin(), m_layers.end(), layer);
    if (it != m_layers.end())
        m_slider->setValue(static_cast<int>(it - m_layers.begin()));
    m_slider->setEnabled(!m_mean->isChecked() && !m_layers.empty());
    m_layerLabel->setText(m_mean->isChecked() || m_layers.empty()
                              ? tr("(mean)")
                              : tr("layer %1").arg(m_layers[static_cast<std::size_t>(m_slider->value())]));
}

void SimilarityPanel::apply()
{
    if (m_mean->isChecked() || m_layers.empty())
        m_model->setLayer(SimilarityModel::kMeanOverLayers);
    else
        m_model->setLayer(m_layers[static_cast<std::size_t>(std::clamp(m_slider->value(), 0,
                                                                       static_cast<int>(m_layers.size()) - 1))]);
    syncFromModel();
}

} // namespace moescope::ui
