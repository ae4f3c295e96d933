#include "ui/views/jobs_panel.h"

#include "ui/models/job_list_model.h"

#include <QGridLayout>
#include <QLabel>
#include <QProgressBar>
#include <QScrollArea>
#include <QToolButton>
#include <QVBoxLayout>

namespace moescope::ui {

JobsPanel::JobsPanel(JobListModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
    , m_rowsLayout(new QVBoxLayout)
    , m_empty(new QLabel(tr("No jobs running."), this))
{
    m_empty->setEnabled(false);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(m_empty);
    m_rowsLayout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(m_rowsLayout);
    layout->addStretch(1);

    connect(m_model, &QAbstractItemModel::rowsInserted, this,
        [this](const QModelIndex &, int first, int last) { insertRows(first, last); });
    connect(m_model, &QAbstractItemModel::rowsAboutToBeRemoved, this,
        [this](const QModelIndex &, int first, int last) { removeRows(first, last); });
    connect(m_model, &QAbstractItemModel::dataChanged, this,
        [this](
            const QModelIndex &from, const QModelIndex &to) { updateRows(from.row(), to.row()); });
    if (m_model->rowCount() > 0)
        insertRows(0, m_model->rowCount() - 1);
}

QToolButton *JobsPanel::cancelButton(int row) const
{
    return row >= 0 && row < static_cast<int>(m_rows.size())
        ? m_rows[static_cast<std::size_t>(row)].cancel
        : nullptr;
}

QProgressBar *JobsPanel::progressBar(int row) const
{
    return row >= 0 && row < static_cast<int>(m_rows.size())
        ? m_rows[static_cast<std::size_t>(row)].bar
        : nullptr;
}

void JobsPanel::insertRows(int first, int last)
{
    for (int row = first; row <= last; ++row) {
        Row r;
        r.widget = new QWidget(this);
        auto *grid = new QGridLayout(r.widget);
        grid->setContentsMargins(0, 2, 0, 2);
        r.title = new QLabel(r.widget);
        r.title->setTextFormat(Qt::PlainText);
        r.bar = new QProgressBar(r.widget);
        r.bar->setMaximumHeight(14);
        r.bar->setTextVisible(false);
        r.eta = new QLabel(r.widget);
        r.eta->setMinimumWidth(70);
        r.eta->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        r.cancel = new QToolButton(r.widget);
        r.cancel->setText(tr("Cancel"));
        r.cancel->setToolTip(tr("Stop this job (answers within a second)"));
        const quint64 tag = m_model->tagAt(row);
        connect(r.cancel, &QToolButton::clicked, this, [this, tag, r] {
            r.cancel->setEnabled(false);
            Q_EMIT cancelRequested(tag);
        });
        grid->addWidget(r.title, 0, 0, 1, 3);
        grid->addWidget(r.bar, 1, 0);
        grid->addWidget(r.eta, 1, 1);
        grid->addWidget(r.cancel, 1, 2);
        grid->setColumnStretch(0, 1);
        m_rowsLayout->insertWidget(row, r.widget);
        m_rows.insert(m_rows.begin() + row, r);
    }
    updateRows(first, last);
    m_empty->setVisible(m_rows.empty());
}

void JobsPanel::removeRows(int first, int last)
{
    for (int row = last; row >= first; --row) {
        delete m_rows[static_cast<std::size_t>(row)].widget;
        m_rows.erase(m_rows.begin() + row);
    }
    m_empty->setVisible(m_rows.empty());
}

void JobsPanel::updateRows(int first, int last)
{
    for (int row = std::max(0, first); row <= last && row < static_cast<int>(m_rows.size());
         ++row) {
        const Row &r = m_rows[static_cast<std::size_t>(row)];
        const auto title = m_model->index(row, JobListModel::TitleColumn);
        r.title->setText(title.data().toString());
        const double fraction = title.data(JobListModel::FractionRole).toDouble();
        if (fraction < 0) {
            r.bar->setRange(0, 0); // busy indicator
        } else {
            r.bar->setRange(0, 1000);
            r.bar->setValue(static_cast<int>(fraction * 1000));
        }
        const QString progress
            = m_model->index(row, JobListModel::ProgressColumn).data().toString();
        const QString eta = m_model->index(row, JobListModel::EtaColumn).data().toString();
        r.eta->setText(eta.isEmpty() ? QString() : tr("%1 left").arg(eta));
        r.bar->setToolTip(progress);
    }
}

} // namespace moescope::ui
