#include "ui/figures/similarity_renderer.h"

#include "ui/figures/color_legend.h"
#include "ui/figures/figure_style.h"
#include "ui/models/similarity_model.h"

#include <QFontMetricsF>
#include <QPainter>

#include <algorithm>

namespace moescope::ui {

namespace style = figure_style;

namespace {
// Sequential palette of the matrix; cividis keeps the written values
// readable on every cell.
constexpr auto kPalette = SequentialPalette::Cividis;
} // namespace

SimilarityRenderer::SimilarityRenderer(SimilarityModel *model, QObject *parent)
    : FigureRenderer(parent), m_model(model)
{
    connect(m_model, &QAbstractItemModel::modelReset, this, &FigureRenderer::changed);
}

QString SimilarityRenderer::fileStem() const
{
    return m_model->layer() == SimilarityModel::kMeanOverLayers
        ? QStringLiteral("similarity-mean")
        : QStringLiteral("similarity-layer-%1").arg(m_model->layer());
}

QString SimilarityRenderer::title() const
{
    return m_model->title();
}

bool SimilarityRenderer::hasData() const
{
    return m_model->rowCount() > 0;
}

SimilarityRenderer::Layout SimilarityRenderer::layout(const QRectF &content) const
{
    const int n = m_model->rowCount();
    const QFontMetricsF label(style::font(style::kLabelPx));
    double labelWidth = 0;
    for (int i = 0; i < n; ++i)
        labelWidth = std::max(labelWidth, label.horizontalAdvance(m_model->headerData(i, Qt::Vertical).toString()));
    const double left = labelWidth + 12, top = label.height() + 10;
    const double legendWidth = ColorLegend::preferredWidth() + 24;
    const double side = std::max(10.0, std::min(content.width() - left - legendWidth, content.height() - top - 4));
    Layout l;
    l.cell = side / std::max(1, n);
    // Centre the matrix and its legend horizontally.
    const double total = left + side + legendWidth;
    const double x0 = content.left() + std::max(0.0, (content.width() - total) / 2);
    l.matrix = QRectF(x0 + left, content.top() + top, side, side);
    l.legend = QRectF(l.matrix.right() + 24, l.matrix.top(), ColorLegend::preferredWidth(), side);
    return l;
}

void SimilarityRenderer::paintContent(QPainter *painter, const QRectF &content)
{
    const Layout l = layout(content);
    const int n = m_model->rowCount();
    const ValueRange range = m_model->valueRange();
    auto colorAt = [range](double v) {
        return sequentialColor(kPalette, (v - range.min) / std::max(1e-12, range.max - range.min));
    };

    painter->save();
    // Size the value font to the cells, within readable bounds.
    const double valuePx = std::clamp(l.cell * 0.24, 9.0, 15.0);
    for (int a = 0; a < n; ++a) {
        for (int b = 0; b < n; ++b) {
            const QRectF cell(l.matrix.left() + b * l.cell, l.matrix.top() + a * l.cell, l.cell, l.cell);
            const double v = m_model->value(a, b);
            const QColor c = colorAt(v);
            painter->setRenderHint(QPainter::Antialiasing, false);
            painter->fillRect(cell.adjusted(0, 0, 0.3, 0.3), c);
            painter->setRenderHint(QPainter::Antialiasing, true);
            if (l.cell >= 28) {
                painter->setPen(contrastingTextColor(c));
                painter->setFont(style::font(valuePx));
                painter->drawText(cell, Qt::AlignCenter, QString::number(v, 'f', 3));
            }
        }
    }
    painter->setPen(QPen(style::axisColor(), 0.8));
    painter->setBrush(Qt::NoBrush);
    painter->drawRect(l.matrix);

    painter->setFont(style::font(style::kLabelPx));
    const QFontMetricsF fm(painter->font());
    for (int i = 0; i < n; ++i) {
        const QString label = m_model->headerData(i, Qt::Vertical).toString();
        const double c = (i + 0.5) * l.cell;
        painter->setPen(style::textColor());
        painter->drawText(QRectF(l.matrix.left() - 200, l.matrix.top() + c - fm.height() / 2, 192, fm.height()),
                          Qt::AlignRight | Qt::AlignVCenter, label);
        painter->drawText(QRectF(l.matrix.left() + c - 50, l.matrix.top() - fm.height() - 6, 100, fm.height()),
                          Qt::AlignHCenter | Qt::AlignBottom, label);
    }
    painter->restore();

    ColorLegend legend;
    legend.range = range;
    legend.title = tr("similarity (1 − JSD)");
    legend.colorAt = [](double t) { return sequentialColor(kPalette, t); };
    legend.paint(painter, l.legend);
}

QString SimilarityRenderer::contentToolTipAt(const QPointF &pos, const QRectF &content)
{
    const Layout l = layout(content);
    if (!l.matrix.contains(pos))
        return {};
    const int n = m_model->rowCount();
    const int b = static_cast<int>((pos.x() - l.matrix.left()) / l.cell);
    const int a = static_cast<int>((pos.y() - l.matrix.top()) / l.cell);
    if (a < 0 || b < 0 || a >= n || b >= n)
        return {};
    return m_model->toolTip(a, b);
}

} // namespace moescope::ui
