#include "ui/models/expert_counts_model.h"

#include <algorithm>

namespace moescope::ui {

ExpertCountsModel::ExpertCountsModel(QObject *parent) : QAbstractTableModel(parent) {}

void ExpertCountsModel::setSnapshot(StudySnapshotPtr snapshot)
{
    beginResetModel();
    m_snapshot = std::move(snapshot);
    endResetModel();
}

int ExpertCountsModel::languageCount() const
{
    return m_snapshot ? m_snapshot->languageCount() : 0;
}

int ExpertCountsModel::layerAt(int row) const
{
    return row;
}

int ExpertCountsModel::exclusive(int row, int language) const
{
    return m_snapshot->analysis.experts.exclusivePerLayer[static_cast<std::size_t>(language)]
                                                         [static_cast<std::size_t>(layerAt(row))];
}

int ExpertCountsModel::shared(int row) const
{
    return m_snapshot->analysis.experts.sharedPerLayer[static_cast<std::size_t>(layerAt(row))];
}

int ExpertCountsModel::maxStackedTotal() const
{
    int best = 0;
    for (int r = 0; r < rowCount(); ++r) {
        int sum = 0;
        for (int l = 0; l < languageCount(); ++l)
            sum += exclusive(r, l);
        best = std::max({best, sum, shared(r)});
    }
    return best;
}

QString ExpertCountsModel::title() const
{
    if (!m_snapshot)
        return tr("Exclusive and shared experts by layer");
    const auto &p = m_snapshot->analysis.params;
    return tr("Exclusive and shared experts by layer (top-%1 per language, exclusive if share > %2)")
        .arg(p.k)
        .arg(p.threshold);
}

QString ExpertCountsModel::toolTip(int row) const
{
    if (!m_snapshot)
        return {};
    QString text = tr("Layer %1").arg(layerAt(row));
    for (int l = 0; l < languageCount(); ++l)
        text += tr("\n%1: %2 exclusive").arg(m_snapshot->languageLabel(l)).arg(exclusive(row, l));
    text += tr("\nshared (≥ 2 languages): %1").arg(shared(row));
    return text;
}

int ExpertCountsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() || !m_snapshot ? 0 : m_snapshot->layerCount();
}

int ExpertCountsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() || !m_snapshot ? 0 : languageCount() + 1;
}

QVariant ExpertCountsModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    const int v = index.column() == sharedColumn() ? shared(index.row())
                                                   : exclusive(index.row(), index.column());
    switch (role) {
    case Qt::DisplayRole:
    case ValueRole:
        return v;
    case Qt::ToolTipRole:
        return toolTip(index.row());
    case LanguageIndexRole:
        return index.column() == sharedColumn() ? -1 : index.column();
    default:
        return {};
    }
}

QVariant ExpertCountsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole || !m_snapshot)
        return {};
    if (orientation == Qt::Vertical)
        return layerAt(section);
    return section == sharedColumn() ? tr("shared") : m_snapshot->languageLabel(section);
}

} // namespace moescope::ui
