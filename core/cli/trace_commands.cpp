#include "core/cli/command.h"

namespace moescope::cli {

std::vector<Command> traceCommands()
{
    return {};
}

} // namespace moescope::cli
