#pragma once

#include "core/cli/command.h"

#include <vector>

namespace moescope::ui {

// Opens the main window (argv may name a trace .h5, a folder of the study's
// JSON files, or a model folder after an optional `gui`).
int runGui(int argc, char **argv);

// Subcommands that need the drawing code (figures export), headless.
std::vector<cli::Command> uiCommands();

} // namespace moescope::ui
