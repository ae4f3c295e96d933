// moescope: with no arguments (or `gui`) opens the GUI; otherwise runs one
// CLI subcommand. All behaviour lives in core/ and ui/; this file only
// dispatches.
#include "core/cli/command.h"
#include "core/common/logging.h"

#ifdef MOESCOPE_WITH_GUI
#include "ui/gui_entry.h"
#endif

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::vector<moescope::cli::Command> allCommands()
{
    auto commands = moescope::cli::coreCommands();
#ifdef MOESCOPE_WITH_GUI
    for (auto &c : moescope::ui::uiCommands())
        commands.push_back(std::move(c));
#endif
    return commands;
}

void printUsage(const std::vector<moescope::cli::Command> &commands)
{
    std::printf("usage: moescope [COMMAND] [ARGS...]\n\n"
                "With no command, opens the GUI on the bundled defaults.\n\ncommands:\n");
    std::printf("  %-14s %s\n", "gui", "open the GUI on a trace, study-JSON folder or model");
    for (const auto &c : commands)
        std::printf("  %-14s %s\n", c.name.c_str(), c.summary.c_str());
    std::printf("\nmoescope COMMAND --help describes each command.\n");
}

} // namespace

int main(int argc, char **argv)
{
    moescope::setupLogging(moescope::Verbosity::Normal);
    const auto commands = allCommands();
    if (argc >= 2) {
        const std::string name = argv[1];
        if (name == "--help" || name == "-h" || name == "help") {
            printUsage(commands);
            return 0;
        }
        if (name == "--version") {
            std::printf("moescope %s\n", MOESCOPE_VERSION);
            return 0;
        }
        for (const auto &c : commands) {
            if (c.name == name)
                return moescope::cli::runCommand(c, std::vector<std::string>(argv + 2, argv + argc));
        }
        if (name.rfind("-", 0) != 0 && name != "gui") {
            std::fprintf(stderr, "moescope: error: unknown command '%s' (see moescope --help)\n",
                         name.c_str());
            return 2;
        }
    }
#ifdef MOESCOPE_WITH_GUI
    return moescope::ui::runGui(argc, argv);
#else
    std::fprintf(stderr, "moescope: error: built without the GUI; give a command\n");
    return 2;
#endif
}
