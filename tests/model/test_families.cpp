// The part-2 families beyond their fixtures: parameter counts against
// transformers, the router rules on hand-worked logits, and checkpoints of
// other shapes and options (deepseek_v3 with a direct q_proj, one group, no
// renormalisation, two shared experts; gpt_oss with small windows and sinks;
// granitemoe tied; phimoe lm_head bias, longrope). Where no reference numbers
// exist the tests check identities that only a correct implementation meets.
#include "model_test_support.h"

#include "core/common/error.h"
#include "core/model/decoder.h"
#include "core/model/model_info.h"
#include "core/model/moe_model.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>

using namespace moescope;
using namespace moescope::model;
using moescope::test::fixtureDir;
using moescope::test::maxAbsDiff;
using moescope::test::TempDir;
using moescope::test::writeModel;
using moescope::test::errorOf;
using moescope::test::fixtureConfig;
using moescope::test::fixtureIds;
using moescope::test::fixtureTensors;
using moescope::test::logitsInSteps;
using moescope::test::logitsOf;
using moescope::test::rowOf;

namespace {

using TensorList = std::vector<std::pair<std::string, at::Tensor>>;

at::Tensor &tensorNamed(TensorList &list, const std::string &name)
{
    for (auto &[n, t] : list)
        if (n == name)
            return t;
    throw std::runtime_error("no tensor " + name);
}

} // namespace

// ------------------------------------------------------------ parameters

class FamilyParameters : public ::testing::TestWithParam<std::string>
{
};

// transformers' num_parameters() (reference.json) excludes buffers such as
// deepseek's e_score_correction_bias. Active = total minus the (E - k) / E
// share of every routed-expert tensor, counted here from the tensor names.
TEST_P(FamilyParameters, TotalAndActiveCountsMatchTheCheckpoint)
{
    const auto dir = fixtureDir(GetParam());
    const auto reference = nlohmann::json::parse(test::readText(dir + "/reference.json"));
    const auto info = inspectModel(dir);
    EXPECT_EQ(info.totalParameters, reference.at("num_parameters").get<std::uint64_t>());

    std::uint64_t routed = 0;
    const auto file = SafetensorsFile::open(dir + "/model.safetensors");
    for (const auto &rec : file->tensors())
        if (rec.name.find(".experts.") != std::string::npos || rec.name.find("_linear.") != std::string::npos)
            routed += static_cast<std::uint64_t>(rec.numel());
    const auto idle = routed / static_cast<std::uint64_t>(info.numExperts)
                      * static_cast<std::uint64_t>(info.numExperts - info.topK);
    EXPECT_GT(routed, 0u);
    EXPECT_EQ(info.activeParameters, info.totalParameters - idle);
}

INSTANTIATE_TEST_SUITE_P(TinyMoe, FamilyParameters,
                         ::testing::Values("mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "granitemoe", "gpt_oss",
                                           "phimoe", "deepseek_v3", "deepseek_v3_yarn", "deepseek_v2",
                                           "deepseek_v2_group", "ernie4_5_moe", "glm4_moe", "qwen3_next"));

// ------------------------------------------------------------ router rules

// Sparsemixer (modeling_phimoe, eval): worked by hand with eps = 0.01, so the
// survivors of a pick are the logits within 2% of it.
TEST(RouterRules, SparseMixerThresholdsAndOrder)
{
    MoeSpec moe;
    moe.numExperts = 4;
    moe.topK = 2;
    moe.rule = RouterRule::SparseMixer;
    moe.jitterEps = 0.01;
    const auto logits = at::tensor({3.0f, 2.99f, 1.0f, -1.0f, //
                                    5.0f, 4.0f, 3.97f, 0.0f},
                                   at::kFloat)
                            .view({2, 4});
    const auto d = selectExperts(moe, logits, {});
    // Row 0: first pick 0 shares its softmax with 1 (0.01/3 <= 0.02); the second
    // pick 1 is alone (expert 0 is excluded), so its weight 1 comes first.
    EXPECT_EQ(d.topkIdx[0][0].item<std::int64_t>(), 1);
    EXPECT_EQ(d.topkIdx[0][1].item<std::int64_t>(), 0);
    EXPECT_NEAR(d.topkWeights[0][0].item<double>(), 1.0, 1e-7);
    EXPECT_NEAR(d.topkWeights[0][1].item<double>(), 1.0 / (1.0 + std::exp(-0.01)), 1e-6);
    // Row 1: 0 is alone (1/5 > 0.02); the second pick 1 shares with 2 (0.03/4).
    EXPECT_EQ(d.topkIdx[1][0].item<std::int64_t>(), 0);
    EXPECT_EQ(d.topkIdx[1][1].item<std::int64_t>(), 1);
    EXPECT_NEAR(d.topkWeights[1][0].item<double>(), 1.0, 1e-7);
    EXPECT_NEAR(d.topkWeights[1][1].item<double>(), 1.0 / (1.0 + std::exp(-0.03)), 1e-6);
}

// DeepseekV3TopkRouter: groups of 2 experts scored by their two choice
// scores; the best single expert loses with its group; experts outside the
// kept groups score 0.0, which beats negative corrected scores.
TEST(RouterRules, SigmoidGroupLimitedKeepsGroupsAndZeroesTheRest)
{
    MoeSpec moe;
    moe.numExperts = 8;
    moe.topK = 2;
    moe.rule = RouterRule::SigmoidGroupLimited;
    moe.numGroups = 4;
    moe.topkGroups = 2;
    moe.renormalize = true;
    moe.routedScalingFactor = 2.0;
    const auto logits = at::tensor({4.0f, -4.0f, 1.0f, 0.8f, 0.5f, 0.5f, -3.0f, -3.0f}, at::kFloat).view({1, 8});
    const auto s = at::sigmoid(logits);

    auto d = selectExperts(moe, logits, at::zeros({8}));
    EXPECT_EQ(d.topkIdx[0][0].item<std::int64_t>(), 2);
    EXPECT_EQ(d.topkIdx[0][1].item<std::int64_t>(), 3);
    const double s2 = s[0][2].item<double>(), s3 = s[0][3].item<double>();
    EXPECT_NEAR(d.topkWeights[0][0].item<double>(), 2.0 * s2 / (s2 + s3), 1e-6);
    EXPECT_NEAR(d.topkWeights[0][1].item<double>(), 2.0 * s3 / (s2 + s3), 1e-6);

    // All corrected scores negative, three of four groups kept: the dropped
    // group (6, 7) scores 0.0 and wins; weights stay the uncorrected sigmoids.
    moe.topkGroups = 3;
    moe.renormalize = false;
    d = selectExperts(moe, logits, at::full({8}, -1.0f));
    const auto chosen = std::get<0>(d.topkIdx.sort(1));
    EXPECT_EQ(chosen[0][0].item<std::int64_t>(), 6);
    EXPECT_EQ(chosen[0][1].item<std::int64_t>(), 7);
    EXPECT_NEAR(d.topkWeights[0][0].item<double>(), 2.0 * s[0][6].item<double>(), 1e-6);

    // The correction bias steers the choice but not the weights.
    moe.topkGroups = 4;
    auto bias = at::zeros({8});
    bias[5] = 2.0f;
    d = selectExperts(moe, logits, bias);
    EXPECT_EQ(d.topkIdx[0][0].item<std::int64_t>(), 0); // weight 2·s0 is the larger
    EXPECT_EQ(d.topkIdx[0][1].item<std::int64_t>(), 5);
    EXPECT_NEAR(d.topkWeights[0][1].item<double>(), 2.0 * s[0][5].item<double>(), 1e-6);

    // A masked expert (PLAN.json: logit -1e9) is never chosen, even when its
    // correction bias alone would beat the others; its slot goes to the next.
    auto masked = logits.clone();
    masked[0][0] = -1e9f;
    d = selectExperts(moe, masked, bias);
    EXPECT_EQ(d.topkIdx[0][0].item<std::int64_t>(), 2); // 2·s2 > 2·s5
    EXPECT_EQ(d.topkIdx[0][1].item<std::int64_t>(), 5);
    bias[0] = 5.0f;
    d = selectExperts(moe, masked, bias);
    EXPECT_FALSE(d.topkIdx.eq(0).any().item<bool>());
}

// ------------------------------------------------------------ deepseek_v3

namespace {

// A random deepseek_v3 checkpoint: q_lora_rank null (direct q_proj),
// attention biases, 3 heads with nope 6 / rope 4 / v 5, kv_lora_rank 7, one
// expert group, no renormalisation, 2 shared experts, 2 dense layers of 4.
nlohmann::json writeRandomDeepseek(const std::filesystem::path &dir)
{
    const int H = 24, heads = 3, nope = 6, rope = 4, v = 5, kvRank = 7, E = 5, I = 8, dense = 20, V = 61, L = 4;
    const nlohmann::json config = {
        {"model_type", "deepseek_v3"}, {"vocab_size", V}, {"hidden_size", H}, {"num_hidden_layers", L},
        {"num_attention_heads", heads}, {"num_key_value_heads", heads}, {"q_lora_rank", nullptr},
        {"kv_lora_rank", kvRank}, {"qk_nope_head_dim", nope}, {"qk_rope_head_dim", rope}, {"v_head_dim", v},
        {"n_routed_experts", E}, {"num_experts_per_tok", 2}, {"moe_intermediate_size", I},
        {"intermediate_size", dense}, {"n_shared_experts", 2}, {"first_k_dense_replace", 2}, {"n_group", 1},
        {"topk_group", 1}, {"norm_topk_prob", false}, {"routed_scaling_factor", 1.5}, {"attention_bias", true},
        {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}, {"max_position_embeddings", 64},
        {"tie_word_embeddings", false}, {"torch_dtype", "float32"}};
    at::manual_seed(11);
    TensorList t;
    auto add = [&](const std::string &name, std::vector<std::int64_t> shape, double std = 0.15) {
        t.emplace_back(name, at::randn(shape) * std);
    };
    auto addNorm = [&](const std::string &name, std::int64_t n) { t.emplace_back(name, 1 + 0.1 * at::randn({n})); };
    add("model.embed_tokens.weight", {V, H}, 0.5);
    add("lm_head.weight", {V, H});
    addNorm("model.norm.weight", H);
    auto mlp = [&](const std::string &p, int width) {
        add(p + "gate_proj.weight", {width, H});
        add(p + "up_proj.weight", {width, H});
        add(p + "down_proj.weight", {H, width});
    };
    for (int l = 0; l < L; ++l) {
        const auto p = "model.layers." + std::to_string(l) + ".";
        addNorm(p + "input_layernorm.weight", H);
        addNorm(p + "post_attention_layernorm.weight", H);
        add(p + "self_attn.q_proj.weight", {heads * (nope + rope), H});
        add(p + "self_attn.kv_a_proj_with_mqa.weight", {kvRank + rope, H});
        add(p + "self_attn.kv_a_proj_with_mqa.bias", {kvRank + rope});
        addNorm(p + "self_attn.kv_a_layernorm.weight", kvRank);
        add(p + "self_attn.kv_b_proj.weight", {heads * (nope + v), kvRank});
        add(p + "self_attn.o_proj.weight", {H, heads * v});
        add(p + "self_attn.o_proj.bias", {H});
        if (l < 2) {
            mlp(p + "mlp.", dense);
            continue;
        }
        add(p + "mlp.gate.weight", {E, H}, 0.5);
        add(p + "mlp.gate.e_score_correction_bias", {E}, 0.3);
        for (int e = 0; e < E; ++e)
            mlp(p + "mlp.experts." + std::to_string(e) + ".", I);
        mlp(p + "mlp.shared_experts.", 2 * I);
    }
    writeModel(dir, config, t);
    return config;
}

// The interleaved rotation as DeepSeek's reference code writes it: pairs
// (2i, 2i+1) rotated by the angle of frequency i. x: [B, h, T, R].
at::Tensor rotatePairs(const at::Tensor &x, const RopeTables &rope)
{
    const auto R = x.size(-1);
    const auto cos = rope.cos.narrow(-1, 0, R / 2).unsqueeze(1);
    const auto sin = rope.sin.narrow(-1, 0, R / 2).unsqueeze(1);
    const auto even = x.slice(-1, 0, R, 2), odd = x.slice(-1, 1, R, 2);
    return at::stack({even * cos - odd * sin, even * sin + odd * cos}, -1).flatten(-2);
}

} // namespace

TEST(DeepseekV3, DirectQueryProjectionOneGroupNoRenormalisation)
{
    TempDir tmp;
    writeRandomDeepseek(tmp.path());
    const auto model = MoeModel::load(tmp.str());
    const auto &spec = model.spec();
    EXPECT_EQ(spec.moeLayers(), std::vector<int>({2, 3}));
    EXPECT_FALSE(spec.attention.latent.qLoraRank.has_value());
    EXPECT_EQ(spec.moe.sharedIntermediate, 16);

    // Attention of layer 1, against a plain transcription of the MLA formula
    // with the pairwise rotation (not the de-interleaving the engine uses).
    const auto ckpt = Checkpoint::open(tmp.str());
    const WeightStore store(ckpt, at::kFloat);
    const auto attention = makeAttention(spec, store, 1);
    at::manual_seed(2);
    const std::int64_t B = 2, T = 7, heads = 3, nope = 6, rope = 4, v = 5, kvRank = 7;
    const auto x = at::randn({B, T, 24});
    const auto positions = at::arange(T, at::kLong).unsqueeze(0).expand({B, T});
    const auto tables = RotaryEmbedding(spec.rope).tables(positions, at::kFloat);
    auto mask = at::zeros({T, T}).masked_fill(at::ones({T, T}, at::kBool).triu(1), -INFINITY).view({1, 1, T, T});
    const AttentionContext ctx{&tables, mask, {}};
    const auto got = attention->forward(x, ctx, nullptr);

    const std::string p = "model.layers.1.self_attn.";
    const auto q = at::linear(x, store.get(p + "q_proj.weight")).view({B, T, heads, nope + rope}).transpose(1, 2);
    const auto ckv =
        at::linear(x, store.get(p + "kv_a_proj_with_mqa.weight"), store.get(p + "kv_a_proj_with_mqa.bias"));
    const auto latent = ckv.narrow(-1, 0, kvRank);
    const auto normed =
        latent * at::rsqrt(latent.pow(2).mean(-1, true) + 1e-6) * store.get(p + "kv_a_layernorm.weight");
    const auto kv = at::linear(normed, store.get(p + "kv_b_proj.weight")).view({B, T, heads, nope + v}).transpose(1, 2);
    const auto kRot = rotatePairs(ckv.narrow(-1, kvRank, rope).unsqueeze(1), tables);
    const auto qRot = rotatePairs(q.narrow(-1, nope, rope), tables);
    auto scores = at::matmul(q.narrow(-1, 0, nope), kv.narrow(-1, 0, nope).transpose(-1, -2))
                  + at::matmul(qRot, kRot.transpose(-1, -2));
    scores = scores / std::sqrt(double(nope + rope)) + mask;
    const auto out = at::matmul(at::softmax(scores, -1), kv.narrow(-1, nope, v)).transpose(1, 2).reshape({B, T, -1});
    const auto expected = at::linear(out, store.get(p + "o_proj.weight"), store.get(p + "o_proj.bias"));
    EXPECT_LE(maxAbsDiff(got, expected), 1e-5);

    // One group (nothing masked), no renormalisation: the choice is the top-2
    // of sigmoid + bias, the weights 1.5 · sigmoid of the picks.
    at::manual_seed(4);
    const auto ids = at::randint(61, {2, 12}, at::kLong);
    RoutingCapture capture;
    const auto logits = logitsOf(model, ids, {}, &capture);
    ASSERT_EQ(capture.layers.size(), 2u);
    for (const auto &[layer, c] : capture.layers) {
        const auto bias = store.get("model.layers." + std::to_string(layer) + ".mlp.gate.e_score_correction_bias");
        const auto s = at::sigmoid(c.routerLogits);
        const auto best = std::get<1>((s + bias).topk(2, 1));
        EXPECT_EQ(test::compareTopk(c.topkIdx, c.topkWeights, best, 1.5 * s.gather(1, best)).mismatchedRows, 0);
        EXPECT_LE(maxAbsDiff(c.topkWeights, 1.5 * s.gather(1, c.topkIdx)), 1e-6);
    }

    // KV cache in uneven steps equals the full pass.
    EXPECT_LE(maxAbsDiff(logitsInSteps(model, ids, {5, 1, 4, 2}), logits), 1e-4);
    // Left padding does not change a row.
    GenerationOptions options;
    options.maxNewTokens = 4;
    options.stopTokens = std::vector<std::int64_t>{};
    const std::vector<std::vector<std::int64_t>> prompts = {rowOf(ids, 0, 12), rowOf(ids, 1, 5)};
    const auto batched = model.generate(prompts, options);
    for (std::size_t b = 0; b < prompts.size(); ++b)
        EXPECT_EQ(batched.tokens[b], model.generate({prompts[b]}, options).tokens[0]) << "row " << b;
}

TEST(DeepseekV3, ConfigErrorsNameTheKey)
{
    auto config = fixtureConfig("deepseek_v3");
    config["n_group"] = 3;
    EXPECT_NE(errorOf([&] { describeModelConfig(config.dump(), "config.json"); }).find("n_group"),
              std::string::npos);
    config = fixtureConfig("deepseek_v3");
    config["num_key_value_heads"] = 2;
    EXPECT_NE(errorOf([&] { describeModelConfig(config.dump(), "config.json"); }).find("num_key_value_heads"),
              std::string::npos);
    // q_lora_rank absent means the configuration default (1536), not null.
    config = fixtureConfig("deepseek_v3");
    config.erase("q_lora_rank");
    EXPECT_EQ(describeModelConfig(config.dump(), "config.json").attention.latent.qLoraRank, 1536);
}

// ------------------------------------------------------------ gpt_oss

// Sliding windows of 3 on every layer, so that 16 tokens cross them often:
// the KV cache in uneven steps equals the full pass, and padded batches
// generate what single rows do.
TEST(GptOss, SmallWindowsWithCacheAndPadding)
{
    TempDir tmp;
    auto config = fixtureConfig("gpt_oss");
    config["sliding_window"] = 3;
    config["layer_types"] = {"sliding_attention", "sliding_attention", "sliding_attention"};
    writeModel(tmp.path(), config, fixtureTensors("gpt_oss"));
    const auto model = MoeModel::load(tmp.str());
    const auto ids = fixtureIds("gpt_oss");
    const auto full = logitsOf(model, ids);
    EXPECT_LE(maxAbsDiff(logitsInSteps(model, ids, {4, 1, 1, 5, 1, 3, 1}), full), 1e-4);
    // Three layers of window 3: position 15 sees tokens >= 15 - 3·2 = 9 only.
    auto early = ids.clone();
    early.narrow(1, 0, 9).fill_(5);
    EXPECT_LE(maxAbsDiff(logitsOf(model, early).select(1, 15), full.select(1, 15)), 1e-5);
    EXPECT_GT(maxAbsDiff(logitsOf(MoeModel::load(fixtureDir("gpt_oss")), early).select(1, 15),
                         logitsOf(MoeModel::load(fixtureDir("gpt_oss")), ids).select(1, 15)),
              1e-4);

    GenerationOptions options;
    options.maxNewTokens = 5;
    options.stopTokens = std::vector<std::int64_t>{};
    const std::vector<std::vector<std::int64_t>> prompts = {rowOf(ids, 0, 16), rowOf(ids, 1, 6)};
    const auto batched = model.generate(prompts, options);
    for (std::size_t b = 0; b < prompts.size(); ++b)
        EXPECT_EQ(batched.tokens[b], model.generate({prompts[b]}, options).tokens[0]) << "row " << b;
}

// A sink logit far above every score takes all the attention mass, so the
// attention output is o_proj's bias alone and q/k/v no longer matter.
TEST(GptOss, DominantSinksSilenceAttention)
{
    auto tensors = fixtureTensors("gpt_oss");
    for (int l = 0; l < 3; ++l)
        tensorNamed(tensors, "model.layers." + std::to_string(l) + ".self_attn.sinks").fill_(60.0f);
    TempDir a, b;
    writeModel(a.path(), fixtureConfig("gpt_oss"), tensors);
    for (int l = 0; l < 3; ++l)
        for (const char *proj : {"q_proj", "k_proj", "v_proj"}) {
            auto &w = tensorNamed(tensors, "model.layers." + std::to_string(l) + ".self_attn." + proj + ".weight");
            w = w.flip(0).clone();
        }
    writeModel(b.path(), fixtureConfig("gpt_oss"), tensors);
    const auto ids = fixtureIds("gpt_oss");
    const auto withSinks = logitsOf(MoeModel::load(a.str()), ids);
    EXPECT_LE(maxAbsDiff(withSinks, logitsOf(MoeModel::load(b.str()), ids)), 1e-5);
    EXPECT_GT(maxAbsDiff(withSinks, logitsOf(MoeModel::load(fixtureDir("gpt_oss")), ids)), 1e-3);
}

TEST(GptOss, ConfigDefaultsAndErrors)
{
    auto config = fixtureConfig("gpt_oss");
    config.erase("layer_types");
    config.erase("head_dim");
    config.erase("rope_scaling");
    const auto spec = describeModelConfig(config.dump(), "config.json");
    EXPECT_EQ(spec.attention.headDim, 64); // GptOssConfig's default, not hidden / heads
    EXPECT_EQ(spec.layers[0].slidingWindow, 8);
    EXPECT_FALSE(spec.layers[1].slidingWindow.has_value());
    EXPECT_EQ(spec.rope.kind, RopeKind::Yarn);
    EXPECT_FALSE(spec.rope.yarnTruncate);
    config = fixtureConfig("gpt_oss");
    config["layer_types"] = {"sliding_attention", "chunked_attention", "full_attention"};
    EXPECT_NE(errorOf([&] { describeModelConfig(config.dump(), "config.json"); }).find("chunked_attention"),
              std::string::npos);
}

// ------------------------------------------------------------ granitemoe

TEST(GraniteMoe, TiedEmbeddingsDivideByLogitsScaling)
{
    TempDir tmp;
    auto config = fixtureConfig("granitemoe");
    config["tie_word_embeddings"] = true;
    auto tensors = fixtureTensors("granitemoe");
    const auto embed = tensorNamed(tensors, "model.embed_tokens.weight");
    std::erase_if(tensors, [](const auto &t) { return t.first == "lm_head.weight"; });
    writeModel(tmp.path(), config, tensors);
    const auto tied = MoeModel::load(tmp.str());
    at::Tensor finalNorm;
    const auto ids = fixtureIds("granitemoe");
    const auto logits = logitsOf(tied, ids, {}, nullptr, &finalNorm);
    EXPECT_LE(maxAbsDiff(logits, at::linear(finalNorm, embed) / 4.0), 1e-5);
    EXPECT_GT(maxAbsDiff(logits, logitsOf(MoeModel::load(fixtureDir("granitemoe")), ids)), 1e-2);
    EXPECT_EQ(inspectModel(tmp.str()).totalParameters + 512u * 64u,
              inspectModel(fixtureDir("granitemoe")).totalParameters);
}

// ------------------------------------------------------------ phimoe

TEST(PhiMoe, LmHeadBiasIsAdded)
{
    TempDir tmp;
    auto config = fixtureConfig("phimoe");
    config["lm_head_bias"] = true;
    auto tensors = fixtureTensors("phimoe");
    const auto bias = at::randn({512});
    tensors.emplace_back("lm_head.bias", bias);
    writeModel(tmp.path(), config, tensors);
    const auto ids = fixtureIds("phimoe");
    const auto plain = logitsOf(MoeModel::load(fixtureDir("phimoe")), ids);
    EXPECT_LE(maxAbsDiff(logitsOf(MoeModel::load(tmp.str()), ids) - plain, bias.expand_as(plain)), 1e-5);
}

// longrope (Phi-3.5-MoE's rope_scaling): below original_max_position_embeddings
// the short factors and short_mscale apply, from it on the long ones. With
// unit short factors that is plain rope; long factors of 2 with long_mscale 1
// are linear scaling by 2.
TEST(PhiMoe, LongRopeSwitchesFactorsAtTheOriginalLength)
{
    const auto ids = fixtureIds("phimoe");
    const auto tensors = fixtureTensors("phimoe");
    auto withRope = [&](const TempDir &dir, const nlohmann::json &ropeScaling) {
        auto config = fixtureConfig("phimoe");
        config["rope_scaling"] = ropeScaling;
        writeModel(dir.path(), config, tensors);
        return MoeModel::load(dir.str());
    };
    TempDir longDir, linearDir;
    const auto longrope = withRope(longDir, {{"type", "longrope"},
                                             {"short_factor", std::vector<double>(8, 1.0)},
                                             {"long_factor", std::vector<double>(8, 2.0)},
                                             {"short_mscale", 1.0},
                                             {"long_mscale", 1.0},
                                             {"original_max_position_embeddings", 10}});
    const auto linear = withRope(linearDir, {{"type", "linear"}, {"factor", 2.0}});
    const auto plain = MoeModel::load(fixtureDir("phimoe"));
    const auto shortIds = ids.narrow(1, 0, 8);
    EXPECT_LE(maxAbsDiff(logitsOf(longrope, shortIds), logitsOf(plain, shortIds)), 1e-5);
    EXPECT_LE(maxAbsDiff(logitsOf(longrope, ids), logitsOf(linear, ids)), 1e-5);
    EXPECT_GT(maxAbsDiff(logitsOf(longrope, ids), logitsOf(plain, ids)), 1e-4);

    auto config = fixtureConfig("phimoe");
    config["rope_scaling"] = {{"type", "longrope"}, {"short_factor", {1.0}}, {"long_factor", {1.0}}};
    EXPECT_NE(errorOf([&] { describeModelConfig(config.dump(), "config.json"); }).find("short_factor"),
              std::string::npos);
    config = fixtureConfig("phimoe");
    config["num_experts_per_tok"] = 3;
    EXPECT_NE(errorOf([&] { describeModelConfig(config.dump(), "config.json"); }).find("exactly 2"),
              std::string::npos);
    config = fixtureConfig("phimoe");
    config["sliding_window"] = 5;
    for (const auto &layer : describeModelConfig(config.dump(), "config.json").layers)
        EXPECT_EQ(layer.slidingWindow, 5);
}

// ------------------------------------------------------------ bf16 compute

class Bf16Compute : public ::testing::TestWithParam<std::string>
{
};

// Native bf16 arithmetic (the default for bf16 checkpoints) stays close to
// the fp32 reference and routes (nearly) like it; it cannot match it exactly.
TEST_P(Bf16Compute, StaysCloseToTheFp32Reference)
{
    const auto dir = fixtureDir(GetParam());
    const auto model = MoeModel::load(dir);
    ASSERT_EQ(model.computeDtypeName(), "bf16");
    const auto ref = SafetensorsFile::open(dir + "/reference.safetensors");
    RoutingCapture capture;
    const auto logits = logitsOf(model, readTensor(*ref, "input_ids"), {}, &capture);
    EXPECT_EQ(logits.scalar_type(), at::kFloat);
    EXPECT_TRUE(logits.isfinite().all().item<bool>());
    const auto r = readTensor(*ref, "logits");
    const auto diff = maxAbsDiff(logits, r);
    // A flipped routing decision moves that token's logits a lot (sparsemixer's
    // 2% threshold is fragile), so the bound is on the mean.
    const double meanDiff = (logits - r).abs().mean().item<double>();
    EXPECT_LE(meanDiff, 0.1 * r.std().item<double>());
    long mismatched = 0, rows = 0;
    for (const auto &[layer, c] : capture.layers) {
        const auto name = std::to_string(layer);
        mismatched += test::compareTopk(c.topkIdx, c.topkWeights, readTensor(*ref, "topk_idx." + name),
                                        readTensor(*ref, "topk_w." + name))
                          .mismatchedRows;
        rows += c.topkIdx.size(0);
    }
    EXPECT_LE(mismatched * 10, rows) << "more than 10% of the routing decisions differ";
    std::printf("[ bf16     ] %s: max |logit diff| %.4f mean %.4f (logit std %.3f), %ld of %ld top-k sets differ\n",
                GetParam().c_str(), diff, meanDiff, r.std().item<double>(), mismatched, rows);
}

INSTANTIATE_TEST_SUITE_P(TinyMoe, Bf16Compute,
                         ::testing::Values("granitemoe-bf16", "gpt_oss-bf16", "phimoe-bf16", "deepseek_v3-bf16",
                                           "deepseek_v3_yarn-bf16", "deepseek_v2-bf16", "deepseek_v2_group-bf16",
                                           "ernie4_5_moe-bf16", "glm4_moe-bf16", "qwen3_next-bf16"),
                         [](const auto &info) {
                             std::string name = info.param;
                             for (auto &ch : name)
                                 if (ch == '-')
                                     ch = '_';
                             return name;
                         });

// Quantised checkpoints at their default (bf16) compute: decoded per product.
INSTANTIATE_TEST_SUITE_P(Formats, Bf16Compute,
                         ::testing::Values("gpt_oss-mxfp4", "deepseek_v3-fp8", "qwen3_moe-fp8"),
                         [](const auto &info) {
                             std::string name = info.param;
                             for (auto &ch : name)
                                 if (ch == '-')
                                     ch = '_';
                             return name;
                         });
