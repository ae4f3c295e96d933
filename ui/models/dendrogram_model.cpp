#include "ui/models/dendrogram_model.h"

#include <QStringList>

#include <algorithm>

namespace moescope::ui {

DendrogramModel::DendrogramModel(QObject *parent) : QAbstractTableModel(parent) {}

void DendrogramModel::setSnapshot(StudySnapshotPtr snapshot)
{
    beginResetModel();
    m_snapshot = std::move(snapshot);
    layout();
    endResetModel();
}

const Dendrogram *DendrogramModel::dendrogram() const
{
    return m_snapshot ? &m_snapshot->analysis.dendrogram : nullptr;
}

void DendrogramModel::layout()
{
    m_leafX.clear();
    m_leafAtPos.clear();
    m_mergeX.clear();
    const auto *d = dendrogram();
    if (!d)
        return;
    const int n = static_cast<int>(d->labels.size());
    m_leafX.assign(static_cast<std::size_t>(n), 0.0);
    m_leafAtPos = d->leafOrder;
    if (static_cast<int>(m_leafAtPos.size()) != n) {
        // Defensive: without an ordering, keep the input order.
        m_leafAtPos.resize(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i)
            m_leafAtPos[static_cast<std::size_t>(i)] = i;
    }
    for (int pos = 0; pos < n; ++pos)
        m_leafX[static_cast<std::size_t>(m_leafAtPos[static_cast<std::size_t>(pos)])] = pos;
    m_mergeX.reserve(d->merges.size());
    for (const auto &m : d->merges)
        m_mergeX.push_back((nodeX(m.left) + nodeX(m.right)) / 2.0);
}

QString DendrogramModel::leafLabel(int pos) const
{
    const auto *d = dendrogram();
    return d ? QString::fromStdString(d->labels[static_cast<std::size_t>(m_leafAtPos[static_cast<std::size_t>(pos)])])
             : QString();
}

int DendrogramModel::leafLanguage(int pos) const
{
    if (!m_snapshot)
        return -1;
    return m_snapshot->languageIndex(leafLabel(pos));
}

double DendrogramModel::nodeX(int id) const
{
    const int n = leafCount();
    if (id < n)
        return m_leafX[static_cast<std::size_t>(id)];
    return m_mergeX[static_cast<std::size_t>(id - n)];
}

double DendrogramModel::nodeHeight(int id) const
{
    const int n = leafCount();
    if (id < n)
        return 0;
    return dendrogram()->merges[static_cast<std::size_t>(id - n)].height;
}

const LinkageMerge &DendrogramModel::merge(int i) const
{
    return dendrogram()->merges[static_cast<std::size_t>(i)];
}

int DendrogramModel::mergeCount() const
{
    const auto *d = dendrogram();
    return d ? static_cast<int>(d->merges.size()) : 0;
}

double DendrogramModel::maxHeight() const
{
    double h = 0;
    for (int i = 0; i < mergeCount(); ++i)
        h = std::max(h, merge(i).height);
    return h;
}

QString DendrogramModel::linkageLabel() const
{
    return m_snapshot ? QString::fromStdString(linkageName(m_snapshot->analysis.params.linkage))
                      : QString();
}

QString DendrogramModel::title() const
{
    return tr("Language clusters by routing (%1 linkage on 1 − mean similarity)").arg(linkageLabel());
}

int DendrogramModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : mergeCount();
}

int DendrogramModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant DendrogramModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || (role != Qt::DisplayRole && role != Qt::ToolTipRole))
        return {};
    const auto &m = merge(index.row());
    switch (index.column()) {
    case LeftColumn:
        return m.left;
    case RightColumn:
        return m.right;
    case HeightColumn:
        return m.height;
    case MembersColumn: {
        QStringList members;
        for (const auto &label : m.members)
            members << QString::fromStdString(label);
        return members.join(QLatin1String(", "));
    }
    default:
        return {};
    }
}

QVariant DendrogramModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole || orientation != Qt::Horizontal)
        return {};
    switch (section) {
    case LeftColumn:
        return tr("Left");
    case RightColumn:
        return tr("Right");
    case HeightColumn:
        return tr("Distance");
    case MembersColumn:
        return tr("Members");
    default:
        return {};
    }
}

} // namespace moescope::ui
