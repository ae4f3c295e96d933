#include "ui/views/figure_view.h"

#include "ui/figures/figure_renderer.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

namespace moescope::ui {

FigureView::FigureView(FigureRenderer *figure, QWidget *parent) : QWidget(parent), m_figure(figure)
{
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMouseTracking(true);
    connect(m_figure, &FigureRenderer::changed, this, qOverload<>(&QWidget::update));
}

QSize FigureView::sizeHint() const
{
    return m_figure->defaultSize().toSize();
}

QSize FigureView::minimumSizeHint() const
{
    return {420, 320};
}

void FigureView::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setRenderHint(QPainter::TextAntialiasing, true);
    m_figure->paint(&painter, QRectF(rect()));
}

void FigureView::mouseReleaseEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton)
        Q_EMIT clicked(event->position(), QRectF(rect()));
    QWidget::mouseReleaseEvent(event);
}

bool FigureView::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const QString text = m_figure->toolTipAt(help->pos(), QRectF(rect()));
        if (text.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), text, this);
        return true;
    }
    return QWidget::event(event);
}

} // namespace moescope::ui
