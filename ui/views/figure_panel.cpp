#include "ui/views/figure_panel.h"

#include "ui/views/figure_view.h"

#include <QHBoxLayout>
#include <QVBoxLayout>

namespace moescope::ui {

FigurePanel::FigurePanel(FigureRenderer *figure, QWidget *parent)
    : QWidget(parent), m_controls(new QHBoxLayout), m_view(new FigureView(figure, this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    m_controls->setContentsMargins(4, 0, 4, 0);
    layout->addLayout(m_controls);
    layout->addWidget(m_view, 1);
}

FigureRenderer *FigurePanel::figure() const
{
    return m_view->figure();
}

} // namespace moescope::ui
