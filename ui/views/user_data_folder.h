#pragma once

#include <QString>

namespace moescope::ui {

// MoEScope's folder in the platform's data location, where the panels
// propose to write what the user makes (recorded traces, results folders),
// e.g. ~/.local/share/MoEScope; the home folder when there is none.
QString userDataFolder();

} // namespace moescope::ui
