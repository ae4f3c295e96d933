#include "ui/figures/dendrogram_renderer.h"

#include "ui/figures/figure_style.h"
#include "ui/figures/palettes.h"
#include "ui/models/dendrogram_model.h"

#include <QFontMetricsF>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace moescope::ui {

namespace style = figure_style;

DendrogramRenderer::DendrogramRenderer(DendrogramModel *model, QObject *parent)
    : FigureRenderer(parent), m_model(model)
{
    connect(m_model, &QAbstractItemModel::modelReset, this, &FigureRenderer::changed);
}

QString DendrogramRenderer::title() const
{
    return m_model->title();
}

bool DendrogramRenderer::hasData() const
{
    return m_model->leafCount() > 1 && m_model->mergeCount() > 0;
}

DendrogramRenderer::Layout DendrogramRenderer::layout(const QRectF &content) const
{
    const QFontMetricsF tick(style::font(style::kTickPx));
    const QFontMetricsF label(style::font(style::kLabelPx, true));
    Layout l;
    const auto ticks = style::niceTicks(0, std::max(1e-6, m_model->maxHeight()) * 1.08, 5);
    l.top = ticks.empty() ? 1.0 : std::max(ticks.back(), m_model->maxHeight() * 1.08);
    const double left = label.height() + 10 + tick.horizontalAdvance(QStringLiteral("0.000")) + 10;
    const double bottom = label.height() + 16;
    l.plot = QRectF(content.left() + left, content.top() + 8, content.width() - left - 20,
                    content.height() - bottom - 8);
    return l;
}

QPointF DendrogramRenderer::nodePoint(const Layout &l, int id) const
{
    const int n = m_model->leafCount();
    const double slot = l.plot.width() / n;
    const double x = l.plot.left() + (m_model->nodeX(id) + 0.5) * slot;
    const double y = l.plot.bottom() - m_model->nodeHeight(id) / l.top * l.plot.height();
    return {x, y};
}

void DendrogramRenderer::paintContent(QPainter *painter, const QRectF &content)
{
    const Layout l = layout(content);
    const int n = m_model->leafCount();
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, true);

    // Axis with grid lines at the distance ticks.
    painter->setFont(style::font(style::kTickPx));
    const QFontMetricsF fm(painter->font());
    const auto ticks = style::niceTicks(0, l.top, 5);
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : l.top;
    for (double v : ticks) {
        const double y = l.plot.bottom() - v / l.top * l.plot.height();
        painter->setPen(QPen(style::gridColor(), 0.8));
        painter->drawLine(QPointF(l.plot.left(), y), QPointF(l.plot.right(), y));
        painter->setPen(QPen(style::axisColor(), 0.8));
        painter->drawLine(QPointF(l.plot.left() - 4, y), QPointF(l.plot.left(), y));
        painter->drawText(QRectF(l.plot.left() - 80, y - fm.height() / 2, 74, fm.height()),
                          Qt::AlignRight | Qt::AlignVCenter, style::tickLabel(v, step));
    }
    painter->drawLine(l.plot.bottomLeft(), l.plot.topLeft());

    painter->setFont(style::font(style::kLabelPx));
    painter->save();
    painter->translate(content.left(), l.plot.center().y());
    painter->rotate(-90);
    painter->drawText(QRectF(-l.plot.height() / 2, 0, l.plot.height(), fm.height() + 4),
                      Qt::AlignHCenter | Qt::AlignTop, tr("distance (1 − similarity)"));
    painter->restore();

    // Links: a ⊓ from each child up to the merge height.
    painter->setPen(QPen(style::textColor(), 1.8, Qt::SolidLine, Qt::SquareCap, Qt::MiterJoin));
    painter->setBrush(Qt::NoBrush);
    for (int i = 0; i < m_model->mergeCount(); ++i) {
        const auto &m = m_model->merge(i);
        const QPointF a = nodePoint(l, m.left), b = nodePoint(l, m.right), c = nodePoint(l, n + i);
        QPainterPath path(a);
        path.lineTo(a.x(), c.y());
        path.lineTo(b.x(), c.y());
        path.lineTo(b.x(), b.y());
        painter->drawPath(path);
    }

    // Leaves: a coloured dot (same colour as the language in line charts)
    // and the label.
    painter->setFont(style::font(style::kLabelPx, true));
    const QFontMetricsF lm(painter->font());
    for (int pos = 0; pos < n; ++pos) {
        const int lang = m_model->leafLanguage(pos);
        const double slot = l.plot.width() / n;
        const double x = l.plot.left() + (pos + 0.5) * slot;
        const QColor color = lang >= 0 ? categoricalColor(lang) : style::textColor();
        painter->setPen(Qt::NoPen);
        painter->setBrush(color);
        painter->drawEllipse(QPointF(x, l.plot.bottom()), 4.5, 4.5);
        painter->setPen(style::textColor());
        painter->drawText(QRectF(x - slot / 2, l.plot.bottom() + 8, slot, lm.height()),
                          Qt::AlignHCenter | Qt::AlignTop, m_model->leafLabel(pos));
    }
    painter->restore();
}

QString DendrogramRenderer::contentToolTipAt(const QPointF &pos, const QRectF &content)
{
    const Layout l = layout(content);
    const int n = m_model->leafCount();
    // Nearest merge point (the horizontal bar's centre) within reach.
    int best = -1;
    double bestDistance = 14;
    for (int i = 0; i < m_model->mergeCount(); ++i) {
        const QPointF c = nodePoint(l, n + i);
        const auto &m = m_model->merge(i);
        const double x0 = std::min(nodePoint(l, m.left).x(), nodePoint(l, m.right).x());
        const double x1 = std::max(nodePoint(l, m.left).x(), nodePoint(l, m.right).x());
        const double dx = pos.x() < x0 ? x0 - pos.x() : (pos.x() > x1 ? pos.x() - x1 : 0.0);
        const double d = std::hypot(dx, pos.y() - c.y());
        if (d < bestDistance) {
            bestDistance = d;
            best = i;
        }
    }
    if (best < 0)
        return {};
    const auto &m = m_model->merge(best);
    QStringList members;
    for (const auto &label : m.members)
        members << QString::fromStdString(label);
    return tr("Merge {%1}\ndistance %2 (similarity %3)")
        .arg(members.join(QLatin1String(", ")))
        .arg(m.height, 0, 'f', 4)
        .arg(1.0 - m.height, 0, 'f', 4);
}

} // namespace moescope::ui
