#pragma once

// The demo model's shape and its Hugging Face folder files: a qwen3_moe
// config.json (the family's layout, so the ordinary loader reads it) and a
// byte-level tokenizer.json (ByteLevel BPE: the 256 byte tokens, id = byte
// value, no merges, plus <|endoftext|> as bos/eos/pad). Torch-free.

#include <cstdint>
#include <string>

namespace moescope::training {

struct DemoArchitecture
{
    int layers = 4;
    int hidden = 128;
    int heads = 4;
    int headDim = 32;
    int experts = 16;
    int topK = 2;
    int expertIntermediate = 128;
    int context = 128; // tokens (= bytes) per training window
};

inline constexpr int kByteTokens = 256;
inline constexpr std::int64_t kEndOfTextId = 256;
inline constexpr int kDemoVocabSize = 257;

// config.json text (model_type qwen3_moe, float32, norm_topk_prob).
std::string demoConfigJson(const DemoArchitecture &arch);
// tokenizer.json text.
std::string byteLevelTokenizerJson();
// Reads the architecture back from a config.json written by demoConfigJson.
DemoArchitecture readDemoArchitecture(const std::string &modelDir);

// Throws moescope::Error when a value is out of range (heads * headDim is
// free, topK <= experts, ...).
void checkArchitecture(const DemoArchitecture &arch);

} // namespace moescope::training
