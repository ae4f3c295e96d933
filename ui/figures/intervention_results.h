#pragma once

// The results table that `moescope ablate` and `moescope steer` write
// (results.json: MetricTable's JSON plus a "run" object, see
// core/experiments/intervention_grid.h and docs/experiments.md), read back
// for drawing. Reading is strict: a file of another schema gets a
// moescope::Error naming the file and what is wrong, never a half-drawn
// figure.

#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace moescope::ui {

struct InterventionResults
{
    enum class Kind { Ablation, Steering };

    struct Row
    {
        // The key columns before "language": {block, masked} for ablation,
        // {condition} for steering.
        QStringList key;
        QString language;
        QMap<QString, double> values; // numeric cells; null (missing, NaN) cells are absent
    };

    Kind kind = Kind::Ablation;
    QString source; // the file read, for errors and captions
    QStringList metrics; // numeric metric columns in table order (incl. "experts", "*_delta")
    QString primaryMetric; // run.primary_metric (the task's main metric)
    bool higherIsBetter = true;
    QStringList languages; // evaluated languages in row order
    QList<Row> rows;
    QJsonObject run; // the whole "run" object (model, plan settings, versions)

    // Ablation: blocks ("0-4", in row order, without the baseline's "none")
    // and masked languages (in row order, without "none"). Steering:
    // conditions in row order, the baseline first.
    QStringList blocks() const;
    QStringList maskedLanguages() const;
    QStringList conditions() const;

    // The baseline row's key: {"none", "none"} or {"baseline"}.
    QStringList baselineKey() const;

    std::optional<double> value(
        const QStringList &key, const QString &language, const QString &metric) const;
    // value(key) minus the baseline's value for the same language.
    std::optional<double> deltaFromBaseline(
        const QStringList &key, const QString &language, const QString &metric) const;

    // Metrics worth drawing: the metric columns without "experts" and the
    // "_delta" columns (deltas are computed for any metric).
    QStringList plottableMetrics() const;
    bool hasMetric(const QString &metric) const { return metrics.contains(metric); }

    // Provenance for figure captions: model, task and template, the
    // intervention's settings, MoEScope version and date of the run.
    QString caption() const;
};

using InterventionResultsPtr = std::shared_ptr<const InterventionResults>;

// Reads results.json (or a folder holding one). Throws moescope::Error(path,
// reason) when the file is missing, not JSON, not a moescope-metrics table,
// or a table of another experiment (keys other than block/masked/language
// or condition/language, or no baseline row: e.g. `evaluate` output).
InterventionResultsPtr loadInterventionResults(const QString &path);
// The same from text already read; source names the origin in errors.
InterventionResultsPtr parseInterventionResults(const QByteArray &json, const QString &source);

// "0-4" -> "layers 0–4"; other text unchanged.
QString blockDisplayName(const QString &block);
// "steer(en,zh,lambda=0.022)" -> "λ = 0.022"; "baseline" unchanged.
QString conditionDisplayName(const QString &condition);

} // namespace moescope::ui
