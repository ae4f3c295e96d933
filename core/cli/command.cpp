#include "core/cli/command.h"

#include "core/common/error.h"
#include "core/common/logging.h"
#include "core/model/bundled_model.h"

#include <cstdio>

namespace moescope::cli {

bool parseCommon(ArgParser &parser, const std::vector<std::string> &args)
{
    if (!parser.parse(args))
        return false;
    if (parser.flagSet("verbose"))
        setupLogging(Verbosity::Verbose);
    else if (parser.flagSet("quiet"))
        setupLogging(Verbosity::Quiet);
    return true;
}

int runCommand(const Command &command, const std::vector<std::string> &args)
{
    auto fail = [&](const std::string &what, int code) {
        std::fprintf(stderr, "moescope %s: error: %s\n", command.name.c_str(), what.c_str());
        return code;
    };
    try {
        return command.run(args);
    } catch (const UsageError &e) {
        return fail(e.what(), 2);
    } catch (const Cancelled &) {
        return fail("cancelled", 130);
    } catch (const Error &e) {
        return fail(e.what(), 1);
    } catch (const std::bad_alloc &) {
        return fail("out of memory", 1);
    } catch (const std::exception &e) {
        return fail(e.what(), 1);
    }
}

std::string modelOrBundled(const ArgParser &parser, const std::string &command, const std::string &option)
{
    if (parser.has(option))
        return parser.get(option);
    const auto bundled = model::bundledModelDirectory();
    if (bundled.empty())
        throw Error("no --" + option + " given and the bundled demo model was not found "
                    "(resources/demo-model next to the sources or share/moescope/demo-model next to the "
                    "binary; MOESCOPE_DEMO_MODEL overrides)");
    if (verbosity() != Verbosity::Quiet)
        std::fprintf(stderr, "moescope %s: no --%s given, using the bundled demo model %s\n", command.c_str(),
                     option.c_str(), bundled.string().c_str());
    return bundled.string();
}

std::vector<Command> coreCommands()
{
    std::vector<Command> all;
    for (auto list : {traceCommands(), analysisCommands(), tokenizerCommands(), modelCommands(),
                      corpusCommands(), experimentCommands(), benchCommands(), trainingCommands()})
        for (auto &c : list)
            all.push_back(std::move(c));
    return all;
}

} // namespace moescope::cli
