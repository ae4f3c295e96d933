#pragma once

#include <QFrame>

class QLabel;

namespace moescope::ui {

// Inline bar above the figures for errors (a file that failed to open, an
// export that failed): visible until dismissed or replaced, never modal.
class MessageBar : public QFrame
{
    Q_OBJECT
public:
    explicit MessageBar(QWidget *parent = nullptr);

    void showError(const QString &text);
    void showInfo(const QString &text);
    QString text() const;
    bool isError() const { return m_error; }

private:
    void showMessage(const QString &text, bool error);

    QLabel *m_label;
    bool m_error = false;
};

} // namespace moescope::ui
