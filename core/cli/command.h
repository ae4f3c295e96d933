#pragma once

#include "core/cli/args.h"

#include <functional>
#include <string>
#include <vector>

namespace moescope::cli {

// One `moescope <name>` subcommand. run() gets the arguments after the name
// and returns the exit code; errors are thrown (moescope::Error, UsageError)
// and turned into one stderr line by runCommand().
struct Command
{
    std::string name;
    std::string summary;
    std::function<int(const std::vector<std::string> &)> run;
};

// Runs a command, mapping exceptions to "moescope NAME: error: ..." and exit
// codes: 0 ok, 1 failure, 2 usage error, 130 cancelled.
int runCommand(const Command &command, const std::vector<std::string> &args);

// Parses args with parser; applies --verbose/--quiet. Returns false on --help.
bool parseCommon(ArgParser &parser, const std::vector<std::string> &args);

// The model folder of a command: --model DIR when given, else the bundled
// demo model (model/bundled_model.h), announced on stderr unless --quiet.
// Throws moescope::Error when neither exists.
std::string modelOrBundled(const ArgParser &parser, const std::string &command, const std::string &option = "model");
// Help text of a --model option that defaults to the bundled demo model.
inline constexpr const char *kModelOptionHelp = "model folder (default: the bundled demo model, resources/demo-model)";

// Per-module command lists; each lives next to the code it drives.
std::vector<Command> traceCommands();    // import-json, export-json, merge
std::vector<Command> analysisCommands(); // analyze
std::vector<Command> tokenizerCommands(); // tokenize
std::vector<Command> modelCommands();    // info, forward, generate
std::vector<Command> corpusCommands();   // corpus
std::vector<Command> benchCommands();    // bench
std::vector<Command> experimentCommands(); // record, plan, evaluate, ablate, steer
std::vector<Command> trainingCommands();   // train-demo, demo-report
std::vector<Command> coreCommands();     // all of the above

} // namespace moescope::cli
