#pragma once

// Which implementation computes each bf16-weight product, chosen by timing
// the candidates on this machine for the model's own shapes (not by a CPU
// flag), and kept per machine and shape in the user's cache folder so that
// the same machine always takes the same path: a path fixes the numerics
// (bf16 or fp32 activations, the order of the sums), and a routing trace
// must not change between two runs of the same recording.
//
// Every candidate reduces each output element in one order whatever the
// number of rows (batch invariance, docs/engine.md), which is why
// libtorch's own bf16 GEMM (oneDNN), whose blocking depends on the shape of
// the whole product, is not one. Torch-free: the bench and `info --verbose`
// use it without the decoder.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moescope::model::kernels {

enum class KernelPath {
    Torch,      // at::linear (fp32 weights, or no kernel on this CPU)
    Avx2Widen,  // bf16_gemm.cpp: fp32 activations, weights widened in registers
    Avx512Dot,  // bf16_dot_gemm.cpp: bf16 activations, vdpbf16ps
};

const char *pathName(KernelPath path);

// The kernels this CPU can run, fastest-first by expectation (the
// measurement decides).
std::vector<KernelPath> supportedPaths();

// A product's shape: y [m, n] = x [m, k] . w [n, k]^T.
struct ProductShape
{
    std::int64_t n = 0, k = 0;
    std::vector<std::int64_t> rowCounts = { 1, 64, 512 }; // decode, an expert group, a prefill
};

struct PathChoice
{
    ProductShape shape;
    KernelPath path = KernelPath::Torch;
    std::string why; // "measured: avx512-bf16 0.21 ms, avx2 0.52 ms at 64 rows ..." or "cached ..." or "forced ..."
};

// Packs activations for a path and multiplies: the one interface the
// linear layers and the expert loop use for every kernel path.
struct Bf16Product
{
    KernelPath path = KernelPath::Avx2Widen;
    // Bytes of the packed form of m rows of k values (64-byte multiple).
    std::size_t packedBytes(std::int64_t m, std::int64_t k) const;
    void pack(const float *x, std::int64_t ldx, std::int64_t m, std::int64_t k, void *packed) const;
    // y[i, n] for n in [nBegin, nEnd), as bf16WeightGemm / bf16DotGemm.
    void multiply(const void *packed, std::int64_t m, std::int64_t k, const std::uint16_t *w, std::int64_t ldw,
                  float *y, std::int64_t ldy, std::int64_t nBegin, std::int64_t nEnd) const;
};

// The path of a bf16 product of this shape: the choice already made for it
// in this process, else the cached one for this machine, else measured now
// on these weights (w, row stride ldw: any rows of the shape will do) at the
// row counts of decode, expert groups and prefill. MOESCOPE_KERNEL_PATH=
// torch|avx2|avx512-bf16 forces one for every product (an unsupported one
// is an error).
KernelPath pathFor(std::int64_t n, std::int64_t k, const std::uint16_t *w, std::int64_t ldw);

// Whether bf16 products can take one of the engine's kernels here (a CPU
// with one, not forced to torch): every measured choice is a kernel.
bool bf16KernelAvailable();

// Times every supported path on the given weights (bf16 rows, nn.Linear
// layout; any rows of the shape will do) unless the cache already holds a
// choice for this machine and shape, records the choices for pathFor and
// returns them with the reason. weights[i] belongs to shapes[i].
std::vector<PathChoice> choosePaths(const std::vector<ProductShape> &shapes,
                                    const std::vector<const std::uint16_t *> &weights,
                                    const std::vector<std::int64_t> &strides);

// The choices made so far in this process (for bench and info reports).
std::vector<PathChoice> currentChoices();

// Every product on this path from now on (nullopt: chosen again), as
// MOESCOPE_KERNEL_PATH does; tests use it to run each path this CPU has.
void forcePath(std::optional<KernelPath> path);
bool pathSupported(KernelPath path);

// Forgets the choices in this process (tests) and, with cache, the file.
void resetChoices();

// A table of choices, one line each: "  2048 x 2048  avx512-bf16  measured ...".
std::string formatPathChoices(const std::vector<PathChoice> &choices);

// A description of this machine for cache keys and reports: CPU model and
// the flags that decide the kernels.
std::string machineKey();

} // namespace moescope::model::kernels
