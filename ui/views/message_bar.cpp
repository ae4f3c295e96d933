#include "ui/views/message_bar.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QToolButton>

namespace moescope::ui {

MessageBar::MessageBar(QWidget *parent) : QFrame(parent), m_label(new QLabel(this))
{
    setObjectName(QStringLiteral("messageBar"));
    setFrameShape(QFrame::StyledPanel);
    m_label->setWordWrap(true);
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *close = new QToolButton(this);
    close->setText(QStringLiteral("✕"));
    close->setAutoRaise(true);
    close->setToolTip(tr("Dismiss"));
    connect(close, &QToolButton::clicked, this, &QWidget::hide);
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(10, 4, 4, 4);
    layout->addWidget(m_label, 1);
    layout->addWidget(close, 0, Qt::AlignTop);
    hide();
}

void MessageBar::showError(const QString &text)
{
    showMessage(text, true);
}

void MessageBar::showInfo(const QString &text)
{
    showMessage(text, false);
}

QString MessageBar::text() const
{
    return m_label->text();
}

void MessageBar::showMessage(const QString &text, bool error)
{
    m_error = error;
    m_label->setText(text);
    setStyleSheet(error ? QStringLiteral("#messageBar { background: #fde7e4; border: 1px solid #d55e00; }")
                        : QStringLiteral("#messageBar { background: #e6f1fa; border: 1px solid #0072b2; }"));
    show();
}

} // namespace moescope::ui
