#pragma once

#include "ui/figures/figure_renderer.h"
#include "ui/figures/intervention_results.h"

namespace moescope::ui {

// What the ablation-grid and steering figures share: the results table of
// one kind and the metric drawn from it.
class InterventionResultsRenderer : public FigureRenderer
{
    Q_OBJECT
public:
    // A table of the other kind is refused (moescope::Error); nullptr clears.
    void setResults(InterventionResultsPtr results);
    InterventionResultsPtr results() const { return m_results; }

    // Empty: the task's main metric. Throws moescope::Error for a metric the
    // table lacks.
    void setMetric(const QString &metric);
    QString metric() const;

protected:
    InterventionResultsRenderer(InterventionResults::Kind kind, QObject *parent);

    InterventionResultsPtr m_results;

private:
    InterventionResults::Kind m_kind;
    QString m_metric;
};

} // namespace moescope::ui
