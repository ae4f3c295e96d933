// PhiMoE (transformers models/phimoe, v4.47.1). Differences from mixtral:
// LayerNorm with bias (eps = rms_norm_eps) instead of RMSNorm, everywhere;
// routing is sparsemixer in eval mode (exactly two experts, weights from two
// jitter-thresholded softmaxes, never renormalised; router_jitter_noise is the
// threshold eps); q/k/v/o biases follow attention_bias; lm_head may carry a
// bias (lm_head_bias); head_dim is hidden / heads; a non-null sliding_window
// applies to every layer; rope_scaling "longrope" with short/long mscale.
#include "core/model/families/config_reader.h"

namespace moescope::model {

ModelSpec describePhimoe(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-5, .ropeTheta = 1e6, .readsHeadDim = false},
                                           {.absentHeadDim = std::nullopt, .maxPositions = 4096 * 32});

    spec.norm = NormKind::LayerNorm;
    const bool bias = config.getBool("attention_bias", false);
    spec.attention.qkvBias = bias;
    spec.attention.oBias = bias;
    spec.lmHeadBias = config.getBool("lm_head_bias", false);

    spec.moe.numExperts = config.getInt("num_local_experts", 16);
    spec.moe.topK = config.getInt("num_experts_per_tok", 2);
    if (spec.moe.topK != 2)
        config.fail(
            "phimoe's sparsemixer routes exactly 2 experts per token (num_experts_per_tok is "
            + std::to_string(spec.moe.topK) + ")");
    spec.moe.expertIntermediate = config.getInt("intermediate_size", 6400);
    spec.moe.rule = RouterRule::SparseMixer;
    spec.moe.jitterEps = config.getDouble("router_jitter_noise", 0.01);

    spec.names.moe = "block_sparse_moe.";
    spec.names.gateProj = "w1";
    spec.names.upProj = "w3";
    spec.names.downProj = "w2";

    const auto window = config.optionalInt("sliding_window");
    for (auto &layer : spec.layers)
        layer.slidingWindow = window;
    return spec;
}

} // namespace moescope::model
