// gpt-oss (transformers models/gpt_oss, v4.55.4). Differences from mixtral:
// q/k/v/o always carry biases (the configuration class forces
// attention_bias); each head has a learned sink logit that joins the softmax
// denominator; layer_types alternate sliding_attention (window
// sliding_window) and full_attention; the router linear has a bias, takes the
// top-k logits and softmaxes over them; experts are fused tensors
// gate_up_proj [E, H, 2I] (gate = even columns, up = odd) and down_proj
// [E, I, H], both with biases, activation clamped SwiGLU (swiglu_limit,
// alpha 1.702, up + 1); RMSNorm multiplies its weight in fp32; rope_scaling
// defaults to yarn factor 32 with truncate false. Published gpt-oss
// checkpoints store the experts as MXFP4 blocks/scales instead
// (quantization_config mxfp4; moe_block.cpp loadMxfp4Experts).
#include "core/model/families/config_reader.h"

namespace moescope::model {

ModelSpec describeGptOss(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-5, .ropeTheta = 150000.0, .readsHeadDim = true},
                                           {.absentHeadDim = 64, .maxPositions = 131072});
    if (!config.json().contains("rope_scaling")) {
        // GptOssConfig's default rope_scaling (an explicit null means plain rope).
        spec.rope.kind = RopeKind::Yarn;
        spec.rope.factor = 32.0;
        spec.rope.betaFast = 32.0;
        spec.rope.betaSlow = 1.0;
        spec.rope.yarnTruncate = false;
    }
    spec.norm = NormKind::RmsNormWeightInFloat32;
    spec.attention.qkvBias = true;
    spec.attention.oBias = true;
    spec.attention.sinks = true;

    spec.activation = Activation::ClampedSwiGlu;
    spec.swigluLimit = config.getDouble("swiglu_limit", 7.0);
    spec.moe.numExperts = config.getInt("num_local_experts", 128);
    spec.moe.topK = config.getInt("num_experts_per_tok", 4);
    spec.moe.expertIntermediate = config.getInt("intermediate_size", 2880);
    spec.moe.rule = RouterRule::TopKSoftmax;
    spec.moe.routerBias = true;
    spec.moe.layout = ExpertLayout::InterleavedGateUp;
    spec.moe.expertBias = true;

    spec.names.router = "router";
    spec.names.expert = "experts.";
    spec.names.gateUpProj = "gate_up_proj";
    spec.names.downProj = "down_proj";

    const auto window = config.json().contains("sliding_window")
        ? config.optionalInt("sliding_window")
        : std::optional<int>(128);
    std::vector<std::string> types;
    if (config.has("layer_types")) {
        const auto &list = config.json().at("layer_types");
        if (!list.is_array() || list.size() != static_cast<std::size_t>(spec.numLayers))
            config.fail("'layer_types' must list one type per layer");
        for (const auto &t : list) {
            if (!t.is_string())
                config.fail("'layer_types' holds a non-string");
            types.push_back(t.get<std::string>());
        }
    } else {
        for (int l = 0; l < spec.numLayers; ++l)
            types.emplace_back((l + 1) % 2 ? "sliding_attention" : "full_attention");
    }
    for (int l = 0; l < spec.numLayers; ++l) {
        const auto &type = types[static_cast<std::size_t>(l)];
        if (type == "sliding_attention") {
            if (!window || *window <= 0)
                config.fail("sliding_attention layers need a positive sliding_window");
            spec.layers[static_cast<std::size_t>(l)].slidingWindow = window;
        } else if (type != "full_attention") {
            config.fail("unsupported layer type '" + type + "'");
        }
    }
    return spec;
}

} // namespace moescope::model
