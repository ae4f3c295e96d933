#pragma once

// The one drawing code path for figures: a renderer paints a whole figure
// (title, plot, legend, caption) onto any QPainter — the GUI's widget, an
// SVG generator, a PDF writer or a PNG image — in logical units of 1/96 inch.

#include <QObject>
#include <QRectF>
#include <QSizeF>
#include <QString>

class QPainter;

namespace moescope::ui {

class FigureRenderer : public QObject
{
    Q_OBJECT
public:
    explicit FigureRenderer(QObject *parent = nullptr);

    // Base of exported file names, e.g. "similarity-mean".
    virtual QString fileStem() const = 0;
    virtual QString title() const = 0;
    // Size used for exports, in logical pixels (1/96 inch).
    virtual QSizeF defaultSize() const { return {1000, 640}; }
    virtual bool hasData() const = 0;
    // Drawn in place of the plot while hasData() is false.
    virtual QString emptyMessage() const;

    // Provenance line drawn under the plot: data source and parameters.
    void setCaption(const QString &caption);
    QString caption() const { return m_caption; }

    void paint(QPainter *painter, const QRectF &rect);
    // Exact values under pos when the figure is painted into rect.
    QString toolTipAt(const QPointF &pos, const QRectF &rect);

Q_SIGNALS:
    void changed();

protected:
    // Where paintContent draws when the figure is painted into rect (for
    // hit tests outside painting, e.g. a click on a cell).
    QRectF contentRect(const QRectF &rect, QRectF *titleRect, QRectF *captionRect) const;
    virtual void paintContent(QPainter *painter, const QRectF &content) = 0;
    virtual QString contentToolTipAt(const QPointF &pos, const QRectF &content);

private:

    QString m_caption;
};

} // namespace moescope::ui
