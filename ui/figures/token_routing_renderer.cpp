#include "ui/figures/token_routing_renderer.h"

#include "ui/figures/color_legend.h"
#include "ui/figures/figure_style.h"
#include "ui/figures/palettes.h"
#include "ui/models/token_routing_model.h"

#include <QFontMetricsF>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace moescope::ui {

namespace style = figure_style;

namespace {
// Cells stop growing here so that a short prompt stays a compact grid.
constexpr double kMaxCellWidth = 34;
constexpr double kMaxCellHeight = 30;
constexpr double kMaxLabelHeight = 96;
// Experts listed one per line in the legend up to this many.
constexpr int kMaxLegendExperts = 24;
} // namespace

TokenRoutingRenderer::TokenRoutingRenderer(TokenRoutingModel *model, QObject *parent)
    : FigureRenderer(parent)
    , m_model(model)
{
    connect(m_model, &QAbstractItemModel::modelReset, this, &FigureRenderer::changed);
}

QString TokenRoutingRenderer::title() const
{
    QString t = tr("Token routing");
    if (!m_model->modelName().isEmpty())
        t += tr(" — %1").arg(m_model->modelName());
    if (m_model->outcome() && m_model->outcome()->planApplied)
        t += tr(" (with plan)");
    if (m_model->colouring() == TokenRoutingModel::Colouring::LanguageShare)
        t += tr(" · colour: share of %1").arg(m_model->languageLabel());
    else
        t += tr(" · colour: top-1 expert");
    return t;
}

bool TokenRoutingRenderer::hasData() const
{
    return m_model->tokenCount() > 0 && m_model->layerCount() > 0;
}

QString TokenRoutingRenderer::emptyMessage() const
{
    return tr(
        "Generate in the playground to see which experts each token is routed to, layer by layer.");
}

TokenRoutingRenderer::Layout TokenRoutingRenderer::layout(const QRectF &content) const
{
    const QFontMetricsF tick(style::font(style::kTickPx));
    const QFontMetricsF label(style::font(style::kLabelPx));
    const int tokens = m_model->tokenCount(), layers = m_model->layerCount();
    double labelHeight = 0;
    for (int t = 0; t < tokens; ++t)
        labelHeight = std::max(labelHeight,
            tick.horizontalAdvance(TokenRoutingModel::visibleText(m_model->token(t).text)));
    labelHeight = std::min(kMaxLabelHeight, labelHeight + 8);
    const double left = label.height() + 8 + tick.horizontalAdvance(QStringLiteral("00")) + 10;
    const double legendWidth = m_model->colouring() == TokenRoutingModel::Colouring::LanguageShare
        ? ColorLegend::preferredWidth()
        : tick.horizontalAdvance(QStringLiteral("expert 000")) + 26;
    const double bandHeight = label.height() + 6;

    Layout l;
    const double availableWidth = content.width() - left - legendWidth - 16;
    const double availableHeight = content.height() - bandHeight - labelHeight - label.height() - 8;
    l.cellWidth = std::min(kMaxCellWidth, availableWidth / std::max(1, tokens));
    l.cellHeight = std::min(kMaxCellHeight, availableHeight / std::max(1, layers));
    l.band = QRectF(content.left() + left, content.top(), l.cellWidth * tokens, bandHeight);
    l.plot = QRectF(l.band.left(), l.band.bottom(), l.cellWidth * tokens, l.cellHeight * layers);
    l.labels = QRectF(l.plot.left(), l.plot.bottom() + 4, l.plot.width(), labelHeight);
    l.legend
        = QRectF(l.plot.right() + 16, l.plot.top(), legendWidth, std::max(l.plot.height(), 160.0));
    return l;
}

QColor TokenRoutingRenderer::cellColor(int layer, int token) const
{
    if (!m_model->isMoeLayer(layer))
        return style::gridColor();
    const int expert = m_model->topExpert(layer, token);
    if (expert < 0)
        return QColor(0xf2, 0xf2, 0xf2);
    if (m_model->colouring() == TokenRoutingModel::Colouring::LanguageShare) {
        const double share = m_model->share(layer, expert);
        return std::isfinite(share) ? sequentialColor(SequentialPalette::Viridis, share)
                                    : style::gridColor();
    }
    return expertColor(expert, m_model->expertCount());
}

void TokenRoutingRenderer::paintContent(QPainter *painter, const QRectF &content)
{
    const Layout l = layout(content);
    const int tokens = m_model->tokenCount(), layers = m_model->layerCount();
    const int prompt = std::min(m_model->promptTokens(), tokens);

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, false);
    QFont cellFont = style::font(std::min(style::kCellPx, l.cellHeight * 0.62));
    const QFontMetricsF cellMetrics(cellFont);
    const bool numbers = l.cellWidth
            >= cellMetrics.horizontalAdvance(QString::number(m_model->expertCount() - 1)) + 3
        && l.cellHeight >= cellMetrics.height() * 0.9;
    painter->setFont(cellFont);
    for (int layer = 0; layer < layers; ++layer) {
        const double y0 = l.plot.top() + layer * l.cellHeight;
        for (int t = 0; t < tokens; ++t) {
            const QRectF cell(l.plot.left() + t * l.cellWidth, y0, l.cellWidth, l.cellHeight);
            const QColor color = cellColor(layer, t);
            painter->fillRect(cell.adjusted(0, 0, 0.3, 0.3), color);
            const int expert = m_model->topExpert(layer, t);
            if (m_model->isMoeLayer(layer) && expert < 0) {
                // Not routed yet (streaming) or not isolated: hatched.
                painter->fillRect(cell, QBrush(QColor(0xc8, 0xc8, 0xc8), Qt::BDiagPattern));
            } else if (numbers && expert >= 0) {
                painter->setPen(contrastingTextColor(color));
                painter->drawText(cell, Qt::AlignCenter, QString::number(expert));
            }
        }
    }
    // Thin white gaps between tokens read better than borders on dense grids.
    if (l.cellWidth >= 6) {
        painter->setPen(QPen(style::backgroundColor(), 1));
        for (int t = 1; t < tokens; ++t) {
            const double x = l.plot.left() + t * l.cellWidth;
            painter->drawLine(QPointF(x, l.plot.top()), QPointF(x, l.plot.bottom()));
        }
    }
    painter->restore();

    painter->save();
    painter->setPen(QPen(style::axisColor(), 0.8));
    painter->setBrush(Qt::NoBrush);
    painter->drawRect(l.plot);

    // The prompt | generated boundary and the band above it.
    painter->setFont(style::font(style::kLabelPx));
    const double split = l.plot.left() + prompt * l.cellWidth;
    if (prompt > 0 && prompt < tokens) {
        painter->setPen(QPen(style::textColor(), 2));
        painter->drawLine(QPointF(split, l.band.top() + 2), QPointF(split, l.plot.bottom()));
    }
    painter->setPen(style::mutedTextColor());
    const QFontMetricsF lm(painter->font());
    auto bandLabel = [&](double x0, double x1, const QString &text) {
        if (x1 - x0 < 8)
            return;
        const QRectF r(x0 + 4, l.band.top(), x1 - x0 - 8, l.band.height());
        painter->drawText(
            r, Qt::AlignLeft | Qt::AlignVCenter, lm.elidedText(text, Qt::ElideRight, r.width()));
    };
    bandLabel(l.plot.left(), split, tr("prompt (%1)").arg(prompt));
    if (tokens > prompt)
        bandLabel(split, l.plot.right(), tr("generated (%1)").arg(tokens - prompt));

    // Layer ticks.
    painter->setPen(style::axisColor());
    painter->setFont(style::font(style::kTickPx));
    const QFontMetricsF fm(painter->font());
    const int layerStep
        = std::max(1, static_cast<int>(std::ceil(fm.height() / std::max(1.0, l.cellHeight))));
    for (int layer = 0; layer < layers; layer += layerStep) {
        const double y = l.plot.top() + (layer + 0.5) * l.cellHeight;
        painter->drawLine(QPointF(l.plot.left() - 4, y), QPointF(l.plot.left(), y));
        painter->drawText(QRectF(l.plot.left() - 60, y - fm.height() / 2, 54, fm.height()),
            Qt::AlignRight | Qt::AlignVCenter, QString::number(layer));
    }

    // Token texts, rotated; every n-th one when the cells are narrow.
    const int tokenStep
        = std::max(1, static_cast<int>(std::ceil(fm.height() / std::max(0.5, l.cellWidth))));
    for (int t = 0; t < tokens; t += tokenStep) {
        const double x = l.plot.left() + (t + 0.5) * l.cellWidth;
        const QString text = fm.elidedText(TokenRoutingModel::visibleText(m_model->token(t).text),
            Qt::ElideRight, l.labels.height() - 4);
        painter->save();
        painter->setPen(t < prompt ? style::mutedTextColor() : style::textColor());
        painter->translate(x, l.labels.top());
        painter->rotate(90);
        painter->drawText(QRectF(0, -fm.height() / 2, l.labels.height(), fm.height()),
            Qt::AlignLeft | Qt::AlignVCenter, text);
        painter->restore();
    }

    painter->setFont(style::font(style::kLabelPx));
    painter->translate(content.left(), l.plot.center().y());
    painter->rotate(-90);
    painter->drawText(QRectF(-l.plot.height() / 2, 0, l.plot.height(), lm.height()),
        Qt::AlignHCenter | Qt::AlignTop, tr("layer"));
    painter->restore();

    if (m_model->colouring() == TokenRoutingModel::Colouring::LanguageShare) {
        ColorLegend legend;
        legend.range = { 0, 1 };
        legend.title = tr("share of %1 (top-1 expert)").arg(m_model->languageLabel());
        legend.colorAt = [](double t) { return sequentialColor(SequentialPalette::Viridis, t); };
        legend.paint(painter, l.legend);
    } else {
        paintExpertLegend(painter, l.legend);
    }
}

void TokenRoutingRenderer::paintExpertLegend(QPainter *painter, const QRectF &rect) const
{
    painter->save();
    painter->setFont(style::font(style::kTickPx));
    const QFontMetricsF fm(painter->font());
    painter->setPen(style::textColor());
    painter->drawText(QRectF(rect.left(), rect.top(), rect.width(), fm.height()), Qt::AlignLeft,
        tr("top-1 expert"));
    const int experts = m_model->expertCount();
    const double row = fm.height() + 3;
    if (experts <= kMaxLegendExperts) {
        for (int e = 0; e < experts; ++e) {
            const double y = rect.top() + (e + 1.3) * row;
            painter->fillRect(
                QRectF(rect.left(), y + 2, 14, fm.height() - 4), expertColor(e, experts));
            painter->drawText(QRectF(rect.left() + 20, y, rect.width() - 20, fm.height()),
                Qt::AlignLeft | Qt::AlignVCenter, tr("expert %1").arg(e));
        }
    } else {
        painter->setPen(style::mutedTextColor());
        painter->drawText(QRectF(rect.left(), rect.top() + row * 1.3, rect.width(), row * 6),
            Qt::AlignLeft | Qt::TextWordWrap,
            tr("%1 experts: the number is in each cell; hover for the weights").arg(experts));
    }
    painter->restore();
}

QString TokenRoutingRenderer::contentToolTipAt(const QPointF &pos, const QRectF &content)
{
    const Layout l = layout(content);
    if (!l.plot.contains(pos))
        return {};
    const int t = static_cast<int>((pos.x() - l.plot.left()) / l.cellWidth);
    const int layer = static_cast<int>((pos.y() - l.plot.top()) / l.cellHeight);
    return m_model->toolTip(layer, t);
}

} // namespace moescope::ui
