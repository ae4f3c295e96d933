#pragma once

#include "ui/models/model_roles.h"
#include "ui/study/study_snapshot.h"

#include <QAbstractTableModel>

namespace moescope::ui {

// Exclusive and shared experts per MoE layer (core expertSpecialisation with
// the current k and threshold). Rows: MoE layers; columns: one per language
// (experts exclusive to it), then the shared count.
class ExpertCountsModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    explicit ExpertCountsModel(QObject *parent = nullptr);

    void setSnapshot(StudySnapshotPtr snapshot);
    StudySnapshotPtr snapshot() const { return m_snapshot; }

    int languageCount() const;
    int sharedColumn() const { return languageCount(); }
    int layerAt(int row) const;
    int exclusive(int row, int language) const;
    int shared(int row) const;
    int maxStackedTotal() const; // largest per-layer sum of exclusive counts, or shared count
    QString title() const;
    QString toolTip(int row) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    StudySnapshotPtr m_snapshot;
};

} // namespace moescope::ui
