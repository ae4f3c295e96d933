// Mixtral (transformers models/mixtral, v4.47.1): the reference MoE decoder.
// Softmax router over all experts, top-k, kept weights renormalised to sum 1;
// SwiGLU experts named w1 (gate) / w3 (up) / w2 (down) under block_sparse_moe.
#include "core/model/families/config_reader.h"

namespace moescope::model {

ModelSpec describeMixtral(const ConfigReader &config)
{
    ModelSpec spec = describeCommonDecoder(config, {.normEps = 1e-5, .ropeTheta = 1e6, .readsHeadDim = true});

    spec.moe.numExperts = config.getInt("num_local_experts", 8);
    spec.moe.topK = config.getInt("num_experts_per_tok", 2);
    spec.moe.expertIntermediate = config.requireInt("intermediate_size");
    spec.moe.rule = RouterRule::SoftmaxTopK;
    spec.moe.renormalize = true; // MixtralSparseMoeBlock always renormalises

    spec.names.moe = "block_sparse_moe.";
    spec.names.gateProj = "w1";
    spec.names.upProj = "w3";
    spec.names.downProj = "w2";

    // The eager causal mask applies config.sliding_window to every layer.
    const auto window = config.optionalInt("sliding_window");
    for (auto &layer : spec.layers)
        layer.slidingWindow = window;
    return spec;
}

} // namespace moescope::model
