#include "ui/figures/figure_style.h"

#include <cmath>

namespace moescope::ui::figure_style {

QFont font(double pixelSize, bool bold)
{
    // DejaVu Sans ships with Debian's fontconfig defaults and has the glyphs
    // the labels use (−, ×, Greek); a fixed family keeps GUI and headless
    // output identical.
    QFont f(QStringLiteral("DejaVu Sans"));
    f.setStyleHint(QFont::SansSerif);
    f.setPixelSize(static_cast<int>(std::lround(pixelSize)));
    f.setBold(bold);
    return f;
}

std::vector<double> niceTicks(double lo, double hi, int approxCount)
{
    std::vector<double> ticks;
    if (!(hi > lo) || approxCount < 1)
        return {lo};
    const double raw = (hi - lo) / approxCount;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
        step = m * magnitude;
        if (step >= raw)
            break;
    }
    const double first = std::ceil(lo / step - 1e-9) * step;
    for (double v = first; v <= hi + step * 1e-9; v += step)
        ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    return ticks;
}

QString tickLabel(double value, double step)
{
    int decimals = 0;
    while (decimals < 6 && std::abs(step * std::pow(10.0, decimals) - std::round(step * std::pow(10.0, decimals))) > 1e-6)
        ++decimals;
    return QString::number(value, 'f', decimals).replace(QLatin1Char('-'), QChar(0x2212));
}

} // namespace moescope::ui::figure_style
