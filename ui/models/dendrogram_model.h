#pragma once

#include "ui/study/study_snapshot.h"

#include <QAbstractTableModel>

namespace moescope::ui {

// The hierarchical clustering of languages (core clusterLanguages on
// distance = 1 − mean similarity). Rows are merges, in the order they
// happen; the model also lays the tree out: leaves at 0..n−1 in the optimal
// leaf order, an inner node midway between its two children.
class DendrogramModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { LeftColumn, RightColumn, HeightColumn, MembersColumn, ColumnCount };

    explicit DendrogramModel(QObject *parent = nullptr);

    void setSnapshot(StudySnapshotPtr snapshot);
    StudySnapshotPtr snapshot() const { return m_snapshot; }

    int leafCount() const { return static_cast<int>(m_leafX.size()); }
    // Leaf at position pos (0 = leftmost) in the optimal order.
    QString leafLabel(int pos) const;
    int leafLanguage(int pos) const; // index into the trace's languages
    // Cluster ids as in scipy: < n are leaves, n + i is merge i.
    double nodeX(int id) const;
    double nodeHeight(int id) const;
    const LinkageMerge &merge(int i) const;
    int mergeCount() const;
    double maxHeight() const;
    QString linkageLabel() const;
    QString title() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    void layout();
    const Dendrogram *dendrogram() const;

    StudySnapshotPtr m_snapshot;
    std::vector<double> m_leafX;     // by leaf id
    std::vector<int> m_leafAtPos;    // by position
    std::vector<double> m_mergeX;    // by merge index
};

} // namespace moescope::ui
