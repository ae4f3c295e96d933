// The bf16-weight kernels behind linearLayer (core/model/bf16_gemm.h), each
// path this CPU runs (kernel_paths.h: the AVX2 kernel with fp32 activations,
// the AVX512_BF16 one with bf16 activations), against an fp64 product of the
// same values: tile and panel edges (rows not multiples of 3, 4 or 6,
// columns not multiples of 4, 8 or 16, k not a multiple of 16 or 32 or
// longer than a panel), strided weight rows, bias, batch dimensions and the
// dtype of the result; every output element the same bits for any number of
// rows (batch invariance); the MoE block's kernel path.
#include "core/model/decoder.h"
#include "core/model/bf16_gemm.h"
#include "core/model/kernel_paths.h"
#include "model_test_support.h"

#include <cstring>
#include <iostream>
#include <random>

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

using namespace moescope::model;

namespace {

// fp64 reference of x W^T (+ b) over the exact bf16 values.
at::Tensor reference(const at::Tensor &x, const at::Tensor &w, const at::Tensor &b = {})
{
    auto y = at::linear(x.to(at::kDouble), w.to(at::kDouble));
    return b.defined() ? y + b.to(at::kDouble) : y;
}

double maxRelativeError(const at::Tensor &y, const at::Tensor &ref)
{
    return ((y.to(at::kDouble) - ref).abs().max() / ref.abs().max()).item<double>();
}

// Runs check once per bf16 kernel path this CPU has, with that path forced
// for every product; a path the CPU lacks is named on stdout.
void forEachKernelPath(const std::function<void(kernels::KernelPath)> &check)
{
    bool ran = false;
    for (auto path : { kernels::KernelPath::Avx2Widen, kernels::KernelPath::Avx512Dot }) {
        if (!kernels::pathSupported(path)) {
            std::cout << "[ SKIPPED  ] kernel path " << kernels::pathName(path)
                      << ": this CPU does not have its instructions\n";
            continue;
        }
        SCOPED_TRACE(kernels::pathName(path));
        kernels::forcePath(path);
        try {
            check(path);
        } catch (...) {
            kernels::forcePath(std::nullopt);
            throw;
        }
        kernels::forcePath(std::nullopt);
        ran = true;
    }
    if (!ran)
        GTEST_SKIP() << "no bf16 kernel runs on this CPU";
}

// The activations as the path sees them: the AVX512_BF16 kernel rounds them
// to bf16.
at::Tensor asSeenBy(kernels::KernelPath path, const at::Tensor &x)
{
    return path == kernels::KernelPath::Avx512Dot ? x.to(at::kBFloat16).to(at::kFloat) : x;
}

} // namespace

TEST(Bf16Kernel, MatchesAnFp64ProductAtEveryTileEdge)
{
    c10::InferenceMode guard;
    forEachKernelPath([](kernels::KernelPath path) {
        at::manual_seed(3);
        for (const auto &[m, n, k] : std::vector<std::tuple<int, int, int>> {
                 { 1, 1, 1 }, { 1, 130, 2048 }, { 1, 1000, 530 }, { 2, 7, 33 }, { 3, 45, 4500 }, { 5, 100, 530 },
                 { 9, 256, 15 }, { 15, 40, 64 }, { 16, 16, 16 }, { 17, 33, 530 }, { 64, 97, 1040 },
                 { 200, 300, 2100 } }) {
            const auto x = at::randn({ m, k });
            const auto w = at::randn({ n, k }).to(at::kBFloat16);
            ASSERT_TRUE(usesBf16Kernel(w));
            const auto y = linearLayer(x, w);
            EXPECT_EQ(y.scalar_type(), at::kFloat);
            EXPECT_EQ(y.sizes(), (std::vector<std::int64_t> { m, n }));
            // fp32 accumulation over k products: relative error far below bf16's 2^-8.
            EXPECT_LE(maxRelativeError(y, reference(asSeenBy(path, x), w)), 1e-5) << m << "x" << n << "x" << k;
        }
    });
}

// Batch invariance by construction: an output element is summed in one
// order whatever the number of rows or the column range a thread takes, so
// each row of a product equals that row alone, bit for bit, on every path
// (the AVX2 kernel switches from register transposes to packed panels at 4
// rows; both run the same chains).
TEST(Bf16Kernel, EachRowIsTheSameBitsAloneAndInAnyBatch)
{
    forEachKernelPath([](kernels::KernelPath path) {
        const kernels::Bf16Product product { path };
        std::mt19937 random(9);
        std::normal_distribution<float> normal;
        for (const auto &[n, k] : std::vector<std::pair<std::int64_t, std::int64_t>> {
                 { 37, 2100 }, { 64, 4500 }, { 19, 33 }, { 8, 16 }, { 5, 7 }, { 100, 512 } }) {
            const std::int64_t rows = 21;
            std::vector<float> x(static_cast<std::size_t>(rows * k));
            for (auto &v : x)
                v = normal(random);
            const auto w = at::randn({ n, k }).to(at::kBFloat16);
            const auto *wp = reinterpret_cast<const std::uint16_t *>(w.data_ptr());
            auto run = [&](std::int64_t first, std::int64_t m, std::int64_t split) {
                std::vector<std::uint8_t> packed(product.packedBytes(m, k));
                product.pack(x.data() + first * k, k, m, k, packed.data());
                std::vector<float> y(static_cast<std::size_t>(m * n));
                for (std::int64_t c = 0; c < n; c += split) // column ranges as threads take them
                    product.multiply(packed.data(), m, k, wp, k, y.data(), n, c, std::min(n, c + split));
                return y;
            };
            const auto all = run(0, rows, n);
            for (const std::int64_t m : { 1, 2, 3, 4, 5, 16, 17 })
                for (std::int64_t first = 0; first + m <= rows; first += m) {
                    const auto part = run(first, m, m % 2 ? 7 : n);
                    EXPECT_EQ(std::memcmp(part.data(), all.data() + first * n, part.size() * sizeof(float)), 0)
                        << n << "x" << k << ": rows " << first << ".." << first + m - 1;
                }
        }
    });
}

// The AVX512_BF16 kernel against a plain emulation of its order: lane l of
// 16 adds the products of values (32c + 2l, 32c + 2l + 1) chunk by chunk,
// then the lanes are added as (l, l + 8), (l, l + 4), (l, l + 2), (l, l + 1).
// How vdpbf16ps rounds between its two products is the CPU's own (Intel
// documents two roundings); the emulation rounds after each, so the bound is
// a few ulps rather than bit equality.
TEST(Bf16Kernel, DotKernelFollowsItsDocumentedOrder)
{
    if (!kernels::bf16DotSupported())
        GTEST_SKIP() << "this CPU has no AVX512_BF16 instructions";
    std::mt19937 random(4);
    std::normal_distribution<float> normal;
    auto bits = [](float v) { return at::tensor({ v }).to(at::kBFloat16).view(at::kShort).item<std::int16_t>(); };
    auto value = [](std::uint16_t b) {
        const std::uint32_t u = static_cast<std::uint32_t>(b) << 16;
        float f;
        std::memcpy(&f, &u, sizeof f);
        return f;
    };
    for (const std::int64_t k : { 1, 31, 32, 33, 100, 2048, 2051 }) {
        std::vector<std::uint16_t> x(static_cast<std::size_t>(k)), w(static_cast<std::size_t>(k));
        for (std::int64_t i = 0; i < k; ++i) {
            x[static_cast<std::size_t>(i)] = static_cast<std::uint16_t>(bits(normal(random)));
            w[static_cast<std::size_t>(i)] = static_cast<std::uint16_t>(bits(normal(random)));
        }
        float lanes[16] = {};
        for (std::int64_t c = 0; c < k; c += 32)
            for (int l = 0; l < 16; ++l)
                for (const std::int64_t i : { c + 2 * l + 1, c + 2 * l })
                    if (i < k)
                        lanes[l] += value(x[static_cast<std::size_t>(i)]) * value(w[static_cast<std::size_t>(i)]);
        for (const int half : { 8, 4, 2, 1 })
            for (int l = 0; l < half; ++l)
                lanes[l] += lanes[l + half];
        float y = 0.0f;
        kernels::bf16DotGemm(x.data(), 1, k, w.data(), k, &y, 1, 0, 1);
        double magnitude = 0.0;
        for (std::int64_t i = 0; i < k; ++i)
            magnitude += std::abs(value(x[static_cast<std::size_t>(i)]) * value(w[static_cast<std::size_t>(i)]));
        EXPECT_LE(std::abs(y - lanes[0]), 4e-7 * magnitude) << "k = " << k;
    }
}

TEST(Bf16Kernel, StridedRowsBiasBatchDimsAndBf16Activations)
{
    forEachKernelPath([](kernels::KernelPath) {
        c10::InferenceMode guard;
        at::manual_seed(4);
        // A per-expert view into a stacked tensor: rows 40..89 of [120, 64].
        const auto stacked = at::randn({ 120, 64 }).to(at::kBFloat16);
        const auto w = stacked.narrow(0, 40, 50);
        const auto bias = at::randn({ 50 }).to(at::kBFloat16);
        const auto x = at::randn({ 2, 3, 64 }).to(at::kBFloat16);
        const auto y = linearLayer(x, w, bias);
        EXPECT_EQ(y.scalar_type(), at::kBFloat16);
        EXPECT_EQ(y.sizes(), (std::vector<std::int64_t> { 2, 3, 50 }));
        // One bf16 rounding of the result.
        EXPECT_LE(maxRelativeError(y, reference(x, w, bias)), 1.0 / 128);
        // A column-sliced weight (rows not contiguous) is not for the kernel.
        EXPECT_FALSE(usesBf16Kernel(stacked.narrow(1, 0, 32).t()));
        EXPECT_FALSE(usesBf16Kernel(at::randn({ 4, 4 })));
    });
}

TEST(Bf16Kernel, SameResultWithOneThreadAndWithAll)
{
    forEachKernelPath([](kernels::KernelPath) {
        c10::InferenceMode guard;
        at::manual_seed(5);
        const auto x = at::randn({ 37, 300 });
        const auto w = at::randn({ 1000, 300 }).to(at::kBFloat16);
        const int threads = at::get_num_threads();
        const auto all = linearLayer(x, w);
        at::set_num_threads(1);
        const auto one = linearLayer(x, w);
        at::set_num_threads(threads);
        // Each output is one dot product computed the same way whoever owns it.
        EXPECT_TRUE(at::equal(all, one));
    });
}

// projectAll runs q/k/v (or gate/up) in one kernel region over a shared
// block numbering: each result must be exactly what its projection alone
// gives, for a product small enough to stay on the calling thread and for
// large ones split over the threads, with and without bias, and a product
// the kernel does not take (fp32 weight) sends all of them the plain way.
TEST(Bf16Kernel, ProjectAllEqualsEachProjectionAlone)
{
    forEachKernelPath([](kernels::KernelPath) {
        c10::InferenceMode guard;
        at::manual_seed(6);
        const auto bf16 = [](std::int64_t n, std::int64_t k) { return at::randn({ n, k }).to(at::kBFloat16); };
        for (const std::int64_t rows : { 1, 5 }) {
            const auto x = at::randn({ 1, rows, 512 });
            Projection q { bf16(700, 512), at::randn({ 700 }).to(at::kBFloat16) };
            Projection k { bf16(100, 512), {} }; // ends inside a 48-column block
            Projection v { bf16(1000, 512), {} };
            Projection router { bf16(8, 512), {} }; // below the one-thread threshold on its own
            for (const auto &set : std::vector<std::vector<const Projection *>> {
                     { &q, &k, &v }, { &router }, { &router, &k } }) {
                const auto all = projectAll(x, set);
                ASSERT_EQ(all.size(), set.size());
                for (std::size_t i = 0; i < set.size(); ++i) {
                    EXPECT_EQ(all[i].sizes(), (std::vector<std::int64_t> { 1, rows, set[i]->weight.size(0) }));
                    EXPECT_TRUE(at::equal(all[i], (*set[i])(x))) << "rows " << rows << ", product " << i;
                }
            }
            Projection plain { at::randn({ 30, 512 }), {} };
            const auto mixed = projectAll(x, { &q, &plain });
            EXPECT_TRUE(at::equal(mixed[0], q(x)));
            EXPECT_LE((mixed[1] - at::linear(x, plain.weight)).abs().max().item<double>(), 1e-5);
        }
    });
}

// MoeBlock's kernel path (runKernelExperts: host grouping, routing weight
// applied before `down`, per-token sums) against its plain ATen path (taken
// under autograd) on the same bf16 weights, for separate gate/up linears
// (mixtral) and granite's fused halves, with a padding token that must get
// no expert output.
TEST(Bf16Kernel, MoeBlockKernelPathMatchesTheAtenPath)
{
    forEachKernelPath([](kernels::KernelPath) {
        for (const std::string family : { "mixtral-bf16", "granitemoe-bf16" }) {
            const auto checkpoint = Checkpoint::open(moescope::test::fixtureDir(family));
            const WeightStore store(checkpoint, at::kBFloat16);
            const MoeBlock block(checkpoint->spec(), store, 0);
            at::manual_seed(5);
            const auto x = at::randn({ 6, checkpoint->spec().hiddenSize }).to(at::kBFloat16);
            MoeStepContext ctx;
            ctx.batch = 2;
            ctx.tokens = 3;
            ctx.validTokens = at::tensor(std::vector<std::uint8_t> { 1, 1, 0, 1, 1, 1 }).to(at::kBool);
            at::Tensor kernel, aten;
            {
                c10::InferenceMode guard;
                kernel = block.forward(x, ctx);
            }
            {
                at::AutoGradMode grad(true);
                aten = block.forward(x, ctx);
            }
            ASSERT_EQ(kernel.sizes(), aten.sizes()) << family;
            EXPECT_EQ(kernel.scalar_type(), at::kBFloat16) << family;
            // Both round to bf16 once at the end (the ATen path also per expert).
            const auto scale = aten.to(at::kDouble).abs().max().item<double>();
            EXPECT_GT(scale, 0.0) << family;
            EXPECT_LE(moescope::test::maxAbsDiff(kernel, aten), 2.0 / 128 * scale) << family;
            EXPECT_EQ(kernel[2].abs().max().item<double>(), 0.0) << family << ": padding token got an expert output";
        }
    });
}

// The kernels' blocking thread pool: every thread runs the job once per call,
// a call from inside a job runs on its caller alone, an exception reaches the
// caller after the other threads have finished.
TEST(Bf16Kernel, BlockingPoolRunsEachThreadOnceNestsInlineAndRethrows)
{
    for (int repeat = 0; repeat < 50; ++repeat) {
        std::atomic<int> calls { 0 }, nested { 0 };
        kernels::runOnThreads(2, [&] {
            ++calls;
            kernels::runOnThreads(2, [&] { ++nested; });
        });
        EXPECT_EQ(calls.load(), 2);
        EXPECT_EQ(nested.load(), 2);
    }
    std::atomic<int> finished { 0 };
    EXPECT_THROW(kernels::runOnThreads(2,
                     [&] {
                         ++finished;
                         throw std::runtime_error("job failed");
                     }),
        std::runtime_error);
    EXPECT_EQ(finished.load(), 2);
}
