#pragma once

// Helpers shared by the engine tests: fixture paths, tensor comparisons and
// temporary model folders derived from a fixture.

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace moescope::model {
class MoeModel;
}
namespace moescope::routing {
class RouterHook;
}

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

// A fixture's config.json, tensors (model.safetensors, in file order) and
// reference input ids.
nlohmann::json fixtureConfig(const std::string &family);
std::vector<std::pair<std::string, at::Tensor>> fixtureTensors(const std::string &family);
at::Tensor fixtureIds(const std::string &family);

// Logits of one forward without a cache, optionally with an attention
// mask, a router hook and the final norm's output.
at::Tensor logitsOf(const model::MoeModel &model, const at::Tensor &ids, const at::Tensor &mask = {},
                    routing::RouterHook *hook = nullptr, at::Tensor *finalNorm = nullptr);
// The same ids fed through one KV cache in steps of the given lengths, the
// steps' logits concatenated.
at::Tensor logitsInSteps(const model::MoeModel &model, const at::Tensor &ids,
                         const std::vector<std::int64_t> &steps);

// Row b of int64 ids [B, T] (its first len values; all with -1).
std::vector<std::int64_t> rowOf(const at::Tensor &ids, std::int64_t b, std::int64_t len = -1);

// What fn throws as a moescope::Error, or "(no error)".
std::string errorOf(const std::function<void()> &fn);

} // namespace moescope::test
