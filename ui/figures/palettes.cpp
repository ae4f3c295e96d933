#include "ui/figures/palettes.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace moescope::ui {

namespace {

// Eleven evenly spaced samples of each colour map (t = 0, 0.1, ..., 1),
// interpolated linearly in sRGB; at this spacing the error against the full
// 256-entry maps is below what a figure can show.
// viridis: van der Walt & Smith (matplotlib, CC0).
constexpr std::array<unsigned, 11> kViridis = {0x440154, 0x482475, 0x414487, 0x355f8d,
                                               0x2a788e, 0x21918c, 0x22a884, 0x44bf70,
                                               0x7ad151, 0xbddf26, 0xfde725};
// cividis: Nuñez, Anderton & Renslow (2018), optimised for colour-vision
// deficiency.
constexpr std::array<unsigned, 11> kCividis = {0x00224e, 0x123570, 0x3b496c, 0x575d6d,
                                               0x707173, 0x8a8779, 0xa69d75, 0xc4b56c,
                                               0xe4cf5b, 0xf9e84e, 0xfee838};
// ColorBrewer RdBu (Brewer, CC-like Apache licence), from blue to red.
constexpr std::array<unsigned, 11> kBlueWhiteRed = {0x053061, 0x2166ac, 0x4393c3, 0x92c5de,
                                                    0xd1e5f0, 0xf7f7f7, 0xfddbc7, 0xf4a582,
                                                    0xd6604d, 0xb2182b, 0x67001f};
// Okabe & Ito, "Color Universal Design" (2008).
constexpr std::array<unsigned, 8> kOkabeIto = {0xe69f00, 0x56b4e9, 0x009e73, 0x0072b2,
                                               0xd55e00, 0xcc79a7, 0x000000, 0xf0e442};

QColor interpolate(const std::array<unsigned, 11> &stops, double t)
{
    if (!std::isfinite(t))
        t = 0;
    t = std::clamp(t, 0.0, 1.0) * (stops.size() - 1);
    const auto i = std::min<std::size_t>(static_cast<std::size_t>(t), stops.size() - 2);
    const double w = t - static_cast<double>(i);
    const QColor a = QColor::fromRgb(stops[i]), b = QColor::fromRgb(stops[i + 1]);
    auto mix = [w](int x, int y) { return static_cast<int>(std::lround(x + (y - x) * w)); };
    return QColor(mix(a.red(), b.red()), mix(a.green(), b.green()), mix(a.blue(), b.blue()));
}

} // namespace

QColor sequentialColor(SequentialPalette palette, double t)
{
    return interpolate(palette == SequentialPalette::Viridis ? kViridis : kCividis, t);
}

QColor divergingColor(double t)
{
    return interpolate(kBlueWhiteRed, (t + 1.0) / 2.0);
}

QColor categoricalColor(int index)
{
    const int n = static_cast<int>(kOkabeIto.size());
    return QColor::fromRgb(kOkabeIto[static_cast<std::size_t>(((index % n) + n) % n)]);
}

int categoricalColorCount()
{
    return static_cast<int>(kOkabeIto.size());
}

QColor expertColor(int expert, int expertCount)
{
    if (expertCount <= categoricalColorCount())
        return categoricalColor(expert);
    const double hue = std::fmod(expert * 0.6180339887498949, 1.0);
    const double saturation = 0.40 + 0.18 * (expert % 3);
    const double value = expert % 2 ? 0.80 : 0.95;
    return QColor::fromHsvF(static_cast<float>(hue), static_cast<float>(saturation), static_cast<float>(value));
}

QColor contrastingTextColor(const QColor &background)
{
    // Relative luminance, ITU-R BT.709 weights on (approximately) linear RGB.
    auto lin = [](double c) { return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); };
    const double y = 0.2126 * lin(background.redF()) + 0.7152 * lin(background.greenF())
        + 0.0722 * lin(background.blueF());
    return y > 0.18 ? QColor(Qt::black) : QColor(Qt::white);
}

} // namespace moescope::ui
