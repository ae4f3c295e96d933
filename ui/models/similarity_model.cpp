#include "ui/models/similarity_model.h"

#include <algorithm>
#include <cmath>

namespace moescope::ui {

SimilarityModel::SimilarityModel(QObject *parent) : QAbstractTableModel(parent) {}

void SimilarityModel::setSnapshot(StudySnapshotPtr snapshot)
{
    beginResetModel();
    m_snapshot = std::move(snapshot);
    if (m_snapshot && m_layer >= m_snapshot->layerCount())
        m_layer = kMeanOverLayers;
    endResetModel();
}

void SimilarityModel::setLayer(int layer)
{
    if (layer == m_layer)
        return;
    beginResetModel();
    m_layer = layer;
    endResetModel();
}

std::vector<int> SimilarityModel::moeLayers() const
{
    return m_snapshot ? m_snapshot->trace->model.moeLayers : std::vector<int>{};
}

const std::vector<std::vector<double>> *SimilarityModel::matrix() const
{
    if (!m_snapshot)
        return nullptr;
    const auto &sim = m_snapshot->analysis.similarity;
    if (m_layer == kMeanOverLayers)
        return &sim.mean;
    if (m_layer < 0 || m_layer >= static_cast<int>(sim.perLayer.size()))
        return nullptr;
    return &sim.perLayer[static_cast<std::size_t>(m_layer)];
}

double SimilarityModel::value(int a, int b) const
{
    const auto *m = matrix();
    if (!m || m->empty())
        return 0;
    return (*m)[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)];
}

ValueRange SimilarityModel::valueRange() const
{
    double lo = 1;
    const int n = rowCount();
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b)
            if (a != b)
                lo = std::min(lo, value(a, b));
    lo = std::floor(lo * 20.0 - 1e-9) / 20.0;
    return {std::clamp(lo, 0.0, 0.95), 1.0};
}

QString SimilarityModel::title() const
{
    if (m_layer == kMeanOverLayers)
        return tr("Routing similarity between languages (1 − JSD, mean over MoE layers)");
    return tr("Routing similarity between languages (1 − JSD, layer %1)").arg(m_layer);
}

QString SimilarityModel::toolTip(int a, int b) const
{
    if (!m_snapshot)
        return {};
    const QString where = m_layer == kMeanOverLayers ? tr("mean over MoE layers")
                                                     : tr("layer %1").arg(m_layer);
    return tr("%1 – %2: similarity %3 (%4)")
        .arg(m_snapshot->languageLabel(a), m_snapshot->languageLabel(b))
        .arg(value(a, b), 0, 'f', 4)
        .arg(where);
}

int SimilarityModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() || !m_snapshot ? 0 : m_snapshot->languageCount();
}

int SimilarityModel::columnCount(const QModelIndex &parent) const
{
    return rowCount(parent);
}

QVariant SimilarityModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || !m_snapshot)
        return {};
    switch (role) {
    case Qt::DisplayRole:
        return QString::number(value(index.row(), index.column()), 'f', 3);
    case ValueRole:
        return value(index.row(), index.column());
    case Qt::ToolTipRole:
        return toolTip(index.row(), index.column());
    default:
        return {};
    }
}

QVariant SimilarityModel::headerData(int section, Qt::Orientation, int role) const
{
    if (!m_snapshot || section < 0 || section >= m_snapshot->languageCount())
        return {};
    if (role == Qt::DisplayRole)
        return m_snapshot->languageLabel(section);
    if (role == LanguageIndexRole)
        return section;
    return {};
}

} // namespace moescope::ui
