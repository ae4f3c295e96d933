#pragma once

#include <QWidget>

class QHBoxLayout;

namespace moescope::ui {

class FigureRenderer;
class FigureView;

// A tab of the main window: an optional row of controls above one figure.
class FigurePanel : public QWidget
{
    Q_OBJECT
public:
    explicit FigurePanel(FigureRenderer *figure, QWidget *parent = nullptr);

    FigureRenderer *figure() const;
    FigureView *view() const { return m_view; }

protected:
    QHBoxLayout *controls() const { return m_controls; }

private:
    QHBoxLayout *m_controls;
    FigureView *m_view;
};

} // namespace moescope::ui
