// `moescope bench` as a stand-alone program (moescope_bench_cli ARGS... ==
// moescope bench ARGS...), for builds whose moescope binary predates the
// command.
#include "core/cli/command.h"
#include "core/common/logging.h"

#include <string>
#include <vector>

namespace moescope::cli {
std::vector<Command> benchCommands();
}

int main(int argc, char **argv)
{
    moescope::setupLogging(moescope::Verbosity::Normal);
    const auto commands = moescope::cli::benchCommands();
    return moescope::cli::runCommand(commands.front(), std::vector<std::string>(argv + 1, argv + argc));
}
