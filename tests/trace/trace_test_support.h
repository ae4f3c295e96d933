#pragma once

#include "core/trace/routing_trace.h"

#include <filesystem>
#include <string>
#include <vector>

namespace moescope::test {

// A fresh, empty folder under /tmp, removed with its contents afterwards.
class TempDir
{
public:
    explicit TempDir(const std::string &name);
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    std::string file(const std::string &name) const { return (m_path / name).string(); }
    const std::filesystem::path &path() const { return m_path; }
    // Names of the entries in the folder, sorted (to spot leftover temp files).
    std::vector<std::string> entries() const;

private:
    std::filesystem::path m_path;
};

// A valid trace with deterministic pseudo-random statistics: dense layers are
// zero, counts never exceed tokens, gate sums are non-zero exactly where
// counts are. Different seeds give different numbers.
RoutingTrace makeTrace(const std::vector<std::string> &labels, unsigned seed = 1, int numLayers = 4,
                       int numExperts = 6, int topK = 2, std::vector<int> moeLayers = {1, 2, 3});

// Field-by-field equality of the routing data and metadata (not tool_version).
void expectSameTrace(const RoutingTrace &a, const RoutingTrace &b);

std::string bundledStudyDir(); // resources/data/qwen3-30b-a3b-mgsm
std::string testData(const std::string &relative); // tests/data/trace/<relative>

// Runs a shell command; returns its exit status, and stdout/stderr text.
struct CommandResult
{
    int exitCode = -1;
    std::string out, err;
};
CommandResult runMoescope(const std::string &arguments);

} // namespace moescope::test
