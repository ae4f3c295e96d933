#include "ui/views/layer_range_slider.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QSpinBox>

#include <algorithm>
#include <cmath>

namespace moescope::ui {

namespace {
constexpr double kHandleRadius = 7.0;
}

LayerRangeSlider::LayerRangeSlider(QSpinBox *first, QSpinBox *last, QWidget *parent)
    : QWidget(parent)
    , m_first(first)
    , m_last(last)
{
    setToolTip(tr("Drag the handles to choose the first and last layer"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    for (QSpinBox *box : { m_first, m_last })
        connect(box, &QSpinBox::valueChanged, this, qOverload<>(&QWidget::update));
}

QSize LayerRangeSlider::sizeHint() const
{
    return { 220, 24 };
}

QSize LayerRangeSlider::minimumSizeHint() const
{
    return { 80, 24 };
}

QRectF LayerRangeSlider::track() const
{
    return QRectF(kHandleRadius + 1, height() / 2.0 - 2, width() - 2 * (kHandleRadius + 1), 4);
}

QPointF LayerRangeSlider::handleCentre(int layer) const
{
    const QRectF t = track();
    const int top = std::max(m_first->maximum(), 1);
    return { t.left() + t.width() * std::clamp(layer, 0, top) / top, t.center().y() };
}

int LayerRangeSlider::layerAt(double x) const
{
    const QRectF t = track();
    const int top = m_first->maximum();
    if (top <= 0 || t.width() <= 0)
        return 0;
    return std::clamp(static_cast<int>(std::lround((x - t.left()) / t.width() * top)), 0, top);
}

// Handles may meet but not cross: a single-layer range is first == last.
void LayerRangeSlider::moveHandle(int layer)
{
    if (m_dragging == m_first)
        m_first->setValue(std::min(layer, m_last->value()));
    else if (m_dragging == m_last)
        m_last->setValue(std::max(layer, m_first->value()));
}

void LayerRangeSlider::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF t = track();
    const QPalette &pal = palette();
    p.setPen(Qt::NoPen);
    p.setBrush(pal.color(QPalette::Mid));
    p.drawRoundedRect(t, 2, 2);
    const QPointF a = handleCentre(m_first->value()), b = handleCentre(m_last->value());
    p.setBrush(isEnabled() ? pal.color(QPalette::Highlight) : pal.color(QPalette::Dark));
    p.drawRect(QRectF(a.x(), t.top(), b.x() - a.x(), t.height()));
    p.setPen(QPen(pal.color(QPalette::Dark), 1));
    p.setBrush(pal.color(QPalette::Button));
    for (const QPointF &c : { a, b })
        p.drawEllipse(c, kHandleRadius, kHandleRadius);
}

void LayerRangeSlider::mousePressEvent(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton || !isEnabled())
        return;
    const double x = event->position().x();
    const double toFirst = std::abs(x - handleCentre(m_first->value()).x());
    const double toLast = std::abs(x - handleCentre(m_last->value()).x());
    // On a click left of both handles the first one moves, right of both the
    // last; between (or on a shared position) the nearer one.
    m_dragging = toFirst < toLast || (toFirst == toLast && x < handleCentre(m_first->value()).x())
        ? m_first
        : m_last;
    moveHandle(layerAt(x));
}

void LayerRangeSlider::mouseMoveEvent(QMouseEvent *event)
{
    if (m_dragging)
        moveHandle(layerAt(event->position().x()));
}

void LayerRangeSlider::mouseReleaseEvent(QMouseEvent *)
{
    m_dragging = nullptr;
}

} // namespace moescope::ui
