#pragma once

// Where the demo model that MoEScope trains and ships (resources/demo-model,
// see its README) is found at run time: commands and the GUI open it when no
// model is given, so every feature works offline on a fresh machine.

#include <filesystem>

namespace moescope::model {

// First existing candidate holding a config.json: $MOESCOPE_DEMO_MODEL, then
// <executable dir>/../share/moescope/demo-model (an installed tree), then the
// source tree's resources/demo-model (a build tree). Empty when none exists.
std::filesystem::path bundledModelDirectory();

} // namespace moescope::model
