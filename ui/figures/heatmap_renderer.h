#pragma once

#include "ui/figures/figure_renderer.h"
#include "ui/figures/palettes.h"

namespace moescope::ui {

class HeatmapModel;

// Layer × expert heatmap: layers top to bottom, experts left to right,
// viridis for usage and a blue–white–red scale for differences.
class HeatmapRenderer : public FigureRenderer
{
    Q_OBJECT
public:
    explicit HeatmapRenderer(HeatmapModel *model, QObject *parent = nullptr);

    QString fileStem() const override;
    QString title() const override;
    QSizeF defaultSize() const override { return {1200, 640}; }
    bool hasData() const override;

    HeatmapModel *model() const { return m_model; }
    void setSequentialPalette(SequentialPalette palette);

protected:
    void paintContent(QPainter *painter, const QRectF &content) override;
    QString contentToolTipAt(const QPointF &pos, const QRectF &content) override;

private:
    struct Layout
    {
        QRectF plot;
        QRectF legend;
        double cellWidth = 0, cellHeight = 0;
    };
    Layout layout(const QRectF &content) const;
    QColor colorFor(double value) const;

    HeatmapModel *m_model;
    SequentialPalette m_palette = SequentialPalette::Viridis;
};

} // namespace moescope::ui
