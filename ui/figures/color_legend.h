#pragma once

#include "ui/models/model_roles.h"

#include <QColor>
#include <QRectF>
#include <QString>

#include <functional>

class QPainter;

namespace moescope::ui {

// A vertical colour bar with ticks and a title, for sequential and diverging
// scales. colorAt maps t in [0, 1] (bottom to top) to a colour.
struct ColorLegend
{
    std::function<QColor(double)> colorAt;
    ValueRange range;
    QString title;

    // Width the legend needs (bar, ticks, labels, rotated title).
    static double preferredWidth();
    void paint(QPainter *painter, const QRectF &rect) const;
};

} // namespace moescope::ui
