#pragma once

#include "ui/figures/figure_renderer.h"

namespace moescope::ui {

class DendrogramModel;

// Dendrogram with leaves at the bottom in the optimal leaf order and merge
// heights (distance = 1 − similarity) on a vertical axis.
class DendrogramRenderer : public FigureRenderer
{
    Q_OBJECT
public:
    explicit DendrogramRenderer(DendrogramModel *model, QObject *parent = nullptr);

    QString fileStem() const override { return QStringLiteral("dendrogram"); }
    QString title() const override;
    QSizeF defaultSize() const override { return {900, 560}; }
    bool hasData() const override;

protected:
    void paintContent(QPainter *painter, const QRectF &content) override;
    QString contentToolTipAt(const QPointF &pos, const QRectF &content) override;

private:
    struct Layout
    {
        QRectF plot;
        double top = 1; // distance at the top of the axis
    };
    Layout layout(const QRectF &content) const;
    QPointF nodePoint(const Layout &l, int id) const;

    DendrogramModel *m_model;
};

} // namespace moescope::ui
