// OLMoE (transformers models/olmoe, v4.47.1). Differences from mixtral: RMSNorm
// over the whole q and k projections (q_norm: heads*head_dim, k_norm:
// kv_heads*head_dim) before the head split; optional clip_qkv clamp; biases on
// q/k/v/o follow attention_bias; renormalisation only with norm_topk_prob
// (default off); experts named gate_proj/up_proj/down_proj under mlp.
#include "core/model/families/config_reader.h"

namespace moescope::model {

ModelSpec describeOlmoe(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-5, .ropeTheta = 10000.0, .readsHeadDim = false});

    const bool bias = config.getBool("attention_bias", false);
    spec.attention.qkvBias = bias;
    spec.attention.oBias = bias;
    spec.attention.qkNorm = QkNormKind::Full;
    spec.attention.clipQkv = config.optionalDouble("clip_qkv");

    spec.moe.numExperts = config.getInt("num_experts", 64);
    spec.moe.topK = config.getInt("num_experts_per_tok", 8);
    spec.moe.expertIntermediate = config.requireInt("intermediate_size");
    spec.moe.rule = RouterRule::SoftmaxTopK;
    spec.moe.renormalize = config.getBool("norm_topk_prob", false);
    return spec;
}

} // namespace moescope::model
