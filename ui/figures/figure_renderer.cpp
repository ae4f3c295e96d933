#include "ui/figures/figure_renderer.h"

#include "ui/figures/figure_style.h"

#include <QFontMetricsF>
#include <QPainter>

namespace moescope::ui {

namespace style = figure_style;

FigureRenderer::FigureRenderer(QObject *parent) : QObject(parent) {}

void FigureRenderer::setCaption(const QString &caption)
{
    if (caption == m_caption)
        return;
    m_caption = caption;
    Q_EMIT changed();
}

QRectF FigureRenderer::contentRect(const QRectF &rect, QRectF *titleRect, QRectF *captionRect) const
{
    const QRectF inner = rect.adjusted(style::kMargin, style::kMargin * 0.75, -style::kMargin,
                                       -style::kMargin * 0.6);
    const QFontMetricsF titleMetrics(style::font(style::kTitlePx, true));
    const double titleHeight = titleMetrics.height() + 10;
    double captionHeight = 0;
    if (!m_caption.isEmpty()) {
        const QFontMetricsF captionMetrics(style::font(style::kCaptionPx));
        captionHeight = captionMetrics
                            .boundingRect(QRectF(0, 0, inner.width(), 1000),
                                          Qt::TextWordWrap | Qt::AlignLeft, m_caption)
                            .height()
            + 8;
    }
    if (titleRect)
        *titleRect = QRectF(inner.left(), inner.top(), inner.width(), titleHeight);
    if (captionRect)
        *captionRect = QRectF(inner.left(), inner.bottom() - captionHeight + 8, inner.width(),
                              captionHeight - 8);
    return QRectF(inner.left(), inner.top() + titleHeight, inner.width(),
                  std::max(10.0, inner.height() - titleHeight - captionHeight));
}

void FigureRenderer::paint(QPainter *painter, const QRectF &rect)
{
    painter->save();
    painter->fillRect(rect, style::backgroundColor());
    QRectF titleRect, captionRect;
    const QRectF content = contentRect(rect, &titleRect, &captionRect);

    painter->setPen(style::textColor());
    painter->setFont(style::font(style::kTitlePx, true));
    const QFontMetricsF titleMetrics(painter->font());
    painter->drawText(titleRect, Qt::AlignLeft | Qt::AlignTop,
                      titleMetrics.elidedText(title(), Qt::ElideRight, titleRect.width()));

    if (!m_caption.isEmpty()) {
        painter->setPen(style::mutedTextColor());
        painter->setFont(style::font(style::kCaptionPx));
        painter->drawText(captionRect, Qt::TextWordWrap | Qt::AlignLeft | Qt::AlignBottom, m_caption);
    }

    if (hasData()) {
        paintContent(painter, content);
    } else {
        painter->setPen(style::mutedTextColor());
        painter->setFont(style::font(style::kLabelPx));
        painter->drawText(content, Qt::AlignCenter | Qt::TextWordWrap, emptyMessage());
    }
    painter->restore();
}

QString FigureRenderer::emptyMessage() const
{
    return tr("No study loaded (File → Open…, or File → Open Bundled Study)");
}

QString FigureRenderer::toolTipAt(const QPointF &pos, const QRectF &rect)
{
    if (!hasData())
        return {};
    const QRectF content = contentRect(rect, nullptr, nullptr);
    return content.contains(pos) ? contentToolTipAt(pos, content) : QString();
}

QString FigureRenderer::contentToolTipAt(const QPointF &, const QRectF &)
{
    return {};
}

} // namespace moescope::ui
