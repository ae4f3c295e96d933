#pragma once

#include <string>

namespace moescope {

enum class Verbosity { Quiet, Normal, Verbose };

// Configures the default spdlog logger: stderr at the given verbosity and,
// when logFile is non-empty, a file sink that always records debug output.
void setupLogging(Verbosity verbosity, const std::string &logFile = {});

Verbosity verbosity();

// $XDG_STATE_HOME/moescope (or ~/.local/state/moescope), created on demand.
std::string stateDirectory();

} // namespace moescope
