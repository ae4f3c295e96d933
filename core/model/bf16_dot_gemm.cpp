// AVX512_BF16 kernels for bf16 weights (bf16_gemm.h). vdpbf16ps multiplies
// 32 pairs of bf16 values and adds each pair's two products into one of 16
// fp32 lanes: twice the multiply-adds of an fp32 FMA per instruction and no
// widening of the weights, at the price of bf16 activations (rounded to
// nearest even, as transformers' bf16 models and llama.cpp hold them). The
// functions carry target attributes, so this file builds with the baseline
// flags and bf16DotSupported() guards every call.
//
// Batch invariance (docs/engine.md "Batch invariance"): every output element
// is reduced in one fixed order whatever the number of rows, the tile it
// falls in or the thread that computes it: lane l accumulates pairs
// (32c + 2l, 32c + 2l + 1) for chunks c = 0, 1, .. in order over the whole
// of k (the k % 32 tail as a zero-masked chunk), then the 16 lanes are added
// in one tree, (l, l + 8), (l, l + 4), (l, l + 2), (l, l + 1). The paths
// below differ only in how many elements they compute at once.
#include "core/model/bf16_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>

// GCC 12's _mm512_shuffle_* pass an "undefined" vector that -Wuninitialized
// reports inside the intrinsic headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#ifndef MOESCOPE_DOT_MR
#define MOESCOPE_DOT_MR 4
#define MOESCOPE_DOT_NR 4
#endif
#define MOESCOPE_DOT_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

namespace moescope::model::kernels {

namespace {

constexpr std::int64_t kDotChunk = 32; // bf16 values per 64-byte load

MOESCOPE_DOT_TARGET inline __m512bh loadBf16(const std::uint16_t *p)
{
    return (__m512bh)_mm512_loadu_si512(p);
}

MOESCOPE_DOT_TARGET inline __m512bh loadBf16(const std::uint16_t *p, __mmask32 mask)
{
    return (__m512bh)_mm512_maskz_loadu_epi16(mask, p);
}

// The reduction tree of the header comment for 16 accumulators at once:
// returns a vector whose lane (4 q + p) holds the sum of v[4 p + q]'s lanes.
// Each step adds exactly the pairs the one-vector tree adds (floating-point
// addition is commutative, so only the grouping matters).
MOESCOPE_DOT_TARGET inline __m512 reduce16(const __m512 (&v)[16])
{
    __m512 t[8], u[4], w[2];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) // (l, l + 8): v[2i] in lanes 0-7, v[2i + 1] in 8-15
        t[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xEE));
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) // (l, l + 4): 128-bit block q holds v[4j + q]
        u[j] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * j], t[2 * j + 1], 0x88),
                             _mm512_shuffle_f32x4(t[2 * j], t[2 * j + 1], 0xDD));
#pragma GCC unroll 2
    for (int s = 0; s < 2; ++s) // (l, l + 2): block q, lanes 0-1 v[8s + q], 2-3 v[8s + 4 + q]
        w[s] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * s], u[2 * s + 1], 0x44),
                             _mm512_shuffle_ps(u[2 * s], u[2 * s + 1], 0xEE));
    // (l, l + 1): block q, lane p holds v[4p + q]
    return _mm512_add_ps(_mm512_shuffle_ps(w[0], w[1], 0x88), _mm512_shuffle_ps(w[0], w[1], 0xDD));
}

// y[i * ldy + j * ldyCol] = x row i . w row j, for MR x rows (row stride ldx)
// and NR weight rows (row stride ldw), over all k values.
template <int MR, int NR>
MOESCOPE_DOT_TARGET void dotTile(const std::uint16_t *x, std::int64_t ldx, const std::uint16_t *w,
                                 std::int64_t ldw, std::int64_t k, float *y, std::int64_t ldy,
                                 std::int64_t ldyCol)
{
    __m512 acc[MR][NR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
        for (int j = 0; j < NR; ++j)
            acc[i][j] = _mm512_setzero_ps();
    const auto main = k - k % kDotChunk;
    for (std::int64_t c = 0; c < main; c += kDotChunk) {
        __m512bh xv[MR];
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i)
            xv[i] = loadBf16(x + i * ldx + c);
#pragma GCC unroll 16
        for (int j = 0; j < NR; ++j) {
            const __m512bh wv = loadBf16(w + j * ldw + c);
#pragma GCC unroll 16
            for (int i = 0; i < MR; ++i)
                acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv[i], wv);
        }
    }
    if (main < k) {
        const auto mask = static_cast<__mmask32>((1ull << (k - main)) - 1);
        __m512bh xv[MR];
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i)
            xv[i] = loadBf16(x + i * ldx + main, mask);
#pragma GCC unroll 16
        for (int j = 0; j < NR; ++j) {
            const __m512bh wv = loadBf16(w + j * ldw + main, mask);
#pragma GCC unroll 16
            for (int i = 0; i < MR; ++i)
                acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv[i], wv);
        }
    }
    // Reduced 16 accumulators at a time; accumulator a = i * NR + j goes
    // to lane 4 (a % 4) + a / 4 of its group's sums.
    constexpr int kCount = MR * NR;
#pragma GCC unroll 2
    for (int g = 0; g < kCount; g += 16) {
        __m512 v[16];
#pragma GCC unroll 16
        for (int a = 0; a < 16; ++a)
            v[a] = g + a < kCount ? acc[(g + a) / NR][(g + a) % NR] : _mm512_setzero_ps();
        alignas(64) float sums[16];
        _mm512_store_ps(sums, reduce16(v));
#pragma GCC unroll 16
        for (int a = 0; a < 16 && g + a < kCount; ++a)
            y[((g + a) / NR) * ldy + ((g + a) % NR) * ldyCol] = sums[4 * (a % 4) + a / 4];
    }
}

using DotTileFn = void (*)(const std::uint16_t *, std::int64_t, const std::uint16_t *, std::int64_t,
                           std::int64_t, float *, std::int64_t, std::int64_t);

// Register tiles: kDotMr x rows by kDotNr weight rows of accumulators, plus
// kDotMr x vectors and a weight vector (of the 32 zmm registers).
constexpr int kDotMr = MOESCOPE_DOT_MR, kDotNr = MOESCOPE_DOT_NR;

template <int MR, int... NR> constexpr std::array<DotTileFn, sizeof...(NR)> dotTileRow(std::integer_sequence<int, NR...>)
{
    return { dotTile<MR, NR + 1>... };
}

template <int... MR> constexpr auto dotTileTable(std::integer_sequence<int, MR...>)
{
    return std::array { dotTileRow<MR + 1>(std::make_integer_sequence<int, kDotNr>())... };
}

// Edge tiles have fewer rows or columns (mr <= kDotMr, nr <= kDotNr).
DotTileFn dotTileFor(int mr, int nr)
{
    static constexpr auto table = dotTileTable(std::make_integer_sequence<int, kDotMr>());
    return table[static_cast<std::size_t>(mr - 1)][static_cast<std::size_t>(nr - 1)];
}

// One row of x (decode) is bound by memory reads: as in the AVX2 kernel the
// weight rows are split into parts read in lockstep, so that each part is
// one long sequential stream.
constexpr int kDotVectorParts = 8;

// x rows kept in L2 while every weight row of the range passes them: about
// 384 KB of bf16 rows.
constexpr std::int64_t kDotRowBlockBytes = 384 * 1024;

} // namespace

bool bf16DotSupported()
{
    static const bool supported = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
               && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
               && __builtin_cpu_supports("avx512bf16");
    }();
    return supported;
}

MOESCOPE_DOT_TARGET void packBf16DotInput(const float *x, std::int64_t ldx, std::int64_t m, std::int64_t k,
                                          std::uint16_t *packed)
{
    for (std::int64_t i = 0; i < m; ++i) {
        const float *row = x + i * ldx;
        std::uint16_t *out = packed + i * k;
        for (std::int64_t c = 0; c < k; c += 16) {
            const auto n = std::min<std::int64_t>(16, k - c);
            const auto mask = static_cast<__mmask16>((1u << n) - 1);
            const __m256bh b = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, row + c));
            _mm256_mask_storeu_epi16(out + c, mask, (__m256i)b);
        }
    }
}

void bf16DotGemm(const std::uint16_t *x, std::int64_t m, std::int64_t k, const std::uint16_t *w, std::int64_t ldw,
                 float *y, std::int64_t ldy, std::int64_t nBegin, std::int64_t nEnd)
{
    const auto rows = nEnd - nBegin;
    if (m == 1) {
        const auto part = rows / kDotVectorParts;
        const auto *wb = w + nBegin * ldw;
        float *yb = y + nBegin;
        for (std::int64_t r = 0; r < part; ++r)
            dotTile<1, kDotVectorParts>(x, k, wb + r * ldw, part * ldw, k, yb + r, 0, part);
        for (auto n = kDotVectorParts * part; n < rows; n += kDotNr) {
            const int nr = static_cast<int>(std::min<std::int64_t>(kDotNr, rows - n));
            dotTileFor(1, nr)(x, k, wb + n * ldw, ldw, k, yb + n, 0, 1);
        }
        return;
    }
    const auto rowBlock = std::max<std::int64_t>(kDotMr, kDotRowBlockBytes / std::max<std::int64_t>(2 * k, 1) / kDotMr * kDotMr);
    for (std::int64_t i0 = 0; i0 < m; i0 += rowBlock) {
        const auto iEnd = std::min(m, i0 + rowBlock);
        for (auto n = nBegin; n < nEnd; n += kDotNr) {
            const int nr = static_cast<int>(std::min<std::int64_t>(kDotNr, nEnd - n));
            for (auto i = i0; i < iEnd; i += kDotMr) {
                const int mr = static_cast<int>(std::min<std::int64_t>(kDotMr, iEnd - i));
                dotTileFor(mr, nr)(x + i * k, k, w + n * ldw, ldw, k, y + i * ldy + n, ldy, 1);
            }
        }
    }
}

} // namespace moescope::model::kernels
