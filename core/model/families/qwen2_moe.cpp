// Qwen2-MoE (transformers models/qwen2_moe, v4.47.1). Differences from mixtral:
// q/k/v projections carry biases; head_dim is always hidden/heads; the kept
// softmax weights are renormalised only with norm_topk_prob; a shared SwiGLU
// expert gated by sigmoid(shared_expert_gate(x)) is added to every MoE output;
// decoder_sparse_step / mlp_only_layers make some layers dense
// (intermediate_size). Sliding window only when use_sliding_window is set.
#include "core/model/families/config_reader.h"

namespace moescope::model {

ModelSpec describeQwen2Moe(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-6, .ropeTheta = 10000.0, .readsHeadDim = false});

    spec.attention.qkvBias = true;

    spec.moe.numExperts = config.getInt("num_experts", 60);
    spec.moe.topK = config.getInt("num_experts_per_tok", 4);
    spec.moe.expertIntermediate = config.getInt("moe_intermediate_size", 1408);
    spec.moe.rule = RouterRule::SoftmaxTopK;
    spec.moe.renormalize = config.getBool("norm_topk_prob", false);
    spec.moe.shared = SharedExpertKind::SigmoidGated;
    spec.moe.sharedIntermediate = config.getInt("shared_expert_intermediate_size", 5632);
    applySparseStepLayout(spec, config);

    if (config.getBool("use_sliding_window", false)) {
        const auto window = config.optionalInt("sliding_window");
        for (auto &layer : spec.layers)
            layer.slidingWindow = window;
    }
    return spec;
}

} // namespace moescope::model
