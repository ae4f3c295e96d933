#pragma once

// Matrix products with bf16 weights on CPUs where libtorch's own bf16 GEMM
// is a scalar fallback (torch 1.13 only uses oneDNN's bf16 kernels with
// AVX-512; on AVX2 machines at::linear in bf16 runs at ~1 GFLOP/s, against
// ~150 GFLOP/s for fp32). The weights stay the mapped bf16 bytes: each
// 16-value chunk of a row is widened to fp32 in registers (a bf16 value is
// the upper half of an fp32 one), so nothing is upcast in memory. Products
// accumulate in fp32. Torch-free; decoder_blocks.cpp wraps it for tensors
// and splits the output rows over the intra-op threads.

#include <cstdint>
#include <functional>

namespace moescope::model::kernels {

// True when this CPU runs the AVX2 + FMA kernels (checked once at run time).
bool bf16GemmSupported();

// Rearranges fp32 activations x [m, k] (row stride ldx) into the layout the
// kernel reads: per row, each full 16-value chunk as its 8 even then its 8
// odd values (the order in which one 32-byte bf16 load widens), the k % 16
// tail unchanged. packed holds m * k floats.
void packBf16GemmInput(const float *x, std::int64_t ldx, std::int64_t m, std::int64_t k, float *packed);

// y[i, n] = sum_j x[i, j] * w[n, j] for output columns n in [nBegin, nEnd):
// x packed by packBf16GemmInput [m, k]; w bf16 bits, nn.Linear layout
// [out, k] with row stride ldw; y fp32 [m, out] with row stride ldy. Column
// ranges may run concurrently (they write disjoint columns).
void bf16WeightGemm(const float *packedX, std::int64_t m, std::int64_t k, const std::uint16_t *w, std::int64_t ldw,
                    float *y, std::int64_t ldy, std::int64_t nBegin, std::int64_t nEnd);

// y[i, n] = sum_j x[i, j] * w[j, n] for input-major bf16 weights w [k, out]
// (row stride ldw; gpt_oss' stacked experts), x fp32 [m, k] unpacked with
// row stride ldx, columns n in [nBegin, nEnd). AVX2 + FMA; the same sums for
// any m.
void bf16InputMajorGemm(const float *x, std::int64_t ldx, std::int64_t m, std::int64_t k, const std::uint16_t *w,
                        std::int64_t ldw, float *y, std::int64_t ldy, std::int64_t nBegin, std::int64_t nEnd);

// The AVX512_BF16 path (bf16_dot_gemm.cpp): activations rounded to bf16,
// products by vdpbf16ps, fp32 accumulation in one fixed order per output
// whatever m is (see that file). True when this CPU has the instructions.
bool bf16DotSupported();

// Rounds fp32 rows x [m, k] (row stride ldx) to bf16 (nearest even) into
// packed [m, k] (row stride k), the layout bf16DotGemm reads.
void packBf16DotInput(const float *x, std::int64_t ldx, std::int64_t m, std::int64_t k, std::uint16_t *packed);

// y[i, n] = sum_j x[i, j] * w[n, j] for output columns n in [nBegin, nEnd):
// x bf16 [m, k] with row stride k, w bf16 nn.Linear layout [out, k] with row
// stride ldw, y fp32 [m, out] with row stride ldy. Column ranges may run
// concurrently; each y element is the same bits for any m and any range.
void bf16DotGemm(const std::uint16_t *x, std::int64_t m, std::int64_t k, const std::uint16_t *w, std::int64_t ldw,
                 float *y, std::int64_t ldy, std::int64_t nBegin, std::int64_t nEnd);

// y[m, n] = a[m, k] . b[k, n], all fp32 with row strides lda, ldb, ldy, on
// one thread (attention's score and value products, whose callers split
// the heads over threads). Reads b in 16-column blocks: for the last block
// columns up to the next multiple of 16 must be readable (their values do
// not matter), i.e. b has at least (k - 1) * ldb + roundUp(n, 16) floats.
void fp32MatMul(const float *a, std::int64_t lda, const float *b, std::int64_t ldb, std::int64_t m,
                std::int64_t n, std::int64_t k, float *y, std::int64_t ldy);

// Runs job on `threads` threads at once (the caller is one of them) and
// returns when every call has returned. The kernels' parallel regions use
// this instead of OpenMP: libgomp's idle threads spin for milliseconds after
// each region, and on a machine shared with other work the spinning thread
// holds the core the other worker needs (docs/performance.md: 1.5-1.9x at
// load 3). These workers block on a condition variable instead. A call made
// while another is running (from another thread or from inside a job) runs
// job on the caller alone.
void runOnThreads(int threads, const std::function<void()> &job);

} // namespace moescope::model::kernels
