#pragma once

#include "ui/figures/figure_renderer.h"
#include "ui/figures/palettes.h"

namespace moescope::ui {

class SimilarityModel;

// Language × language similarity matrix with the value written in each cell.
class SimilarityRenderer : public FigureRenderer
{
    Q_OBJECT
public:
    explicit SimilarityRenderer(SimilarityModel *model, QObject *parent = nullptr);

    QString fileStem() const override;
    QString title() const override;
    QSizeF defaultSize() const override { return {820, 720}; }
    bool hasData() const override;

    SimilarityModel *model() const { return m_model; }

protected:
    void paintContent(QPainter *painter, const QRectF &content) override;
    QString contentToolTipAt(const QPointF &pos, const QRectF &content) override;

private:
    struct Layout
    {
        QRectF matrix;
        QRectF legend;
        double cell = 0;
    };
    Layout layout(const QRectF &content) const;

    SimilarityModel *m_model;
};

} // namespace moescope::ui
