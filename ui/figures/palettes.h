#pragma once

// Colour-blind-safe palettes used by every figure.

#include <QColor>

#include <vector>

namespace moescope::ui {

enum class SequentialPalette { Viridis, Cividis };

// t in [0, 1] (clamped); perceptually uniform, readable in greyscale.
QColor sequentialColor(SequentialPalette palette, double t);

// t in [-1, 1]: blue (-1) through near-white (0) to red (+1), ColorBrewer RdBu.
QColor divergingColor(double t);

// Okabe & Ito (2008) categorical colours, ordered so that the least visible
// one on white (yellow) is used last.
QColor categoricalColor(int index);
int categoricalColorCount();

// A colour per expert (categorical, for the top-1 expert of a token): the
// Okabe–Ito colours up to eight experts; beyond that, hues spaced by the
// golden angle so that neighbouring expert indices differ clearly, with
// alternating saturation and value (cells carry the number too).
QColor expertColor(int expert, int expertCount);

// Black or white, whichever reads better on top of background.
QColor contrastingTextColor(const QColor &background);

} // namespace moescope::ui
