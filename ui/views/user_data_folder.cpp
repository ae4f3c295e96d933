#include "ui/views/user_data_folder.h"

#include <QCoreApplication>
#include <QDir>
#include <QStandardPaths>

namespace moescope::ui {

QString userDataFolder()
{
    // Not AppDataLocation: that is <data>/<organisation>/<application>, and
    // the GUI names both MoEScope (gui_entry.cpp), so it gave
    // ~/.local/share/MoEScope/MoEScope.
    const QString data = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation);
    if (data.isEmpty())
        return QDir::homePath();
    return QDir(data).filePath(QCoreApplication::applicationName());
}

} // namespace moescope::ui
