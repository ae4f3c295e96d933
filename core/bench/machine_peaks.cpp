// The one libtorch translation unit of moescope_bench: the machine's peaks,
// measured with the kernels the engine calls (at::linear on bf16 / fp32).
#include "core/bench/machine_peaks.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace moescope::bench {

namespace {

at::ScalarType scalarType(ProbeDtype dtype)
{
    return dtype == ProbeDtype::BF16 ? at::kBFloat16 : at::kFloat;
}

// N(0, 1) tensors in the probe dtype; values do not affect speed but must
// not be denormal or zero (zero-skipping kernels would flatter the result).
at::Tensor randomTensor(at::IntArrayRef shape, ProbeDtype dtype)
{
    return at::randn(shape, at::kFloat).to(scalarType(dtype));
}

std::pair<std::string, std::string> cpuDescription()
{
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line, model, flags;
    while (std::getline(cpuinfo, line) && (model.empty() || flags.empty())) {
        const auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        const auto key = line.substr(0, line.find_first_of(" \t"));
        const auto value = colon + 2 <= line.size() ? line.substr(colon + 2) : std::string();
        if (key == "model" && line.rfind("model name", 0) == 0 && model.empty())
            model = value;
        else if (key == "flags" && flags.empty())
            flags = value;
    }
    // Only the flags that decide which GEMM kernels oneDNN/MKL can use.
    std::set<std::string> wanted = { "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
        "avx512_bf16", "avx512_vnni", "avx512vnni", "amx_bf16", "amx_tile", "amx_int8" };
    std::istringstream all(flags);
    std::string flag, kept;
    while (all >> flag)
        if (wanted.count(flag))
            kept += (kept.empty() ? "" : " ") + flag;
    return { model, kept };
}

} // namespace

std::string probeDtypeName(ProbeDtype dtype)
{
    return dtype == ProbeDtype::BF16 ? "bf16" : "fp32";
}

// ----------------------------------------------------------------- matmul

struct MatmulProbe::Impl
{
    ProbeDtype dtype;
    at::Tensor x, w;
};

MatmulProbe::MatmulProbe(ProbeDtype dtype, std::int64_t m, std::int64_t n, std::int64_t k)
    : m_impl(std::make_unique<Impl>())
{
    c10::InferenceMode guard;
    m_impl->dtype = dtype;
    m_impl->x = randomTensor({ m, k }, dtype);
    m_impl->w = randomTensor({ n, k }, dtype);
}

MatmulProbe::~MatmulProbe() = default;

void MatmulProbe::run()
{
    c10::InferenceMode guard;
    (void)at::linear(m_impl->x, m_impl->w);
}

double MatmulProbe::flops() const
{
    return 2.0 * m_impl->x.size(0) * m_impl->w.size(0) * m_impl->x.size(1);
}

std::string MatmulProbe::label() const
{
    std::ostringstream s;
    s << probeDtypeName(m_impl->dtype) << " matmul [" << m_impl->x.size(0) << "x"
      << m_impl->x.size(1) << "] x [" << m_impl->w.size(0) << "x" << m_impl->w.size(1) << "]^T";
    return s.str();
}

// ----------------------------------------------------------------- read

ReadProbe::ReadProbe(std::size_t bytes, int streams)
    : m_words(std::max<std::size_t>(bytes / 8, 1024)), m_streams(std::max(streams, 1))
{
    // Touch every page now (and with non-zero data) so run() measures reads,
    // not page faults.
    for (std::size_t i = 0; i < m_words.size(); ++i)
        m_words[i] = i * 0x9e3779b97f4a7c15ull;
}

ReadProbe::~ReadProbe() = default;

std::size_t ReadProbe::bytes() const
{
    return m_words.size() * 8;
}

namespace {

// Sums words [0, n) read as `streams` equal parts in 128-byte steps taken in
// turn (the rest at the end), with 256-bit loads: the loads and adds must
// never be what limits the probe.
__attribute__((target("avx2"))) std::uint64_t sumStreamsAvx2(const std::uint64_t *words, std::int64_t n,
                                                              std::int64_t streams)
{
    constexpr std::int64_t kStep = 16; // words per step: four 256-bit loads
    const auto part = n / streams / kStep * kStep;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (std::int64_t offset = 0; offset < part; offset += kStep)
        for (std::int64_t s = 0; s < streams; ++s) {
            const auto *q = reinterpret_cast<const __m256i *>(words + s * part + offset);
            a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(q));
            a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(q + 1));
            a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(q + 2));
            a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(q + 3));
        }
    const __m256i a = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    std::uint64_t lanes[4];
    std::memcpy(lanes, &a, sizeof lanes);
    std::uint64_t sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (auto i = streams * part; i < n; ++i)
        sum += words[i];
    return sum;
}

std::uint64_t sumStreams(const std::uint64_t *words, std::int64_t n, std::int64_t streams)
{
    static const bool avx2 = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") != 0;
    }();
    if (avx2)
        return sumStreamsAvx2(words, n, streams);
    std::uint64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i)
        sum += words[i];
    return sum;
}

} // namespace

std::uint64_t ReadProbe::run()
{
    const auto n = static_cast<std::int64_t>(m_words.size());
    const std::uint64_t *words = m_words.data();
    const int threads = std::max(1, at::get_num_threads());
    std::vector<std::uint64_t> partial(static_cast<std::size_t>(threads), 0);
    // One contiguous slice per thread, on plain threads: through
    // at::parallel_for (OpenMP) the same loop read 13 GB/s where two
    // std::threads read 26-38.
    const auto slice = (n + threads - 1) / threads;
    auto sumSlice = [&](int t) {
        const auto begin = std::min(n, t * slice), end = std::min(n, begin + slice);
        partial[static_cast<std::size_t>(t)] = sumStreams(words + begin, end - begin, m_streams);
    };
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t)
        workers.emplace_back(sumSlice, t);
    sumSlice(0);
    for (auto &w : workers)
        w.join();
    std::uint64_t sum = 0;
    for (auto p : partial)
        sum += p;
    return sum;
}

// ----------------------------------------------------------------- matvec

struct MatvecProbe::Impl
{
    ProbeDtype dtype;
    at::Tensor x;
    std::vector<at::Tensor> weights;
};

MatvecProbe::MatvecProbe(
    ProbeDtype dtype, std::int64_t rows, std::int64_t cols, std::size_t totalBytes)
    : m_impl(std::make_unique<Impl>())
{
    c10::InferenceMode guard;
    m_impl->dtype = dtype;
    m_impl->x = randomTensor({ 1, cols }, dtype);
    const auto elementBytes = dtype == ProbeDtype::BF16 ? 2 : 4;
    const auto perMatrix = static_cast<std::size_t>(rows * cols * elementBytes);
    const auto count = std::max<std::size_t>(totalBytes / perMatrix, 1);
    for (std::size_t i = 0; i < count; ++i)
        m_impl->weights.push_back(randomTensor({ rows, cols }, dtype));
}

MatvecProbe::~MatvecProbe() = default;

void MatvecProbe::run()
{
    c10::InferenceMode guard;
    for (const auto &w : m_impl->weights)
        (void)at::linear(m_impl->x, w);
}

std::size_t MatvecProbe::bytes() const
{
    std::size_t total = 0;
    for (const auto &w : m_impl->weights)
        total += static_cast<std::size_t>(w.numel() * w.element_size());
    return total;
}

std::string MatvecProbe::label() const
{
    const auto &w = m_impl->weights.front();
    std::ostringstream s;
    s << probeDtypeName(m_impl->dtype) << " matvec [1x" << w.size(1) << "] x [" << w.size(0) << "x"
      << w.size(1) << "]^T over " << (bytes() >> 20) << " MiB";
    return s.str();
}

// ----------------------------------------------------------------- all

MachinePeaks measureMachinePeaks(const PeakOptions &options)
{
    MachinePeaks peaks;
    std::tie(peaks.cpu, peaks.cpuFlags) = cpuDescription();
    peaks.threads = options.threads > 0
        ? options.threads
        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(peaks.threads);
    const double seconds = options.secondsPerProbe;

    // Square (the usual peak figure), prefill-shaped (512 tokens through a
    // 2048x2048 projection) and expert-shaped (64 tokens, 2048 -> 1024): the
    // peak is the best of them.
    struct Shape
    {
        std::int64_t m, n, k;
    };
    const Shape shapes[] = { { 2048, 2048, 2048 }, { 512, 2048, 2048 }, { 64, 1024, 2048 } };
    for (auto dtype : { ProbeDtype::BF16, ProbeDtype::F32 }) {
        double best = 0.0;
        for (const auto &s : shapes) {
            MatmulProbe probe(dtype, s.m, s.n, s.k);
            const double gflops = bestRate([&] { probe.run(); }, probe.flops(), seconds) / 1e9;
            peaks.details.push_back({ probe.label() + " GFLOP/s", gflops });
            best = std::max(best, gflops);
        }
        (dtype == ProbeDtype::BF16 ? peaks.bf16Gflops : peaks.fp32Gflops) = best;
    }
    // The read peak is the best of one and eight streams per thread.
    for (int streams : { 1, 8 }) {
        ReadProbe probe(options.readBytes, streams);
        volatile std::uint64_t sink = 0;
        const double gbps = bestRate([&] { sink = sink + probe.run(); },
                                static_cast<double>(probe.bytes()), seconds)
            / 1e9;
        peaks.details.push_back({ "read " + std::to_string(probe.bytes() >> 20) + " MiB, "
                + std::to_string(peaks.threads) + " threads x " + std::to_string(streams) + " streams GB/s",
            gbps });
        peaks.readGBps = std::max(peaks.readGBps, gbps);
    }
    // Decode streams each chosen expert's gate/up [1024x2048] and down
    // [2048x1024] once per token.
    for (auto dtype : { ProbeDtype::BF16, ProbeDtype::F32 }) {
        MatvecProbe probe(dtype, 1024, 2048, options.readBytes / 2);
        const double gbps
            = bestRate([&] { probe.run(); }, static_cast<double>(probe.bytes()), seconds) / 1e9;
        peaks.details.push_back({ probe.label() + " GB/s", gbps });
        (dtype == ProbeDtype::BF16 ? peaks.bf16MatvecGBps : peaks.fp32MatvecGBps) = gbps;
    }
    return peaks;
}

MachinePeaks bestOf(const MachinePeaks &a, const MachinePeaks &b)
{
    MachinePeaks best = a;
    best.bf16Gflops = std::max(a.bf16Gflops, b.bf16Gflops);
    best.fp32Gflops = std::max(a.fp32Gflops, b.fp32Gflops);
    best.readGBps = std::max(a.readGBps, b.readGBps);
    best.bf16MatvecGBps = std::max(a.bf16MatvecGBps, b.bf16MatvecGBps);
    best.fp32MatvecGBps = std::max(a.fp32MatvecGBps, b.fp32MatvecGBps);
    for (const auto &m : b.details) {
        const auto same = std::find_if(best.details.begin(), best.details.end(),
            [&](const Measurement &d) { return d.label == m.label; });
        if (same == best.details.end())
            best.details.push_back(m);
        else
            same->value = std::max(same->value, m.value);
    }
    return best;
}

} // namespace moescope::bench
