#pragma once

#include "ui/study/study_snapshot.h"

#include <QAbstractTableModel>

namespace moescope::ui {

// The languages (or conditions) of the loaded trace, for the dataset dock.
class LanguageTableModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { LabelColumn, TokensColumn, ExclusiveColumn, CorpusColumn, ColumnCount };

    explicit LanguageTableModel(QObject *parent = nullptr);

    void setSnapshot(StudySnapshotPtr snapshot);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    StudySnapshotPtr m_snapshot;
};

} // namespace moescope::ui
