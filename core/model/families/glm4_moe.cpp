// GLM-4.5 / GLM-4.5-Air / GLM-4.6 (transformers models/glm4_moe, v4.54.0).
// Differences from deepseek_v3: grouped-query attention, not latent: q/k/v
// biases with attention_bias (o_proj never has one), per-head q/k RMSNorm
// before rope with use_qk_norm (default off), partial rotary
// (partial_rotary_factor, default 0.5) in the rotate_half layout of the
// first rotary dims; the configuration class's other defaults (one group,
// routed_scaling_factor 1, one dense layer). Router, shared experts and
// dense layers as deepseek_v3: sigmoid in fp32 with e_score_correction_bias
// for the choice, groups scored by their two best choice scores, weights
// renormalised with norm_topk_prob and scaled.
#include "core/model/families/config_reader.h"

namespace moescope::model {

ModelSpec describeGlm4Moe(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-5, .ropeTheta = 10000.0, .readsHeadDim = true},
                                           {.absentHeadDim = std::nullopt, .maxPositions = 131072});
    auto &att = spec.attention;
    att.qkvBias = config.getBool("attention_bias", false);
    att.oBias = false;
    if (config.getBool("use_qk_norm", false))
        att.qkNorm = QkNormKind::PerHead;
    // Glm4MoeConfig defaults partial_rotary_factor to 0.5 (the common parser's
    // default is 1); int(head_dim * factor) as the rope initialisers take it.
    const double partial = config.getDouble("partial_rotary_factor", 0.5);
    spec.rope.rotaryDim = static_cast<int>(att.headDim * partial);
    if (spec.rope.rotaryDim <= 0 || spec.rope.rotaryDim > att.headDim || spec.rope.rotaryDim % 2 != 0)
        config.fail("unsupported partial_rotary_factor " + std::to_string(partial));

    auto &moe = spec.moe;
    moe.numExperts = config.getInt("n_routed_experts", 128);
    moe.topK = config.getInt("num_experts_per_tok", 8);
    moe.expertIntermediate = config.getInt("moe_intermediate_size", 1408);
    moe.rule = RouterRule::SigmoidGroupLimited;
    moe.routerInFloat32 = true;
    moe.renormalize = config.getBool("norm_topk_prob", true);
    moe.routedScalingFactor = config.getDouble("routed_scaling_factor", 1.0);
    readExpertGroups(moe, config, 1, 1);
    readSharedExpertsAndDenseLayers(spec, config, 1, 1, 10944);
    return spec;
}

} // namespace moescope::model
