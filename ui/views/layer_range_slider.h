#pragma once

// A range slider over the model's layers: one track, two handles, drawn
// beside the "first"/"last" spin boxes it is bound to. The spin boxes stay
// the controls' state (sessions, tests and keyboard entry use them); the
// slider moves them by dragging a handle, or the nearer handle to a click,
// and follows them when they change.

#include <QWidget>

class QSpinBox;

namespace moescope::ui {

class LayerRangeSlider : public QWidget
{
    Q_OBJECT
public:
    LayerRangeSlider(QSpinBox *first, QSpinBox *last, QWidget *parent = nullptr);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    // Centre of the handle for layer (tests, hit testing).
    QPointF handleCentre(int layer) const;

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;

private:
    QRectF track() const;
    int layerAt(double x) const;
    void moveHandle(int layer);

    QSpinBox *m_first;
    QSpinBox *m_last;
    QSpinBox *m_dragging = nullptr;
};

} // namespace moescope::ui
