#include "ui/figures/intervention_results_renderer.h"

#include "core/common/error.h"

namespace moescope::ui {

InterventionResultsRenderer::InterventionResultsRenderer(InterventionResults::Kind kind, QObject *parent)
    : FigureRenderer(parent)
    , m_kind(kind)
{ }

void InterventionResultsRenderer::setResults(InterventionResultsPtr results)
{
    if (results && results->kind != m_kind)
        throw Error(results->source.toStdString(),
            m_kind == InterventionResults::Kind::Ablation
                ? "a steering table, not an ablation grid (draw it with the steering figure)"
                : "an ablation grid, not a steering table (draw it with the ablation figure)");
    m_results = std::move(results);
    if (m_results && !m_metric.isEmpty() && !m_results->hasMetric(m_metric))
        m_metric.clear();
    setCaption(m_results ? m_results->caption() : QString());
    Q_EMIT changed();
}

void InterventionResultsRenderer::setMetric(const QString &metric)
{
    if (m_results && !metric.isEmpty() && !m_results->hasMetric(metric))
        throw Error(m_results->source.toStdString(),
            QStringLiteral("no metric '%1' (have: %2)")
                .arg(metric, m_results->plottableMetrics().join(QLatin1String(", ")))
                .toStdString());
    m_metric = metric;
    Q_EMIT changed();
}

QString InterventionResultsRenderer::metric() const
{
    if (!m_metric.isEmpty() || !m_results)
        return m_metric;
    return m_results->primaryMetric;
}

} // namespace moescope::ui
