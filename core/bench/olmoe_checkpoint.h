#pragma once

// The benchmark model: an OLMoE-shaped checkpoint (transformers OlmoeConfig
// names and layout, bf16) with random weights, written once into a cache
// folder. Only shapes and dtypes matter for speed; the values only need to
// spread tokens over the experts the way a trained router does. Torch-free.

#include <cstdint>
#include <string>

namespace moescope {
class JobContext;
}

namespace moescope::bench {

// Defaults: allenai/OLMoE-1B-7B (hidden 2048, 16 heads of 128, 64 experts of
// width 1024, top-8, vocab 50304); the load target uses 16 layers.
struct OlmoeShape
{
    int layers = 4;
    int hidden = 2048;
    int heads = 16;
    int kvHeads = 16;
    int experts = 64;
    int topK = 8;
    int expertWidth = 1024;
    int vocab = 50304;

    int headDim() const { return hidden / heads; }
};

// Bytes of bf16 weights the checkpoint holds (all tensors).
std::uint64_t olmoeWeightBytes(const OlmoeShape &shape);

// Writes config.json, shard 1 (embeddings, final norm, lm_head), one shard per
// decoder layer and model.safetensors.index.json into dir. Weights are
// N(0, 0.02), the embeddings N(0, 1) and the router N(0, 0.1), so that a
// token's top-k is decisive but differs between tokens; norms are 1. The
// bytes depend only on the shape and the seed.
// A layer is generated and written before the next one starts, so memory use
// stays near one layer (~0.9 GB at the default shape). Returns false without
// writing when dir already holds the finished checkpoint of this shape and
// seed (its stamp file is written last). Throws Error naming the file on I/O
// failure (the 16-layer checkpoint needs ~13.9 GB of disk).
bool writeRandomOlmoe(const std::string &dir, const OlmoeShape &shape, std::uint64_t seed = 1,
    const JobContext *job = nullptr);

// $XDG_CACHE_HOME/moescope/bench/olmoe-L<layers> (else ~/.cache/...).
std::string defaultOlmoeDir(int layers);

} // namespace moescope::bench
