#pragma once

#include "ui/figures/chart_figure_renderer.h"

namespace moescope::ui {

class ExpertCountsModel;

// Stacked bars of experts exclusive to each language per layer, with the
// number of shared experts (kept by at least two languages, no share above the threshold) as a line.
class ExpertCountsRenderer : public ChartFigureRenderer
{
    Q_OBJECT
public:
    explicit ExpertCountsRenderer(ExpertCountsModel *model, QObject *parent = nullptr);

    QString fileStem() const override { return QStringLiteral("expert-counts"); }
    QString title() const override;
    QSizeF defaultSize() const override { return {1100, 560}; }
    bool hasData() const override;

protected:
    QString contentToolTipAt(const QPointF &pos, const QRectF &content) override;

private:
    void rebuild();

    ExpertCountsModel *m_model;
};

} // namespace moescope::ui
