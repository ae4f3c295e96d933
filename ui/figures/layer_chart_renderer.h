#pragma once

#include "ui/figures/chart_figure_renderer.h"

namespace moescope::ui {

class LayerSeriesModel;

// Line chart of a per-layer quantity, one Okabe–Ito coloured series per
// language (and a dashed black line for an all-languages aggregate).
class LayerChartRenderer : public ChartFigureRenderer
{
    Q_OBJECT
public:
    explicit LayerChartRenderer(LayerSeriesModel *model, QObject *parent = nullptr);

    QString fileStem() const override;
    QString title() const override;
    QSizeF defaultSize() const override { return {1100, 560}; }
    bool hasData() const override;

protected:
    QString contentToolTipAt(const QPointF &pos, const QRectF &content) override;

private:
    void rebuild();

    LayerSeriesModel *m_model;
};

} // namespace moescope::ui
