#include "ui/figures/chart_figure_renderer.h"

#include "ui/figures/figure_style.h"

#include <QChart>
#include <QGraphicsLayout>
#include <QGraphicsScene>
#include <QLegend>
#include <QPainter>
#include <QValueAxis>

namespace moescope::ui {

namespace style = figure_style;

ChartFigureRenderer::ChartFigureRenderer(QObject *parent)
    : FigureRenderer(parent), m_scene(std::make_unique<QGraphicsScene>())
{
    m_chart = new QChart;
    m_chart->setAnimationOptions(QChart::NoAnimation);
    m_chart->setTheme(QChart::ChartThemeLight);
    m_chart->setBackgroundVisible(false);
    m_chart->setPlotAreaBackgroundVisible(false);
    m_chart->setDropShadowEnabled(false);
    m_chart->setBackgroundRoundness(0);
    m_chart->setMargins(QMargins(0, 0, 0, 0));
    m_chart->layout()->setContentsMargins(0, 0, 0, 0);
    QLegend *legend = m_chart->legend();
    legend->setAlignment(Qt::AlignRight);
    legend->setFont(style::font(style::kLabelPx));
    legend->setLabelColor(style::textColor());
    legend->setMarkerShape(QLegend::MarkerShapeFromSeries);
    m_scene->addItem(m_chart);
}

ChartFigureRenderer::~ChartFigureRenderer() = default;

void ChartFigureRenderer::placeChart(const QRectF &content)
{
    const QRectF local(QPointF(0, 0), content.size());
    m_scene->setSceneRect(local);
    m_chart->setGeometry(local);
    m_chart->layout()->activate();
}

void ChartFigureRenderer::paintContent(QPainter *painter, const QRectF &content)
{
    placeChart(content);
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, true);
    m_scene->render(painter, content, QRectF(QPointF(0, 0), content.size()), Qt::IgnoreAspectRatio);
    painter->restore();
}

bool ChartFigureRenderer::mapToValue(const QPointF &pos, const QRectF &content, QPointF *value)
{
    placeChart(content);
    const QPointF local = pos - content.topLeft();
    if (!m_chart->plotArea().contains(local) || m_chart->series().isEmpty())
        return false;
    *value = m_chart->mapToValue(local, m_chart->series().constFirst());
    return true;
}

void ChartFigureRenderer::clearChart()
{
    m_chart->removeAllSeries();
    for (QAbstractAxis *axis : m_chart->axes()) {
        m_chart->removeAxis(axis);
        delete axis;
    }
}

void ChartFigureRenderer::styleAxis(QAbstractAxis *axis, const QString &title)
{
    axis->setTitleText(title);
    axis->setTitleFont(style::font(style::kLabelPx));
    axis->setTitleBrush(style::textColor());
    axis->setLabelsFont(style::font(style::kTickPx));
    axis->setLabelsColor(style::textColor());
    axis->setLinePenColor(style::axisColor());
    axis->setGridLineColor(style::gridColor());
    axis->setMinorGridLineVisible(false);
}

QValueAxis *ChartFigureRenderer::makeLayerAxis(double first, double last)
{
    auto *axis = new QValueAxis;
    axis->setRange(first, last);
    axis->setTickType(QValueAxis::TicksDynamic);
    axis->setTickAnchor(0);
    axis->setTickInterval(last - first > 24 ? 4 : (last - first > 8 ? 2 : 1));
    axis->setLabelFormat(QStringLiteral("%d"));
    styleAxis(axis, tr("layer"));
    return axis;
}

} // namespace moescope::ui
