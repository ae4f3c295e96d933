// Qwen3-MoE (transformers models/qwen3_moe, v4.51.3). Differences from
// qwen2_moe: no shared expert; q/k/v/o biases follow attention_bias (default
// off); per-head RMSNorm on q and k (q_norm/k_norm over head_dim) before
// rotary; config.head_dim is honoured.
#include "core/model/families/config_reader.h"

namespace moescope::model {

ModelSpec describeQwen3Moe(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-6, .ropeTheta = 10000.0, .readsHeadDim = true});

    const bool bias = config.getBool("attention_bias", false);
    spec.attention.qkvBias = bias;
    spec.attention.oBias = bias;
    spec.attention.qkNorm = QkNormKind::PerHead;

    spec.moe.numExperts = config.getInt("num_experts", 128);
    spec.moe.topK = config.getInt("num_experts_per_tok", 8);
    spec.moe.expertIntermediate = config.getInt("moe_intermediate_size", 768);
    spec.moe.rule = RouterRule::SoftmaxTopK;
    spec.moe.renormalize = config.getBool("norm_topk_prob", false);
    applySparseStepLayout(spec, config);

    if (config.getBool("use_sliding_window", false)) {
        const auto window = config.optionalInt("sliding_window");
        for (auto &layer : spec.layers)
            layer.slidingWindow = window;
    }
    return spec;
}

} // namespace moescope::model
