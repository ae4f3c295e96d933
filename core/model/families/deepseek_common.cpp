// The DeepSeek-style pieces several families share: multi-head latent
// attention as DeepseekV2Config (v4.54.0) and DeepseekV3Config (v4.51.3)
// describe it (the same keys and defaults; what differs, v3's
// rope_interleave and yarn mscale in the score scale, stays in their files),
// and group-limited routing's n_group / topk_group (deepseek_v2, deepseek_v3,
// glm4_moe).
#include "core/model/families/config_reader.h"

#include <cmath>

namespace moescope::model {

void describeLatentAttention(ModelSpec &spec, const ConfigReader &config)
{
    auto &att = spec.attention;
    auto &mla = att.latent;
    att.kind = AttentionKind::Latent;
    // The configuration classes default to 1536; an explicit null means a direct q_proj.
    if (!config.json().contains("q_lora_rank"))
        mla.qLoraRank = 1536;
    else
        mla.qLoraRank = config.optionalInt("q_lora_rank");
    mla.kvLoraRank = config.getInt("kv_lora_rank", 512);
    mla.qkNopeHeadDim = config.getInt("qk_nope_head_dim", 128);
    mla.qkRopeHeadDim = config.getInt("qk_rope_head_dim", 64);
    mla.vHeadDim = config.getInt("v_head_dim", 128);
    if ((mla.qLoraRank && *mla.qLoraRank <= 0) || mla.kvLoraRank <= 0 || mla.qkNopeHeadDim < 0
        || mla.qkRopeHeadDim <= 0 || mla.qkRopeHeadDim % 2 != 0 || mla.vHeadDim <= 0)
        config.fail("invalid latent attention dimensions (q_lora_rank, kv_lora_rank, "
                    "qk_*_head_dim, v_head_dim)");
    // Every head has its own keys and values after kv_b_proj; repeat_kv with
    // fewer kv heads would not match the queries.
    if (att.numKvHeads != att.numHeads)
        config.fail(spec.modelType + " latent attention needs num_key_value_heads == num_attention_heads");
    att.headDim = mla.qkNopeHeadDim + mla.qkRopeHeadDim;
    const bool bias = config.getBool("attention_bias", false);
    att.qkvBias = bias; // q_a_proj and kv_a_proj_with_mqa
    att.oBias = bias;
    att.scoreScale = 1.0 / std::sqrt(static_cast<double>(att.headDim));
    // The configuration classes set head_dim = qk_rope_head_dim, which is
    // what the rope initialisers read.
    spec.rope.rotaryDim = mla.qkRopeHeadDim;
}

void readExpertGroups(MoeSpec &moe, const ConfigReader &config, int defaultGroups, int defaultTopkGroups)
{
    moe.numGroups = config.getInt("n_group", defaultGroups);
    moe.topkGroups = config.getInt("topk_group", defaultTopkGroups);
    if (moe.numGroups <= 0 || moe.numExperts % moe.numGroups != 0)
        config.fail("n_group must divide n_routed_experts");
    if (moe.rule == RouterRule::SigmoidGroupLimited && moe.numExperts / moe.numGroups < 2)
        config.fail("each expert group needs at least 2 experts (group score = sum of the best 2)");
    if (moe.topkGroups <= 0 || moe.topkGroups > moe.numGroups)
        config.fail("topk_group must be between 1 and n_group");
}

void readSharedExpertsAndDenseLayers(ModelSpec &spec, const ConfigReader &config, int defaultShared,
                                     int defaultFirstDense, int defaultDenseWidth)
{
    auto &moe = spec.moe;
    const int shared = config.getInt("n_shared_experts", defaultShared);
    if (shared < 0)
        config.fail("n_shared_experts must not be negative");
    if (shared > 0) {
        moe.shared = SharedExpertKind::Always;
        moe.sharedIntermediate = moe.expertIntermediate * shared;
    }
    spec.names.sharedExpert = "shared_experts.";
    const int firstDense = config.getInt("first_k_dense_replace", defaultFirstDense);
    const int denseWidth = config.getInt("intermediate_size", defaultDenseWidth);
    for (int l = 0; l < spec.numLayers; ++l) {
        auto &layer = spec.layers[static_cast<std::size_t>(l)];
        layer.moe = l >= firstDense;
        layer.denseIntermediate = denseWidth;
    }
}

} // namespace moescope::model
