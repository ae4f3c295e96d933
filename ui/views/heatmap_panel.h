#pragma once

#include "ui/views/figure_panel.h"

class QComboBox;

namespace moescope::ui {

class HeatmapModel;
class HeatmapRenderer;

// Expert usage heatmap with its language (and measure, or second language
// for the difference view) chosen above it.
class HeatmapPanel : public FigurePanel
{
    Q_OBJECT
public:
    explicit HeatmapPanel(HeatmapRenderer *figure, QWidget *parent = nullptr);

    QComboBox *languageBox() const { return m_language; }
    QComboBox *measureBox() const { return m_measure; }
    QComboBox *compareBox() const { return m_compare; }

private:
    void syncFromModel();

    HeatmapModel *m_model;
    QComboBox *m_language;
    QComboBox *m_measure = nullptr; // usage view only
    QComboBox *m_compare = nullptr; // difference view only
};

} // namespace moescope::ui
