#include "ui/models/layer_series_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace moescope::ui {

LayerSeriesModel::LayerSeriesModel(Kind kind, QObject *parent)
    : QAbstractTableModel(parent), m_kind(kind)
{
}

void LayerSeriesModel::setSnapshot(StudySnapshotPtr snapshot)
{
    beginResetModel();
    m_snapshot = std::move(snapshot);
    rebuild();
    endResetModel();
}

void LayerSeriesModel::rebuild()
{
    m_layers.clear();
    m_names.clear();
    m_languages.clear();
    m_values.clear();
    if (!m_snapshot)
        return;
    const auto &a = m_snapshot->analysis;
    const int n = m_snapshot->languageCount();
    m_layers = m_snapshot->trace->model.moeLayers;
    if (m_kind == Kind::SimilarityByLayer) {
        m_names.push_back(tr("all pairs"));
        m_languages.push_back(-1);
    }
    for (int i = 0; i < n; ++i) {
        m_names.push_back(m_snapshot->languageLabel(i));
        m_languages.push_back(i);
    }
    for (int layer : m_layers) {
        const auto l = static_cast<std::size_t>(layer);
        std::vector<double> row;
        if (m_kind == Kind::SimilarityByLayer) {
            row.push_back(a.similarity.meanPairwisePerLayer[l]);
            const auto &m = a.similarity.perLayer[l];
            for (int i = 0; i < n; ++i) {
                double sum = 0;
                for (int j = 0; j < n; ++j)
                    if (j != i)
                        sum += m[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
                row.push_back(n > 1 ? sum / (n - 1) : 1.0);
            }
        } else {
            for (int i = 0; i < n; ++i)
                row.push_back(a.entropy[static_cast<std::size_t>(i)][l]);
        }
        m_values.push_back(std::move(row));
    }
}

int LayerSeriesModel::layerAt(int row) const
{
    return m_layers[static_cast<std::size_t>(row)];
}

double LayerSeriesModel::value(int row, int series) const
{
    return m_values[static_cast<std::size_t>(row)][static_cast<std::size_t>(series)];
}

QString LayerSeriesModel::seriesName(int series) const
{
    return m_names[static_cast<std::size_t>(series)];
}

int LayerSeriesModel::seriesLanguage(int series) const
{
    return m_languages[static_cast<std::size_t>(series)];
}

QString LayerSeriesModel::title() const
{
    return m_kind == Kind::SimilarityByLayer
        ? tr("Routing similarity by layer (1 − JSD; per language: mean to the other languages)")
        : tr("Routing entropy by layer");
}

QString LayerSeriesModel::valueAxisTitle() const
{
    return m_kind == Kind::SimilarityByLayer ? tr("similarity") : tr("entropy (bits)");
}

ValueRange LayerSeriesModel::valueRange() const
{
    ValueRange r{std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest()};
    for (const auto &row : m_values)
        for (double v : row)
            if (std::isfinite(v)) {
                r.min = std::min(r.min, v);
                r.max = std::max(r.max, v);
            }
    if (r.min > r.max)
        r = {0, 1};
    return r;
}

int LayerSeriesModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_values.size());
}

int LayerSeriesModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_names.size());
}

QVariant LayerSeriesModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    const double v = value(index.row(), index.column());
    switch (role) {
    case Qt::DisplayRole:
        return QString::number(v, 'f', 4);
    case ValueRole:
        return v;
    case Qt::ToolTipRole:
        return tr("Layer %1, %2: %3 = %4")
            .arg(layerAt(index.row()))
            .arg(seriesName(index.column()), valueAxisTitle())
            .arg(v, 0, 'f', 4);
    case LanguageIndexRole:
        return seriesLanguage(index.column());
    default:
        return {};
    }
}

QVariant LayerSeriesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal) {
        if (role == Qt::DisplayRole)
            return seriesName(section);
        if (role == LanguageIndexRole)
            return seriesLanguage(section);
        return {};
    }
    return role == Qt::DisplayRole ? QVariant(layerAt(section)) : QVariant();
}

} // namespace moescope::ui
