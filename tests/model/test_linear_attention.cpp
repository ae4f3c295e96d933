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
