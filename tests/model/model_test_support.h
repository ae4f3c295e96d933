#pragma once

// Helpers shared by the engine tests: fixture paths, tensor comparisons and
// temporary model folders derived from a fixture.

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace moescope::test {

std::string fixtureDir(const std::string &family); // tests/data/tiny-moe/<family>

double maxAbsDiff(const at::Tensor &a, const at::Tensor &b);

// Top-k rows compared as sets, weights aligned by expert id: returns the
// number of rows whose sets differ and the largest weight difference.
struct TopkComparison
{
    long mismatchedRows = 0;
    double maxWeightDiff = 0.0;
};
TopkComparison compareTopk(const at::Tensor &idxA, const at::Tensor &wA, const at::Tensor &idxB,
                           const at::Tensor &wB);

// A fresh temporary directory, removed with the object.
class TempDir
{
public:
    TempDir();
    ~TempDir();
    const std::filesystem::path &path() const { return m_path; }
    std::string str(const std::string &child = {}) const;

private:
    std::filesystem::path m_path;
};

// Copies config.json (and generation_config.json) of a fixture into dir.
void copyConfig(const std::string &fixture, const std::filesystem::path &dir);
void writeText(const std::filesystem::path &path, const std::string &text);
std::string readText(const std::filesystem::path &path);

// Writes a model folder: config.json + the tensors, in one file or split
// round-robin over `shards` files with a model.safetensors.index.json.
void writeModel(const std::filesystem::path &dir, const nlohmann::json &config,
                const std::vector<std::pair<std::string, at::Tensor>> &tensors, int shards = 1);

// A randomly initialised mixtral checkpoint of the given shape (seeded).
void writeRandomMixtral(const std::filesystem::path &dir, int vocab, int hidden, int layers, int experts,
                        int topK, std::uint64_t seed);

} // namespace moescope::test
