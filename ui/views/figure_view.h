#pragma once

#include <QWidget>

namespace moescope::ui {

class FigureRenderer;

// Shows one figure: paints it with its renderer (the same code that exports
// it) and asks the renderer for the exact values under the mouse.
class FigureView : public QWidget
{
    Q_OBJECT
public:
    explicit FigureView(FigureRenderer *figure, QWidget *parent = nullptr);

    FigureRenderer *figure() const { return m_figure; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    // A left click at pos while the figure fills rect (the whole view).
    void clicked(const QPointF &pos, const QRectF &rect);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    bool event(QEvent *event) override;

private:
    FigureRenderer *m_figure;
};

} // namespace moescope::ui
