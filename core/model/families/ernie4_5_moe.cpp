// ERNIE-4.5 MoE (ERNIE-4.5-21B-A3B, -300B-A47B; transformers
// models/ernie4_5_moe, v4.54.0). Differences from mixtral:
// * rope over the whole head in the interleaved layout (pairs 2i, 2i+1),
//   in fp32;
// * use_bias puts biases on q/k/v/o, every MLP (experts, shared, dense) and
//   lm_head; tie_word_embeddings defaults to true;
// * router in fp32: softmax probabilities, the choice adds
//   moe_statics.e_score_correction_bias ([1, E]), weights are the
//   uncorrected probabilities of the picks over max(their sum, moe_norm_min);
// * moe_num_shared_experts shared experts fused into one MLP, always added;
// * layer L is MoE iff moe_layer_start_index <= L <= moe_layer_end_index
//   (-1: the last layer) and (L + 1) % moe_layer_interval == 0; the others
//   are dense (intermediate_size).
#include "core/model/families/config_reader.h"

namespace moescope::model {

ModelSpec describeErnie45Moe(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-5, .ropeTheta = 500000.0, .readsHeadDim = true},
                                           {.absentHeadDim = std::nullopt, .maxPositions = 131072});
    spec.tieWordEmbeddings = config.getBool("tie_word_embeddings", true);
    const bool bias = config.getBool("use_bias", false);
    spec.attention.qkvBias = bias;
    spec.attention.oBias = bias;
    spec.mlpBias = bias;
    spec.lmHeadBias = bias;
    spec.moe.expertBias = bias;
    // apply_rotary_pos_emb interleaves cos/sin over the full head: a partial
    // rotary dim would not broadcast there.
    if (spec.rope.rotaryDim != spec.attention.headDim)
        config.fail("ernie4_5_moe rotates the whole head (partial_rotary_factor must be 1)");
    spec.rope.interleaved = true;
    spec.rope.inFloat32 = true;

    auto &moe = spec.moe;
    moe.numExperts = config.getInt("moe_num_experts", 64);
    moe.topK = config.getInt("moe_k", 6);
    moe.expertIntermediate = config.getInt("moe_intermediate_size", 1536);
    moe.rule = RouterRule::SoftmaxCorrected;
    moe.routerInFloat32 = true;
    moe.renormalize = true;
    moe.normMin = config.getDouble("moe_norm_min", 1e-12);
    const int shared = config.getInt("moe_num_shared_experts", 2);
    if (shared < 0)
        config.fail("moe_num_shared_experts must not be negative");
    if (shared > 0) {
        moe.shared = SharedExpertKind::Always;
        moe.sharedIntermediate = moe.expertIntermediate * shared;
    }
    spec.names.sharedExpert = "shared_experts.";
    spec.names.correctionBias = "moe_statics.e_score_correction_bias";

    const int start = config.getInt("moe_layer_start_index", 1);
    int end = config.getInt("moe_layer_end_index", -1);
    if (end == -1)
        end = spec.numLayers - 1;
    const int interval = config.getInt("moe_layer_interval", 1);
    if (interval <= 0)
        config.fail("moe_layer_interval must be positive");
    const int denseWidth = config.getInt("intermediate_size", 12288);
    for (int l = 0; l < spec.numLayers; ++l) {
        auto &layer = spec.layers[static_cast<std::size_t>(l)];
        layer.moe = (l + 1) % interval == 0 && l >= start && l <= end;
        layer.denseIntermediate = denseWidth;
    }
    return spec;
}

} // namespace moescope::model
