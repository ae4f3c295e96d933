// PlanHook and RoutingRecorder on hand-made logits, then through the engine.
#include "core/model/decoder.h"
#include "core/model/moe_model.h"
#include "core/routing/plan_hook.h"
#include "core/routing/routing_recorder.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

using namespace moescope;
using namespace moescope::routing;

namespace {

RouterSite siteFor(int layer, int experts, int k, const at::Tensor *valid = nullptr)
{
    RouterSite s;
    s.layer = layer;
    s.numExperts = experts;
    s.topK = k;
    s.validTokens = valid;
    return s;
}

std::string fixture(const std::string &family)
{
    return std::string(MOESCOPE_TEST_DATA) + "/tiny-moe/" + family;
}

} // namespace

TEST(PlanHook, SteersThenMasksOnlyInsideTheLayerRange)
{
    const auto plan = parsePlan(R"({"mask": [{"layers": [2, 3], "experts": [0]}],
                                    "steer": [{"layers": [1, 2], "experts": [1, 0], "scales": [0.5, 2.0]}]})",
                                "p");
    PlanHook hook(plan);
    const auto original = at::tensor({-2.0f, 4.0f, -1.0f, 3.0f}).reshape({1, 4});

    auto untouched = original.clone();
    hook.beforeSelection(siteFor(0, 4, 2), untouched);
    EXPECT_TRUE(untouched.equal(original));

    auto steered = original.clone();
    hook.beforeSelection(siteFor(1, 4, 2), steered);
    // z + x·|z|: expert 0: -2 + 2·2 = 2; expert 1: 4 + 0.5·4 = 6.
    EXPECT_TRUE(steered.equal(at::tensor({2.0f, 6.0f, -1.0f, 3.0f}).reshape({1, 4})));

    auto both = original.clone();
    hook.beforeSelection(siteFor(2, 4, 2), both);
    EXPECT_FLOAT_EQ(both[0][0].item<float>(), -1e9f); // mask wins over steering
    EXPECT_FLOAT_EQ(both[0][1].item<float>(), 6.0f);

    auto masked = original.clone();
    hook.beforeSelection(siteFor(3, 4, 2), masked);
    EXPECT_TRUE(masked.equal(at::tensor({-1e9f, 4.0f, -1.0f, 3.0f}).reshape({1, 4})));
}

TEST(RoutingRecorder, CountsOnlyRealTokens)
{
    RoutingRecorder recorder(3, 4);
    const auto idx = at::tensor({0L, 2L, 2L, 3L, 1L, 0L}, at::kLong).reshape({3, 2});
    const auto w = at::tensor({0.6f, 0.4f, 0.7f, 0.3f, 0.9f, 0.1f}).reshape({3, 2});
    const auto valid = at::tensor({1, 1, 0}, at::kInt).to(at::kBool);
    recorder.afterSelection(siteFor(1, 4, 2, &valid), idx, w);
    recorder.afterSelection(siteFor(2, 4, 2), idx, w);
    const auto t = recorder.totals();
    EXPECT_EQ(t.tokens, (std::vector<std::uint64_t>{0, 2, 3}));
    EXPECT_EQ(std::vector<std::uint64_t>(t.counts.begin() + 4, t.counts.begin() + 8),
              (std::vector<std::uint64_t>{1, 0, 2, 1}));
    EXPECT_EQ(std::vector<std::uint64_t>(t.counts.begin() + 8, t.counts.end()),
              (std::vector<std::uint64_t>{2, 1, 2, 1}));
    EXPECT_NEAR(t.gateSum[4 + 2], 0.4 + 0.7, 1e-6);
    EXPECT_NEAR(t.gateSum[8 + 0], 0.6 + 0.1, 1e-6);
    recorder.reset();
    EXPECT_EQ(recorder.totals().tokens, (std::vector<std::uint64_t>{0, 0, 0}));
}

TEST(RoutingRecorder, RecordsThroughTheEngineAndSeesMasking)
{
    const auto model = model::MoeModel::load(fixture("qwen2_moe"));
    const std::vector<std::vector<std::int64_t>> prompts = {{5, 9, 200, 31, 7, 77}, {4, 8, 15}};
    RoutingRecorder plain(3, 8);
    model.route(prompts, plain);
    const auto totals = plain.totals();
    for (int layer = 0; layer < 3; ++layer) {
        EXPECT_EQ(totals.tokens[static_cast<std::size_t>(layer)], 9u); // padding is not routed
        std::uint64_t sum = 0;
        for (int e = 0; e < 8; ++e)
            sum += totals.counts[static_cast<std::size_t>(layer * 8 + e)];
        EXPECT_EQ(sum, 9u * 2u);
    }

    PlanHook mask(parsePlan(R"({"mask": [{"layers": [1, 1], "experts": [0, 1, 2, 3]}]})", "p"));
    RoutingRecorder masked(3, 8);
    RouterHookChain chain({&mask, &masked});
    model.route(prompts, chain);
    const auto m = masked.totals();
    for (int e = 0; e < 4; ++e)
        EXPECT_EQ(m.counts[static_cast<std::size_t>(8 + e)], 0u) << "expert " << e;
    EXPECT_EQ(m.counts[0] + m.counts[1] + m.counts[2] + m.counts[3] + m.counts[4] + m.counts[5] + m.counts[6]
                  + m.counts[7],
              totals.counts[0] + totals.counts[1] + totals.counts[2] + totals.counts[3] + totals.counts[4]
                  + totals.counts[5] + totals.counts[6] + totals.counts[7]);
}
