#pragma once

// What this machine allows, measured with the same library the engine uses:
// libtorch matmul throughput (bf16, fp32), streaming read bandwidth, and how
// fast torch's matrix-vector kernels stream expert-shaped weights (decode).
// The engine benchmark divides by these to get its bounds. Torch-free header.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moescope::bench {

enum class ProbeDtype { BF16, F32 };
std::string probeDtypeName(ProbeDtype dtype); // "bf16" | "fp32"

// y = x W^T with x [m, k], W [n, k] (at::linear, as the engine's projections).
class MatmulProbe
{
public:
    MatmulProbe(ProbeDtype dtype, std::int64_t m, std::int64_t n, std::int64_t k);
    ~MatmulProbe();
    void run();
    double flops() const; // per run: 2 m n k
    std::string label() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// Sums a buffer far larger than the last-level cache, split over the intra-op
// threads: the bandwidth a weight-streaming decode step can hope for. Each
// thread reads its slice as `streams` sequential streams at once: one
// stream per core can leave bandwidth unused (here 2 threads read 25-27 GB/s
// with one stream each, 30-38 with four to eight).
class ReadProbe
{
public:
    explicit ReadProbe(std::size_t bytes, int streams = 1);
    ~ReadProbe();
    std::uint64_t run(); // returns the sum so the reads cannot be elided
    std::size_t bytes() const;

private:
    std::vector<std::uint64_t> m_words;
    int m_streams;
};

// One token through many [rows, cols] weight matrices that together exceed
// the cache (at::linear with a [1, cols] input): torch's decode kernel.
class MatvecProbe
{
public:
    MatvecProbe(ProbeDtype dtype, std::int64_t rows, std::int64_t cols, std::size_t totalBytes);
    ~MatvecProbe();
    void run();
    std::size_t bytes() const; // weight bytes read per run
    std::string label() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

struct Measurement
{
    std::string label;
    double value = 0.0; // GFLOP/s or GB/s (1e9)
};

struct MachinePeaks
{
    std::string cpu; // model name
    std::string cpuFlags; // the SIMD flags that decide kernel choice (avx2, avx512*, amx*)
    int threads = 0; // intra-op threads used
    double bf16Gflops = 0.0; // best bf16 matmul over the shapes below
    double fp32Gflops = 0.0;
    double readGBps = 0.0;
    double bf16MatvecGBps = 0.0; // expert-shaped bf16 matrix-vector streaming
    double fp32MatvecGBps = 0.0;
    std::vector<Measurement> details; // every shape measured
};

struct PeakOptions
{
    int threads = 0; // 0: hardware threads
    double secondsPerProbe = 0.6; // split into windows; the best window counts
    std::size_t readBytes = std::size_t(1) << 30;
};

// Sets at::set_num_threads(threads) (as MoeModel::load does) and runs every probe.
MachinePeaks measureMachinePeaks(const PeakOptions &options = {});

// Every rate the better of two measurements (details matched by label): the
// machine's other load moves a probe by 10-30% from one minute to the next,
// and a bound from a slow minute would flatter the engine.
MachinePeaks bestOf(const MachinePeaks &a, const MachinePeaks &b);

// Best throughput of `run` over windows of about windowSeconds each within
// totalSeconds (after one warm-up call), in units per second. The best window,
// not the mean, because other processes share the machine.
template <typename Run>
double bestRate(Run &&run, double unitsPerRun, double totalSeconds, double windowSeconds = 0.15)
{
    using Clock = std::chrono::steady_clock;
    run();
    double best = 0.0;
    const auto start = Clock::now();
    do {
        const auto windowStart = Clock::now();
        int runs = 0;
        double elapsed = 0.0;
        do {
            run();
            ++runs;
            elapsed = std::chrono::duration<double>(Clock::now() - windowStart).count();
        } while (elapsed < windowSeconds);
        best = std::max(best, runs * unitsPerRun / elapsed);
    } while (std::chrono::duration<double>(Clock::now() - start).count() < totalSeconds);
    return best;
}

} // namespace moescope::bench
