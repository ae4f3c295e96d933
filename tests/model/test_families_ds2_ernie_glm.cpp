// deepseek_v2, ernie4_5_moe and glm4_moe (transformers 4.54.0) beyond their
// fixtures: the new router rules on hand-worked logits (incl. masked experts
// under correction biases and group limits), options the fixtures do not
// exercise (deepseek_v2 with q-LoRA, attention and MLP biases; glm4_moe
// without q/k norm and with other rotary fractions; ernie's layer pattern,
// biases and tied default) against plain transcriptions of the formulas, and
// the configuration classes' defaults.
#include "model_test_support.h"

#include "core/model/decoder.h"
#include "core/model/moe_model.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>

using namespace moescope;
using namespace moescope::model;
using moescope::test::errorOf;
using moescope::test::fixtureConfig;
using moescope::test::fixtureDir;
using moescope::test::fixtureIds;
using moescope::test::fixtureTensors;
using moescope::test::logitsInSteps;
using moescope::test::logitsOf;
using moescope::test::maxAbsDiff;
using moescope::test::TempDir;
using moescope::test::writeModel;

namespace {

using TensorList = std::vector<std::pair<std::string, at::Tensor>>;

ModelSpec describe(const nlohmann::json &config)
{
    return describeModelConfig(config.dump(), "config.json");
}

std::string configError(const nlohmann::json &config)
{
    return errorOf([&] { describe(config); });
}

void dropTensor(TensorList &list, const std::string &name)
{
    std::erase_if(list, [&](const auto &t) { return t.first == name; });
}

at::Tensor &tensorNamed(TensorList &list, const std::string &name)
{
    for (auto &[n, t] : list)
        if (n == name)
            return t;
    throw std::runtime_error("no tensor " + name);
}

// Hidden states leaving every layer, [B, T, H] each.
std::vector<at::Tensor> hiddenOf(const MoeModel &model, const at::Tensor &ids, routing::RouterHook *hook = nullptr)
{
    std::vector<at::Tensor> hidden;
    ForwardRequest request;
    request.inputIds = ids;
    request.hiddenStates = &hidden;
    request.hook = hook;
    model.decoder().forward(request);
    return hidden;
}

at::Tensor causalMask(std::int64_t T)
{
    return at::zeros({T, T}).masked_fill(at::ones({T, T}, at::kBool).triu(1), -INFINITY).view({1, 1, T, T});
}

at::Tensor rms(const at::Tensor &x, const at::Tensor &w, double eps = 1e-6)
{
    return x * at::rsqrt(x.pow(2).mean(-1, true) + eps) * w;
}

// theta^(-2i/dim), i < dim / 2, and the angles pos · θ_i: [T, dim / 2].
at::Tensor angles(std::int64_t T, std::int64_t dim, double theta = 10000.0)
{
    const auto inv = at::pow(theta, at::arange(0, dim, 2, at::kDouble) / static_cast<double>(dim)).reciprocal();
    return at::arange(T, at::kDouble).unsqueeze(1) * inv.unsqueeze(0);
}

} // namespace

// ------------------------------------------------------------ router rules

// DeepseekV2MoEGate group_limited_greedy: groups scored by their largest
// probability, probabilities outside the kept groups 0.0, weights the
// (masked) probabilities times routed_scaling_factor, never renormalised.
TEST(RouterRules, SoftmaxGroupLimitedKeepsTheGroupOfTheBestProbability)
{
    MoeSpec moe;
    moe.numExperts = 6;
    moe.topK = 2;
    moe.rule = RouterRule::SoftmaxGroupLimited;
    moe.numGroups = 3;
    moe.topkGroups = 1;
    moe.routedScalingFactor = 2.5;
    // Groups {0, 1}, {2, 3}, {4, 5}: plain greedy would take 1 and 2.
    const auto logits = at::tensor({0.0f, 3.0f, 2.9f, 2.8f, 1.0f, 0.5f}, at::kFloat).view({1, 6});
    const auto p = at::softmax(logits, 1);
    auto d = selectExperts(moe, logits, {});
    EXPECT_EQ(d.topkIdx[0][0].item<std::int64_t>(), 1);
    EXPECT_EQ(d.topkIdx[0][1].item<std::int64_t>(), 0);
    EXPECT_NEAR(d.topkWeights[0][0].item<double>(), 2.5 * p[0][1].item<double>(), 1e-6);
    EXPECT_NEAR(d.topkWeights[0][1].item<double>(), 2.5 * p[0][0].item<double>(), 1e-6);

    moe.topkGroups = 2; // groups 0 and 1: now the plain top-2
    d = selectExperts(moe, logits, {});
    EXPECT_EQ(d.topkIdx[0][0].item<std::int64_t>(), 1);
    EXPECT_EQ(d.topkIdx[0][1].item<std::int64_t>(), 2);

    // A masked expert in the kept group is never chosen: the second slot goes
    // to an expert outside the kept groups, with its weight 0.0 as there.
    moe.topkGroups = 1;
    const auto masked = at::tensor({5.0f, -1e9f, 0.0f, 0.0f, 0.0f, 0.0f}, at::kFloat).view({1, 6});
    d = selectExperts(moe, masked, {});
    EXPECT_EQ(d.topkIdx[0][0].item<std::int64_t>(), 0);
    EXPECT_NE(d.topkIdx[0][1].item<std::int64_t>(), 1);
    EXPECT_EQ(d.topkWeights[0][1].item<double>(), 0.0);
}

// Ernie4_5_MoeSparseMoeBlock: the correction bias picks, the uncorrected
// probabilities weigh (renormalised by max(sum, moe_norm_min)).
TEST(RouterRules, SoftmaxCorrectedChoosesWithTheBiasAndWeighsWithout)
{
    MoeSpec moe;
    moe.numExperts = 4;
    moe.topK = 2;
    moe.rule = RouterRule::SoftmaxCorrected;
    moe.renormalize = true;
    moe.normMin = 1e-12;
    const auto logits = at::tensor({2.0f, 1.0f, 0.5f, 0.0f}, at::kFloat).view({1, 4});
    const auto p = at::softmax(logits, 1);
    const double p0 = p[0][0].item<double>(), p2 = p[0][2].item<double>();
    auto bias = at::tensor({0.0f, 0.0f, 0.5f, 0.0f});
    auto d = selectExperts(moe, logits, bias); // c2 = p2 + 0.5 > p0 > p1
    EXPECT_EQ(d.topkIdx[0][0].item<std::int64_t>(), 0);
    EXPECT_EQ(d.topkIdx[0][1].item<std::int64_t>(), 2);
    EXPECT_NEAR(d.topkWeights[0][0].item<double>(), p0 / (p0 + p2), 1e-6);
    EXPECT_NEAR(d.topkWeights[0][1].item<double>(), p2 / (p0 + p2), 1e-6);

    // The floor: a sum below moe_norm_min divides by moe_norm_min instead.
    moe.normMin = 2.0;
    d = selectExperts(moe, logits, bias);
    EXPECT_NEAR(d.topkWeights[0][0].item<double>(), p0 / 2.0, 1e-6);

    // A masked expert (p = 0, so its choice would be the bias alone) is never
    // chosen, however large its bias.
    moe.normMin = 1e-12;
    auto maskedLogits = logits.clone();
    maskedLogits[0][2] = -1e9f;
    bias[2] = 5.0f;
    d = selectExperts(moe, maskedLogits, bias);
    EXPECT_FALSE(d.topkIdx.eq(2).any().item<bool>());
    const auto q = at::softmax(maskedLogits, 1);
    EXPECT_NEAR(d.topkWeights[0][0].item<double>(),
                q[0][0].item<double>() / (q[0][0].item<double>() + q[0][1].item<double>()), 1e-6);
}

// ------------------------------------------------------------ deepseek_v2

namespace {

// The deepseek_v2 fixture turned into a q-LoRA checkpoint (q_a_proj [r, H]
// with bias, q_a_layernorm, q_b_proj) with attention biases
// (kv_a_proj_with_mqa, o_proj) and mlp_bias (all zero unless `setBiases`
// changes them), written to dir.
void writeDeepseekV2WithQLora(const std::filesystem::path &dir,
                              const std::function<void(TensorList &)> &setBiases = {})
{
    const int H = 64, heads = 4, qk = 16, r = 12;
    auto config = fixtureConfig("deepseek_v2");
    config["q_lora_rank"] = r;
    config["attention_bias"] = true;
    config["mlp_bias"] = true;
    auto tensors = fixtureTensors("deepseek_v2");
    at::manual_seed(7);
    TensorList added;
    auto zeroBiases = [&](const std::string &p, int width) {
        added.emplace_back(p + "gate_proj.bias", at::zeros({width}));
        added.emplace_back(p + "up_proj.bias", at::zeros({width}));
        added.emplace_back(p + "down_proj.bias", at::zeros({H}));
    };
    for (int l = 0; l < 3; ++l) {
        const auto p = "model.layers." + std::to_string(l) + ".";
        dropTensor(tensors, p + "self_attn.q_proj.weight");
        added.emplace_back(p + "self_attn.q_a_proj.weight", at::randn({r, H}) * 0.1);
        added.emplace_back(p + "self_attn.q_a_proj.bias", at::randn({r}) * 0.05);
        added.emplace_back(p + "self_attn.q_a_layernorm.weight", 1 + 0.1 * at::randn({r}));
        added.emplace_back(p + "self_attn.q_b_proj.weight", at::randn({heads * qk, r}) * 0.1);
        added.emplace_back(p + "self_attn.kv_a_proj_with_mqa.bias", at::randn({24}) * 0.05);
        added.emplace_back(p + "self_attn.o_proj.bias", at::randn({H}) * 0.05);
        if (l == 0) {
            zeroBiases(p + "mlp.", 48);
            continue;
        }
        for (int e = 0; e < 8; ++e)
            zeroBiases(p + "mlp.experts." + std::to_string(e) + ".", 32);
        zeroBiases(p + "mlp.shared_experts.", 32);
    }
    tensors.insert(tensors.end(), added.begin(), added.end());
    if (setBiases)
        setBiases(tensors);
    writeModel(dir, config, tensors);
}

} // namespace

// q_lora_rank set: q = q_b(rms(q_a(x) + b)), against a transcription of
// DeepseekV2Attention with its view_as_complex rotation of the rope dims.
TEST(DeepseekV2, QueryLoraWithAttentionBiasesMatchesTheFormula)
{
    TempDir tmp;
    writeDeepseekV2WithQLora(tmp.path());
    const auto model = MoeModel::load(tmp.str());
    const auto &spec = model.spec();
    ASSERT_EQ(spec.attention.latent.qLoraRank, 12);

    const auto ckpt = Checkpoint::open(tmp.str());
    const WeightStore store(ckpt, at::kFloat);
    const auto attention = makeAttention(spec, store, 1);
    at::manual_seed(3);
    const std::int64_t B = 2, T = 9, heads = 4, nope = 8, rope = 8, v = 16, kvRank = 16;
    const auto x = at::randn({B, T, 64});
    const auto positions = at::arange(T, at::kLong).unsqueeze(0).expand({B, T});
    const auto tables = RotaryEmbedding(spec.rope).tables(positions, at::kFloat);
    const auto mask = causalMask(T);
    const auto got = attention->forward(x, AttentionContext{&tables, mask}, nullptr);

    const std::string p = "model.layers.1.self_attn.";
    auto w = [&](const std::string &name) { return store.get(p + name); };
    const auto qa = at::linear(x, w("q_a_proj.weight"), w("q_a_proj.bias"));
    const auto q = at::linear(rms(qa, w("q_a_layernorm.weight")), w("q_b_proj.weight"))
                       .view({B, T, heads, nope + rope})
                       .transpose(1, 2);
    const auto ckv = at::linear(x, w("kv_a_proj_with_mqa.weight"), w("kv_a_proj_with_mqa.bias"));
    const auto kv = at::linear(rms(ckv.narrow(-1, 0, kvRank), w("kv_a_layernorm.weight")), w("kv_b_proj.weight"))
                        .view({B, T, heads, nope + v})
                        .transpose(1, 2);
    // apply_rotary_emb: consecutive pairs as complex numbers times e^{i·pos·θ}.
    const auto freqsCis = at::polar(at::ones({T, rope / 2}, at::kDouble), angles(T, rope)).to(at::kComplexFloat);
    auto rotate = [&](const at::Tensor &t) {
        const auto c = at::view_as_complex(t.contiguous().view({t.size(0), t.size(1), T, rope / 2, 2}));
        return at::view_as_real(c * freqsCis).flatten(3);
    };
    const auto qPe = rotate(q.narrow(-1, nope, rope));
    const auto kPe = rotate(ckv.narrow(-1, kvRank, rope).unsqueeze(1)).expand({B, heads, T, rope});
    const auto query = at::cat({q.narrow(-1, 0, nope), qPe}, -1);
    const auto key = at::cat({kv.narrow(-1, 0, nope), kPe}, -1);
    const auto scores = at::matmul(query, key.transpose(-1, -2)) / 4.0 + mask;
    const auto out = at::matmul(at::softmax(scores, -1), kv.narrow(-1, nope, v)).transpose(1, 2).reshape({B, T, -1});
    EXPECT_LE(maxAbsDiff(got, at::linear(out, w("o_proj.weight"), w("o_proj.bias"))), 1e-5);

    // The cache in uneven steps equals the full pass.
    const auto ids = fixtureIds("deepseek_v2");
    EXPECT_LE(maxAbsDiff(logitsInSteps(model, ids, {7, 1, 5, 3}), logitsOf(model, ids)), 1e-4);
}

// mlp_bias: a down_proj bias b of the dense layer adds exactly b to the
// residual leaving it; in the last layer the shared experts' b_s adds b_s and
// each routed expert's b_e adds w_e·b_e per token.
TEST(DeepseekV2, MlpBiasesReachDenseSharedAndRoutedExperts)
{
    const auto ids = fixtureIds("deepseek_v2");
    TempDir plainDir, denseDir, lastDir;
    writeDeepseekV2WithQLora(plainDir.path());
    at::manual_seed(5);
    const auto b0 = at::randn({64}) * 0.3, bs = at::randn({64}) * 0.3, be = at::randn({8, 64}) * 0.3;
    writeDeepseekV2WithQLora(denseDir.path(), [&](TensorList &t) {
        tensorNamed(t, "model.layers.0.mlp.down_proj.bias") = b0.clone();
    });
    writeDeepseekV2WithQLora(lastDir.path(), [&](TensorList &t) {
        tensorNamed(t, "model.layers.2.mlp.shared_experts.down_proj.bias") = bs.clone();
        for (int e = 0; e < 8; ++e)
            tensorNamed(t, "model.layers.2.mlp.experts." + std::to_string(e) + ".down_proj.bias") = be[e].clone();
    });
    const auto plain = hiddenOf(MoeModel::load(plainDir.str()), ids);
    const auto dense = hiddenOf(MoeModel::load(denseDir.str()), ids);
    EXPECT_LE(maxAbsDiff(dense[0] - plain[0], b0.expand_as(plain[0])), 1e-5);

    RoutingCapture capture;
    const auto last = hiddenOf(MoeModel::load(lastDir.str()), ids, &capture);
    EXPECT_LE(maxAbsDiff(last[1], plain[1]), 0.0);
    const auto &c = capture.layers.at(2);
    const auto routed = (c.topkWeights.unsqueeze(-1) * be.index_select(0, c.topkIdx.reshape({-1})).view({-1, 2, 64}))
                            .sum(1)
                            .view({2, 16, 64});
    EXPECT_LE(maxAbsDiff(last[2] - plain[2], bs.expand_as(plain[2]) + routed), 1e-5);
}

TEST(DeepseekV2, ConfigurationDefaultsAndErrors)
{
    const auto base = fixtureConfig("deepseek_v2");
    auto config = base;
    for (const char *key : {"q_lora_rank", "n_shared_experts", "first_k_dense_replace", "routed_scaling_factor",
                            "topk_method", "head_dim"})
        config.erase(key);
    auto spec = describe(config);
    EXPECT_EQ(spec.attention.latent.qLoraRank, 1536);
    EXPECT_EQ(spec.moe.sharedIntermediate, 2 * 32); // n_shared_experts 2
    EXPECT_EQ(spec.moeLayers(), std::vector<int>({0, 1, 2}));
    EXPECT_EQ(spec.moe.routedScalingFactor, 1.0);
    EXPECT_EQ(spec.moe.rule, RouterRule::SoftmaxTopK);
    EXPECT_EQ(spec.attention.headDim, 16);
    EXPECT_EQ(spec.rope.rotaryDim, 8);
    EXPECT_TRUE(spec.rope.interleaved);

    // 4.54.0 never renormalises and does not read moe_layer_freq.
    config = base;
    config["norm_topk_prob"] = true;
    config["moe_layer_freq"] = 2;
    config["n_shared_experts"] = nullptr;
    spec = describe(config);
    EXPECT_FALSE(spec.moe.renormalize);
    EXPECT_EQ(spec.moeLayers(), std::vector<int>({1, 2}));
    EXPECT_EQ(spec.moe.shared, SharedExpertKind::None);

    // DeepSeek-V2-Lite's yarn: factor 40 from the positions, mscale ==
    // mscale_all_dim, so the rope's attention factor is 1 and the score
    // scale stays qk_head_dim^-0.5 (v4.54.0 has no mscale^2 there).
    config = base;
    config["max_position_embeddings"] = 163840;
    config["rope_scaling"] = {{"type", "yarn"}, {"factor", 40}, {"original_max_position_embeddings", 4096},
                              {"mscale", 0.707}, {"mscale_all_dim", 0.707}, {"beta_fast", 32}, {"beta_slow", 1}};
    spec = describe(config);
    EXPECT_EQ(spec.rope.kind, RopeKind::Yarn);
    EXPECT_DOUBLE_EQ(spec.attention.scoreScale, 0.25);
    const auto tables = RotaryEmbedding(spec.rope).tables(at::zeros({1, 1}, at::kLong), at::kFloat);
    EXPECT_NEAR(tables.cos[0][0][0].item<double>(), 1.0, 1e-7);

    config = base;
    config["topk_method"] = "noaux_tc";
    EXPECT_NE(configError(config).find("topk_method"), std::string::npos);
    config = base;
    config["topk_method"] = "group_limited_greedy";
    config.erase("n_group");
    EXPECT_NE(configError(config).find("n_group"), std::string::npos);
    config = fixtureConfig("deepseek_v2_group");
    config["n_group"] = 3;
    EXPECT_NE(configError(config).find("n_group"), std::string::npos);
    config = base;
    config.erase("num_experts_per_tok");
    EXPECT_NE(configError(config).find("num_experts_per_tok"), std::string::npos);
    config = base;
    config["num_key_value_heads"] = 2;
    EXPECT_NE(configError(config).find("num_key_value_heads"), std::string::npos);
}

// ------------------------------------------------------------ glm4_moe

namespace {

// Glm4MoeAttention written out: q/k/v with biases, optional per-head RMSNorm,
// rotate_half on the first `rot` dims, GQA 4/2, scale 1/4, o without bias.
at::Tensor glmAttention(const WeightStore &store, const std::string &p, const at::Tensor &x, std::int64_t rot,
                        bool qkNorm)
{
    const auto B = x.size(0), T = x.size(1);
    auto w = [&](const std::string &name) { return store.get(p + name); };
    auto q = at::linear(x, w("q_proj.weight"), w("q_proj.bias")).view({B, T, 4, 16});
    auto k = at::linear(x, w("k_proj.weight"), w("k_proj.bias")).view({B, T, 2, 16});
    const auto v = at::linear(x, w("v_proj.weight"), w("v_proj.bias")).view({B, T, 2, 16}).transpose(1, 2);
    if (qkNorm) {
        q = rms(q, w("q_norm.weight"));
        k = rms(k, w("k_norm.weight"));
    }
    const auto a = angles(T, rot).to(at::kFloat);
    const auto cos = at::cat({a.cos(), a.cos()}, -1), sin = at::cat({a.sin(), a.sin()}, -1);
    auto rope = [&](const at::Tensor &t) { // [B, h, T, 16]
        const auto r = t.narrow(-1, 0, rot);
        const auto half = at::cat({-r.narrow(-1, rot / 2, rot / 2), r.narrow(-1, 0, rot / 2)}, -1);
        return at::cat({r * cos + half * sin, t.narrow(-1, rot, 16 - rot)}, -1);
    };
    const auto qr = rope(q.transpose(1, 2));
    const auto kr = rope(k.transpose(1, 2)).repeat_interleave(2, 1);
    const auto scores = at::matmul(qr, kr.transpose(-1, -2)) / 4.0 + causalMask(T);
    const auto out = at::matmul(at::softmax(scores, -1), v.repeat_interleave(2, 1)).transpose(1, 2).reshape({B, T, 64});
    return at::linear(out, w("o_proj.weight"));
}

} // namespace

// Without q/k norm (no q_norm/k_norm tensors) at the fixture's rotary
// fraction, and with them at a quarter: attention as the formula says.
TEST(Glm4Moe, AttentionWithAndWithoutQkNormAndOtherRotaryFractions)
{
    struct Case
    {
        bool qkNorm;
        double partial;
        std::int64_t rot;
    };
    for (const auto c : {Case{false, 0.5, 8}, Case{true, 0.25, 4}, Case{false, 1.0, 16}}) {
        TempDir tmp;
        auto config = fixtureConfig("glm4_moe");
        config["use_qk_norm"] = c.qkNorm;
        config["partial_rotary_factor"] = c.partial;
        auto tensors = fixtureTensors("glm4_moe");
        if (!c.qkNorm)
            std::erase_if(tensors, [](const auto &t) { return t.first.find("_norm.weight") != std::string::npos
                                                               && t.first.find("self_attn") != std::string::npos; });
        writeModel(tmp.path(), config, tensors);
        const auto model = MoeModel::load(tmp.str());
        ASSERT_EQ(model.spec().rope.rotaryDim, c.rot);
        const auto ckpt = Checkpoint::open(tmp.str());
        const WeightStore store(ckpt, at::kFloat);
        at::manual_seed(9);
        const std::int64_t B = 2, T = 11;
        const auto x = at::randn({B, T, 64});
        const auto positions = at::arange(T, at::kLong).unsqueeze(0).expand({B, T});
        const auto tables = RotaryEmbedding(model.spec().rope).tables(positions, at::kFloat);
        const auto got = makeAttention(model.spec(), store, 2)->forward(x, AttentionContext{&tables, causalMask(T)}, nullptr);
        EXPECT_LE(maxAbsDiff(got, glmAttention(store, "model.layers.2.self_attn.", x, c.rot, c.qkNorm)), 1e-5)
            << "use_qk_norm " << c.qkNorm << ", partial_rotary_factor " << c.partial;
        const auto ids = fixtureIds("glm4_moe");
        EXPECT_LE(maxAbsDiff(logitsInSteps(model, ids, {6, 1, 9}), logitsOf(model, ids)), 1e-4);
    }
}

TEST(Glm4Moe, ConfigurationDefaults)
{
    auto config = fixtureConfig("glm4_moe");
    for (const char *key : {"partial_rotary_factor", "use_qk_norm", "attention_bias", "n_group", "topk_group",
                            "routed_scaling_factor", "first_k_dense_replace", "n_shared_experts", "norm_topk_prob"})
        config.erase(key);
    auto spec = describe(config);
    EXPECT_EQ(spec.rope.rotaryDim, 8); // Glm4MoeConfig: partial_rotary_factor 0.5
    EXPECT_FALSE(spec.rope.interleaved);
    EXPECT_EQ(spec.attention.qkNorm, QkNormKind::None);
    EXPECT_FALSE(spec.attention.qkvBias);
    EXPECT_EQ(spec.moe.numGroups, 1);
    EXPECT_EQ(spec.moe.topkGroups, 1);
    EXPECT_EQ(spec.moe.routedScalingFactor, 1.0);
    EXPECT_TRUE(spec.moe.renormalize);
    EXPECT_EQ(spec.moe.sharedIntermediate, 32);
    EXPECT_EQ(spec.moeLayers(), std::vector<int>({1, 2}));

    config = fixtureConfig("glm4_moe");
    EXPECT_TRUE(describe(config).attention.qkvBias);
    EXPECT_FALSE(describe(config).attention.oBias); // o_proj never has a bias
    config["n_group"] = 8; // one expert per group: the group score needs two
    EXPECT_NE(configError(config).find("at least 2"), std::string::npos);
    config = fixtureConfig("glm4_moe");
    config["partial_rotary_factor"] = 0.1;
    EXPECT_NE(configError(config).find("partial_rotary_factor"), std::string::npos);
}

// ------------------------------------------------------------ ernie4_5_moe

TEST(Ernie45Moe, MoeLayersFollowStartEndAndInterval)
{
    auto config = fixtureConfig("ernie4_5_moe");
    config["num_hidden_layers"] = 8;
    config["moe_layer_start_index"] = 0;
    config["moe_layer_end_index"] = -1;
    config["moe_layer_interval"] = 2;
    EXPECT_EQ(describe(config).moeLayers(), std::vector<int>({1, 3, 5, 7}));
    config["moe_layer_start_index"] = 2;
    config["moe_layer_end_index"] = 5;
    EXPECT_EQ(describe(config).moeLayers(), std::vector<int>({3, 5}));
    config["moe_layer_interval"] = 3;
    EXPECT_EQ(describe(config).moeLayers(), std::vector<int>({2, 5}));
    for (const char *key : {"moe_layer_start_index", "moe_layer_end_index", "moe_layer_interval"})
        config.erase(key);
    EXPECT_EQ(describe(config).moeLayers(), std::vector<int>({1, 2, 3, 4, 5, 6, 7})); // 1, -1, 1
    config["moe_layer_interval"] = 0;
    EXPECT_NE(configError(config).find("moe_layer_interval"), std::string::npos);
    config = fixtureConfig("ernie4_5_moe");
    config["partial_rotary_factor"] = 0.5;
    EXPECT_NE(configError(config).find("partial_rotary_factor"), std::string::npos);
}

// Absent tie_word_embeddings means tied (Ernie4_5_MoeConfig's default): the
// head is the embedding matrix.
TEST(Ernie45Moe, TiedByDefault)
{
    TempDir tmp;
    auto config = fixtureConfig("ernie4_5_moe");
    config.erase("tie_word_embeddings");
    auto tensors = fixtureTensors("ernie4_5_moe");
    const auto embed = tensorNamed(tensors, "model.embed_tokens.weight");
    dropTensor(tensors, "lm_head.weight");
    writeModel(tmp.path(), config, tensors);
    const auto model = MoeModel::load(tmp.str());
    EXPECT_TRUE(model.spec().tieWordEmbeddings);
    at::Tensor finalNorm;
    const auto logits = logitsOf(model, fixtureIds("ernie4_5_moe"), {}, nullptr, &finalNorm);
    EXPECT_LE(maxAbsDiff(logits, at::linear(finalNorm, embed)), 1e-5);
}

// use_bias: biases on q/k/v/o, every MLP and lm_head. Zero biases leave the
// fixture's numbers; lm_head's adds to the logits; a dense down_proj bias b
// adds b to the residual leaving layer 0.
TEST(Ernie45Moe, UseBiasLoadsEveryBias)
{
    auto config = fixtureConfig("ernie4_5_moe");
    config["use_bias"] = true;
    auto tensors = fixtureTensors("ernie4_5_moe");
    TensorList biases;
    for (const auto &[name, t] : tensors) {
        const bool projection = name.find("_proj.weight") != std::string::npos || name == "lm_head.weight";
        if (projection)
            biases.emplace_back(name.substr(0, name.size() - 6) + "bias", at::zeros({t.size(0)}));
    }
    EXPECT_EQ(biases.size(), 3u * 4 + 3 + 2u * 9 * 3 + 1); // attention, dense layer, experts + shared, lm_head
    tensors.insert(tensors.end(), biases.begin(), biases.end());
    const auto ids = fixtureIds("ernie4_5_moe");
    const auto plainModel = MoeModel::load(fixtureDir("ernie4_5_moe"));
    const auto plain = logitsOf(plainModel, ids);
    const auto plainHidden = hiddenOf(plainModel, ids);
    TempDir zero, head, dense;
    writeModel(zero.path(), config, tensors);
    EXPECT_LE(maxAbsDiff(logitsOf(MoeModel::load(zero.str()), ids), plain), 1e-5);

    at::manual_seed(6);
    const auto headBias = at::randn({512});
    tensorNamed(tensors, "lm_head.bias") = headBias;
    writeModel(head.path(), config, tensors);
    EXPECT_LE(maxAbsDiff(logitsOf(MoeModel::load(head.str()), ids) - plain, headBias.expand_as(plain)), 1e-5);

    tensorNamed(tensors, "lm_head.bias") = at::zeros({512});
    const auto b = at::randn({64}) * 0.3;
    tensorNamed(tensors, "model.layers.0.mlp.down_proj.bias") = b;
    writeModel(dense.path(), config, tensors);
    EXPECT_LE(maxAbsDiff(hiddenOf(MoeModel::load(dense.str()), ids)[0] - plainHidden[0], b.expand_as(plainHidden[0])),
              1e-5);
}

// The correction bias is a [1, E] parameter; one of the wrong size is refused.
TEST(Ernie45Moe, CorrectionBiasOfTheWrongSizeIsAnError)
{
    TempDir tmp;
    auto tensors = fixtureTensors("ernie4_5_moe");
    tensorNamed(tensors, "model.layers.1.mlp.moe_statics.e_score_correction_bias") = at::zeros({1, 7});
    writeModel(tmp.path(), fixtureConfig("ernie4_5_moe"), tensors);
    const auto error = errorOf([&] { MoeModel::load(tmp.str()); });
    EXPECT_NE(error.find("e_score_correction_bias"), std::string::npos) << error;
}
