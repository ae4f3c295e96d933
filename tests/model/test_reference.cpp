// The engine against transformers' own outputs (tests/data/tiny-moe, see its
// README): every tensor of the plain pass, the mask and steer passes through
// the plan mechanism, and greedy generation with the KV cache. bf16 folders
// are loaded with fp32 compute, as their references were made.
#include "model_test_support.h"

#include "core/model/decoder.h"
#include "core/model/moe_model.h"
#include "core/routing/plan_hook.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>

using namespace moescope;
using namespace moescope::model;
using moescope::test::compareTopk;
using moescope::test::fixtureDir;
using moescope::test::maxAbsDiff;

namespace {

constexpr double kLogitsTol = 1e-4; // fixture README
constexpr double kHiddenTol = 1e-5;
constexpr double kRouterTol = 1e-5;

class ReferenceTest : public ::testing::TestWithParam<std::string>
{
protected:
    void SetUp() override
    {
        dir = fixtureDir(GetParam());
        model = std::make_unique<MoeModel>(MoeModel::load(dir, {ComputeDtype::Float32, 0}));
        reference = SafetensorsFile::open(dir + "/reference.safetensors");
        ids = readTensor(*reference, "input_ids");
        const auto json = nlohmann::json::parse(test::readText(dir + "/reference.json"));
        moeLayers = json.at("moe_layers").get<std::vector<int>>();
    }

    at::Tensor ref(const std::string &name) const { return readTensor(*reference, name); }

    at::Tensor logitsWithPlan(const std::string &planJson) const
    {
        const auto plan = routing::parsePlan(planJson, "test plan");
        routing::validatePlan(plan, model->planTarget(), "test plan");
        routing::PlanHook hook(plan);
        ForwardRequest request;
        request.inputIds = ids;
        request.hook = &hook;
        return model->decoder().forward(request);
    }

    std::string dir;
    std::unique_ptr<MoeModel> model;
    std::shared_ptr<SafetensorsFile> reference;
    at::Tensor ids;
    std::vector<int> moeLayers;
};

TEST_P(ReferenceTest, PlainForwardMatchesEveryTensor)
{
    EXPECT_EQ(model->spec().moeLayers(), moeLayers);
    RoutingCapture capture;
    std::vector<at::Tensor> hidden;
    at::Tensor finalNorm;
    ForwardRequest request;
    request.inputIds = ids;
    request.hook = &capture;
    request.hiddenStates = &hidden;
    request.finalNorm = &finalNorm;
    const auto logits = model->decoder().forward(request);

    EXPECT_LE(maxAbsDiff(logits, ref("logits")), kLogitsTol);
    ASSERT_EQ(hidden.size(), static_cast<std::size_t>(model->spec().numLayers));
    for (std::size_t l = 0; l < hidden.size(); ++l)
        EXPECT_LE(maxAbsDiff(hidden[l], ref("hidden." + std::to_string(l))), kHiddenTol) << "layer " << l;
    EXPECT_LE(maxAbsDiff(finalNorm, ref("final_norm")), kHiddenTol);

    ASSERT_EQ(capture.layers.size(), moeLayers.size());
    for (int l : moeLayers) {
        const auto name = std::to_string(l);
        const auto &c = capture.layers.at(l);
        EXPECT_LE(maxAbsDiff(c.routerLogits, ref("router_logits." + name)), kRouterTol) << "layer " << l;
        const auto cmp = compareTopk(c.topkIdx, c.topkWeights, ref("topk_idx." + name), ref("topk_w." + name));
        EXPECT_EQ(cmp.mismatchedRows, 0) << "layer " << l;
        EXPECT_LE(cmp.maxWeightDiff, kRouterTol) << "layer " << l;
        // Descending weight order, as the contract says.
        EXPECT_TRUE(c.topkWeights.select(1, 0).ge(c.topkWeights.select(1, 1)).all().item<bool>());
    }
}

TEST_P(ReferenceTest, MaskPlanMatchesLogitsMask)
{
    RoutingCapture capture;
    const auto plan = routing::parsePlan(R"({"mask": [{"layers": [1, 1], "experts": [0, 1]}]})", "mask");
    routing::PlanHook hook(plan);
    routing::RouterHookChain chain({&hook, &capture});
    ForwardRequest request;
    request.inputIds = ids;
    request.hook = &chain;
    const auto logits = model->decoder().forward(request);
    EXPECT_LE(maxAbsDiff(logits, ref("logits_mask")), kLogitsTol);
    // The fixture discriminates: masking moved the logits well beyond the tolerance.
    EXPECT_GT(maxAbsDiff(ref("logits"), ref("logits_mask")), 10 * kLogitsTol);
    const auto chosen = capture.layers.at(1).topkIdx;
    EXPECT_FALSE(chosen.eq(0).logical_or(chosen.eq(1)).any().item<bool>());
    // MoE layers before it route as in the plain pass (deepseek's layer 0 is dense).
    for (int l : moeLayers) {
        if (l >= 1)
            break;
        const auto name = std::to_string(l);
        const auto cmp = compareTopk(capture.layers.at(l).topkIdx, capture.layers.at(l).topkWeights,
                                     ref("topk_idx." + name), ref("topk_w." + name));
        EXPECT_EQ(cmp.mismatchedRows, 0) << "layer " << l;
    }
    EXPECT_EQ(capture.layers.count(0), static_cast<std::size_t>(std::count(moeLayers.begin(), moeLayers.end(), 0)));
}

TEST_P(ReferenceTest, SteerPlanMatchesLogitsSteer)
{
    const auto logits =
        logitsWithPlan(R"({"steer": [{"layers": [1, 2], "experts": [2, 3], "scale": 0.5}]})");
    EXPECT_LE(maxAbsDiff(logits, ref("logits_steer")), kLogitsTol);
    EXPECT_GT(maxAbsDiff(ref("logits"), ref("logits_steer")), 10 * kLogitsTol);
    // The same steer written with per-expert scales is the same plan.
    const auto perExpert =
        logitsWithPlan(R"({"steer": [{"layers": [1, 2], "experts": [2, 3], "scales": [0.5, 0.5]}]})");
    EXPECT_EQ(maxAbsDiff(perExpert, logits), 0.0);
}

TEST_P(ReferenceTest, GreedyGenerationWithKvCacheMatches)
{
    std::vector<std::vector<std::int64_t>> prompts;
    const auto rows = ids.contiguous();
    for (std::int64_t b = 0; b < rows.size(0); ++b) {
        const auto *p = rows[b].data_ptr<std::int64_t>();
        prompts.emplace_back(p, p + rows.size(1));
    }
    GenerationOptions options;
    options.maxNewTokens = 8;
    options.stopTokens = std::vector<std::int64_t>{}; // the reference did not stop at EOS
    const auto result = model->generate(prompts, options);
    const auto expected = ref("generated_ids").contiguous();
    ASSERT_EQ(result.tokens.size(), static_cast<std::size_t>(expected.size(0)));
    for (std::size_t b = 0; b < result.tokens.size(); ++b) {
        const auto *e = expected[static_cast<std::int64_t>(b)].data_ptr<std::int64_t>();
        EXPECT_EQ(result.tokens[b], std::vector<std::int64_t>(e, e + expected.size(1))) << "row " << b;
    }
}

INSTANTIATE_TEST_SUITE_P(TinyMoe, ReferenceTest,
                         ::testing::Values("mixtral", "mixtral-bf16", "qwen2_moe", "qwen2_moe-bf16",
                                           "qwen3_moe", "qwen3_moe-bf16", "olmoe", "olmoe-bf16",
                                           "granitemoe", "granitemoe-bf16", "gpt_oss", "gpt_oss-bf16",
                                           "phimoe", "phimoe-bf16", "deepseek_v3", "deepseek_v3-bf16",
                                           "deepseek_v3_yarn", "deepseek_v3_yarn-bf16",
                                           "deepseek_v2", "deepseek_v2-bf16", "deepseek_v2_group",
                                           "deepseek_v2_group-bf16", "ernie4_5_moe", "ernie4_5_moe-bf16",
                                           "glm4_moe", "glm4_moe-bf16", "qwen3_next", "qwen3_next-bf16"),
                         [](const auto &info) {
                             std::string name = info.param;
                             for (auto &ch : name)
                                 if (ch == '-')
                                     ch = '_';
                             return name;
                         });

// Quantised checkpoints (FORMATS.md): fp32 compute on the weights decoded at
// load, against references made the same way.
INSTANTIATE_TEST_SUITE_P(Formats, ReferenceTest,
                         ::testing::Values("gpt_oss-mxfp4", "deepseek_v3-fp8", "qwen3_moe-fp8"),
                         [](const auto &info) {
                             std::string name = info.param;
                             for (auto &ch : name)
                                 if (ch == '-')
                                     ch = '_';
                             return name;
                         });

} // namespace
