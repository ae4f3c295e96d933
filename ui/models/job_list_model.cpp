#include "ui/models/job_list_model.h"

#include <cmath>

namespace moescope::ui {

JobListModel::JobListModel(QObject *parent)
    : QAbstractTableModel(parent)
{ }

void JobListModel::addJob(quint64 tag, const QString &title)
{
    const int row = static_cast<int>(m_rows.size());
    beginInsertRows({}, row, row);
    Row r;
    r.tag = tag;
    r.title = title;
    r.progress.message = tr("Queued");
    m_rows.push_back(std::move(r));
    endInsertRows();
}

void JobListModel::setRunning(quint64 tag)
{
    const int row = rowOf(tag);
    if (row < 0)
        return;
    m_rows[static_cast<std::size_t>(row)].running = true;
    m_rows[static_cast<std::size_t>(row)].progress.message = tr("Running");
    Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

void JobListModel::setProgress(quint64 tag, const JobProgress &progress)
{
    const int row = rowOf(tag);
    if (row < 0)
        return;
    auto &r = m_rows[static_cast<std::size_t>(row)];
    r.running = true;
    r.progress = progress;
    Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

void JobListModel::removeJob(quint64 tag)
{
    const int row = rowOf(tag);
    if (row < 0)
        return;
    beginRemoveRows({}, row, row);
    m_rows.erase(m_rows.begin() + row);
    endRemoveRows();
}

int JobListModel::rowOf(quint64 tag) const
{
    for (std::size_t i = 0; i < m_rows.size(); ++i)
        if (m_rows[i].tag == tag)
            return static_cast<int>(i);
    return -1;
}

quint64 JobListModel::tagAt(int row) const
{
    return row >= 0 && row < rowCount() ? m_rows[static_cast<std::size_t>(row)].tag : 0;
}

JobProgress JobListModel::progress(int row) const
{
    return row >= 0 && row < rowCount() ? m_rows[static_cast<std::size_t>(row)].progress
                                        : JobProgress {};
}

int JobListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
}

int JobListModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant JobListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const Row &r = m_rows[static_cast<std::size_t>(index.row())];
    const JobProgress &p = r.progress;
    switch (role) {
    case TagRole:
        return r.tag;
    case RunningRole:
        return r.running;
    case FractionRole:
        return p.total > 0
            ? std::min(1.0, static_cast<double>(p.done) / static_cast<double>(p.total))
            : -1.0;
    case Qt::DisplayRole:
        switch (index.column()) {
        case TitleColumn:
            return p.message.isEmpty() ? r.title : tr("%1 — %2").arg(r.title, p.message);
        case ProgressColumn:
            if (!r.running)
                return tr("queued");
            if (p.total > 0)
                return tr("%1 / %2 %3").arg(p.done).arg(p.total).arg(p.unit).trimmed();
            return p.done > 0 ? tr("%1 %2").arg(p.done).arg(p.unit).trimmed() : QString();
        case EtaColumn:
            return formatDuration(p.etaSeconds);
        }
        break;
    case Qt::ToolTipRole:
        return r.title;
    }
    return {};
}

QVariant JobListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TitleColumn:
        return tr("Job");
    case ProgressColumn:
        return tr("Progress");
    case EtaColumn:
        return tr("Time left");
    }
    return {};
}

QString JobListModel::formatDuration(double seconds)
{
    if (!(seconds >= 0) || !std::isfinite(seconds))
        return {};
    const auto s = static_cast<long long>(std::ceil(seconds));
    if (s < 60)
        return tr("%1 s").arg(s);
    if (s < 3600)
        return tr("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}

} // namespace moescope::ui
