#pragma once

// Fonts, colours and sizes shared by every figure. Fonts are sized in pixels
// of the figure's logical coordinate system (1/96 inch), never in points, so
// that a figure looks the same on screen, in SVG, PDF and PNG at any DPI:
// exporters scale the painter instead of changing the font resolution.

#include <QColor>
#include <QFont>
#include <QString>

#include <vector>

namespace moescope::ui::figure_style {

// Logical units per inch: figure sizes are given in pixels at 96 DPI.
inline constexpr double kLogicalDpi = 96.0;

inline constexpr double kTitlePx = 17;
inline constexpr double kLabelPx = 13;
inline constexpr double kTickPx = 12;
inline constexpr double kCellPx = 12;
inline constexpr double kCaptionPx = 11;
inline constexpr double kMargin = 18;

QFont font(double pixelSize, bool bold = false);

inline QColor textColor() { return QColor(0x22, 0x22, 0x22); }
inline QColor mutedTextColor() { return QColor(0x5a, 0x5a, 0x5a); }
inline QColor axisColor() { return QColor(0x44, 0x44, 0x44); }
inline QColor gridColor() { return QColor(0xdd, 0xdd, 0xdd); }
inline QColor backgroundColor() { return QColor(Qt::white); }

// "Nice" tick values (steps of 1, 2, 2.5 or 5 × 10^n) covering [lo, hi].
std::vector<double> niceTicks(double lo, double hi, int approxCount);
// Formats a tick with as many decimals as the step needs.
QString tickLabel(double value, double step);

} // namespace moescope::ui::figure_style
