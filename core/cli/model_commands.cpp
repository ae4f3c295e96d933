#include "core/cli/command.h"

namespace moescope::cli {

std::vector<Command> modelCommands()
{
    return {};
}

} // namespace moescope::cli
