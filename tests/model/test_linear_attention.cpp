// Gated DeltaNet (qwen3_next linear_attention layers): the chunked prefill
// form against the token-by-token recurrence, the state a cache carries
// across steps, padding that must leave a row's state alone, and the
// qwen3_next config defaults and shape errors.
#include "model_test_support.h"

#include "core/common/error.h"
#include "core/model/decoder.h"
#include "core/model/model_info.h"
#include "core/model/moe_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

struct DeltaInputs
{
    at::Tensor q, k, v, g, beta, state;
};

// Inputs as the layer makes them: l2-normalised q (scaled) and k, decays
// g = -exp(A) softplus(.) < 0 of varied strength, beta in (0, 1).
DeltaInputs randomInputs(std::int64_t B, std::int64_t H, std::int64_t T, std::int64_t Dk, std::int64_t Dv,
                         std::uint64_t seed)
{
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto normal = [&](std::vector<std::int64_t> shape) {
        return at::normal(0.0, 1.0, shape, gen, at::TensorOptions().dtype(at::kFloat));
    };
    const auto unit = [](const at::Tensor &x) { return x / x.norm(2, -1, true); };
    DeltaInputs in;
    in.q = unit(normal({B, H, T, Dk})) / std::sqrt(static_cast<double>(Dk));
    in.k = unit(normal({B, H, T, Dk}));
    in.v = normal({B, H, T, Dv});
    in.g = -at::softplus(normal({B, H, T})) * 0.5;
    in.beta = at::sigmoid(normal({B, H, T}));
    in.state = normal({B, H, Dk, Dv}) * 0.3;
    return in;
}

} // namespace

TEST(GatedDeltaRule, ChunkedFormEqualsTheRecurrenceAtEveryLength)
{
    c10::InferenceMode guard;
    for (const std::int64_t T : {1, 2, 7, 63, 64, 65, 129, 200}) {
        const auto in = randomInputs(2, 3, T, 8, 12, 100 + static_cast<std::uint64_t>(T));
        for (const bool withState : {false, true}) {
            const auto initial = withState ? in.state : at::Tensor();
            const auto rec = recurrentGatedDeltaRule(in.q, in.k, in.v, in.g, in.beta, initial);
            const auto chunk = chunkGatedDeltaRule(in.q, in.k, in.v, in.g, in.beta, initial);
            ASSERT_EQ(chunk.out.sizes(), rec.out.sizes());
            const double scale = rec.out.abs().max().item<double>();
            EXPECT_LE(maxAbsDiff(chunk.out, rec.out), 2e-5 * std::max(1.0, scale)) << "T " << T;
            EXPECT_LE(maxAbsDiff(chunk.state, rec.state), 2e-5 * std::max(1.0, rec.state.abs().max().item<double>()))
                << "T " << T;
            // Another chunk length gives the same (the chunking is not the model).
            const auto small = chunkGatedDeltaRule(in.q, in.k, in.v, in.g, in.beta, initial, 16);
            EXPECT_LE(maxAbsDiff(small.out, rec.out), 2e-5 * std::max(1.0, scale)) << "T " << T;
        }
    }
}

// The recurrence itself, written out per head with explicit loops over the
// state matrix (FAMILIES-2.md: S <- exp(g) S; u = S^T k; S <- S + k (beta
// (v - u))^T; o = S^T q), so the tensor form is not checked against itself.
TEST(GatedDeltaRule, RecurrenceMatchesTheFormulaWrittenOut)
{
    c10::InferenceMode guard;
    const std::int64_t B = 1, H = 2, T = 5, Dk = 3, Dv = 4;
    const auto in = randomInputs(B, H, T, Dk, Dv, 7);
    const auto rec = recurrentGatedDeltaRule(in.q, in.k, in.v, in.g, in.beta, in.state);
    for (std::int64_t h = 0; h < H; ++h) {
        std::vector<std::vector<double>> S(Dk, std::vector<double>(Dv));
        for (std::int64_t i = 0; i < Dk; ++i)
            for (std::int64_t j = 0; j < Dv; ++j)
                S[i][j] = in.state[0][h][i][j].item<double>();
        for (std::int64_t t = 0; t < T; ++t) {
            const double decay = std::exp(in.g[0][h][t].item<double>()), beta = in.beta[0][h][t].item<double>();
            for (auto &row : S)
                for (auto &s : row)
                    s *= decay;
            std::vector<double> u(Dv, 0.0);
            for (std::int64_t j = 0; j < Dv; ++j)
                for (std::int64_t i = 0; i < Dk; ++i)
                    u[j] += S[i][j] * in.k[0][h][t][i].item<double>();
            for (std::int64_t i = 0; i < Dk; ++i)
                for (std::int64_t j = 0; j < Dv; ++j)
                    S[i][j] += in.k[0][h][t][i].item<double>() * beta * (in.v[0][h][t][j].item<double>() - u[j]);
            for (std::int64_t j = 0; j < Dv; ++j) {
                double o = 0.0;
                for (std::int64_t i = 0; i < Dk; ++i)
                    o += S[i][j] * in.q[0][h][t][i].item<double>();
                EXPECT_NEAR(rec.out[0][h][t][j].item<double>(), o, 1e-5) << "head " << h << " t " << t;
            }
        }
    }
}

// Prefill in several multi-token pieces over one cache (chunked form with
// the cached state and conv inputs as the start) equals one full pass.
TEST(Qwen3Next, MultiTokenStepsOverTheCacheEqualOnePass)
{
    const auto model = MoeModel::load(fixtureDir("qwen3_next"));
    const auto ids = fixtureIds("qwen3_next");
    EXPECT_LE(maxAbsDiff(logitsInSteps(model, ids, {5, 2, 7, 1, 1}), logitsOf(model, ids)), 1e-4);
}

// A masked-out step (a finished row in batched generation) leaves that
// row's conv and recurrent state as they were: the next real token sees
// the same state as if the masked step had not happened.
TEST(Qwen3Next, MaskedOutStepsLeaveTheLinearAttentionStateAlone)
{
    const auto model = MoeModel::load(fixtureDir("qwen3_next"));
    const auto &decoder = model.decoder();
    const auto ids = fixtureIds("qwen3_next");
    const std::int64_t prompt = 8;
    const auto run = [&](bool insertMaskedStep) {
        KvCache cache = decoder.newCache(2);
        ForwardRequest request;
        request.inputIds = ids.narrow(1, 0, prompt);
        request.cache = &cache;
        request.lastPositionOnly = true;
        decoder.forward(request);
        if (insertMaskedStep) {
            request.inputIds = at::full({2, 1}, 11, at::kLong);
            auto mask = at::ones({2, 1}, at::kLong);
            mask[0][0] = 0;
            request.attentionMask = mask;
            decoder.forward(request);
            request.attentionMask = at::Tensor();
        }
        request.inputIds = ids.narrow(1, prompt, 1);
        return decoder.forward(request);
    };
    const auto plain = run(false), withMasked = run(true);
    EXPECT_LE(maxAbsDiff(withMasked[0], plain[0]), 1e-5);
    // Row 1 did take the extra token: the test would notice a no-op.
    EXPECT_GT(maxAbsDiff(withMasked[1], plain[1]), 1e-3);
}

TEST(Qwen3Next, HybridLayersAndDefaultsFromTheConfigurationClass)
{
    auto config = fixtureConfig("qwen3_next");
    const auto spec = describeModelConfig(config.dump(), "config.json");
    EXPECT_EQ(spec.torchDtype, "float32"); // from "dtype"
    ASSERT_EQ(spec.layers.size(), 3u);
    EXPECT_EQ(spec.layers[0].attention, AttentionKind::GatedDeltaNet);
    EXPECT_FALSE(spec.layers[1].attention.has_value());
    EXPECT_EQ(spec.layers[2].attention, AttentionKind::GatedDeltaNet);
    EXPECT_EQ(spec.rope.rotaryDim, 4);
    EXPECT_EQ(spec.attention.linear.numValueHeads, 4);

    // Without layer_types: full attention every full_attention_interval-th
    // layer (default 4); without partial_rotary_factor 0.25; without
    // norm_topk_prob renormalised.
    config.erase("layer_types");
    config.erase("partial_rotary_factor");
    config.erase("norm_topk_prob");
    config.erase("intermediate_size");
    config["num_hidden_layers"] = 8;
    config["full_attention_interval"] = 3;
    config["head_dim"] = 32;
    auto other = describeModelConfig(config.dump(), "config.json");
    for (int l = 0; l < 8; ++l)
        EXPECT_EQ(other.layers[static_cast<std::size_t>(l)].attention.has_value(), (l + 1) % 3 != 0) << l;
    EXPECT_EQ(other.rope.rotaryDim, 8);
    EXPECT_TRUE(other.moe.renormalize);
    EXPECT_EQ(other.layers[0].denseIntermediate, 5632);
    config.erase("full_attention_interval");
    other = describeModelConfig(config.dump(), "config.json");
    for (int l = 0; l < 8; ++l)
        EXPECT_EQ(other.layers[static_cast<std::size_t>(l)].attention.has_value(), (l + 1) % 4 != 0) << l;

    config["layer_types"] = {"linear_attention", "sliding_attention"};
    EXPECT_NE(errorOf([&] { describeModelConfig(config.dump(), "config.json"); }).find("one type per layer"),
              std::string::npos);
    config["num_hidden_layers"] = 2;
    EXPECT_NE(errorOf([&] { describeModelConfig(config.dump(), "config.json"); }).find("sliding_attention"),
              std::string::npos);
}

TEST(Qwen3Next, WrongLinearAttentionShapesAreOneLineErrors)
{
    TempDir tmp;
    auto config = fixtureConfig("qwen3_next");
    config["linear_num_value_heads"] = 8; // the stored in_proj_qkvz has rows for 4
    writeModel(tmp.path(), config, fixtureTensors("qwen3_next"));
    const auto message = errorOf([&] { MoeModel::load(tmp.str()); });
    EXPECT_NE(message.find("in_proj_qkvz"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;

    config = fixtureConfig("qwen3_next");
    config["linear_num_key_heads"] = 3; // 4 value heads are not a multiple
    writeModel(tmp.path(), config, fixtureTensors("qwen3_next"));
    EXPECT_NE(errorOf([&] { MoeModel::load(tmp.str()); }).find("linear_num_key_heads"), std::string::npos);
}

TEST(Qwen3Next, InfoNamesTheHybridLayers)
{
    const auto info = inspectModel(fixtureDir("qwen3_next"));
    EXPECT_NE(info.attention.find("gated DeltaNet linear attention in layers [0,2]"), std::string::npos)
        << info.attention;
    EXPECT_NE(info.attention.find("sigmoid output gate"), std::string::npos);
    EXPECT_EQ(info.configDtype, "float32");
}

// A qwen3_next of another shape than the fixture: one value head per key
// head, Dk != Dv, conv kernel 3, layer pattern linear/linear/full/linear,
// decoder_sparse_step 2 (dense layers 0 and 2), an mtp.* tensor. Prompts
// longer than two chunks: a cache fed in uneven pieces (chunked with a
// carried state, and one-token recurrent steps) equals one pass, and a
// left-padded row equals the same tokens alone.
TEST(Qwen3Next, OtherShapeAcrossChunksCacheAndPadding)
{
    const std::int64_t H = 32, V = 64, Hk = 2, Hv = 2, Dk = 8, Dv = 12, K = 3, heads = 2, kv = 1, hd = 8, E = 4,
                       I = 16, dense = 24, shared = 20;
    nlohmann::json config = {{"model_type", "qwen3_next"}, {"vocab_size", V}, {"hidden_size", H},
        {"num_hidden_layers", 4}, {"num_attention_heads", heads}, {"num_key_value_heads", kv}, {"head_dim", hd},
        {"intermediate_size", dense}, {"moe_intermediate_size", I}, {"shared_expert_intermediate_size", shared},
        {"num_experts", E}, {"num_experts_per_tok", 2}, {"decoder_sparse_step", 2}, {"partial_rotary_factor", 0.5},
        {"linear_num_key_heads", Hk}, {"linear_num_value_heads", Hv}, {"linear_key_head_dim", Dk},
        {"linear_value_head_dim", Dv}, {"linear_conv_kernel_dim", K}, {"rms_norm_eps", 1e-6},
        {"layer_types", {"linear_attention", "linear_attention", "full_attention", "linear_attention"}},
        {"tie_word_embeddings", false}, {"dtype", "float32"}};
    auto gen = at::make_generator<at::CPUGeneratorImpl>(42);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    const auto add = [&](const std::string &name, std::vector<std::int64_t> shape, double std) {
        tensors.emplace_back(name, at::normal(0.0, std, shape, gen, at::TensorOptions().dtype(at::kFloat)));
    };
    add("model.embed_tokens.weight", {V, H}, 0.5);
    add("lm_head.weight", {V, H}, 0.1);
    add("model.norm.weight", {H}, 0.1);
    add("mtp.fc.weight", {H, 2 * H}, 0.1); // not part of the model
    for (int l = 0; l < 4; ++l) {
        const auto p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", {H}, 0.1);
        add(p + "post_attention_layernorm.weight", {H}, 0.1);
        if (l == 2) {
            add(p + "self_attn.q_proj.weight", {heads * hd * 2, H}, 0.1);
            add(p + "self_attn.k_proj.weight", {kv * hd, H}, 0.1);
            add(p + "self_attn.v_proj.weight", {kv * hd, H}, 0.1);
            add(p + "self_attn.o_proj.weight", {H, heads * hd}, 0.1);
            add(p + "self_attn.q_norm.weight", {hd}, 0.1);
            add(p + "self_attn.k_norm.weight", {hd}, 0.1);
        } else {
            add(p + "linear_attn.in_proj_qkvz.weight", {2 * Hk * Dk + 2 * Hv * Dv, H}, 0.1);
            add(p + "linear_attn.in_proj_ba.weight", {2 * Hv, H}, 0.1);
            add(p + "linear_attn.conv1d.weight", {2 * Hk * Dk + Hv * Dv, 1, K}, 0.3);
            add(p + "linear_attn.A_log", {Hv}, 0.5);
            add(p + "linear_attn.dt_bias", {Hv}, 0.5);
            add(p + "linear_attn.norm.weight", {Dv}, 0.1);
            add(p + "linear_attn.out_proj.weight", {H, Hv * Dv}, 0.1);
        }
        if (l % 2 == 1) {
            add(p + "mlp.gate.weight", {E, H}, 0.5);
            for (int e = 0; e < E; ++e) {
                const auto x = p + "mlp.experts." + std::to_string(e) + ".";
                add(x + "gate_proj.weight", {I, H}, 0.1);
                add(x + "up_proj.weight", {I, H}, 0.1);
                add(x + "down_proj.weight", {H, I}, 0.1);
            }
            add(p + "mlp.shared_expert.gate_proj.weight", {shared, H}, 0.1);
            add(p + "mlp.shared_expert.up_proj.weight", {shared, H}, 0.1);
            add(p + "mlp.shared_expert.down_proj.weight", {H, shared}, 0.1);
            add(p + "mlp.shared_expert_gate.weight", {1, H}, 0.1);
        } else {
            add(p + "mlp.gate_proj.weight", {dense, H}, 0.1);
            add(p + "mlp.up_proj.weight", {dense, H}, 0.1);
            add(p + "mlp.down_proj.weight", {H, dense}, 0.1);
        }
    }
    TempDir tmp;
    writeModel(tmp.path(), config, tensors);
    std::uint64_t parameters = 0;
    for (const auto &[name, t] : tensors)
        if (name.rfind("mtp.", 0) != 0)
            parameters += static_cast<std::uint64_t>(t.numel());
    EXPECT_EQ(inspectModel(tmp.str()).totalParameters, parameters);

    const auto model = MoeModel::load(tmp.str());
    EXPECT_EQ(model.spec().moeLayers(), (std::vector<int>{1, 3}));
    const auto ids = at::randint(0, V, {2, 150}, gen, at::kLong);
    const auto full = logitsOf(model, ids);
    EXPECT_LE(maxAbsDiff(logitsInSteps(model, ids, {70, 1, 1, 1, 60, 17}), full), 1e-4);

    const std::int64_t pad = 41, len = 150 - pad;
    auto batch = ids.clone();
    batch[1].narrow(0, 0, pad).fill_(3);
    batch[1].narrow(0, pad, len).copy_(ids[1].narrow(0, 0, len));
    auto mask = at::ones({2, 150}, at::kLong);
    mask[1].narrow(0, 0, pad).fill_(0);
    const auto padded = logitsOf(model, batch, mask);
    EXPECT_LE(maxAbsDiff(padded[1].narrow(0, pad, len), logitsOf(model, ids.narrow(0, 1, 1).narrow(1, 0, len))[0]),
              1e-4);
    EXPECT_LE(maxAbsDiff(padded[0], full[0]), 1e-5);
}
