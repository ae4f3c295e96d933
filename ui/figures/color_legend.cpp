#include "ui/figures/color_legend.h"

#include "ui/figures/figure_style.h"

#include <QFontMetricsF>
#include <QLinearGradient>
#include <QPainter>

namespace moescope::ui {

namespace style = figure_style;

double ColorLegend::preferredWidth()
{
    return 96;
}

void ColorLegend::paint(QPainter *painter, const QRectF &rect) const
{
    painter->save();
    const double barWidth = 16;
    const QRectF bar(rect.left() + 24, rect.top() + 6, barWidth, rect.height() - 12);

    // Rotated title to the left of the bar.
    painter->setFont(style::font(style::kLabelPx));
    painter->setPen(style::textColor());
    painter->save();
    painter->translate(rect.left() + 4, bar.center().y());
    painter->rotate(-90);
    const QRectF titleBox(-bar.height() / 2 - 40, 0, bar.height() + 80, 18);
    painter->drawText(titleBox, Qt::AlignHCenter | Qt::AlignTop, title);
    painter->restore();

    // A gradient sampled from the palette: SVG and PDF keep it as a vector
    // gradient, and stops every 1/64 follow the palette closely.
    QLinearGradient gradient(bar.bottomLeft(), bar.topLeft());
    const int stops = 64;
    for (int i = 0; i <= stops; ++i)
        gradient.setColorAt(static_cast<double>(i) / stops, colorAt(static_cast<double>(i) / stops));
    painter->setPen(Qt::NoPen);
    painter->fillRect(bar, gradient);
    painter->setBrush(Qt::NoBrush);
    painter->setPen(QPen(style::axisColor(), 0.8));
    painter->drawRect(bar);

    painter->setFont(style::font(style::kTickPx));
    const QFontMetricsF fm(painter->font());
    const auto ticks = style::niceTicks(range.min, range.max, 5);
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
    for (double v : ticks) {
        const double t = range.max > range.min ? (v - range.min) / (range.max - range.min) : 0.0;
        const double y = bar.bottom() - t * bar.height();
        painter->drawLine(QPointF(bar.right(), y), QPointF(bar.right() + 4, y));
        painter->drawText(QRectF(bar.right() + 6, y - fm.height() / 2, 60, fm.height()),
                          Qt::AlignLeft | Qt::AlignVCenter, style::tickLabel(v, step));
    }
    painter->restore();
}

} // namespace moescope::ui
