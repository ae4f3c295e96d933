// AVX2 + FMA kernels for bf16 weights (bf16_gemm.h). The functions that use
// the instructions carry target attributes, so this file builds with the
// project's baseline flags and bf16GemmSupported() guards every call.
#include "core/model/bf16_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace moescope::model::kernels {

namespace {

constexpr std::int64_t kChunk = 16; // bf16 values per 32-byte load

float widen(std::uint16_t bits)
{
    return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

// ---- Packed panels, for products with many rows (prefill, busy experts).
//
// Dot-product tiles (one weight row against x, a horizontal sum per output)
// reach ~50 GFLOP/s per core, about half the FMA peak. With enough rows it
// pays to transpose the weights once: kPanel
// weight rows over kKc packed positions become a bf16 panel [kKc][kPanel]
// (64 KB, stays in L2), and an outer-product tile (kPanelMr rows of x
// broadcast against the panel's 16 columns per position, widened to two
// vectors, 12 accumulators) runs over it for every row tile of x. That is
// OpenBLAS's sgemm shape; the packing is amortised over all m rows. (An
// fp32 panel, widened while packing, made the pack cost twice as much for
// one load fewer per position: 5-7% slower at an expert's 64 rows.)
constexpr int kPanel = 16; // weight rows (output columns) per panel: 32 bytes of bf16
constexpr int kPanelMr = 6; // x rows per outer-product tile
// Packed positions per panel (a multiple of kChunk): the whole of k for
// these models; 64-1024 measured slower (more passes over y).
constexpr std::int64_t kKc = 2048;
// Below this the dot-product tiles win (measured crossover 14-16 rows).
constexpr std::int64_t kPanelMinRows = 16;

// Packed positions of one chunk: a chunk's 16 values are packed evens then
// odds (packBf16GemmInput), so value k of a chunk sits at position
// positionOf(k).
constexpr std::int64_t positionOf(int k)
{
    return k % 2 == 0 ? k / 2 : kChunk / 2 + k / 2;
}

__attribute__((target("avx2,fma"))) inline __m256i loadRow(const std::uint16_t *w)
{
    return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w));
}

// Stores rows 0-7 of chunk value j (the low half of c) and of value j + 8
// (the high half) at their packed positions.
__attribute__((target("avx2,fma"))) inline void storeValuePair(std::uint16_t *out, int j, __m256i c)
{
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out + positionOf(j) * kPanel), _mm256_castsi256_si128(c));
    _mm_storeu_si128(
        reinterpret_cast<__m128i *>(out + positionOf(j + 8) * kPanel), _mm256_extracti128_si256(c, 1));
}

// Transposes one chunk (16 values) of 8 weight rows: c[j] holds rows 0-7 of
// value j in its low 128 bits and of value j + 8 in its high 128 bits.
// Three rounds of in-lane unpacks. Spelled out: with arrays and loops GCC
// keeps the vectors on the stack.
__attribute__((target("avx2,fma"), always_inline)) inline void transposeChunk8(
    const std::uint16_t *w, std::int64_t ldw, __m256i (&c)[8])
{
    const __m256i r0 = loadRow(w), r1 = loadRow(w + ldw), r2 = loadRow(w + 2 * ldw),
                  r3 = loadRow(w + 3 * ldw), r4 = loadRow(w + 4 * ldw), r5 = loadRow(w + 5 * ldw),
                  r6 = loadRow(w + 6 * ldw), r7 = loadRow(w + 7 * ldw);
    const __m256i a0 = _mm256_unpacklo_epi16(r0, r1), a1 = _mm256_unpackhi_epi16(r0, r1);
    const __m256i a2 = _mm256_unpacklo_epi16(r2, r3), a3 = _mm256_unpackhi_epi16(r2, r3);
    const __m256i a4 = _mm256_unpacklo_epi16(r4, r5), a5 = _mm256_unpackhi_epi16(r4, r5);
    const __m256i a6 = _mm256_unpacklo_epi16(r6, r7), a7 = _mm256_unpackhi_epi16(r6, r7);
    const __m256i b0 = _mm256_unpacklo_epi32(a0, a2), b1 = _mm256_unpackhi_epi32(a0, a2);
    const __m256i b2 = _mm256_unpacklo_epi32(a1, a3), b3 = _mm256_unpackhi_epi32(a1, a3);
    const __m256i b4 = _mm256_unpacklo_epi32(a4, a6), b5 = _mm256_unpackhi_epi32(a4, a6);
    const __m256i b6 = _mm256_unpacklo_epi32(a5, a7), b7 = _mm256_unpackhi_epi32(a5, a7);
    c[0] = _mm256_unpacklo_epi64(b0, b4);
    c[1] = _mm256_unpackhi_epi64(b0, b4);
    c[2] = _mm256_unpacklo_epi64(b1, b5);
    c[3] = _mm256_unpackhi_epi64(b1, b5);
    c[4] = _mm256_unpacklo_epi64(b2, b6);
    c[5] = _mm256_unpackhi_epi64(b2, b6);
    c[6] = _mm256_unpacklo_epi64(b3, b7);
    c[7] = _mm256_unpackhi_epi64(b3, b7);
}

// The same chunk of 8 rows into the bf16 panel:
// out[positionOf(k) * kPanel + r] = row r's value k.
__attribute__((target("avx2,fma"))) inline void transposeChunk8(
    const std::uint16_t *w, std::int64_t ldw, std::uint16_t *out)
{
    __m256i c[8];
    transposeChunk8(w, ldw, c);
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j)
        storeValuePair(out, j, c[j]);
}

// panel[q][c] = weight row c at packed position p0 + q (bf16 bits), for
// q < len and c < cols (zero for c >= cols). The panel stays bf16: the
// tile widens it with a shift and a mask per position, which costs less
// than widening here and storing twice the bytes.
__attribute__((target("avx2,fma"))) void packWeightPanel(const std::uint16_t *w, std::int64_t ldw,
    int cols, std::int64_t main, std::int64_t p0, std::int64_t len, std::uint16_t *panel)
{
    auto bitsAt = [&](int c, std::int64_t p) -> std::uint16_t { // position p of row c
        if (p >= main)
            return w[c * ldw + p];
        const auto chunk = p - p % kChunk, t = p % kChunk;
        return w[c * ldw + chunk + (t < kChunk / 2 ? 2 * t : 2 * (t - kChunk / 2) + 1)];
    };
    if (cols < kPanel) { // the last columns of a product: rare, so plainly
        for (std::int64_t q = 0; q < len; ++q)
            for (int c = 0; c < kPanel; ++c)
                panel[q * kPanel + c] = c < cols ? bitsAt(c, p0 + q) : std::uint16_t(0);
        return;
    }
    const auto chunkEnd = std::min(p0 + len, main);
    for (std::int64_t c = p0; c < chunkEnd; c += kChunk) {
        transposeChunk8(w + c, ldw, panel + (c - p0) * kPanel);
        transposeChunk8(w + 8 * ldw + c, ldw, panel + (c - p0) * kPanel + 8);
    }
    for (auto p = std::max(p0, main); p < p0 + len; ++p) // the k % 16 tail
        for (int c = 0; c < kPanel; ++c)
            panel[(p - p0) * kPanel + c] = bitsAt(c, p);
}

// Writes (add: adds to) a tile's MR x 16 accumulators, columns in order, to
// y; only the first `cols` columns when the tile is at the product's edge.
template <int MR>
__attribute__((target("avx2,fma"), always_inline)) inline void storeTile(
    const __m256 (&acc)[MR][2], float *y, std::int64_t ldy, int cols, bool add)
{
    if (cols == kPanel) {
#pragma GCC unroll 6
        for (int i = 0; i < MR; ++i) {
            float *row = y + i * ldy;
            _mm256_storeu_ps(row, add ? _mm256_add_ps(_mm256_loadu_ps(row), acc[i][0]) : acc[i][0]);
            _mm256_storeu_ps(
                row + 8, add ? _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[i][1]) : acc[i][1]);
        }
        return;
    }
    // Unrolled like the tiles' loops: indexing acc with a run-time row would
    // keep the accumulators in memory for the whole tile.
    alignas(32) float sums[MR][kPanel];
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
        _mm256_store_ps(sums[i], acc[i][0]);
        _mm256_store_ps(sums[i] + 8, acc[i][1]);
    }
    for (int i = 0; i < MR; ++i) {
        for (int c = 0; c < cols; ++c)
            y[i * ldy + c] = add ? y[i * ldy + c] + sums[i][c] : sums[i][c];
    }
}

// y[MR x cols] (+)= x[MR rows, len positions] . panel[len][16]: the first
// panel along k writes y (no zero-fill pass over it), later ones add. One
// load per position gives the 16 columns' bf16 values; the shift widens the
// even columns and the mask the odd ones, so the accumulators hold columns
// 0, 2, .., 14 and 1, 3, .., 15 and are interleaved back when stored.
template <int MR>
__attribute__((target("avx2,fma"))) void panelTile(const float *x, std::int64_t ldx,
    const std::uint16_t *panel, std::int64_t ldp, std::int64_t len, float *y, std::int64_t ldy, int cols, bool add)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i)
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    const __m256i highHalves = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
#pragma GCC unroll 6
    for (std::int64_t p = 0; p < len; ++p) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(panel + p * ldp));
        const __m256 evens = _mm256_castsi256_ps(_mm256_slli_epi32(raw, 16));
        const __m256 odds = _mm256_castsi256_ps(_mm256_and_si256(raw, highHalves));
#pragma GCC unroll 6
        for (int i = 0; i < MR; ++i) {
            const __m256 a = _mm256_broadcast_ss(x + i * ldx + p);
            acc[i][0] = _mm256_fmadd_ps(a, evens, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(a, odds, acc[i][1]);
        }
    }
    // unpacklo/hi interleave columns 0-3 | 8-11 and 4-7 | 12-15 per lane.
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
        const __m256 lo = _mm256_unpacklo_ps(acc[i][0], acc[i][1]);
        const __m256 hi = _mm256_unpackhi_ps(acc[i][0], acc[i][1]);
        acc[i][0] = _mm256_permute2f128_ps(lo, hi, 0x20);
        acc[i][1] = _mm256_permute2f128_ps(lo, hi, 0x31);
    }
    storeTile<MR>(acc, y, ldy, cols, add);
}

using PanelTileFn = void (*)(const float *, std::int64_t, const std::uint16_t *, std::int64_t, std::int64_t, float *,
    std::int64_t, int, bool);

PanelTileFn panelTileFor(int mr)
{
    static constexpr PanelTileFn tiles[]
        = { panelTile<1>, panelTile<2>, panelTile<3>, panelTile<4>, panelTile<5>, panelTile<6> };
    return tiles[mr - 1];
}

void panelGemm(const float *packedX, std::int64_t m, std::int64_t k, const std::uint16_t *w,
    std::int64_t ldw, float *y, std::int64_t ldy, std::int64_t nBegin, std::int64_t nEnd)
{
    thread_local std::vector<std::uint16_t> panel;
    panel.resize(static_cast<std::size_t>(kKc * kPanel));
    const auto main = k - k % kChunk;
    for (std::int64_t n = nBegin; n < nEnd; n += kPanel) {
        const int cols = static_cast<int>(std::min<std::int64_t>(kPanel, nEnd - n));
        for (std::int64_t kb = 0; kb < k; kb += kKc) {
            const auto len = std::min(kKc, k - kb);
            packWeightPanel(w + n * ldw, ldw, cols, main, kb, len, panel.data());
            for (std::int64_t i = 0; i < m; i += kPanelMr) {
                const int mr = static_cast<int>(std::min<std::int64_t>(kPanelMr, m - i));
                panelTileFor(mr)(
                    packedX + i * k + kb, k, panel.data(), kPanel, len, y + i * ldy + n, ldy, cols, kb > 0);
            }
        }
    }
}

// Input-major weights w [k, out] (gpt_oss' stacked experts) are already a
// panel: row p holds every column's value at position p. The panel tile runs
// on them in place (natural order, x unpacked), one multiply-add chain per
// output element over k whatever m is; the last columns of a row, short of
// 16, go through a zero-padded copy so no load runs past the tensor.
void inputMajorGemm(const float *x, std::int64_t ldx, std::int64_t m, std::int64_t k, const std::uint16_t *w,
    std::int64_t ldw, float *y, std::int64_t ldy, std::int64_t nBegin, std::int64_t nEnd)
{
    thread_local std::vector<std::uint16_t> edge;
    for (std::int64_t n = nBegin; n < nEnd; n += kPanel) {
        const int cols = static_cast<int>(std::min<std::int64_t>(kPanel, nEnd - n));
        const std::uint16_t *panel = w + n;
        std::int64_t ldp = ldw;
        if (cols < kPanel) {
            edge.assign(static_cast<std::size_t>(k * kPanel), 0);
            for (std::int64_t p = 0; p < k; ++p)
                std::copy_n(w + p * ldw + n, cols, edge.data() + p * kPanel);
            panel = edge.data();
            ldp = kPanel;
        }
        for (std::int64_t kb = 0; kb < k; kb += kKc) {
            const auto len = std::min(kKc, k - kb);
            for (std::int64_t i = 0; i < m; i += kPanelMr) {
                const int mr = static_cast<int>(std::min<std::int64_t>(kPanelMr, m - i));
                panelTileFor(mr)(x + i * ldx + kb, ldx, panel + kb * ldp, ldp, len, y + i * ldy + n, ldy, cols, kb > 0);
            }
        }
    }
}

// ---- The same sums for a few rows (decode, small expert groups).
//
// Batch invariance (docs/engine.md) wants every output element summed in
// one order whatever m is, and the panel path's order is the one prefill
// needs: per output column one fused multiply-add chain over the packed
// positions, restarted at every kKc block and the blocks' sums added in
// order. Packing a panel for one row of x costs more than the product
// (8.9 against 25 GB/s), so these tiles transpose 8 weight rows per chunk
// in registers and run the same chains; the columns of one vector are
// rows of w here rather than panel columns, which changes nothing per
// element.

// Packed position p of a chunk (0-15) holds value valueAt(p) of the chunk.
constexpr int valueAt(int p)
{
    return p < kChunk / 2 ? 2 * p : 2 * (p - kChunk / 2) + 1;
}

// y[MR x 8G] (+)= x[MR rows, packed positions p0 .. p0 + len) . 8G rows of
// w. Each column's sum is one chain of dependent multiply-adds, so a chain
// alone waits on the FMA latency at every position: G groups of 8 rows run
// side by side (4 groups: 8.7 -> ~25 GB/s at one row).
template <int MR, int G>
__attribute__((target("avx2,fma"))) void transposedTile(const float *x, std::int64_t ldx, const std::uint16_t *w,
    std::int64_t ldw, std::int64_t main, std::int64_t p0, std::int64_t len, float *y, std::int64_t ldy, bool add)
{
    __m256 acc[MR][G];
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g)
            acc[i][g] = _mm256_setzero_ps();
    const auto end = p0 + len, chunkEnd = std::min(end, main);
    for (auto c = p0; c < chunkEnd; c += kChunk) {
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
            __m256i t[8];
            transposeChunk8(w + 8 * g * ldw + c, ldw, t);
#pragma GCC unroll 16
            for (int p = 0; p < kChunk; ++p) {
                const int v = valueAt(p);
                const __m128i half
                    = v < 8 ? _mm256_castsi256_si128(t[v]) : _mm256_extracti128_si256(t[v - 8], 1);
                const __m256 wv = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16));
#pragma GCC unroll 6
                for (int i = 0; i < MR; ++i)
                    acc[i][g] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i * ldx + c + p), wv, acc[i][g]);
            }
        }
    }
    for (auto p = std::max(p0, main); p < end; ++p) { // the k % 16 tail, not permuted
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
            alignas(32) float wv[8];
            for (int r = 0; r < 8; ++r)
                wv[r] = widen(w[(8 * g + r) * ldw + p]);
#pragma GCC unroll 6
            for (int i = 0; i < MR; ++i)
                acc[i][g] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + i * ldx + p), _mm256_load_ps(wv), acc[i][g]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
            float *out = y + i * ldy + 8 * g;
            _mm256_storeu_ps(out, add ? _mm256_add_ps(_mm256_loadu_ps(out), acc[i][g]) : acc[i][g]);
        }
}

using TransposedTileFn = void (*)(const float *, std::int64_t, const std::uint16_t *, std::int64_t, std::int64_t,
    std::int64_t, std::int64_t, float *, std::int64_t, bool);

// Rows of x up to which transposedTile beats packing a panel (measured:
// equal at 4 rows).
constexpr std::int64_t kTransposedMaxRows = 3;
constexpr int kTransposedGroups = 4;

template <int MR> TransposedTileFn transposedTileFor(int groups)
{
    static constexpr TransposedTileFn tiles[]
        = { transposedTile<MR, 1>, transposedTile<MR, 2>, transposedTile<MR, 3>, transposedTile<MR, 4> };
    return tiles[groups - 1];
}

TransposedTileFn transposedTileFor(std::int64_t mr, int groups)
{
    return mr == 1 ? transposedTileFor<1>(groups) : mr == 2 ? transposedTileFor<2>(groups) : transposedTileFor<3>(groups);
}

// One output element in the panel order, plainly: the weight rows the
// vector tiles cannot fill (fewer than 8 left).
float panelOrderDot(const float *packedX, std::int64_t k, const std::uint16_t *wRow)
{
    const auto main = k - k % kChunk;
    float total = 0.0f;
    for (std::int64_t kb = 0; kb < k; kb += kKc) {
        float acc = 0.0f;
        for (auto p = kb; p < std::min(k, kb + kKc); ++p) {
            const auto value = p < main ? p - p % kChunk + valueAt(static_cast<int>(p % kChunk)) : p;
            acc = std::fma(packedX[p], widen(wRow[value]), acc);
        }
        total = kb == 0 ? acc : total + acc;
    }
    return total;
}

void transposedGemm(const float *packedX, std::int64_t m, std::int64_t k, const std::uint16_t *w,
    std::int64_t ldw, float *y, std::int64_t ldy, std::int64_t nBegin, std::int64_t nEnd)
{
    const auto main = k - k % kChunk;
    auto n = nBegin;
    while (n + 8 <= nEnd) {
        const int groups = static_cast<int>(std::min<std::int64_t>(kTransposedGroups, (nEnd - n) / 8));
        for (std::int64_t kb = 0; kb < k; kb += kKc)
            transposedTileFor(m, groups)(packedX, k, w + n * ldw, ldw, main, kb, std::min(kKc, k - kb), y + n, ldy,
                kb > 0);
        n += 8 * groups;
    }
    for (; n < nEnd; ++n)
        for (std::int64_t i = 0; i < m; ++i)
            y[i * ldy + n] = panelOrderDot(packedX + i * k, k, w + n * ldw);
}

// The fp32 counterpart of panelTile for fp32MatMul: b is read in place
// (16 columns at stride ldb per position), no packing.
template <int MR>
__attribute__((target("avx2,fma"))) void fp32Tile(const float *a, std::int64_t lda, const float *b,
    std::int64_t ldb, std::int64_t len, float *y, std::int64_t ldy, int cols)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i)
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (std::int64_t p = 0; p < len; ++p) {
        const __m256 b0 = _mm256_loadu_ps(b + p * ldb);
        const __m256 b1 = _mm256_loadu_ps(b + p * ldb + 8);
#pragma GCC unroll 6
        for (int i = 0; i < MR; ++i) {
            const __m256 x = _mm256_broadcast_ss(a + i * lda + p);
            acc[i][0] = _mm256_fmadd_ps(x, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(x, b1, acc[i][1]);
        }
    }
    storeTile<MR>(acc, y, ldy, cols, false);
}

using Fp32TileFn = void (*)(const float *, std::int64_t, const float *, std::int64_t, std::int64_t,
    float *, std::int64_t, int);

Fp32TileFn fp32TileFor(int mr)
{
    static constexpr Fp32TileFn tiles[]
        = { fp32Tile<1>, fp32Tile<2>, fp32Tile<3>, fp32Tile<4>, fp32Tile<5>, fp32Tile<6> };
    return tiles[mr - 1];
}

} // namespace

bool bf16GemmSupported()
{
    static const bool supported = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }();
    return supported;
}

void packBf16GemmInput(
    const float *x, std::int64_t ldx, std::int64_t m, std::int64_t k, float *packed)
{
    const auto main = k - k % kChunk;
    for (std::int64_t i = 0; i < m; ++i) {
        const float *row = x + i * ldx;
        float *out = packed + i * k;
        for (std::int64_t c = 0; c < main; c += kChunk)
            for (std::int64_t t = 0; t < kChunk / 2; ++t) {
                out[c + t] = row[c + 2 * t];
                out[c + kChunk / 2 + t] = row[c + 2 * t + 1];
            }
        std::copy(row + main, row + k, out + main);
    }
}

void bf16WeightGemm(const float *packedX, std::int64_t m, std::int64_t k, const std::uint16_t *w,
    std::int64_t ldw, float *y, std::int64_t ldy, std::int64_t nBegin, std::int64_t nEnd)
{
    if (k == 0) {
        for (std::int64_t i = 0; i < m; ++i)
            std::fill(y + i * ldy + nBegin, y + i * ldy + nEnd, 0.0f);
        return;
    }
    // Both write every output, with the same sums (see transposedTile).
    if (m > kTransposedMaxRows)
        panelGemm(packedX, m, k, w, ldw, y, ldy, nBegin, nEnd);
    else
        transposedGemm(packedX, m, k, w, ldw, y, ldy, nBegin, nEnd);
}

void bf16InputMajorGemm(const float *x, std::int64_t ldx, std::int64_t m, std::int64_t k, const std::uint16_t *w,
    std::int64_t ldw, float *y, std::int64_t ldy, std::int64_t nBegin, std::int64_t nEnd)
{
    if (k == 0) {
        for (std::int64_t i = 0; i < m; ++i)
            std::fill(y + i * ldy + nBegin, y + i * ldy + nEnd, 0.0f);
        return;
    }
    inputMajorGemm(x, ldx, m, k, w, ldw, y, ldy, nBegin, nEnd);
}

void fp32MatMul(const float *a, std::int64_t lda, const float *b, std::int64_t ldb, std::int64_t m,
    std::int64_t n, std::int64_t k, float *y, std::int64_t ldy)
{
    for (std::int64_t j = 0; j < n; j += kPanel) {
        const int cols = static_cast<int>(std::min<std::int64_t>(kPanel, n - j));
        for (std::int64_t i = 0; i < m; i += kPanelMr) {
            const int mr = static_cast<int>(std::min<std::int64_t>(kPanelMr, m - i));
            fp32TileFor(mr)(a + i * lda, lda, b + j, ldb, k, y + i * ldy + j, ldy, cols);
        }
    }
}

namespace {

class BlockingPool
{
public:
    void run(int threads, const std::function<void()> &job)
    {
        std::unique_lock call(m_callMutex, std::try_to_lock);
        if (!call.owns_lock() || threads <= 1) {
            job();
            return;
        }
        {
            std::lock_guard lock(m_mutex);
            // Workers are detached and live as long as the process: joining
            // them from a static destructor could race with exit paths.
            while (m_workers < threads - 1) {
                std::thread([this] { work(); }).detach();
                ++m_workers;
            }
            m_job = &job;
            m_wanted = threads - 1;
            m_pending.store(threads - 1, std::memory_order_relaxed);
            m_generation.fetch_add(1, std::memory_order_release);
        }
        m_wake.notify_all();
        std::exception_ptr error;
        try {
            job();
        } catch (...) {
            error = std::current_exception();
        }
        // The workers hold a reference to job: wait for them even on error.
        spinUntil([&] { return m_pending.load(std::memory_order_acquire) == 0; });
        std::unique_lock lock(m_mutex);
        m_done.wait(lock, [&] { return m_pending.load(std::memory_order_acquire) == 0; });
        m_job = nullptr;
        if (!error)
            error = std::exchange(m_error, nullptr);
        m_error = nullptr;
        if (error)
            std::rethrow_exception(error);
    }

private:
    // Waking a thread blocked on a condition variable takes ~0.1 ms on
    // these VMs, longer than a decode step's regions last between them (13
    // regions per token). So waiting starts with a short spin that yields
    // the core to anything runnable (OpenMP's threads, other processes), and
    // only then blocks: unlike libgomp's spin, it never holds a core that
    // another thread wants for a whole time slice.
    template <typename Ready> static bool spinUntil(const Ready &ready)
    {
        const auto deadline = std::chrono::steady_clock::now() + kSpin;
        for (int i = 0;; ++i) {
            if (ready())
                return true;
            if (i % 64 == 63) {
                if (std::chrono::steady_clock::now() > deadline)
                    return false;
                std::this_thread::yield();
            }
        }
    }

    void work()
    {
        std::uint64_t seen = 0;
        for (;;) {
            spinUntil([&] { return m_generation.load(std::memory_order_acquire) != seen; });
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] {
                return m_generation.load(std::memory_order_relaxed) != seen && m_wanted > 0;
            });
            seen = m_generation.load(std::memory_order_relaxed);
            --m_wanted;
            const auto *job = m_job;
            lock.unlock();
            std::exception_ptr error;
            try {
                (*job)();
            } catch (...) {
                error = std::current_exception();
            }
            lock.lock();
            if (error && !m_error)
                m_error = error;
            if (m_pending.fetch_sub(1, std::memory_order_acq_rel) == 1)
                m_done.notify_one();
        }
    }

    static constexpr auto kSpin = std::chrono::microseconds(300);
    std::mutex m_callMutex, m_mutex;
    std::condition_variable m_wake, m_done;
    const std::function<void()> *m_job = nullptr;
    std::exception_ptr m_error; // the first worker's exception of the current run
    std::atomic<std::uint64_t> m_generation { 0 };
    std::atomic<int> m_pending { 0 };
    int m_workers = 0, m_wanted = 0;
};

} // namespace

void runOnThreads(int threads, const std::function<void()> &job)
{
    static auto *pool = new BlockingPool; // never destroyed: see the workers
    pool->run(threads, job);
}

} // namespace moescope::model::kernels
