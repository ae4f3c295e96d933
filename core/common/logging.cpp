#include "core/common/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>

namespace moescope {

namespace {
Verbosity g_verbosity = Verbosity::Normal;
}

void setupLogging(Verbosity v, const std::string &logFile)
{
    g_verbosity = v;
    auto console = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    console->set_level(v == Verbosity::Verbose ? spdlog::level::debug
                       : v == Verbosity::Quiet ? spdlog::level::err
                                               : spdlog::level::warn);
    console->set_pattern("%^%l%$: %v");
    std::vector<spdlog::sink_ptr> sinks{console};
    if (!logFile.empty()) {
        try {
            auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(logFile);
            file->set_level(spdlog::level::debug);
            sinks.push_back(file);
        } catch (const spdlog::spdlog_ex &) {
            // A read-only home must not stop the program; stderr still works.
        }
    }
    auto logger = std::make_shared<spdlog::logger>("moescope", sinks.begin(), sinks.end());
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
}

Verbosity verbosity()
{
    return g_verbosity;
}

std::string stateDirectory()
{
    namespace fs = std::filesystem;
    fs::path dir;
    if (const char *state = std::getenv("XDG_STATE_HOME"); state && *state)
        dir = fs::path(state) / "moescope";
    else if (const char *home = std::getenv("HOME"); home && *home)
        dir = fs::path(home) / ".local" / "state" / "moescope";
    else
        dir = fs::temp_directory_path() / "moescope";
    std::error_code ec;
    fs::create_directories(dir, ec);
    return dir.string();
}

} // namespace moescope
