#pragma once

#include "ui/figures/intervention_results_renderer.h"

#include <optional>

namespace moescope::ui {

// `moescope steer` results: per evaluated language, the baseline's metric
// next to each steered condition's (one bar per λ), like the study's
// baseline-vs-steered comparison. The caption carries the pair, λ, layers,
// k / threshold, model, template and versions.
class SteeringResultsRenderer : public InterventionResultsRenderer
{
    Q_OBJECT
public:
    explicit SteeringResultsRenderer(QObject *parent = nullptr);
    SteeringResultsRenderer(InterventionResultsPtr results, QObject *parent = nullptr);


    // "steering-<metric>".
    QString fileStem() const override;
    QString title() const override;
    QSizeF defaultSize() const override;
    bool hasData() const override;
    QString emptyMessage() const override;

    // The bar of condition (index into results()->conditions()) for language
    // (index into results()->languages) when painted into rect; empty when
    // the cell has no value.
    QRectF barRect(const QRectF &rect, int condition, int language);

protected:
    void paintContent(QPainter *painter, const QRectF &content) override;
    QString contentToolTipAt(const QPointF &pos, const QRectF &content) override;

private:
    struct Layout
    {
        QRectF plot;
        QRectF legend;
        double lo = 0, hi = 1;
        std::vector<double> ticks;
        double groupWidth = 0, barWidth = 0;
    };
    Layout layout(const QRectF &content) const;
    QRectF barIn(const Layout &l, int condition, int language) const;
    std::optional<double> valueAt(int condition, int language) const;

};

} // namespace moescope::ui
