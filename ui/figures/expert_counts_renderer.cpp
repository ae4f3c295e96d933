#include "ui/figures/expert_counts_renderer.h"

#include "ui/figures/figure_style.h"
#include "ui/figures/palettes.h"
#include "ui/models/expert_counts_model.h"

#include <QBarLegendMarker>
#include <QBarSet>
#include <QLegend>
#include <QChart>
#include <QLineSeries>
#include <QStackedBarSeries>
#include <QValueAxis>

#include <cmath>

namespace moescope::ui {

namespace style = figure_style;

ExpertCountsRenderer::ExpertCountsRenderer(ExpertCountsModel *model, QObject *parent)
    : ChartFigureRenderer(parent), m_model(model)
{
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        rebuild();
        Q_EMIT changed();
    });
    rebuild();
}

QString ExpertCountsRenderer::title() const
{
    return m_model->title();
}

bool ExpertCountsRenderer::hasData() const
{
    return m_model->rowCount() > 0;
}

void ExpertCountsRenderer::rebuild()
{
    clearChart();
    if (!hasData())
        return;
    const int rows = m_model->rowCount();
    // Bars sit at x = row index, and rows are layers.
    auto *xAxis = makeLayerAxis(-0.5, rows - 0.5);
    xAxis->setRange(-0.6, rows - 0.4);
    auto *yAxis = new QValueAxis;
    const auto ticks = style::niceTicks(0, std::max(1, m_model->maxStackedTotal()) * 1.05, 6);
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
    yAxis->setRange(0, std::ceil(std::max(1, m_model->maxStackedTotal()) * 1.05 / step) * step);
    yAxis->setTickType(QValueAxis::TicksDynamic);
    yAxis->setTickAnchor(0);
    yAxis->setTickInterval(std::max(1.0, std::round(step)));
    yAxis->setLabelFormat(QStringLiteral("%d"));
    styleAxis(yAxis, tr("experts"));
    chart()->addAxis(xAxis, Qt::AlignBottom);
    chart()->addAxis(yAxis, Qt::AlignLeft);

    auto *bars = new QStackedBarSeries;
    bars->setBarWidth(0.8);
    for (int lang = 0; lang < m_model->languageCount(); ++lang) {
        auto *set = new QBarSet(tr("%1 exclusive").arg(m_model->headerData(lang, Qt::Horizontal).toString()));
        for (int row = 0; row < rows; ++row)
            *set << m_model->exclusive(row, lang);
        bars->append(set);
    }
    chart()->addSeries(bars);
    bars->attachAxis(xAxis);
    bars->attachAxis(yAxis);
    // After addSeries: adding a series applies the chart theme's colours.
    for (int lang = 0; lang < m_model->languageCount(); ++lang) {
        QBarSet *set = bars->barSets().at(lang);
        set->setColor(categoricalColor(lang));
        set->setBorderColor(categoricalColor(lang));
    }
    for (QLegendMarker *marker : chart()->legend()->markers(bars)) {
        auto *barMarker = qobject_cast<QBarLegendMarker *>(marker);
        if (barMarker && barMarker->barset()) {
            // Qt 6.4 draws "shape from series" bar markers empty.
            marker->setShape(QLegend::MarkerShapeRectangle);
            marker->setBrush(barMarker->barset()->color());
            marker->setPen(Qt::NoPen);
        }
    }

    auto *shared = new QLineSeries;
    shared->setName(tr("shared (≥ 2 languages)"));
    for (int row = 0; row < rows; ++row)
        shared->append(row, m_model->shared(row));
    shared->setPen(QPen(QColor(0x55, 0x55, 0x55), 2.4, Qt::DashLine, Qt::RoundCap, Qt::RoundJoin));
    chart()->addSeries(shared);
    shared->attachAxis(xAxis);
    shared->attachAxis(yAxis);
}

QString ExpertCountsRenderer::contentToolTipAt(const QPointF &pos, const QRectF &content)
{
    QPointF value;
    if (!mapToValue(pos, content, &value))
        return {};
    const int row = static_cast<int>(std::lround(value.x()));
    if (row < 0 || row >= m_model->rowCount())
        return {};
    return m_model->toolTip(row);
}

} // namespace moescope::ui
