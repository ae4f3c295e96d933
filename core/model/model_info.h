#pragma once

// `moescope info`: what a model folder holds, from config.json and the
// safetensors headers only (no weight bytes are read). Torch-free.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace moescope::model {

struct ModelInfo
{
    std::string directory;
    std::string modelType;
    int numLayers = 0;
    int hiddenSize = 0;
    int vocabSize = 0;
    int numHeads = 0;
    int numKvHeads = 0;
    int headDim = 0;
    std::string attention;         // e.g. "grouped-query", "multi-head latent (...)", with sinks / windows
    std::string router;            // the routing rule, e.g. "softmax top-k, renormalised"
    std::vector<int> moeLayers;
    int numExperts = 0;
    int topK = 0;
    int expertIntermediate = 0;
    std::string sharedExpert;      // "none" | "sigmoid-gated" | "always"
    int sharedIntermediate = 0;
    bool tiedEmbeddings = false;
    std::string storageDtype;      // dtype most weight bytes are stored in ("F32", "BF16", ...)
    std::string configDtype;       // config torch_dtype
    // How the weights are stored: "bf16", "MXFP4 experts, bf16 elsewhere",
    // "FP8 e4m3, 128×128 blocks, bf16 elsewhere", "..., packed experts (transformers v5)".
    std::string format;
    std::string computeDtype;      // the default compute dtype ("bf16" / "fp32")
    // Estimated weight memory with the default compute dtype and with
    // --dtype fp32: mapped bytes where the stored form is used as is, a
    // converted copy otherwise, plus (quantised weights decoded per product)
    // the largest decoded matrix.
    std::uint64_t memoryBytes = 0;
    std::uint64_t memoryBytesFp32 = 0;
    std::uint64_t totalParameters = 0;
    std::uint64_t activeParameters = 0; // per token: all but the (E - k) unchosen experts of each MoE layer
    std::vector<std::pair<std::string, std::uint64_t>> files; // weight file name, bytes
};

ModelInfo inspectModel(const std::string &dir);
std::string formatModelInfo(const ModelInfo &info);
std::string modelInfoJson(const ModelInfo &info);

} // namespace moescope::model
