#pragma once

// Turns benchmark timings into the figures docs/performance.md reports: the
// model's linear-layer cost per token, the bounds the machine's measured
// peaks imply, and the targets. Torch-free.
//
// Bounds (issue "Native MoE inference engine (2/2)"):
//   prefill tokens/s <= peak GFLOP/s / (2 x linear parameters per token),
//                       peak = the better of the measured bf16 and fp32 matmul
//                       throughput (the engine need not use torch's kernel
//                       for its compute dtype)
//   decode  tokens/s <= read GB/s / (active weight bytes per token)
// "Linear parameters per token" are model_info's active parameters minus what
// is not a matmul per token: the embedding (a row lookup), norm weights and
// biases, and lm_head, which generation applies to one position per sequence
// (counted once per row). Attention's q·k and p·v products are left out (at
// 512 tokens about 2% of the linear FLOPs), so the bound is slightly generous.

#include "core/bench/engine_benchmark.h"
#include "core/bench/machine_peaks.h"

#include <cstdint>
#include <string>

namespace moescope::bench {

struct ModelCost
{
    std::string modelType;
    int numLayers = 0;
    std::uint64_t weightBytes = 0; // every stored tensor
    std::uint64_t activeParameters = 0; // model_info
    std::uint64_t embeddingParameters = 0;
    std::uint64_t lmHeadParameters = 0; // 0 when tied (then the embedding matrix is the head)
    std::uint64_t vectorParameters = 0; // 1-D tensors: norms, biases
    std::uint64_t linearPerToken = 0; // active matmul parameters per token, without lm_head
    int bytesPerParameter = 2; // storage dtype
};
ModelCost modelCost(const std::string &dir);

// FLOPs of one prefill of batch x tokens (lm_head for the last position of each row).
double prefillFlops(const ModelCost &cost, const PrefillShape &shape);
// Weight bytes one decode step must read: active matmul weights and lm_head.
double decodeBytesPerToken(const ModelCost &cost);

struct Targets
{
    double prefillFraction = 0.85; // of the matmul bound
    double decodeFraction = 0.75; // of the memory-read bound
    double firstTokenSeconds = 3.0; // 13 GB checkpoint, load to first token
    double rssOverWeights = 1.1;
    double recordingOverhead = 0.02;
};

struct BenchReport
{
    MachinePeaks peaks;
    ModelCost cost;
    EngineBenchResult engine;
    std::string loadAverage; // /proc/loadavg when the engine ran
};

// Fraction a scenario reaches of its bound (prefill: compute bound at the
// given GFLOP/s; decode: read bound); 0 when the bound is unknown.
double prefillBoundTokensPerSecond(const ModelCost &cost, const PrefillShape &shape, double gflops);
double decodeBoundTokensPerSecond(const ModelCost &cost, double readGBps);

std::string formatBenchReport(const BenchReport &report, const Targets &targets = {});
std::string benchReportJson(const BenchReport &report, const Targets &targets = {});

std::string currentLoadAverage(); // first three fields of /proc/loadavg

} // namespace moescope::bench
