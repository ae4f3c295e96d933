// AVX2 + FMA kernels for bf16 weights (bf16_gemm.h). The functions that use
// the instructions carry target attributes, so this file builds with the
// project's baseline flags and bf16GemmSupported() guards every call.
#include "core/model/bf16_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace moescope::model::kernels {

namespace {

constexpr std::int64_t kChunk = 16; // bf16 values per 32-byte load
// Blocking for a Zen 3 / Skylake-class core: kMr rows of x over kKBlock
// values (3 x 512 x 4 B = 6 KB) stay in L1 while kNBlock weight rows
// (128 x 512 x 2 B = 128 KB) stay in L2 and are reused by every x tile.
constexpr std::int64_t kKBlock = 512;
constexpr std::int64_t kNBlock = 128;
// 3 x 3 accumulators + 3 widened weights + 1 x = 13 of the 16 ymm registers:
// larger tiles spill an accumulator (measured 4x3, 4x2, 5x2, 2x4: 40-60%
// slower on Zen 3).
constexpr int kMr = 3; // x rows per register tile
constexpr int kNr = 3; // weight rows per register tile

float widen(std::uint16_t bits)
{
    return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

__attribute__((target("avx2,fma"))) inline float horizontalSum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// y[MR x NR] += x[MR rows] . w[NR rows] over `len` packed values (a multiple
// of 16). One 32-byte load holds 16 bf16 values; in each 32-bit lane the low
// half is the even value and the high half the odd one, so a shift gives the
// evens and a mask the odds as fp32, matching the packed x order.
template <int MR, int NR>
__attribute__((target("avx2,fma"))) void tile(const float *x, std::int64_t ldx, const std::uint16_t *w,
                                              std::int64_t ldw, float *y, std::int64_t ldy, std::int64_t len)
{
    __m256 acc[MR][NR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NR; ++j)
            acc[i][j] = _mm256_setzero_ps();
    const __m256i highHalves = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
    for (std::int64_t c = 0; c < len; c += kChunk) {
        __m256i raw[NR];
        __m256 half[NR];
#pragma GCC unroll 4
        for (int j = 0; j < NR; ++j) {
            raw[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w + j * ldw + c));
            half[j] = _mm256_castsi256_ps(_mm256_slli_epi32(raw[j], 16));
        }
#pragma GCC unroll 4
        for (int i = 0; i < MR; ++i) {
            const __m256 xe = _mm256_loadu_ps(x + i * ldx + c);
#pragma GCC unroll 4
            for (int j = 0; j < NR; ++j)
                acc[i][j] = _mm256_fmadd_ps(xe, half[j], acc[i][j]);
        }
#pragma GCC unroll 4
        for (int j = 0; j < NR; ++j)
            half[j] = _mm256_castsi256_ps(_mm256_and_si256(raw[j], highHalves));
#pragma GCC unroll 4
        for (int i = 0; i < MR; ++i) {
            const __m256 xo = _mm256_loadu_ps(x + i * ldx + c + 8);
#pragma GCC unroll 4
            for (int j = 0; j < NR; ++j)
                acc[i][j] = _mm256_fmadd_ps(xo, half[j], acc[i][j]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NR; ++j)
            y[i * ldy + j] += horizontalSum(acc[i][j]);
}

using TileFn = void (*)(const float *, std::int64_t, const std::uint16_t *, std::int64_t, float *, std::int64_t,
                        std::int64_t);

template <int MR>
constexpr TileFn tileFor(int nr)
{
    return nr == 1 ? tile<MR, 1> : nr == 2 ? tile<MR, 2> : tile<MR, 3>;
}

TileFn tileFor(int mr, int nr)
{
    switch (mr) {
    case 1: return tileFor<1>(nr);
    case 2: return tileFor<2>(nr);
    default: return tileFor<3>(nr);
    }
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

void packBf16GemmInput(const float *x, std::int64_t ldx, std::int64_t m, std::int64_t k, float *packed)
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

void bf16WeightGemm(const float *packedX, std::int64_t m, std::int64_t k, const std::uint16_t *w, std::int64_t ldw,
                    float *y, std::int64_t ldy, std::int64_t nBegin, std::int64_t nEnd)
{
    for (std::int64_t i = 0; i < m; ++i)
        std::fill(y + i * ldy + nBegin, y + i * ldy + nEnd, 0.0f);
    const auto main = k - k % kChunk;
    // Weight-row blocks outermost: the k blocks of one row block then touch
    // the same kNBlock pages (TLB- and prefetch-friendly when m is small and
    // the kernel streams the weights), and the per-element summation order
    // (k blocks in order) is that of any other nesting.
    for (std::int64_t nb = nBegin; nb < nEnd; nb += kNBlock) {
        const auto nbEnd = std::min(nb + kNBlock, nEnd);
        for (std::int64_t kb = 0; kb < main; kb += kKBlock) {
            const auto len = std::min(kKBlock, main - kb);
            for (std::int64_t i = 0; i < m; i += kMr) {
                const int mr = static_cast<int>(std::min<std::int64_t>(kMr, m - i));
                for (std::int64_t n = nb; n < nbEnd; n += kNr) {
                    const int nr = static_cast<int>(std::min<std::int64_t>(kNr, nbEnd - n));
                    tileFor(mr, nr)(packedX + i * k + kb, k, w + n * ldw + kb, ldw, y + i * ldy + n, ldy, len);
                }
            }
        }
    }
    if (main == k)
        return;
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t n = nBegin; n < nEnd; ++n) {
            float s = 0.0f;
            for (std::int64_t c = main; c < k; ++c)
                s += packedX[i * k + c] * widen(w[n * ldw + c]);
            y[i * ldy + n] += s;
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
            m_wanted = m_pending = threads - 1;
            ++m_generation;
        }
        m_wake.notify_all();
        std::exception_ptr error;
        try {
            job();
        } catch (...) {
            error = std::current_exception();
        }
        // The workers hold a reference to job: wait for them even on error.
        std::unique_lock lock(m_mutex);
        m_done.wait(lock, [&] { return m_pending == 0; });
        m_job = nullptr;
        if (!error)
            error = std::exchange(m_error, nullptr);
        m_error = nullptr;
        if (error)
            std::rethrow_exception(error);
    }

private:
    void work()
    {
        std::uint64_t seen = 0;
        for (;;) {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_generation != seen && m_wanted > 0; });
            seen = m_generation;
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
            if (--m_pending == 0)
                m_done.notify_one();
        }
    }

    std::mutex m_callMutex, m_mutex;
    std::condition_variable m_wake, m_done;
    const std::function<void()> *m_job = nullptr;
    std::exception_ptr m_error; // the first worker's exception of the current run
    std::uint64_t m_generation = 0;
    int m_workers = 0, m_wanted = 0, m_pending = 0;
};

} // namespace

void runOnThreads(int threads, const std::function<void()> &job)
{
    static auto *pool = new BlockingPool; // never destroyed: see the workers
    pool->run(threads, job);
}

} // namespace moescope::model::kernels
