#pragma once

#include "ui/views/figure_panel.h"

class QCheckBox;
class QLabel;
class QSlider;

namespace moescope::ui {

class SimilarityModel;
class SimilarityRenderer;

// Similarity matrix, averaged over layers or for the layer on the slider.
class SimilarityPanel : public FigurePanel
{
    Q_OBJECT
public:
    explicit SimilarityPanel(SimilarityRenderer *figure, QWidget *parent = nullptr);

    QCheckBox *meanBox() const { return m_mean; }
    QSlider *layerSlider() const { return m_slider; }

private:
    void syncFromModel();
    void apply();

    SimilarityModel *m_model;
    QCheckBox *m_mean;
    QSlider *m_slider;
    QLabel *m_layerLabel;
    std::vector<int> m_layers;
};

} // namespace moescope::ui
