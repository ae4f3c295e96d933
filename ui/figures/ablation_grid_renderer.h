#pragma once

#include "ui/figures/intervention_results_renderer.h"

#include <optional>

namespace moescope::ui {

// The study's ablation figure from `moescope ablate` results: one heatmap per
// layer block, rows = the unmasked baseline then each masked language,
// columns = evaluated languages. Cells show the metric (shared viridis
// scale across blocks) or, with setShowDelta(true), its change from the
// baseline for the same evaluated language on a diverging scale oriented so
// that red is always worse; the baseline row then keeps its absolute values
// on grey, as the reference the changes are taken from.
class AblationGridRenderer : public InterventionResultsRenderer
{
    Q_OBJECT
public:
    explicit AblationGridRenderer(QObject *parent = nullptr);
    AblationGridRenderer(InterventionResultsPtr results, QObject *parent = nullptr);

    void setShowDelta(bool delta);
    bool showDelta() const { return m_delta; }

    // "ablation-<metric>" or "ablation-<metric>-delta".
    QString fileStem() const override;
    QString title() const override;
    QSizeF defaultSize() const override;
    bool hasData() const override;
    QString emptyMessage() const override;

    // Grid geometry when painted into rect (for tests and the GUI's hover):
    // one panel per block, in block order.
    int panelCount() const;
    QRectF cellRect(const QRectF &rect, int panel, int row, int column);
    // Rows: baseline key, then {block, masked} per masked language.
    QStringList rowLabels() const;

    // The number a cell shows; nullopt for a missing cell.
    std::optional<double> cellValue(int panel, int row, int column) const;

protected:
    void paintContent(QPainter *painter, const QRectF &content) override;
    QString contentToolTipAt(const QPointF &pos, const QRectF &content) override;

private:
    struct Layout
    {
        QRectF legend;
        QList<QRectF> panels; // the cell area of each block
        double cellWidth = 0, cellHeight = 0;
        // Language labels wider than a cell are drawn upright (rotated).
        bool uprightColumnLabels = false;
        double columnLabelHeight = 0;
    };
    Layout layout(const QRectF &content) const;
    int rowCount() const;
    int columnCount() const;
    QStringList rowKey(int panel, int row) const;
    // Shared colour range over every panel: [min, max] or [-m, m] for deltas.
    std::pair<double, double> valueRange() const;
    bool metricHigherIsBetter() const;
    QColor colorFor(double value, const std::pair<double, double> &range) const;
    // Decimals follow the magnitude of range, so every cell reads alike.
    QString cellText(double value, const std::pair<double, double> &range) const;

    bool m_delta = false;
};

} // namespace moescope::ui
