#include "ui/figures/heatmap_renderer.h"

#include "ui/figures/color_legend.h"
#include "ui/figures/figure_style.h"
#include "ui/models/heatmap_model.h"

#include <QFontMetricsF>
#include <QPainter>

#include <cmath>

namespace moescope::ui {

namespace style = figure_style;

HeatmapRenderer::HeatmapRenderer(HeatmapModel *model, QObject *parent)
    : FigureRenderer(parent), m_model(model)
{
    connect(m_model, &QAbstractItemModel::modelReset, this, &FigureRenderer::changed);
}

QString HeatmapRenderer::fileStem() const
{
    const auto snap = m_model->snapshot();
    if (!snap || snap->languageCount() == 0)
        return QStringLiteral("expert-usage");
    const QString a = snap->languageLabel(m_model->language());
    switch (m_model->measure()) {
    case HeatmapModel::Measure::Frequency:
        return QStringLiteral("expert-usage-%1").arg(a);
    case HeatmapModel::Measure::Share:
        return QStringLiteral("expert-share-%1").arg(a);
    case HeatmapModel::Measure::Difference:
        return QStringLiteral("expert-usage-diff-%1-%2").arg(a, snap->languageLabel(m_model->compareLanguage()));
    }
    return QStringLiteral("expert-usage");
}

QString HeatmapRenderer::title() const
{
    return m_model->title();
}

bool HeatmapRenderer::hasData() const
{
    return m_model->rowCount() > 0 && m_model->columnCount() > 0;
}

void HeatmapRenderer::setSequentialPalette(SequentialPalette palette)
{
    m_palette = palette;
    Q_EMIT changed();
}

HeatmapRenderer::Layout HeatmapRenderer::layout(const QRectF &content) const
{
    const QFontMetricsF tick(style::font(style::kTickPx));
    const QFontMetricsF label(style::font(style::kLabelPx));
    const double left = label.height() + 8 + tick.horizontalAdvance(QStringLiteral("00")) + 10;
    const double bottom = tick.height() + label.height() + 14;
    const double right = ColorLegend::preferredWidth() + 12;
    Layout l;
    l.plot = QRectF(content.left() + left, content.top() + 4, content.width() - left - right,
                    content.height() - bottom - 4);
    l.legend = QRectF(l.plot.right() + 12, l.plot.top(), ColorLegend::preferredWidth(), l.plot.height());
    l.cellWidth = l.plot.width() / std::max(1, m_model->columnCount());
    l.cellHeight = l.plot.height() / std::max(1, m_model->rowCount());
    return l;
}

QColor HeatmapRenderer::colorFor(double value) const
{
    const ValueRange r = m_model->valueRange();
    if (m_model->isDiverging())
        return divergingColor(r.max > 0 ? value / r.max : 0.0);
    return sequentialColor(m_palette, r.max > r.min ? (value - r.min) / (r.max - r.min) : 0.0);
}

void HeatmapRenderer::paintContent(QPainter *painter, const QRectF &content)
{
    const Layout l = layout(content);
    const int layers = m_model->rowCount(), experts = m_model->columnCount();

    // Cells are exact rectangles without antialiasing so that neighbouring
    // cells meet without seams in raster output.
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, false);
    painter->setPen(Qt::NoPen);
    for (int layer = 0; layer < layers; ++layer) {
        const double y0 = l.plot.top() + layer * l.cellHeight;
        for (int expert = 0; expert < experts; ++expert) {
            const double x0 = l.plot.left() + expert * l.cellWidth;
            painter->setBrush(colorFor(m_model->value(layer, expert)));
            painter->drawRect(QRectF(x0, y0, l.cellWidth + 0.3, l.cellHeight + 0.3));
        }
    }
    painter->restore();

    painter->save();
    painter->setPen(QPen(style::axisColor(), 0.8));
    painter->setBrush(Qt::NoBrush);
    painter->drawRect(l.plot);

    // Expert ticks every 16, layer ticks every 4: enough to locate a cell,
    // and the tooltip gives the exact one.
    painter->setFont(style::font(style::kTickPx));
    const QFontMetricsF fm(painter->font());
    const int expertStep = experts > 64 ? 16 : (experts > 16 ? 8 : 1);
    for (int e = 0; e < experts; e += expertStep) {
        const double x = l.plot.left() + (e + 0.5) * l.cellWidth;
        painter->drawLine(QPointF(x, l.plot.bottom()), QPointF(x, l.plot.bottom() + 4));
        painter->drawText(QRectF(x - 30, l.plot.bottom() + 5, 60, fm.height()), Qt::AlignHCenter | Qt::AlignTop,
                          QString::number(e));
    }
    const int layerStep = layers > 24 ? 4 : (layers > 8 ? 2 : 1);
    for (int layer = 0; layer < layers; layer += layerStep) {
        const double y = l.plot.top() + (layer + 0.5) * l.cellHeight;
        painter->drawLine(QPointF(l.plot.left() - 4, y), QPointF(l.plot.left(), y));
        painter->drawText(QRectF(l.plot.left() - 60, y - fm.height() / 2, 54, fm.height()),
                          Qt::AlignRight | Qt::AlignVCenter, QString::number(layer));
    }

    painter->setFont(style::font(style::kLabelPx));
    const QFontMetricsF lm(painter->font());
    painter->drawText(QRectF(l.plot.left(), l.plot.bottom() + fm.height() + 8, l.plot.width(), lm.height()),
                      Qt::AlignHCenter | Qt::AlignTop, tr("expert"));
    painter->translate(content.left(), l.plot.center().y());
    painter->rotate(-90);
    painter->drawText(QRectF(-l.plot.height() / 2, 0, l.plot.height(), lm.height()),
                      Qt::AlignHCenter | Qt::AlignTop, tr("layer"));
    painter->restore();

    ColorLegend legend;
    legend.range = m_model->valueRange();
    legend.title = m_model->measureLabel();
    if (m_model->isDiverging()) {
        const auto snap = m_model->snapshot();
        legend.title = tr("f(%1) − f(%2)")
                           .arg(snap->languageLabel(m_model->language()),
                                snap->languageLabel(m_model->compareLanguage()));
        legend.colorAt = [](double t) { return divergingColor(2 * t - 1); };
    } else {
        const auto palette = m_palette;
        legend.colorAt = [palette](double t) { return sequentialColor(palette, t); };
    }
    legend.paint(painter, l.legend);
}

QString HeatmapRenderer::contentToolTipAt(const QPointF &pos, const QRectF &content)
{
    const Layout l = layout(content);
    if (!l.plot.contains(pos))
        return {};
    const int expert = static_cast<int>((pos.x() - l.plot.left()) / l.cellWidth);
    const int layer = static_cast<int>((pos.y() - l.plot.top()) / l.cellHeight);
    if (layer < 0 || layer >= m_model->rowCount() || expert < 0 || expert >= m_model->columnCount())
        return {};
    return m_model->toolTip(layer, expert);
}

} // namespace moescope::ui
