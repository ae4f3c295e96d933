#include "ui/figures/plan_map_renderer.h"

#include "ui/figures/figure_style.h"
#include "ui/figures/palettes.h"

#include <QPainter>

#include <algorithm>
#include <cmath>

namespace moescope::ui {

namespace fs = figure_style;

namespace {
constexpr double kAxisLeft = 56; // layer labels
constexpr double kAxisBottom = 40; // expert labels and axis title
constexpr double kLegendHeight = 34;
const QColor kMaskedColor(0x1a, 0x1a, 0x1a);
const QColor kUntouchedColor(0xf0, 0xf0, 0xf0);
const QColor kDenseColor(0xc8, 0xc8, 0xc8);
} // namespace

PlanMapRenderer::PlanMapRenderer(QString fileStem, QObject *parent)
    : FigureRenderer(parent)
    , m_fileStem(std::move(fileStem))
    , m_emptyMessage(tr("No plan yet"))
{ }

void PlanMapRenderer::setPlan(const routing::InterventionPlan &plan, int numLayers, int numExperts,
    std::vector<int> moeLayers, const QString &title)
{
    m_numLayers = std::max(0, numLayers);
    m_numExperts = std::max(0, numExperts);
    m_moeLayers = std::move(moeLayers);
    m_title = title;
    const auto cells
        = static_cast<std::size_t>(m_numLayers) * static_cast<std::size_t>(m_numExperts);
    m_kind.assign(cells, 0);
    m_scale.assign(cells, 0.0);
    m_maxScale = 0;
    auto at = [this](int layer, int expert) -> std::size_t {
        return static_cast<std::size_t>(layer) * static_cast<std::size_t>(m_numExperts)
            + static_cast<std::size_t>(expert);
    };
    auto inside = [this](int layer, int expert) {
        return layer >= 0 && layer < m_numLayers && expert >= 0 && expert < m_numExperts;
    };
    for (const auto &entry : plan.steer)
        for (int layer = entry.layers.first; layer <= entry.layers.last; ++layer)
            for (std::size_t i = 0; i < entry.experts.size(); ++i) {
                if (!inside(layer, entry.experts[i]))
                    continue;
                const double scale = i < entry.scales.size()
                    ? entry.scales[i]
                    : (entry.scales.empty() ? 0.0 : entry.scales.front());
                m_kind[at(layer, entry.experts[i])] = 2;
                m_scale[at(layer, entry.experts[i])] = scale;
                m_maxScale = std::max(m_maxScale, std::abs(scale));
            }
    // A mask wins over a steer on the same expert (core applies the mask last).
    for (const auto &entry : plan.mask)
        for (int layer = entry.layers.first; layer <= entry.layers.last; ++layer)
            for (const int expert : entry.experts)
                if (inside(layer, expert))
                    m_kind[at(layer, expert)] = 1;
    m_masked = static_cast<int>(std::count(m_kind.begin(), m_kind.end(), 1));
    m_steered = static_cast<int>(std::count(m_kind.begin(), m_kind.end(), 2));
    Q_EMIT changed();
}

void PlanMapRenderer::clear(const QString &reason)
{
    m_numLayers = m_numExperts = 0;
    m_kind.clear();
    m_scale.clear();
    m_emptyMessage = reason;
    Q_EMIT changed();
}

int PlanMapRenderer::cellKind(int layer, int expert) const
{
    if (layer < 0 || layer >= m_numLayers || expert < 0 || expert >= m_numExperts)
        return 0;
    return m_kind[static_cast<std::size_t>(layer * m_numExperts + expert)];
}

double PlanMapRenderer::cellScale(int layer, int expert) const
{
    if (cellKind(layer, expert) != 2)
        return 0;
    return m_scale[static_cast<std::size_t>(layer * m_numExperts + expert)];
}

std::optional<std::pair<int, int>> PlanMapRenderer::cellAt(
    const QPointF &pos, const QRectF &rect) const
{
    if (!hasData())
        return std::nullopt;
    const QRectF grid = gridRect(contentRect(rect, nullptr, nullptr));
    if (!grid.contains(pos))
        return std::nullopt;
    const int expert
        = std::clamp(static_cast<int>((pos.x() - grid.left()) / grid.width() * m_numExperts), 0,
            m_numExperts - 1);
    const int layer = std::clamp(
        static_cast<int>((pos.y() - grid.top()) / grid.height() * m_numLayers), 0, m_numLayers - 1);
    return std::make_pair(layer, expert);
}

QRectF PlanMapRenderer::cellRect(const QRectF &rect, int layer, int expert) const
{
    if (!hasData())
        return {};
    const QRectF grid = gridRect(contentRect(rect, nullptr, nullptr));
    const double cw = grid.width() / m_numExperts, ch = grid.height() / m_numLayers;
    return { grid.left() + expert * cw, grid.top() + layer * ch, cw, ch };
}

QRectF PlanMapRenderer::gridRect(const QRectF &content) const
{
    return content.adjusted(kAxisLeft, 0, -8, -(kAxisBottom + kLegendHeight));
}

void PlanMapRenderer::paintContent(QPainter *painter, const QRectF &content)
{
    const QRectF grid = gridRect(content);
    if (grid.width() <= 0 || grid.height() <= 0)
        return;
    const double cw = grid.width() / m_numExperts;
    const double ch = grid.height() / m_numLayers;
    painter->save();
    painter->setPen(Qt::NoPen);
    for (int layer = 0; layer < m_numLayers; ++layer) {
        const bool routed
            = std::find(m_moeLayers.begin(), m_moeLayers.end(), layer) != m_moeLayers.end();
        for (int expert = 0; expert < m_numExperts; ++expert) {
            QColor color = routed ? kUntouchedColor : kDenseColor;
            const int kind = cellKind(layer, expert);
            if (kind == 1)
                color = kMaskedColor;
            else if (kind == 2)
                color
                    = divergingColor(m_maxScale > 0 ? cellScale(layer, expert) / m_maxScale : 0.0);
            // Slight overlap avoids hairline gaps between cells in PDF viewers.
            painter->fillRect(
                QRectF(grid.left() + expert * cw, grid.top() + layer * ch, cw + 0.3, ch + 0.3),
                color);
        }
    }
    // Axes: layers down, experts across, with nice ticks.
    painter->setPen(fs::axisColor());
    painter->setBrush(Qt::NoBrush);
    painter->drawRect(grid);
    painter->setFont(fs::font(fs::kTickPx));
    const auto layerTicks
        = fs::niceTicks(0, m_numLayers - 1, std::max(2, static_cast<int>(grid.height() / 40)));
    const double layerStep = layerTicks.size() > 1 ? layerTicks[1] - layerTicks[0] : 1;
    for (const double t : layerTicks) {
        if (t < 0 || t > m_numLayers - 1 || t != std::floor(t))
            continue;
        const double y = grid.top() + (t + 0.5) * ch;
        painter->drawText(QRectF(content.left(), y - 8, kAxisLeft - 6, 16),
            Qt::AlignRight | Qt::AlignVCenter, fs::tickLabel(t, layerStep));
    }
    const auto expertTicks
        = fs::niceTicks(0, m_numExperts - 1, std::max(2, static_cast<int>(grid.width() / 70)));
    const double expertStep = expertTicks.size() > 1 ? expertTicks[1] - expertTicks[0] : 1;
    for (const double t : expertTicks) {
        if (t < 0 || t > m_numExperts - 1 || t != std::floor(t))
            continue;
        const double x = grid.left() + (t + 0.5) * cw;
        painter->drawText(QRectF(x - 30, grid.bottom() + 2, 60, 16),
            Qt::AlignHCenter | Qt::AlignTop, fs::tickLabel(t, expertStep));
    }
    painter->setFont(fs::font(fs::kLabelPx));
    painter->setPen(fs::textColor());
    painter->drawText(QRectF(grid.left(), grid.bottom() + 18, grid.width(), 20),
        Qt::AlignHCenter | Qt::AlignTop, tr("expert"));
    painter->save();
    painter->translate(content.left() + 12, grid.center().y());
    painter->rotate(-90);
    painter->drawText(QRectF(-60, -10, 120, 20), Qt::AlignCenter, tr("layer"));
    painter->restore();

    // Legend: what the three kinds of cell mean, with the counts.
    const double ly = grid.bottom() + kAxisBottom + 8;
    double x = grid.left();
    painter->setFont(fs::font(fs::kTickPx));
    auto swatch = [&](const QColor &color, const QString &text) {
        painter->fillRect(QRectF(x, ly, 14, 14), color);
        painter->setPen(fs::axisColor());
        painter->drawRect(QRectF(x, ly, 14, 14));
        painter->setPen(fs::textColor());
        const double w = painter->fontMetrics().horizontalAdvance(text) + 8;
        painter->drawText(QRectF(x + 18, ly - 2, w, 18), Qt::AlignLeft | Qt::AlignVCenter, text);
        x += 18 + w + 14;
    };
    swatch(kMaskedColor, tr("masked (%1)").arg(m_masked));
    swatch(divergingColor(1.0), tr("steered up (%1)").arg(m_steered));
    swatch(divergingColor(-1.0), tr("steered down"));
    swatch(kUntouchedColor, tr("untouched"));
    swatch(kDenseColor, tr("dense layer"));
    if (m_maxScale > 0) {
        painter->setPen(fs::mutedTextColor());
        painter->drawText(QRectF(x, ly - 2, grid.right() - x, 18), Qt::AlignLeft | Qt::AlignVCenter,
            tr("largest |scale| %1").arg(m_maxScale, 0, 'g', 3));
    }
    painter->restore();
}

QString PlanMapRenderer::contentToolTipAt(const QPointF &pos, const QRectF &content)
{
    const QRectF grid = gridRect(content);
    if (!grid.contains(pos))
        return {};
    const int expert
        = std::clamp(static_cast<int>((pos.x() - grid.left()) / grid.width() * m_numExperts), 0,
            m_numExperts - 1);
    const int layer = std::clamp(
        static_cast<int>((pos.y() - grid.top()) / grid.height() * m_numLayers), 0, m_numLayers - 1);
    QString what;
    switch (cellKind(layer, expert)) {
    case 1:
        what = tr("masked");
        break;
    case 2:
        what = tr("steered, scale %1").arg(cellScale(layer, expert), 0, 'g', 4);
        break;
    default:
        what = std::find(m_moeLayers.begin(), m_moeLayers.end(), layer) != m_moeLayers.end()
            ? tr("untouched")
            : tr("dense layer");
    }
    return tr("layer %1, expert %2: %3").arg(layer).arg(expert).arg(what);
}

} // namespace moescope::ui
