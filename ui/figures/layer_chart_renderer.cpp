#include "ui/figures/layer_chart_renderer.h"

#include "ui/figures/figure_style.h"
#include "ui/figures/palettes.h"
#include "ui/models/layer_series_model.h"

#include <QChart>
#include <QLineSeries>
#include <QValueAxis>

#include <cmath>

namespace moescope::ui {

namespace style = figure_style;

LayerChartRenderer::LayerChartRenderer(LayerSeriesModel *model, QObject *parent)
    : ChartFigureRenderer(parent), m_model(model)
{
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        rebuild();
        Q_EMIT changed();
    });
    rebuild();
}

QString LayerChartRenderer::fileStem() const
{
    return m_model->kind() == LayerSeriesModel::Kind::SimilarityByLayer
        ? QStringLiteral("similarity-by-layer")
        : QStringLiteral("entropy-by-layer");
}

QString LayerChartRenderer::title() const
{
    return m_model->title();
}

bool LayerChartRenderer::hasData() const
{
    return m_model->rowCount() > 0 && m_model->columnCount() > 0;
}

void LayerChartRenderer::rebuild()
{
    clearChart();
    if (!hasData())
        return;
    const int rows = m_model->rowCount();
    auto *xAxis = makeLayerAxis(m_model->layerAt(0), m_model->layerAt(rows - 1));
    auto *yAxis = new QValueAxis;
    const ValueRange r = m_model->valueRange();
    const auto ticks = style::niceTicks(r.min, r.max, 6);
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
    // Axis ends on the ticks just outside the data.
    const double lo = std::floor(r.min / step + 1e-9) * step;
    const double hi = std::ceil(r.max / step - 1e-9) * step;
    yAxis->setRange(lo, hi);
    yAxis->setTickType(QValueAxis::TicksDynamic);
    yAxis->setTickAnchor(lo);
    yAxis->setTickInterval(step);
    int decimals = 0;
    while (decimals < 4 && std::abs(step * std::pow(10, decimals) - std::round(step * std::pow(10, decimals))) > 1e-6)
        ++decimals;
    yAxis->setLabelFormat(QStringLiteral("%.%1f").arg(decimals));
    styleAxis(yAxis, m_model->valueAxisTitle());
    chart()->addAxis(xAxis, Qt::AlignBottom);
    chart()->addAxis(yAxis, Qt::AlignLeft);

    for (int s = 0; s < m_model->columnCount(); ++s) {
        auto *series = new QLineSeries;
        series->setName(m_model->seriesName(s));
        for (int row = 0; row < rows; ++row)
            series->append(m_model->layerAt(row), m_model->value(row, s));
        const int lang = m_model->seriesLanguage(s);
        QPen pen = lang < 0 ? QPen(style::textColor(), 3.2, Qt::DashLine) : QPen(categoricalColor(lang), 2.0);
        pen.setCapStyle(Qt::RoundCap);
        pen.setJoinStyle(Qt::RoundJoin);
        series->setPen(pen);
        chart()->addSeries(series);
        series->attachAxis(xAxis);
        series->attachAxis(yAxis);
    }
}

QString LayerChartRenderer::contentToolTipAt(const QPointF &pos, const QRectF &content)
{
    QPointF value;
    if (!mapToValue(pos, content, &value))
        return {};
    int best = 0;
    for (int row = 1; row < m_model->rowCount(); ++row)
        if (std::abs(m_model->layerAt(row) - value.x()) < std::abs(m_model->layerAt(best) - value.x()))
            best = row;
    QString text = tr("Layer %1 — %2").arg(m_model->layerAt(best)).arg(m_model->valueAxisTitle());
    for (int s = 0; s < m_model->columnCount(); ++s)
        text += QStringLiteral("\n%1: %2").arg(m_model->seriesName(s)).arg(m_model->value(best, s), 0, 'f', 4);
    return text;
}

} // namespace moescope::ui
