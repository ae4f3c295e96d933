#include "ui/figures/ablation_grid_renderer.h"

#include "core/common/error.h"
#include "ui/figures/color_legend.h"
#include "ui/figures/figure_style.h"
#include "ui/figures/palettes.h"

#include <QFontMetricsF>
#include <QPainter>

#include <algorithm>
#include <cmath>
#include <limits>

namespace moescope::ui {

namespace style = figure_style;

namespace {

constexpr int kMaxPanelColumns = 4;
constexpr double kPanelGap = 22;
constexpr double kMaxCell = 96;
constexpr double kDefaultCellWidth = 54, kDefaultCellHeight = 38;

QColor baselineCellColor()
{
    return QColor(0xe4, 0xe4, 0xe4);
}

QColor missingCellColor()
{
    return QColor(0xf4, 0xf4, 0xf4);
}

QString signedText(double value, int decimals)
{
    QString text = QString::number(std::abs(value), 'f', decimals);
    if (std::round(value * std::pow(10.0, decimals)) == 0)
        return text;
    return (value > 0 ? QStringLiteral("+") : QString(QChar(0x2212))) + text;
}

} // namespace

AblationGridRenderer::AblationGridRenderer(QObject *parent)
    : InterventionResultsRenderer(InterventionResults::Kind::Ablation, parent)
{ }

AblationGridRenderer::AblationGridRenderer(InterventionResultsPtr results, QObject *parent)
    : InterventionResultsRenderer(InterventionResults::Kind::Ablation, parent)
{
    setResults(std::move(results));
}

void AblationGridRenderer::setShowDelta(bool delta)
{
    m_delta = delta;
    Q_EMIT changed();
}

QString AblationGridRenderer::fileStem() const
{
    QString stem
        = QStringLiteral("ablation-%1").arg(metric().isEmpty() ? QStringLiteral("grid") : metric());
    stem.replace(QLatin1Char('_'), QLatin1Char('-'));
    return m_delta ? stem + QStringLiteral("-delta") : stem;
}

QString AblationGridRenderer::title() const
{
    if (!m_results)
        return tr("Ablation grid");
    return m_delta
        ? tr("Ablation: change in %1 from the unmasked baseline, by masked × evaluated language")
              .arg(metric())
        : tr("Ablation: %1 by masked × evaluated language").arg(metric());
}

QSizeF AblationGridRenderer::defaultSize() const
{
    const int panels = std::max(1, panelCount());
    const int panelColumns = std::min(panels, kMaxPanelColumns);
    const int panelRows = (panels + panelColumns - 1) / panelColumns;
    const double width = 2 * style::kMargin + 130
        + panelColumns * std::max(1, columnCount()) * kDefaultCellWidth
        + (panelColumns - 1) * kPanelGap + 130;
    const double height = 150 + panelRows * (std::max(1, rowCount()) * kDefaultCellHeight + 48);
    return { std::clamp(width, 640.0, 2400.0), std::clamp(height, 360.0, 2400.0) };
}

bool AblationGridRenderer::hasData() const
{
    return m_results && panelCount() > 0 && columnCount() > 0;
}

QString AblationGridRenderer::emptyMessage() const
{
    return tr("No ablation results (run moescope ablate, then open its results.json)");
}

int AblationGridRenderer::panelCount() const
{
    return m_results ? static_cast<int>(m_results->blocks().size()) : 0;
}

int AblationGridRenderer::rowCount() const
{
    return m_results ? 1 + static_cast<int>(m_results->maskedLanguages().size()) : 0;
}

int AblationGridRenderer::columnCount() const
{
    return m_results ? static_cast<int>(m_results->languages.size()) : 0;
}

QStringList AblationGridRenderer::rowLabels() const
{
    QStringList labels { tr("baseline") };
    if (m_results)
        for (const auto &masked : m_results->maskedLanguages())
            labels << tr("mask %1").arg(masked);
    return labels;
}

QStringList AblationGridRenderer::rowKey(int panel, int row) const
{
    if (row == 0)
        return m_results->baselineKey();
    return { m_results->blocks().value(panel), m_results->maskedLanguages().value(row - 1) };
}

std::optional<double> AblationGridRenderer::cellValue(int panel, int row, int column) const
{
    if (!m_results || panel < 0 || panel >= panelCount() || row < 0 || row >= rowCount()
        || column < 0 || column >= columnCount())
        return std::nullopt;
    const QStringList key = rowKey(panel, row);
    const QString language = m_results->languages[column];
    if (m_delta && row > 0)
        return m_results->deltaFromBaseline(key, language, metric());
    return m_results->value(key, language, metric());
}

std::pair<double, double> AblationGridRenderer::valueRange() const
{
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, maxAbs = 0;
    for (int p = 0; p < panelCount(); ++p)
        for (int r = m_delta ? 1 : 0; r < rowCount(); ++r)
            for (int c = 0; c < columnCount(); ++c)
                if (const auto v = cellValue(p, r, c); v && std::isfinite(*v)) {
                    lo = std::min(lo, *v);
                    hi = std::max(hi, *v);
                    maxAbs = std::max(maxAbs, std::abs(*v));
                }
    if (m_delta) {
        const double m = maxAbs > 0 ? maxAbs : 1.0;
        return { -m, m };
    }
    if (!(hi >= lo))
        return { 0.0, 1.0 };
    if (hi == lo) {
        const double pad = lo != 0 ? std::abs(lo) * 0.5 : 1.0;
        return { lo - pad, hi + pad };
    }
    return { lo, hi };
}

bool AblationGridRenderer::metricHigherIsBetter() const
{
    // The run states it for the main metric; the other columns the tasks
    // write are accuracies and scores except the likelihood-based ones.
    if (metric() == m_results->primaryMetric)
        return m_results->higherIsBetter;
    const QString m = metric();
    return !(m.contains(QLatin1String("bits_per")) || m.contains(QLatin1String("perplexity"))
        || m.contains(QLatin1String("loss")) || m.contains(QLatin1String("nll")));
}

QColor AblationGridRenderer::colorFor(double value, const std::pair<double, double> &range) const
{
    if (m_delta) // red = worse whichever way the metric points
        return divergingColor((metricHigherIsBetter() ? -value : value) / range.second);
    return sequentialColor(
        SequentialPalette::Viridis, (value - range.first) / (range.second - range.first));
}

QString AblationGridRenderer::cellText(double value, const std::pair<double, double> &range) const
{
    const double magnitude = std::max(std::abs(range.first), std::abs(range.second));
    const int decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
    return m_delta ? signedText(value, decimals) : QString::number(value, 'f', decimals);
}

AblationGridRenderer::Layout AblationGridRenderer::layout(const QRectF &content) const
{
    Layout l;
    const int panels = panelCount();
    const int panelColumns = std::max(1, std::min(panels, kMaxPanelColumns));
    const int panelRows = std::max(1, (panels + panelColumns - 1) / panelColumns);
    const QFontMetricsF tick(style::font(style::kTickPx));
    const QFontMetricsF label(style::font(style::kLabelPx));
    const QFontMetricsF panelTitle(style::font(style::kLabelPx, true));
    double rowLabelWidth = 0;
    for (const auto &text : rowLabels())
        rowLabelWidth = std::max(rowLabelWidth, tick.horizontalAdvance(text));
    const double left = label.height() + 8 + rowLabelWidth + 8;
    const double titleHeight = panelTitle.height() + 6;
    const double axisLabelHeight = label.height() + 4;
    const double legendWidth = ColorLegend::preferredWidth();

    const double gridWidth = content.width() - left - legendWidth - 16;
    const double gridHeight = content.height() - axisLabelHeight;
    const int columns = std::max(1, columnCount()), rows = std::max(1, rowCount());
    l.cellWidth = std::min(
        kMaxCell, (gridWidth - (panelColumns - 1) * kPanelGap) / (panelColumns * columns));
    double widestLanguage = 0;
    if (m_results)
        for (const auto &language : m_results->languages)
            widestLanguage = std::max(widestLanguage, tick.horizontalAdvance(language));
    l.uprightColumnLabels = widestLanguage + 4 > l.cellWidth;
    l.columnLabelHeight = (l.uprightColumnLabels ? widestLanguage : tick.height()) + 6;
    const double columnLabelHeight = l.columnLabelHeight;
    l.cellHeight = std::min(kMaxCell,
        (gridHeight - panelRows * (titleHeight + columnLabelHeight)
            - (panelRows - 1) * kPanelGap * 0.5)
            / (panelRows * rows));
    l.cellWidth = std::max(1.0, l.cellWidth);
    l.cellHeight = std::max(1.0, l.cellHeight);
    const double panelWidth = l.cellWidth * columns, panelHeight = l.cellHeight * rows;
    for (int p = 0; p < panels; ++p) {
        const int pc = p % panelColumns, pr = p / panelColumns;
        const double x = content.left() + left + pc * (panelWidth + kPanelGap);
        const double y = content.top() + titleHeight
            + pr * (titleHeight + panelHeight + columnLabelHeight + kPanelGap * 0.5);
        l.panels << QRectF(x, y, panelWidth, panelHeight);
    }
    const double gridRight
        = content.left() + left + panelColumns * panelWidth + (panelColumns - 1) * kPanelGap;
    const double gridBottom = l.panels.isEmpty() ? content.bottom() : l.panels.back().bottom();
    l.legend = QRectF(gridRight + 16, content.top() + titleHeight, legendWidth,
        std::max(60.0, gridBottom - content.top() - titleHeight));
    return l;
}

QRectF AblationGridRenderer::cellRect(const QRectF &rect, int panel, int row, int column)
{
    if (!hasData())
        return {};
    const Layout l = layout(contentRect(rect, nullptr, nullptr));
    if (panel < 0 || panel >= l.panels.size())
        return {};
    const QRectF p = l.panels[panel];
    return QRectF(
        p.left() + column * l.cellWidth, p.top() + row * l.cellHeight, l.cellWidth, l.cellHeight);
}

void AblationGridRenderer::paintContent(QPainter *painter, const QRectF &content)
{
    const Layout l = layout(content);
    const auto range = valueRange();
    const QStringList blocks = m_results->blocks();
    const QStringList labels = rowLabels();
    const int rows = rowCount(), columns = columnCount();
    const QFont cellFont = style::font(style::kCellPx);
    const QFontMetricsF cellMetrics(cellFont);
    const QFont tickFont = style::font(style::kTickPx);
    const QFontMetricsF tickMetrics(tickFont);
    const QFont titleFont = style::font(style::kLabelPx, true);
    const QFontMetricsF titleMetrics(titleFont);

    for (int p = 0; p < l.panels.size(); ++p) {
        const QRectF panel = l.panels[p];
        painter->save();
        // Exact rectangles without antialiasing so that cells meet without
        // seams in raster output.
        painter->setRenderHint(QPainter::Antialiasing, false);
        painter->setPen(Qt::NoPen);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < columns; ++c) {
                const QRectF cell(panel.left() + c * l.cellWidth, panel.top() + r * l.cellHeight,
                    l.cellWidth, l.cellHeight);
                const auto v = cellValue(p, r, c);
                QColor fill = missingCellColor();
                if (v && std::isfinite(*v))
                    fill = (m_delta && r == 0) ? baselineCellColor() : colorFor(*v, range);
                painter->setBrush(fill);
                painter->drawRect(cell.adjusted(0, 0, 0.3, 0.3));
            }
        painter->restore();

        painter->save();
        painter->setFont(cellFont);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < columns; ++c) {
                const QRectF cell(panel.left() + c * l.cellWidth, panel.top() + r * l.cellHeight,
                    l.cellWidth, l.cellHeight);
                const auto v = cellValue(p, r, c);
                const bool shown = v && std::isfinite(*v);
                QString text = shown
                    ? ((m_delta && r == 0) ? QString::number(*v, 'f', 3) : cellText(*v, range))
                    : QString(QChar(0x2013));
                if (cellMetrics.horizontalAdvance(text) + 4 > cell.width()
                    || cellMetrics.height() > cell.height())
                    continue;
                const QColor fill = !shown
                    ? missingCellColor()
                    : ((m_delta && r == 0) ? baselineCellColor() : colorFor(*v, range));
                painter->setPen(contrastingTextColor(fill));
                painter->drawText(cell, Qt::AlignCenter, text);
            }
        // The baseline row is the reference: set it off from the masked rows.
        painter->setPen(QPen(style::axisColor(), 1.4));
        painter->drawLine(QPointF(panel.left(), panel.top() + l.cellHeight),
            QPointF(panel.right(), panel.top() + l.cellHeight));
        painter->setPen(QPen(style::axisColor(), 0.8));
        painter->setBrush(Qt::NoBrush);
        painter->drawRect(panel);

        painter->setFont(titleFont);
        painter->setPen(style::textColor());
        painter->drawText(QRectF(panel.left(), panel.top() - titleMetrics.height() - 4,
                              panel.width(), titleMetrics.height()),
            Qt::AlignHCenter | Qt::AlignBottom, blockDisplayName(blocks.value(p)));

        painter->setFont(tickFont);
        for (int c = 0; c < columns; ++c) {
            if (!l.uprightColumnLabels) {
                painter->drawText(QRectF(panel.left() + c * l.cellWidth, panel.bottom() + 3,
                                      l.cellWidth, tickMetrics.height()),
                    Qt::AlignHCenter | Qt::AlignTop, m_results->languages[c]);
                continue;
            }
            // Reading upwards, ending just under the panel, centred on the column.
            painter->save();
            painter->translate(panel.left() + (c + 0.5) * l.cellWidth, panel.bottom() + 3);
            painter->rotate(-90);
            painter->drawText(QRectF(-(l.columnLabelHeight - 6), -tickMetrics.height() / 2,
                                  l.columnLabelHeight - 6, tickMetrics.height()),
                Qt::AlignRight | Qt::AlignVCenter, m_results->languages[c]);
            painter->restore();
        }
        // Row labels left of the first panel of each panel row.
        if (p == 0 || l.panels[p].left() < l.panels[p - 1].left())
            for (int r = 0; r < rows; ++r)
                painter->drawText(QRectF(panel.left() - 200 - 6, panel.top() + r * l.cellHeight,
                                      200, l.cellHeight),
                    Qt::AlignRight | Qt::AlignVCenter, labels.value(r));
        painter->restore();
    }

    // Axis titles.
    if (!l.panels.isEmpty()) {
        painter->save();
        painter->setFont(style::font(style::kLabelPx));
        painter->setPen(style::textColor());
        const QFontMetricsF lm(painter->font());
        const QRectF first = l.panels.front(), last = l.panels.back();
        const double gridLeft = first.left();
        double gridRight = first.right();
        for (const auto &p : l.panels)
            gridRight = std::max(gridRight, p.right());
        painter->drawText(QRectF(gridLeft, last.bottom() + l.columnLabelHeight,
                              gridRight - gridLeft, lm.height()),
            Qt::AlignHCenter | Qt::AlignTop, tr("evaluated language"));
        const double middle = (first.top() + last.bottom()) / 2;
        painter->translate(content.left(), middle);
        painter->rotate(-90);
        painter->drawText(QRectF(-200, 0, 400, lm.height()), Qt::AlignHCenter | Qt::AlignTop,
            tr("masked language"));
        painter->restore();
    }

    ColorLegend legend;
    legend.range = { range.first, range.second };
    if (m_delta) {
        const bool higherIsBetter = metricHigherIsBetter();
        legend.title = tr("Δ %1 (red = worse)").arg(metric());
        legend.colorAt = [higherIsBetter](double t) {
            const double v = 2 * t - 1;
            return divergingColor(higherIsBetter ? -v : v);
        };
    } else {
        legend.title = metric();
        legend.colorAt = [](double t) { return sequentialColor(SequentialPalette::Viridis, t); };
    }
    legend.paint(painter, l.legend);
}

QString AblationGridRenderer::contentToolTipAt(const QPointF &pos, const QRectF &content)
{
    const Layout l = layout(content);
    for (int p = 0; p < l.panels.size(); ++p) {
        const QRectF panel = l.panels[p];
        if (!panel.contains(pos))
            continue;
        const int column = std::clamp(
            static_cast<int>((pos.x() - panel.left()) / l.cellWidth), 0, columnCount() - 1);
        const int row = std::clamp(
            static_cast<int>((pos.y() - panel.top()) / l.cellHeight), 0, rowCount() - 1);
        const QString language = m_results->languages[column];
        const QStringList key = rowKey(p, row);
        const QString m = metric();
        const auto exact = [](std::optional<double> v) {
            return v ? QString::number(*v, 'g', 10) : QStringLiteral("n/a");
        };
        const auto value = m_results->value(key, language, m);
        if (row == 0)
            return tr("%1 · unmasked baseline · evaluated %2\n%3 = %4")
                .arg(blockDisplayName(m_results->blocks().value(p)), language, m, exact(value));
        QString text = tr("%1 · mask %2 · evaluated %3\n%4 = %5\nbaseline %6, change %7")
                           .arg(blockDisplayName(key[0]), key[1], language, m, exact(value))
                           .arg(exact(m_results->value(m_results->baselineKey(), language, m)),
                               exact(m_results->deltaFromBaseline(key, language, m)));
        if (const auto experts = m_results->value(key, language, QStringLiteral("experts")))
            text += tr("\nexperts masked: %1").arg(*experts);
        return text;
    }
    return {};
}

} // namespace moescope::ui
