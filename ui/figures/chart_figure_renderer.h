#pragma once

// Base for figures drawn by Qt Charts. The QChart lives in a private
// QGraphicsScene and is rendered into whatever painter the figure is given,
// so the widget and every export draw the same chart through the same code.

#include "ui/figures/figure_renderer.h"

#include <memory>

class QAbstractAxis;
class QChart;
class QGraphicsScene;
class QValueAxis;

namespace moescope::ui {

class ChartFigureRenderer : public FigureRenderer
{
    Q_OBJECT
public:
    explicit ChartFigureRenderer(QObject *parent = nullptr);
    ~ChartFigureRenderer() override;

    QChart *chart() const { return m_chart; }

protected:
    void paintContent(QPainter *painter, const QRectF &content) override;
    // Sizes the chart to content and lays it out now (not on the next event
    // loop turn), so that rendering and hit-testing see the final geometry.
    void placeChart(const QRectF &content);
    // Chart coordinates (layer, value) under pos, if pos is in the plot area.
    bool mapToValue(const QPointF &pos, const QRectF &content, QPointF *value);

    void clearChart();
    void styleAxis(QAbstractAxis *axis, const QString &title);
    // Integer layer axis with a tick every 4 layers, like the heatmaps.
    QValueAxis *makeLayerAxis(double first, double last);

private:
    std::unique_ptr<QGraphicsScene> m_scene;
    QChart *m_chart = nullptr; // owned by m_scene
};

} // namespace moescope::ui
