// Kernel path choice by measurement (kernel_paths.h).
#include "core/model/kernel_paths.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/model/bf16_gemm.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <time.h>

namespace moescope::model::kernels {

namespace {

// Bumped when a kernel's speed profile changes enough that old choices
// should be measured again.
constexpr int kCacheVersion = 1;
// How much faster (in summed relative time) another kernel must be to take
// a product from the first candidate.
constexpr double kClearMargin = 0.15;

struct Registry
{
    std::mutex mutex;
    std::map<std::pair<std::int64_t, std::int64_t>, PathChoice> choices;
};

Registry &registry()
{
    static Registry r;
    return r;
}

bool supported(KernelPath path)
{
    switch (path) {
    case KernelPath::Torch:
        return true;
    case KernelPath::Avx2Widen:
        return bf16GemmSupported();
    case KernelPath::Avx512Dot:
        return bf16DotSupported();
    }
    return false;
}

std::optional<KernelPath> pathNamed(const std::string &name)
{
    for (auto path : { KernelPath::Torch, KernelPath::Avx2Widen, KernelPath::Avx512Dot })
        if (name == pathName(path))
            return path;
    return std::nullopt;
}

// MOESCOPE_KERNEL_PATH, read at the first use; forcePath replaces it.
std::optional<KernelPath> &forcedSetting()
{
    static std::optional<KernelPath> forced = []() -> std::optional<KernelPath> {
        const char *value = std::getenv("MOESCOPE_KERNEL_PATH");
        if (!value || !*value)
            return std::nullopt;
        const auto path = pathNamed(value);
        if (!path)
            throw Error("MOESCOPE_KERNEL_PATH", std::string("unknown kernel path '") + value
                                                    + "' (torch, avx2 or avx512-bf16)");
        if (!supported(*path))
            throw Error("MOESCOPE_KERNEL_PATH", std::string("this CPU cannot run the ") + value + " kernels");
        return path;
    }();
    return forced;
}

std::optional<KernelPath> forcedPath()
{
    std::lock_guard lock(registry().mutex);
    return forcedSetting();
}

std::filesystem::path cacheFile()
{
    if (const char *dir = std::getenv("XDG_CACHE_HOME"); dir && *dir)
        return std::filesystem::path(dir) / "moescope" / "kernel-paths.json";
    if (const char *home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".cache" / "moescope" / "kernel-paths.json";
    return {};
}

std::string shapeKey(std::int64_t n, std::int64_t k)
{
    return std::to_string(n) + "x" + std::to_string(k);
}

nlohmann::json readCache()
{
    const auto file = cacheFile();
    std::error_code error;
    if (file.empty() || !std::filesystem::exists(file, error))
        return nlohmann::json::object();
    try {
        std::ifstream in(file);
        auto json = nlohmann::json::parse(in);
        if (json.is_object() && json.value("version", 0) == kCacheVersion)
            return json;
    } catch (const std::exception &e) {
        spdlog::warn("{}: unreadable kernel path cache, measuring again ({})", file.string(), e.what());
    }
    return nlohmann::json::object();
}

// The cache is a convenience: a folder that cannot be written only means
// measuring again next time.
void writeCache(const nlohmann::json &json)
{
    const auto file = cacheFile();
    if (file.empty())
        return;
    try {
        std::filesystem::create_directories(file.parent_path());
        writeFileAtomically(file.string(), json.dump(1));
    } catch (const std::exception &e) {
        spdlog::debug("kernel path cache not written: {}", e.what());
    }
}

double threadSeconds()
{
    timespec t {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Seconds per product of m rows with `cols` output columns on one thread,
// the best of a few runs (thread CPU time: another process taking the core
// does not count against a candidate).
double timeProduct(KernelPath path, std::int64_t m, std::int64_t k, const std::uint16_t *w, std::int64_t ldw,
                   std::int64_t cols)
{
    const Bf16Product product { path };
    std::mt19937 random(7);
    std::normal_distribution<float> normal;
    std::vector<float> x(static_cast<std::size_t>(m * k));
    for (auto &v : x)
        v = normal(random);
    std::vector<std::uint8_t> packed(product.packedBytes(m, k) + 64);
    void *aligned = packed.data() + (64 - reinterpret_cast<std::uintptr_t>(packed.data()) % 64) % 64;
    std::vector<float> y(static_cast<std::size_t>(m * cols));
    double best = 1e30;
    for (int run = 0; run < 3; ++run) {
        const double start = threadSeconds();
        product.pack(x.data(), k, m, k, aligned);
        product.multiply(aligned, m, k, w, ldw, y.data(), cols, 0, cols);
        best = std::min(best, threadSeconds() - start);
    }
    return best;
}

PathChoice measure(const ProductShape &shape, const std::uint16_t *w, std::int64_t ldw)
{
    PathChoice choice { shape, KernelPath::Torch, {} };
    std::vector<KernelPath> candidates;
    for (auto path : supportedPaths())
        if (path != KernelPath::Torch)
            candidates.push_back(path);
    if (candidates.empty()) {
        choice.why = "no bf16 kernel runs on this CPU";
        return choice;
    }
    if (candidates.size() == 1) {
        choice.path = candidates.front();
        choice.why = std::string("the only bf16 kernel this CPU runs");
        return choice;
    }
    // Enough columns that a product takes ~0.1-1 ms; the cost per column is
    // the same across a weight matrix.
    const auto cols = std::min<std::int64_t>(shape.n, 256);
    std::vector<std::vector<double>> seconds(candidates.size());
    for (std::size_t c = 0; c < candidates.size(); ++c)
        for (auto m : shape.rowCounts)
            seconds[c].push_back(timeProduct(candidates[c], m, shape.k, w, ldw, cols));
    // Each row count weighs the same: the sum of times relative to the best
    // candidate at that row count.
    std::vector<double> score(candidates.size(), 0.0);
    for (std::size_t r = 0; r < shape.rowCounts.size(); ++r) {
        double best = 1e30;
        for (const auto &s : seconds)
            best = std::min(best, s[r]);
        for (std::size_t c = 0; c < candidates.size(); ++c)
            score[c] += seconds[c][r] / std::max(best, 1e-12);
    }
    // The first candidate (the kernel expected to be fastest on this CPU)
    // keeps the product unless another is clearly faster: for products too
    // small to time apart, noise would otherwise pick a path at random, and
    // the path decides the numerics.
    std::size_t winner = 0;
    for (std::size_t c = 1; c < candidates.size(); ++c)
        if (score[c] < score[winner] * (1.0 - kClearMargin))
            winner = c;
    choice.path = candidates[winner];
    std::ostringstream why;
    why << "measured (" << cols << " columns; ms per product at";
    for (auto m : shape.rowCounts)
        why << " " << m;
    why << " rows):";
    for (std::size_t c = 0; c < candidates.size(); ++c) {
        why << " " << pathName(candidates[c]);
        for (auto s : seconds[c])
            why << " " << std::fixed << std::setprecision(3) << s * 1e3;
        why << (c + 1 < candidates.size() ? ";" : "");
    }
    choice.why = why.str();
    return choice;
}

} // namespace

const char *pathName(KernelPath path)
{
    switch (path) {
    case KernelPath::Torch:
        return "torch";
    case KernelPath::Avx2Widen:
        return "avx2";
    case KernelPath::Avx512Dot:
        return "avx512-bf16";
    }
    return "?";
}

std::vector<KernelPath> supportedPaths()
{
    std::vector<KernelPath> paths;
    for (auto path : { KernelPath::Avx512Dot, KernelPath::Avx2Widen, KernelPath::Torch })
        if (supported(path))
            paths.push_back(path);
    return paths;
}

std::size_t Bf16Product::packedBytes(std::int64_t m, std::int64_t k) const
{
    const auto elementBytes = path == KernelPath::Avx512Dot ? 2 : 4;
    const auto bytes = static_cast<std::size_t>(m * k * elementBytes);
    return (bytes + 63) / 64 * 64;
}

void Bf16Product::pack(const float *x, std::int64_t ldx, std::int64_t m, std::int64_t k, void *packed) const
{
    if (path == KernelPath::Avx512Dot)
        packBf16DotInput(x, ldx, m, k, static_cast<std::uint16_t *>(packed));
    else
        packBf16GemmInput(x, ldx, m, k, static_cast<float *>(packed));
}

void Bf16Product::multiply(const void *packed, std::int64_t m, std::int64_t k, const std::uint16_t *w,
                           std::int64_t ldw, float *y, std::int64_t ldy, std::int64_t nBegin,
                           std::int64_t nEnd) const
{
    if (path == KernelPath::Avx512Dot)
        bf16DotGemm(static_cast<const std::uint16_t *>(packed), m, k, w, ldw, y, ldy, nBegin, nEnd);
    else
        bf16WeightGemm(static_cast<const float *>(packed), m, k, w, ldw, y, ldy, nBegin, nEnd);
}

KernelPath pathFor(std::int64_t n, std::int64_t k, const std::uint16_t *w, std::int64_t ldw)
{
    if (const auto forced = forcedPath())
        return *forced;
    {
        auto &r = registry();
        std::lock_guard lock(r.mutex);
        if (const auto found = r.choices.find({ n, k }); found != r.choices.end())
            return found->second.path;
    }
    ProductShape shape;
    shape.n = n;
    shape.k = k;
    return choosePaths({ shape }, { w }, { ldw }).front().path;
}

bool bf16KernelAvailable()
{
    if (const auto forced = forcedPath())
        return *forced != KernelPath::Torch;
    return supportedPaths().front() != KernelPath::Torch;
}

std::vector<PathChoice> choosePaths(const std::vector<ProductShape> &shapes,
                                    const std::vector<const std::uint16_t *> &weights,
                                    const std::vector<std::int64_t> &strides)
{
    std::vector<PathChoice> chosen;
    if (const auto forced = forcedPath()) {
        for (const auto &shape : shapes)
            chosen.push_back({ shape, *forced, "forced by MOESCOPE_KERNEL_PATH" });
        return chosen;
    }
    auto &r = registry();
    std::lock_guard lock(r.mutex);
    auto cache = readCache();
    const auto machine = machineKey();
    bool changed = false;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        const auto &shape = shapes[i];
        if (const auto known = r.choices.find({ shape.n, shape.k }); known != r.choices.end()) {
            chosen.push_back(known->second);
            continue;
        }
        PathChoice choice;
        const auto key = shapeKey(shape.n, shape.k);
        const auto cached = cache.contains("machines") && cache["machines"].contains(machine)
                                    && cache["machines"][machine].contains(key)
                                ? pathNamed(cache["machines"][machine][key].get<std::string>())
                                : std::nullopt;
        if (cached && supported(*cached)) {
            const auto &measured = cache["measurements"][machine];
            choice = { shape, *cached,
                       "cached (" + cacheFile().string() + "): "
                           + (measured.contains(key) ? measured[key].get<std::string>() : std::string("?")) };
        } else {
            choice = measure(shape, weights[i], strides[i]);
            cache["version"] = kCacheVersion;
            cache["machines"][machine][key] = pathName(choice.path);
            cache["measurements"][machine][key] = choice.why;
            changed = true;
        }
        r.choices[{ shape.n, shape.k }] = choice;
        chosen.push_back(choice);
    }
    if (changed)
        writeCache(cache);
    return chosen;
}

std::vector<PathChoice> currentChoices()
{
    auto &r = registry();
    std::lock_guard lock(r.mutex);
    std::vector<PathChoice> choices;
    for (const auto &[key, choice] : r.choices)
        choices.push_back(choice);
    return choices;
}

void forcePath(std::optional<KernelPath> path)
{
    if (path && !supported(*path))
        throw Error("kernel path", std::string("this CPU cannot run the ") + pathName(*path) + " kernels");
    forcedPath(); // reads the environment first, so it cannot override this later
    std::lock_guard lock(registry().mutex);
    forcedSetting() = path;
}

bool pathSupported(KernelPath path)
{
    return supported(path);
}

void resetChoices()
{
    auto &r = registry();
    std::lock_guard lock(r.mutex);
    r.choices.clear();
}

std::string formatPathChoices(const std::vector<PathChoice> &choices)
{
    std::ostringstream out;
    out << "kernel paths on " << machineKey() << " (product: output x input):\n";
    if (choices.empty())
        out << "  (no bf16 products: at::linear for every product)\n";
    for (const auto &c : choices)
        out << "  " << std::setw(6) << c.shape.n << " x " << std::left << std::setw(6) << c.shape.k << std::right << "  "
            << std::left << std::setw(12) << pathName(c.path) << std::right << c.why << "\n";
    return out.str();
}

std::string machineKey()
{
    std::string model = "unknown CPU";
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);)
        if (line.rfind("model name", 0) == 0) {
            model = line.substr(line.find(':') + 2);
            break;
        }
    std::string flags;
    for (auto path : supportedPaths())
        if (path != KernelPath::Torch)
            flags += std::string(flags.empty() ? "" : "+") + pathName(path);
    return model + " [" + (flags.empty() ? "no bf16 kernels" : flags) + "]";
}

} // namespace moescope::model::kernels
