// The bf16-weight kernel behind linearLayer (core/model/bf16_gemm.h) against
// an fp64 product of the same bf16 values: each of its three paths (one row,
// a few rows, packed panels from 16 rows), tile and panel edges (rows not
// multiples of 3 or 6, columns not multiples of 3, 6 or 16, k not a multiple
// of 16 or longer than a panel), strided weight rows, bias, batch
// dimensions and the dtype of the result; the MoE block's kernel path.
#include "core/model/decoder.h"
#include "core/model/bf16_gemm.h"
#include "model_test_support.h"

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

} // namespace

TEST(Bf16Kernel, MatchesAnFp64ProductAtEveryTileEdge)
{
    if (!usesBf16Kernel(at::empty({ 1, 1 }, at::kBFloat16)))
        GTEST_SKIP() << "linearLayer uses libtorch's bf16 GEMM on this CPU";
    c10::InferenceMode guard;
    at::manual_seed(3);
    for (const auto &[m, n, k] : std::vector<std::tuple<int, int, int>> {
             { 1, 1, 1 }, { 1, 130, 2048 }, { 1, 1000, 530 }, { 2, 7, 33 }, { 5, 100, 530 }, { 9, 256, 15 },
             { 15, 40, 64 }, { 16, 16, 16 }, { 17, 33, 530 }, { 64, 97, 1040 }, { 200, 300, 2100 } }) {
        const auto x = at::randn({ m, k });
        const auto w = at::randn({ n, k }).to(at::kBFloat16);
        const auto y = linearLayer(x, w);
        EXPECT_EQ(y.scalar_type(), at::kFloat);
        EXPECT_EQ(y.sizes(), (std::vector<std::int64_t> { m, n }));
        // fp32 accumulation over k products: relative error far below bf16's 2^-8.
        EXPECT_LE(maxRelativeError(y, reference(x, w)), 1e-5) << m << "x" << n << "x" << k;
    }
}

TEST(Bf16Kernel, StridedRowsBiasBatchDimsAndBf16Activations)
{
    if (!usesBf16Kernel(at::empty({ 1, 1 }, at::kBFloat16)))
        GTEST_SKIP() << "linearLayer uses libtorch's bf16 GEMM on this CPU";
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
}

TEST(Bf16Kernel, SameResultWithOneThreadAndWithAll)
{
    if (!usesBf16Kernel(at::empty({ 1, 1 }, at::kBFloat16)))
        GTEST_SKIP() << "linearLayer uses libtorch's bf16 GEMM on this CPU";
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
}

// projectAll runs q/k/v (or gate/up) in one kernel region over a shared
// block numbering: each result must be exactly what its projection alone
// gives, for a product small enough to stay on the calling thread and for
// large ones split over the threads, with and without bias, and a product
// the kernel does not take (fp32 weight) sends all of them the plain way.
TEST(Bf16Kernel, ProjectAllEqualsEachProjectionAlone)
{
    if (!usesBf16Kernel(at::empty({ 1, 1 }, at::kBFloat16)))
        GTEST_SKIP() << "linearLayer uses libtorch's bf16 GEMM on this CPU";
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
}

// MoeBlock's kernel path (runKernelExperts: host grouping, routing weight
// applied before `down`, per-token sums) against its plain ATen path (taken
// under autograd) on the same bf16 weights, for separate gate/up linears
// (mixtral) and granite's fused halves, with a padding token that must get
// no expert output.
TEST(Bf16Kernel, MoeBlockKernelPathMatchesTheAtenPath)
{
    if (!usesBf16Kernel(at::empty({ 1, 1 }, at::kBFloat16)))
        GTEST_SKIP() << "linearLayer uses libtorch's bf16 GEMM on this CPU";
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
