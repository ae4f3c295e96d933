// GraniteMoE (transformers models/granitemoe, v4.47.1). Differences from
// mixtral: four scalars (embedding_multiplier scales the embeddings,
// attention_multiplier replaces 1/sqrt(head_dim) as the score scale,
// residual_multiplier scales each attention and MoE branch before its
// residual add, logits are divided by logits_scaling); the router
// (block_sparse_moe.router.layer) takes the top-k raw logits and softmaxes
// over those k; experts are stacked: input_linear [E, 2I, H] (gate rows, then
// up rows) and output_linear [E, H, I]; q/k/v/o biases follow attention_bias;
// head_dim is hidden / heads.
#include "core/model/families/config_reader.h"

namespace moescope::model {

ModelSpec describeGranitemoe(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-6, .ropeTheta = 10000.0, .readsHeadDim = false},
                                           {.absentHeadDim = std::nullopt, .maxPositions = 2048});

    const bool bias = config.getBool("attention_bias", false);
    spec.attention.qkvBias = bias;
    spec.attention.oBias = bias;
    spec.attention.scoreScale = config.getDouble("attention_multiplier", 1.0);
    spec.embeddingMultiplier = config.getDouble("embedding_multiplier", 1.0);
    spec.residualMultiplier = config.getDouble("residual_multiplier", 1.0);
    spec.logitsDivisor = config.getDouble("logits_scaling", 1.0);
    if (spec.logitsDivisor == 0.0)
        config.fail("logits_scaling must not be 0");

    spec.moe.numExperts = config.getInt("num_local_experts", 8);
    spec.moe.topK = config.getInt("num_experts_per_tok", 2);
    spec.moe.expertIntermediate = config.getInt("intermediate_size", 11008);
    spec.moe.rule = RouterRule::TopKSoftmax;
    spec.moe.layout = ExpertLayout::StackedGateUp;

    spec.names.moe = "block_sparse_moe.";
    spec.names.router = "router.layer";
    spec.names.expert = "";
    spec.names.gateUpProj = "input_linear.weight";
    spec.names.downProj = "output_linear.weight";
    return spec;
}

} // namespace moescope::model
