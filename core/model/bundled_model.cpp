#include "core/model/bundled_model.h"

#include <cstdlib>
#include <system_error>
#include <vector>

namespace moescope::model {

namespace {

bool holdsModel(const std::filesystem::path &dir)
{
    std::error_code ec;
    return !dir.empty() && std::filesystem::is_regular_file(dir / "config.json", ec);
}

std::filesystem::path executableDirectory()
{
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path() : self.parent_path();
}

} // namespace

std::filesystem::path bundledModelDirectory()
{
    std::vector<std::filesystem::path> candidates;
    if (const char *env = std::getenv("MOESCOPE_DEMO_MODEL"); env && *env)
        candidates.emplace_back(env);
    if (const auto exeDir = executableDirectory(); !exeDir.empty())
        candidates.push_back(exeDir.parent_path() / "share" / "moescope" / "demo-model");
    candidates.push_back(std::filesystem::path(MOESCOPE_RESOURCE_DIR) / "demo-model");
    for (const auto &dir : candidates)
        if (holdsModel(dir))
            return dir;
    return {};
}

} // namespace moescope::model
