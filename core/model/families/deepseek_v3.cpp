// DeepSeek-V3 (transformers models/deepseek_v3, v4.51.3; q_lora_rank null as
// in v4.55). Differences from mixtral:
// * multi-head latent attention: q through q_a_proj -> q_a_layernorm ->
//   q_b_proj (or one q_proj when q_lora_rank is null), keys/values from
//   kv_a_proj_with_mqa -> kv_a_layernorm -> kv_b_proj; per head
//   qk_nope_head_dim + qk_rope_head_dim query/key dims and v_head_dim values;
//   rope only on the rope part (rotary dim qk_rope_head_dim, interleaved
//   unless rope_interleave is false); score scale qk_head_dim^-0.5, times
//   yarn_get_mscale(rope_scaling.factor, mscale_all_dim)^2 when set;
// * sigmoid router in fp32 with e_score_correction_bias for the choice only,
//   group-limited top-k (n_group, topk_group), weights renormalised when
//   norm_topk_prob and scaled by routed_scaling_factor;
// * n_shared_experts shared experts fused into one MLP of width
//   moe_intermediate_size * n_shared_experts, always added;
// * the first first_k_dense_replace layers are dense (intermediate_size).
#include "core/model/families/config_reader.h"

#include <cmath>

namespace moescope::model {

ModelSpec describeDeepseekV3(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-6, .ropeTheta = 10000.0, .readsHeadDim = false});
    describeLatentAttention(spec, config);
    auto &att = spec.attention;
    if (config.has("rope_scaling")) {
        const auto &rs = config.json().at("rope_scaling");
        const double mscaleAllDim
            = rs.contains("mscale_all_dim") && rs["mscale_all_dim"].is_number()
            ? rs["mscale_all_dim"].get<double>()
            : 0.0;
        if (mscaleAllDim != 0.0) {
            if (!rs.contains("factor") || !rs["factor"].is_number())
                config.fail("rope_scaling with mscale_all_dim needs 'factor'");
            const double factor = rs["factor"].get<double>();
            const double m = factor <= 1.0 ? 1.0 : 0.1 * mscaleAllDim * std::log(factor) + 1.0;
            att.scoreScale *= m * m;
        }
    }
    spec.rope.interleaved = config.getBool("rope_interleave", true);

    auto &moe = spec.moe;
    moe.numExperts = config.getInt("n_routed_experts", 256);
    moe.topK = config.getInt("num_experts_per_tok", 8);
    moe.expertIntermediate = config.getInt("moe_intermediate_size", 2048);
    moe.rule = RouterRule::SigmoidGroupLimited;
    moe.routerInFloat32 = true;
    moe.renormalize = config.getBool("norm_topk_prob", true);
    moe.routedScalingFactor = config.getDouble("routed_scaling_factor", 2.5);
    readExpertGroups(moe, config, 8, 4);
    readSharedExpertsAndDenseLayers(spec, config, 1, 3, 18432);
    return spec;
}

} // namespace moescope::model
