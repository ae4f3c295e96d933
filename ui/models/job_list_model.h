#pragma once

#include "ui/live/live_data.h"

#include <QAbstractTableModel>
#include <QElapsedTimer>

#include <vector>

namespace moescope::ui {

// The jobs the worker has queued or is running: one row each, in request
// order, until the job ends. Columns: job, progress, time left.
class JobListModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { TitleColumn, ProgressColumn, EtaColumn, ColumnCount };
    enum Role {
        TagRole = Qt::UserRole + 1,
        // Fraction done in [0, 1], or -1 when the total is unknown (busy bar).
        FractionRole,
        RunningRole, // false while queued behind another job
    };

    explicit JobListModel(QObject *parent = nullptr);

    void addJob(quint64 tag, const QString &title);
    void setRunning(quint64 tag);
    void setProgress(quint64 tag, const JobProgress &progress);
    void removeJob(quint64 tag);

    int rowOf(quint64 tag) const;
    quint64 tagAt(int row) const;
    JobProgress progress(int row) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // "3 s", "2 min 05 s", "1 h 04 min"; "" for unknown (< 0).
    static QString formatDuration(double seconds);

private:
    struct Row
    {
        quint64 tag = 0;
        QString title;
        bool running = false;
        JobProgress progress;
    };
    std::vector<Row> m_rows;
};

} // namespace moescope::ui
