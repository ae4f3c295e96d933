// DeepSeek-V2 / V2-Lite / V2.5 / Coder-V2 (transformers models/deepseek_v2,
// v4.54.0). Differences from deepseek_v3:
// * the same multi-head latent attention, but the rope on the rope dims is
//   always the pairwise (view_as_complex) rotation, in fp32, and the score scale is
//   qk_head_dim^-0.5 alone: v4.54.0 applies no yarn mscale^2 to it (a yarn
//   rope_scaling, as V2-Lite's, acts through the rope initialiser only:
//   frequencies and its mscale / mscale_all_dim attention factor);
// * softmax router in fp32: topk_method "greedy" takes the top-k
//   probabilities, "group_limited_greedy" first keeps the topk_group groups
//   with the largest single probability; weights are the probabilities times
//   routed_scaling_factor, never renormalised (norm_topk_prob is unused);
// * experts, shared experts and dense MLPs carry biases with mlp_bias;
// * layers from first_k_dense_replace on are MoE (moe_layer_freq is not
//   read by v4.54.0).
#include "core/model/families/config_reader.h"

namespace moescope::model {

ModelSpec describeDeepseekV2(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-6, .ropeTheta = 10000.0, .readsHeadDim = false},
                                           {.absentHeadDim = std::nullopt, .maxPositions = 2048});
    describeLatentAttention(spec, config);
    spec.rope.interleaved = true;
    spec.rope.inFloat32 = true;

    auto &moe = spec.moe;
    moe.numExperts = config.getInt("n_routed_experts", 64);
    moe.topK = config.requireInt("num_experts_per_tok"); // the configuration default (None) cannot route
    moe.expertIntermediate = config.getInt("moe_intermediate_size", 1407);
    moe.routerInFloat32 = true;
    moe.renormalize = false;
    moe.routedScalingFactor = config.getDouble("routed_scaling_factor", 1.0);
    const auto method = config.getString("topk_method", "greedy");
    if (method == "greedy") {
        moe.rule = RouterRule::SoftmaxTopK;
    } else if (method == "group_limited_greedy") {
        moe.rule = RouterRule::SoftmaxGroupLimited;
        if (!config.has("n_group") || !config.has("topk_group"))
            config.fail("topk_method group_limited_greedy needs n_group and topk_group");
        readExpertGroups(moe, config, 1, 1);
    } else {
        config.fail("unsupported topk_method '" + method + "' (deepseek_v2: greedy, group_limited_greedy)");
    }
    const bool bias = config.getBool("mlp_bias", false);
    moe.expertBias = bias;
    spec.mlpBias = bias;
    // An explicit null has no shared experts (DeepSeek's own code; v4.54.0's
    // forward would fail on it).
    readSharedExpertsAndDenseLayers(spec, config, config.json().contains("n_shared_experts") ? 0 : 2, 0, 11008);
    return spec;
}

} // namespace moescope::model
