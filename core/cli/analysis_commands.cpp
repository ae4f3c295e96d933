#include "core/cli/command.h"

namespace moescope::cli {

std::vector<Command> analysisCommands()
{
    return {};
}

} // namespace moescope::cli
