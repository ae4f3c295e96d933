#include "ui/gui_entry.h"

#include <QApplication>
#include <QMainWindow>

namespace moescope::ui {

int runGui(int argc, char **argv)
{
    QApplication app(argc, argv);
    QMainWindow window;
    window.setWindowTitle(QStringLiteral("MoEScope"));
    window.show();
    return app.exec();
}

std::vector<cli::Command> uiCommands()
{
    return {};
}

} // namespace moescope::ui
