#include "ui/figures/steering_results_renderer.h"

#include "core/common/error.h"
#include "ui/figures/figure_style.h"
#include "ui/figures/palettes.h"

#include <QFontMetricsF>
#include <QJsonArray>
#include <QPainter>

#include <algorithm>
#include <cmath>
#include <limits>

namespace moescope::ui {

namespace style = figure_style;

namespace {

// The baseline in neutral grey so that the steered bars (Okabe–Ito colours)
// stand out against it.
QColor conditionColor(int condition)
{
    return condition == 0 ? QColor(0x9a, 0x9a, 0x9a) : categoricalColor(condition - 1);
}

} // namespace

SteeringResultsRenderer::SteeringResultsRenderer(QObject *parent)
    : InterventionResultsRenderer(InterventionResults::Kind::Steering, parent)
{ }

SteeringResultsRenderer::SteeringResultsRenderer(InterventionResultsPtr results, QObject *parent)
    : InterventionResultsRenderer(InterventionResults::Kind::Steering, parent)
{
    setResults(std::move(results));
}

QString SteeringResultsRenderer::fileStem() const
{
    QString stem = QStringLiteral("steering-%1")
                       .arg(metric().isEmpty() ? QStringLiteral("results") : metric());
    return stem.replace(QLatin1Char('_'), QLatin1Char('-'));
}

QString SteeringResultsRenderer::title() const
{
    if (!m_results)
        return tr("Steering");
    const QJsonArray pair = m_results->run.value(QStringLiteral("pair")).toArray();
    const QString direction = pair.size() == 2
        ? QStringLiteral(" (%1 → %2 set)").arg(pair[0].toString(), pair[1].toString())
        : QString();
    return tr("Steering: %1 per language, baseline vs steered%2").arg(metric(), direction);
}

QSizeF SteeringResultsRenderer::defaultSize() const
{
    if (!m_results)
        return { 900, 520 };
    const double groups = static_cast<double>(m_results->languages.size());
    const double bars = static_cast<double>(m_results->conditions().size());
    return { std::clamp(160 + groups * (bars * 34 + 26), 640.0, 1800.0), 520 };
}

bool SteeringResultsRenderer::hasData() const
{
    return m_results && !m_results->languages.isEmpty();
}

QString SteeringResultsRenderer::emptyMessage() const
{
    return tr("No steering results (run moescope steer, then open its results.json)");
}

std::optional<double> SteeringResultsRenderer::valueAt(int condition, int language) const
{
    const QStringList conditions = m_results->conditions();
    if (condition < 0 || condition >= conditions.size() || language < 0
        || language >= m_results->languages.size())
        return std::nullopt;
    const auto v
        = m_results->value({ conditions[condition] }, m_results->languages[language], metric());
    return v && std::isfinite(*v) ? v : std::nullopt;
}

SteeringResultsRenderer::Layout SteeringResultsRenderer::layout(const QRectF &content) const
{
    Layout l;
    const QFontMetricsF tick(style::font(style::kTickPx));
    const QFontMetricsF label(style::font(style::kLabelPx));
    const int conditions = static_cast<int>(m_results->conditions().size());
    const int languages = static_cast<int>(m_results->languages.size());

    double lo = 0, hi = 0;
    for (int c = 0; c < conditions; ++c)
        for (int g = 0; g < languages; ++g)
            if (const auto v = valueAt(c, g)) {
                lo = std::min(lo, *v);
                hi = std::max(hi, *v);
            }
    if (hi == lo)
        hi = lo + 1;
    // Headroom for the value labels on top of the bars.
    l.ticks = style::niceTicks(lo, hi + (hi - lo) * 0.08, 6);
    const double step = l.ticks.size() > 1 ? l.ticks[1] - l.ticks[0] : 1.0;
    l.lo = std::min(lo, l.ticks.front());
    l.hi = std::max(hi + (hi - lo) * 0.08, l.ticks.back());
    if (l.ticks.back() < l.hi - 1e-12 * step) {
        l.ticks.push_back(l.ticks.back() + step);
        l.hi = l.ticks.back();
    }

    double tickWidth = 0;
    for (double t : l.ticks)
        tickWidth = std::max(tickWidth, tick.horizontalAdvance(style::tickLabel(t, step)));
    const double left = label.height() + 8 + tickWidth + 8;
    const double legendHeight = tick.height() + 10;
    const double bottom = tick.height() + label.height() + 14;
    l.legend = QRectF(content.left() + left, content.top(), content.width() - left, legendHeight);
    l.plot = QRectF(content.left() + left, content.top() + legendHeight + 4,
        content.width() - left - 8, content.height() - legendHeight - 4 - bottom);
    l.groupWidth = l.plot.width() / std::max(1, languages);
    l.barWidth = l.groupWidth * 0.8 / std::max(1, conditions);
    return l;
}

QRectF SteeringResultsRenderer::barIn(const Layout &l, int condition, int language) const
{
    const auto v = valueAt(condition, language);
    if (!v)
        return {};
    auto y = [&](double value) {
        return l.plot.bottom() - (value - l.lo) / (l.hi - l.lo) * l.plot.height();
    };
    const double x
        = l.plot.left() + language * l.groupWidth + l.groupWidth * 0.1 + condition * l.barWidth;
    const double top = y(std::max(*v, 0.0)), bottom = y(std::min(*v, 0.0));
    return QRectF(x, top, l.barWidth, std::max(0.5, bottom - top));
}

QRectF SteeringResultsRenderer::barRect(const QRectF &rect, int condition, int language)
{
    if (!hasData())
        return {};
    return barIn(layout(contentRect(rect, nullptr, nullptr)), condition, language);
}

void SteeringResultsRenderer::paintContent(QPainter *painter, const QRectF &content)
{
    const Layout l = layout(content);
    const QStringList conditions = m_results->conditions();
    const int languages = static_cast<int>(m_results->languages.size());
    const double step = l.ticks.size() > 1 ? l.ticks[1] - l.ticks[0] : 1.0;
    const QFont tickFont = style::font(style::kTickPx);
    const QFontMetricsF tm(tickFont);
    auto y = [&](double value) {
        return l.plot.bottom() - (value - l.lo) / (l.hi - l.lo) * l.plot.height();
    };

    painter->save();
    painter->setFont(tickFont);
    for (double t : l.ticks) {
        painter->setPen(QPen(style::gridColor(), 0.8));
        painter->drawLine(QPointF(l.plot.left(), y(t)), QPointF(l.plot.right(), y(t)));
        painter->setPen(style::textColor());
        painter->drawText(QRectF(l.plot.left() - 200 - 6, y(t) - tm.height() / 2, 200, tm.height()),
            Qt::AlignRight | Qt::AlignVCenter, style::tickLabel(t, step));
    }

    // Decimals for the value labels: one below the axis step, and more (up
    // to four) when bars of a group would otherwise read the same, since a
    // steering effect is often small next to the metric itself.
    double closest = std::numeric_limits<double>::infinity();
    for (int g = 0; g < languages; ++g)
        for (int a = 0; a < conditions.size(); ++a)
            for (int b = a + 1; b < conditions.size(); ++b) {
                const auto va = valueAt(a, g), vb = valueAt(b, g);
                if (va && vb && *va != *vb)
                    closest = std::min(closest, std::abs(*va - *vb));
            }
    int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step))) + 1);
    if (std::isfinite(closest))
        decimals = std::max(decimals, static_cast<int>(std::ceil(-std::log10(closest))));
    decimals = std::clamp(decimals, 0, 4);
    for (int g = 0; g < languages; ++g) {
        for (int c = 0; c < conditions.size(); ++c) {
            const QRectF bar = barIn(l, c, g);
            if (bar.isEmpty())
                continue;
            painter->setPen(Qt::NoPen);
            painter->setBrush(conditionColor(c));
            painter->drawRect(bar);
            const QString text = QString::number(*valueAt(c, g), 'f', decimals)
                                     .replace(QLatin1Char('-'), QChar(0x2212));
            const double textWidth = tm.horizontalAdvance(text);
            if (textWidth + 2 <= bar.width() + 6) {
                painter->setPen(style::textColor());
                painter->drawText(
                    QRectF(bar.center().x() - 40, bar.top() - tm.height() - 2, 80, tm.height()),
                    Qt::AlignHCenter | Qt::AlignBottom, text);
            } else if (textWidth + 8 <= bar.height() && tm.height() <= bar.width()) {
                // Too wide for the bar: written upwards inside its top end.
                painter->save();
                painter->setPen(contrastingTextColor(conditionColor(c)));
                painter->translate(bar.center().x(), bar.top() + 4);
                painter->rotate(-90);
                painter->drawText(
                    QRectF(-textWidth - 2, -tm.height() / 2, textWidth + 2, tm.height()),
                    Qt::AlignRight | Qt::AlignVCenter, text);
                painter->restore();
            }
        }
        painter->setPen(style::textColor());
        painter->drawText(QRectF(l.plot.left() + g * l.groupWidth, l.plot.bottom() + 4,
                              l.groupWidth, tm.height()),
            Qt::AlignHCenter | Qt::AlignTop, m_results->languages[g]);
    }
    painter->setPen(QPen(style::axisColor(), 0.8));
    painter->drawLine(QPointF(l.plot.left(), y(0)), QPointF(l.plot.right(), y(0)));
    painter->drawLine(l.plot.topLeft(), l.plot.bottomLeft());

    // Legend: a swatch and the condition's name, in a row above the plot.
    double x = l.legend.left();
    for (int c = 0; c < conditions.size(); ++c) {
        const QString name = conditionDisplayName(conditions[c]);
        painter->setPen(Qt::NoPen);
        painter->setBrush(conditionColor(c));
        painter->drawRect(QRectF(x, l.legend.top() + (tm.height() - 10) / 2, 10, 10));
        painter->setPen(style::textColor());
        painter->drawText(QRectF(x + 14, l.legend.top(), 400, tm.height()),
            Qt::AlignLeft | Qt::AlignVCenter, name);
        x += 14 + tm.horizontalAdvance(name) + 18;
    }

    painter->setFont(style::font(style::kLabelPx));
    const QFontMetricsF lm(painter->font());
    painter->drawText(
        QRectF(l.plot.left(), l.plot.bottom() + tm.height() + 8, l.plot.width(), lm.height()),
        Qt::AlignHCenter | Qt::AlignTop, tr("evaluated language"));
    painter->translate(content.left(), l.plot.center().y());
    painter->rotate(-90);
    painter->drawText(QRectF(-l.plot.height() / 2, 0, l.plot.height(), lm.height()),
        Qt::AlignHCenter | Qt::AlignTop, metric());
    painter->restore();
}

QString SteeringResultsRenderer::contentToolTipAt(const QPointF &pos, const QRectF &content)
{
    const Layout l = layout(content);
    const QStringList conditions = m_results->conditions();
    for (int g = 0; g < m_results->languages.size(); ++g)
        for (int c = 0; c < conditions.size(); ++c) {
            // The whole column above (or below) the bar counts, so short bars
            // are easy to hover.
            const QRectF bar = barIn(l, c, g);
            if (bar.isEmpty() || pos.x() < bar.left() || pos.x() >= bar.right()
                || !l.plot.contains(pos))
                continue;
            const QString language = m_results->languages[g];
            const auto exact = [](std::optional<double> v) {
                return v ? QString::number(*v, 'g', 10) : QStringLiteral("n/a");
            };
            QString text = tr("%1 · %2\n%3 = %4")
                               .arg(language, conditionDisplayName(conditions[c]), metric(),
                                   exact(m_results->value({ conditions[c] }, language, metric())));
            if (c > 0)
                text += tr("\nbaseline %1, change %2")
                            .arg(exact(m_results->value(
                                     m_results->baselineKey(), language, metric())),
                                exact(m_results->deltaFromBaseline(
                                    { conditions[c] }, language, metric())));
            return text;
        }
    return {};
}

} // namespace moescope::ui
