#pragma once

#include "ui/figures/figure_renderer.h"

namespace moescope::ui {

class TokenRoutingModel;

// Token × layer grid of one generation: tokens left to right (prompt, then
// generated, split by a rule), layers top to bottom; each cell coloured by
// the top-1 expert (its number written in when the cell is large enough) or
// by that expert's share for one language in the loaded study.
class TokenRoutingRenderer : public FigureRenderer
{
    Q_OBJECT
public:
    explicit TokenRoutingRenderer(TokenRoutingModel *model, QObject *parent = nullptr);

    QString fileStem() const override { return QStringLiteral("token-routing"); }
    QString title() const override;
    QSizeF defaultSize() const override { return { 1200, 560 }; }
    bool hasData() const override;
    QString emptyMessage() const override;

    TokenRoutingModel *model() const { return m_model; }

protected:
    void paintContent(QPainter *painter, const QRectF &content) override;
    QString contentToolTipAt(const QPointF &pos, const QRectF &content) override;

private:
    struct Layout
    {
        QRectF band; // "prompt" / "generated" labels above the grid
        QRectF plot;
        QRectF labels; // token texts under the grid
        QRectF legend;
        double cellWidth = 0, cellHeight = 0;
    };
    Layout layout(const QRectF &content) const;
    QColor cellColor(int layer, int token) const;
    void paintExpertLegend(QPainter *painter, const QRectF &rect) const;

    TokenRoutingModel *m_model;
};

} // namespace moescope::ui
