#include "ui/figures/intervention_results.h"

#include "core/common/error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QRegularExpression>

namespace moescope::ui {

namespace {

[[noreturn]] void fail(const QString &source, const QString &reason)
{
    throw Error(source.toStdString(), reason.toStdString());
}

void appendOnce(QStringList &list, const QString &value)
{
    if (!list.contains(value))
        list << value;
}

QString numberText(double x)
{
    return QString::number(x, 'g', 6);
}

} // namespace

QStringList InterventionResults::blocks() const
{
    QStringList out;
    if (kind == Kind::Ablation)
        for (const auto &row : rows)
            if (row.key.value(0) != QLatin1String("none"))
                appendOnce(out, row.key.value(0));
    return out;
}

QStringList InterventionResults::maskedLanguages() const
{
    QStringList out;
    if (kind == Kind::Ablation)
        for (const auto &row : rows)
            if (row.key.value(1) != QLatin1String("none"))
                appendOnce(out, row.key.value(1));
    return out;
}

QStringList InterventionResults::conditions() const
{
    QStringList out;
    if (kind == Kind::Steering) {
        out << QStringLiteral("baseline");
        for (const auto &row : rows)
            appendOnce(out, row.key.value(0));
    }
    return out;
}

QStringList InterventionResults::baselineKey() const
{
    return kind == Kind::Ablation ? QStringList { QStringLiteral("none"), QStringLiteral("none") }
                                  : QStringList { QStringLiteral("baseline") };
}

std::optional<double> InterventionResults::value(
    const QStringList &key, const QString &language, const QString &metric) const
{
    for (const auto &row : rows)
        if (row.language == language && row.key == key) {
            const auto it = row.values.constFind(metric);
            if (it == row.values.constEnd())
                return std::nullopt;
            return *it;
        }
    return std::nullopt;
}

std::optional<double> InterventionResults::deltaFromBaseline(
    const QStringList &key, const QString &language, const QString &metric) const
{
    const auto v = value(key, language, metric);
    const auto base = value(baselineKey(), language, metric);
    if (!v || !base)
        return std::nullopt;
    return *v - *base;
}

QStringList InterventionResults::plottableMetrics() const
{
    QStringList out;
    for (const auto &m : metrics)
        if (m != QLatin1String("experts") && !m.endsWith(QLatin1String("_delta")))
            out << m;
    return out;
}

QString InterventionResults::caption() const
{
    const QJsonObject model = run.value(QStringLiteral("model")).toObject();
    QStringList parts;
    // "ablation/results.json": the folder names the experiment, the full
    // path would only leak the user's home.
    const QFileInfo info(source);
    const QString folder = info.dir().dirName();
    parts << QStringLiteral("Data: %1")
                 .arg(folder.isEmpty() || folder == QLatin1String(".")
                         ? info.fileName()
                         : folder + QLatin1Char('/') + info.fileName());
    if (!model.isEmpty())
        parts << QStringLiteral("model %1 (%2, %3 layers × %4 experts, top-%5)")
                     .arg(model.value(QStringLiteral("model_id")).toString(),
                         model.value(QStringLiteral("model_type")).toString())
                     .arg(model.value(QStringLiteral("num_layers")).toInt())
                     .arg(model.value(QStringLiteral("num_experts")).toInt())
                     .arg(model.value(QStringLiteral("top_k")).toInt());
    QString task = run.value(QStringLiteral("task")).toString();
    if (!task.isEmpty()) {
        task = QStringLiteral("task %1 on %2")
                   .arg(task, run.value(QStringLiteral("eval_corpus")).toString());
        const QString tmpl = run.value(QStringLiteral("template")).toString();
        if (!tmpl.isEmpty())
            task += QStringLiteral(", template %1%2")
                        .arg(tmpl,
                            run.value(QStringLiteral("chat")).toBool() ? QStringLiteral(" (chat)")
                                                                       : QString());
        parts << task;
    }
    if (kind == Kind::Ablation) {
        if (run.contains(QStringLiteral("k")))
            parts << QStringLiteral("mask: exclusive experts, k = %1, threshold = %2")
                         .arg(run.value(QStringLiteral("k")).toInt())
                         .arg(numberText(run.value(QStringLiteral("threshold")).toDouble()));
    } else {
        const QJsonArray pair = run.value(QStringLiteral("pair")).toArray();
        const QJsonArray layers = run.value(QStringLiteral("layers")).toArray();
        QStringList lambdas;
        for (const auto &l : run.value(QStringLiteral("lambdas")).toArray())
            lambdas << numberText(l.toDouble());
        if (pair.size() == 2)
            parts << QStringLiteral("steer %1→%2, λ = %3, layers %4–%5, k = %6, threshold = %7")
                         .arg(pair[0].toString(), pair[1].toString(),
                             lambdas.join(QLatin1String(", ")))
                         .arg(layers.at(0).toInt())
                         .arg(layers.at(1).toInt())
                         .arg(run.value(QStringLiteral("k")).toInt())
                         .arg(numberText(run.value(QStringLiteral("threshold")).toDouble()));
    }
    QString version = run.value(QStringLiteral("tool_version")).toString();
    if (!version.isEmpty()) {
        version = QStringLiteral("MoEScope %1").arg(version);
        const QString created = run.value(QStringLiteral("created")).toString();
        if (!created.isEmpty())
            version += QStringLiteral(", %1").arg(created);
        parts << version;
    }
    return parts.join(QStringLiteral(" · "));
}

InterventionResultsPtr loadInterventionResults(const QString &path)
{
    QString file = path;
    if (QFileInfo(path).isDir())
        file = QFileInfo(path).absoluteFilePath() + QStringLiteral("/results.json");
    QFile in(file);
    if (!in.exists())
        fail(file,
            QStringLiteral("no such file (expected the results.json of moescope ablate or steer)"));
    if (!in.open(QIODevice::ReadOnly))
        fail(file, QStringLiteral("cannot read: %1").arg(in.errorString()));
    return parseInterventionResults(in.readAll(), file);
}

InterventionResultsPtr parseInterventionResults(const QByteArray &json, const QString &source)
{
    if (json.startsWith("\x89HDF"))
        fail(source,
            QStringLiteral("an HDF5 trace, not a results table (give a trace as the figures "
                           "input, without --results)"));
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        fail(source,
            QStringLiteral("not JSON: %1 at offset %2").arg(error.errorString()).arg(error.offset));
    if (!doc.isObject())
        fail(source, QStringLiteral("not a results table (the top level is not a JSON object)"));
    const QJsonObject top = doc.object();
    if (top.value(QStringLiteral("format")).toString() != QLatin1String("moescope-metrics"))
        fail(source,
            QStringLiteral("not a moescope results table (no \"format\": \"moescope-metrics\")"));
    if (top.value(QStringLiteral("version")).toInt() != 1)
        fail(source,
            QStringLiteral("unsupported results table version %1 (this MoEScope reads version 1)")
                .arg(top.value(QStringLiteral("version")).toVariant().toString()));

    QStringList keys;
    for (const auto &k : top.value(QStringLiteral("keys")).toArray())
        keys << k.toString();
    auto results = std::make_shared<InterventionResults>();
    results->source = source;
    if (keys
        == QStringList {
            QStringLiteral("block"), QStringLiteral("masked"), QStringLiteral("language") })
        results->kind = InterventionResults::Kind::Ablation;
    else if (keys == QStringList { QStringLiteral("condition"), QStringLiteral("language") })
        results->kind = InterventionResults::Kind::Steering;
    else
        fail(source,
            QStringLiteral("keys [%1] are neither an ablation grid (block, masked, language) nor a "
                           "steering table (condition, language)")
                .arg(keys.join(QLatin1String(", "))));

    const QJsonValue columnsValue = top.value(QStringLiteral("columns"));
    const QJsonValue rowsValue = top.value(QStringLiteral("rows"));
    if (!columnsValue.isArray() || !rowsValue.isArray())
        fail(source, QStringLiteral("the table has no \"columns\" or \"rows\" array"));
    const QJsonArray columns = columnsValue.toArray();
    results->run = top.value(QStringLiteral("run")).toObject();

    QStringList numericColumns;
    for (const auto &rowValue : rowsValue.toArray()) {
        if (!rowValue.isObject())
            fail(source, QStringLiteral("a row is not a JSON object"));
        const QJsonObject object = rowValue.toObject();
        InterventionResults::Row row;
        for (qsizetype i = 0; i + 1 < keys.size(); ++i) {
            const QJsonValue k = object.value(keys[i]);
            if (!k.isString())
                fail(source, QStringLiteral("a row has no \"%1\"").arg(keys[i]));
            row.key << k.toString();
        }
        const QJsonValue language = object.value(QStringLiteral("language"));
        if (!language.isString() || language.toString().isEmpty())
            fail(source, QStringLiteral("a row has no \"language\""));
        row.language = language.toString();
        for (const auto &c : columns) {
            const QString column = c.toString();
            const QJsonValue v = object.value(column);
            if (v.isDouble()) {
                row.values.insert(column, v.toDouble());
                appendOnce(numericColumns, column);
            } else if (!v.isNull() && !v.isUndefined() && !v.isString()) {
                fail(source,
                    QStringLiteral("column \"%1\" holds neither a number nor a text").arg(column));
            }
        }
        appendOnce(results->languages, row.language);
        results->rows << row;
    }
    if (results->rows.isEmpty())
        fail(source, QStringLiteral("the results table has no rows"));
    // Keep the table's column order (numericColumns is in first-seen order).
    for (const auto &c : columns)
        if (numericColumns.contains(c.toString()))
            results->metrics << c.toString();

    const QStringList base = results->baselineKey();
    bool hasBaseline = false;
    for (const auto &row : results->rows)
        hasBaseline = hasBaseline || row.key == base;
    if (!hasBaseline)
        fail(source,
            results->kind == InterventionResults::Kind::Ablation
                ? QStringLiteral(
                    "the ablation table has no baseline rows (block \"none\", masked \"none\")")
                : QStringLiteral(
                    "no \"baseline\" condition: not a moescope steer table (evaluate's "
                    "output has one condition per plan)"));
    if (results->metrics.isEmpty())
        fail(source, QStringLiteral("the table has no numeric metric column"));

    results->primaryMetric = results->run.value(QStringLiteral("primary_metric")).toString();
    if (!results->metrics.contains(results->primaryMetric)) {
        const QStringList plottable = results->plottableMetrics();
        results->primaryMetric = plottable.isEmpty() ? results->metrics.front() : plottable.front();
    }
    results->higherIsBetter = results->run.value(QStringLiteral("higher_is_better")).toBool(true);
    return results;
}

QString blockDisplayName(const QString &block)
{
    static const QRegularExpression range(QStringLiteral("^(\\d+)-(\\d+)$"));
    const auto m = range.match(block);
    if (!m.hasMatch())
        return block;
    if (m.captured(1) == m.captured(2))
        return QStringLiteral("layer %1").arg(m.captured(1));
    return QStringLiteral("layers %1–%2").arg(m.captured(1), m.captured(2));
}

QString conditionDisplayName(const QString &condition)
{
    static const QRegularExpression steer(
        QStringLiteral("^steer\\([^,]*,[^,]*,lambda=([^)]*)\\)$"));
    const auto m = steer.match(condition);
    return m.hasMatch() ? QStringLiteral("λ = %1").arg(m.captured(1)) : condition;
}

} // namespace moescope::ui
