#include "ui/models/heatmap_model.h"

#include <algorithm>
#include <cmath>

namespace moescope::ui {

HeatmapModel::HeatmapModel(QObject *parent) : QAbstractTableModel(parent) {}

void HeatmapModel::setSnapshot(StudySnapshotPtr snapshot)
{
    beginResetModel();
    m_snapshot = std::move(snapshot);
    const int n = m_snapshot ? m_snapshot->languageCount() : 0;
    m_language = std::clamp(m_language, 0, std::max(0, n - 1));
    m_compare = std::clamp(m_compare, 0, std::max(0, n - 1));
    rebuild();
    endResetModel();
}

void HeatmapModel::setMeasure(Measure measure)
{
    if (measure == m_measure)
        return;
    beginResetModel();
    m_measure = measure;
    rebuild();
    endResetModel();
}

void HeatmapModel::setLanguage(int language)
{
    if (language == m_language || language < 0)
        return;
    beginResetModel();
    m_language = language;
    rebuild();
    endResetModel();
}

void HeatmapModel::setCompareLanguage(int language)
{
    if (language == m_compare || language < 0)
        return;
    beginResetModel();
    m_compare = language;
    rebuild();
    endResetModel();
}

std::size_t HeatmapModel::cell(int layer, int expert) const
{
    return static_cast<std::size_t>(layer) * static_cast<std::size_t>(m_snapshot->expertCount())
        + static_cast<std::size_t>(expert);
}

void HeatmapModel::rebuild()
{
    m_values.clear();
    m_range = {};
    if (!m_snapshot || m_snapshot->languageCount() == 0)
        return;
    const auto lang = static_cast<std::size_t>(std::min(m_language, m_snapshot->languageCount() - 1));
    const auto other = static_cast<std::size_t>(std::min(m_compare, m_snapshot->languageCount() - 1));
    switch (m_measure) {
    case Measure::Frequency:
        m_values = m_snapshot->frequency[lang];
        break;
    case Measure::Share:
        m_values = m_snapshot->analysis.experts.share[lang];
        break;
    case Measure::Difference: {
        const auto &a = m_snapshot->frequency[lang];
        const auto &b = m_snapshot->frequency[other];
        m_values.resize(a.size());
        for (std::size_t i = 0; i < a.size(); ++i)
            m_values[i] = a[i] - b[i];
        break;
    }
    }
    double lo = 0, hi = 0;
    for (double v : m_values) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    if (m_measure == Measure::Difference) {
        const double m = std::max({std::abs(lo), std::abs(hi), 1e-12});
        m_range = {-m, m};
    } else if (m_measure == Measure::Share) {
        m_range = {0, 1};
    } else {
        m_range = {0, std::max(hi, 1e-12)};
    }
}

double HeatmapModel::value(int layer, int expert) const
{
    if (m_values.empty())
        return 0;
    return m_values[cell(layer, expert)];
}

QString HeatmapModel::measureLabel() const
{
    switch (m_measure) {
    case Measure::Frequency:
        return tr("activation frequency f");
    case Measure::Share:
        return tr("share among languages (top-%1)").arg(m_snapshot ? m_snapshot->analysis.params.k : 0);
    case Measure::Difference:
        return tr("f difference");
    }
    return {};
}

QString HeatmapModel::title() const
{
    if (!m_snapshot || m_snapshot->languageCount() == 0)
        return tr("Expert usage");
    const QString a = m_snapshot->languageLabel(std::min(m_language, m_snapshot->languageCount() - 1));
    if (m_measure == Measure::Difference) {
        const QString b = m_snapshot->languageLabel(std::min(m_compare, m_snapshot->languageCount() - 1));
        return tr("Expert usage difference: %1 − %2 (activation frequency)").arg(a, b);
    }
    return tr("Expert usage by layer: %1 (%2)").arg(a, measureLabel());
}

QString HeatmapModel::toolTip(int layer, int expert) const
{
    if (!m_snapshot || m_values.empty())
        return {};
    const auto &trace = *m_snapshot->trace;
    const int E = m_snapshot->expertCount();
    auto describe = [&](int li) {
        const auto &lang = trace.languages[static_cast<std::size_t>(li)];
        const auto c = cell(layer, expert);
        return tr("%1: count %2, f = %3, share = %4")
            .arg(QString::fromStdString(lang.label))
            .arg(lang.count(layer, expert, E))
            .arg(m_snapshot->frequency[static_cast<std::size_t>(li)][c], 0, 'f', 4)
            .arg(m_snapshot->analysis.experts.share[static_cast<std::size_t>(li)][c], 0, 'f', 3);
    };
    QString text = tr("Layer %1, expert %2\n").arg(layer).arg(expert) + describe(m_language);
    if (m_measure == Measure::Difference)
        text += QLatin1Char('\n') + describe(m_compare)
            + tr("\nf difference = %1").arg(value(layer, expert), 0, 'f', 4);
    return text;
}

int HeatmapModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() || !m_snapshot ? 0 : m_snapshot->layerCount();
}

int HeatmapModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() || !m_snapshot ? 0 : m_snapshot->expertCount();
}

QVariant HeatmapModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || !m_snapshot || m_values.empty())
        return {};
    const int layer = index.row(), expert = index.column();
    const auto c = cell(layer, expert);
    const auto a = static_cast<std::size_t>(m_language), b = static_cast<std::size_t>(m_compare);
    const int E = m_snapshot->expertCount();
    const auto &langs = m_snapshot->trace->languages;
    switch (role) {
    case Qt::DisplayRole:
        return QString::number(value(layer, expert), 'g', 4);
    case ValueRole:
        return value(layer, expert);
    case Qt::ToolTipRole:
        return toolTip(layer, expert);
    case CountRole:
        return QVariant::fromValue<qulonglong>(langs[a].count(layer, expert, E));
    case FrequencyRole:
        return m_snapshot->frequency[a][c];
    case ShareRole:
        return m_snapshot->analysis.experts.share[a][c];
    case CompareCountRole:
        return QVariant::fromValue<qulonglong>(langs[b].count(layer, expert, E));
    case CompareFrequencyRole:
        return m_snapshot->frequency[b][c];
    default:
        return {};
    }
}

QVariant HeatmapModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    return orientation == Qt::Vertical ? tr("Layer %1").arg(section) : tr("Expert %1").arg(section);
}

} // namespace moescope::ui
