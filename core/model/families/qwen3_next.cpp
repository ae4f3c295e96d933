// Qwen3-Next (transformers models/qwen3_next, v4.57.0). Differences from
// qwen2_moe: hybrid layers by layer_types (default: every
// full_attention_interval-th layer full_attention, the others
// linear_attention), the linear ones gated DeltaNet (linear_attention.cpp),
// the full ones gated attention (q_proj gives query | gate per head, output
// times sigmoid(gate), per-head q/k norm, partial rotary 0.25 by default);
// every RMSNorm but the DeltaNet output norm is zero-centred (1 + w); no
// q/k/v bias unless attention_bias; renormalised top-k by default; the
// mtp.* tensors (multi-token prediction) are not part of the model.
#include "core/model/families/config_reader.h"

namespace moescope::model {

namespace {

// layer_types[l], or Qwen3NextConfig's pattern from full_attention_interval.
std::string layerType(const ConfigReader &config, int layer)
{
    if (!config.has("layer_types")) {
        const int interval = config.getInt("full_attention_interval", 4);
        if (interval <= 0)
            config.fail("'full_attention_interval' must be positive");
        return (layer + 1) % interval == 0 ? "full_attention" : "linear_attention";
    }
    const auto &list = config.json().at("layer_types");
    if (!list.is_array() || list.size() != static_cast<std::size_t>(config.requireInt("num_hidden_layers")))
        config.fail("'layer_types' must list one type per layer");
    const auto &type = list.at(static_cast<std::size_t>(layer));
    if (!type.is_string())
        config.fail("'layer_types' holds a non-string");
    return type.get<std::string>();
}

} // namespace

ModelSpec describeQwen3Next(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-6, .ropeTheta = 10000.0, .readsHeadDim = true},
                                           {.absentHeadDim = 256, .maxPositions = 32768});
    if (!config.has("partial_rotary_factor")) { // Qwen3NextConfig's 0.25
        spec.rope.rotaryDim = static_cast<int>(spec.attention.headDim * 0.25);
        if (spec.rope.rotaryDim <= 0 || spec.rope.rotaryDim % 2 != 0)
            config.fail("head_dim " + std::to_string(spec.attention.headDim)
                        + " with the default partial_rotary_factor 0.25 gives no even rotary dimension");
    }
    spec.norm = NormKind::ZeroCentredRmsNorm;
    spec.names.ignoredPrefix = "mtp.";

    auto &att = spec.attention;
    att.qkvBias = att.oBias = config.getBool("attention_bias", false);
    att.qkNorm = QkNormKind::PerHead;
    att.qkNormKind = NormKind::ZeroCentredRmsNorm;
    att.outputGate = true;
    att.linear.numKeyHeads = config.getInt("linear_num_key_heads", 16);
    att.linear.numValueHeads = config.getInt("linear_num_value_heads", 32);
    att.linear.keyHeadDim = config.getInt("linear_key_head_dim", 128);
    att.linear.valueHeadDim = config.getInt("linear_value_head_dim", 128);
    att.linear.convKernel = config.getInt("linear_conv_kernel_dim", 4);

    spec.moe.numExperts = config.getInt("num_experts", 512);
    spec.moe.topK = config.getInt("num_experts_per_tok", 10);
    spec.moe.expertIntermediate = config.getInt("moe_intermediate_size", 512);
    spec.moe.rule = RouterRule::SoftmaxTopK;
    spec.moe.renormalize = config.getBool("norm_topk_prob", true);
    spec.moe.shared = SharedExpertKind::SigmoidGated;
    spec.moe.sharedIntermediate = config.getInt("shared_expert_intermediate_size", 512);
    applySparseStepLayout(spec, config, 5632);

    for (int l = 0; l < spec.numLayers; ++l) {
        const auto type = layerType(config, l);
        if (type == "linear_attention")
            spec.layers[static_cast<std::size_t>(l)].attention = AttentionKind::GatedDeltaNet;
        else if (type != "full_attention")
            config.fail("unsupported layer type '" + type + "'");
    }
    return spec;
}

} // namespace moescope::model
