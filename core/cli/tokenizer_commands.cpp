#include "core/cli/command.h"

namespace moescope::cli {

std::vector<Command> tokenizerCommands()
{
    return {};
}

} // namespace moescope::cli
