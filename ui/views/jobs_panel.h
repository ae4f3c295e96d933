#pragma once

#include <QWidget>

#include <vector>

class QLabel;
class QProgressBar;
class QToolButton;
class QVBoxLayout;

namespace moescope::ui {

class JobListModel;

// The jobs dock: one row per queued or running job with its progress bar,
// time left and a Cancel button. Only displays JobListModel.
class JobsPanel : public QWidget
{
    Q_OBJECT
public:
    explicit JobsPanel(JobListModel *model, QWidget *parent = nullptr);

    // The Cancel button of the row (tests).
    QToolButton *cancelButton(int row) const;
    QProgressBar *progressBar(int row) const;

Q_SIGNALS:
    void cancelRequested(quint64 tag);

private:
    struct Row
    {
        QWidget *widget = nullptr;
        QLabel *title = nullptr;
        QProgressBar *bar = nullptr;
        QLabel *eta = nullptr;
        QToolButton *cancel = nullptr;
    };
    void insertRows(int first, int last);
    void removeRows(int first, int last);
    void updateRows(int first, int last);

    JobListModel *m_model;
    QVBoxLayout *m_rowsLayout;
    QLabel *m_empty;
    std::vector<Row> m_rows;
};

} // namespace moescope::ui
