#pragma once

// Where a plan acts: a layer × expert grid with the masked experts in black
// and the steered experts coloured by their scale (RdBu, symmetric around 0).
// The ablation panel shows its mask with it, the steering panel the study's
// steering set.

#include "ui/figures/figure_renderer.h"

#include "core/routing/intervention_plan.h"

#include <optional>
#include <utility>
#include <vector>

namespace moescope::ui {

class PlanMapRenderer : public FigureRenderer
{
    Q_OBJECT
public:
    PlanMapRenderer(QString fileStem, QObject *parent = nullptr);

    // numLayers x numExperts grid; moeLayers are the routed ones (others
    // are drawn as dense). An empty plan still draws the grid.
    void setPlan(const routing::InterventionPlan &plan, int numLayers, int numExperts,
        std::vector<int> moeLayers, const QString &title);
    void clear(const QString &reason);

    QString fileStem() const override { return m_fileStem; }
    QString title() const override { return m_title; }
    QSizeF defaultSize() const override { return { 1000, 560 }; }
    bool hasData() const override { return m_numLayers > 0 && m_numExperts > 0; }
    QString emptyMessage() const override { return m_emptyMessage; }

    // 0 untouched, 1 masked, 2 steered (tests).
    int cellKind(int layer, int expert) const;
    double cellScale(int layer, int expert) const;
    // The (layer, expert) cell under pos when the figure is painted into
    // rect, and a cell's rectangle there (clicks, tests).
    std::optional<std::pair<int, int>> cellAt(const QPointF &pos, const QRectF &rect) const;
    QRectF cellRect(const QRectF &rect, int layer, int expert) const;

protected:
    void paintContent(QPainter *painter, const QRectF &content) override;
    QString contentToolTipAt(const QPointF &pos, const QRectF &content) override;

private:
    QRectF gridRect(const QRectF &content) const;

    QString m_fileStem;
    QString m_title;
    QString m_emptyMessage;
    int m_numLayers = 0;
    int m_numExperts = 0;
    std::vector<int> m_moeLayers;
    std::vector<int> m_kind; // [layer * E + expert]
    std::vector<double> m_scale; // steer scale
    double m_maxScale = 0;
    int m_masked = 0;
    int m_steered = 0;
};

} // namespace moescope::ui
