#include "core/training/demo_model.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace moescope::training {

void checkArchitecture(const DemoArchitecture &a)
{
    auto need = [](bool ok, const std::string &what) {
        if (!ok)
            throw Error("demo model architecture: " + what);
    };
    need(a.layers >= 1 && a.layers <= 64, "layers must be in 1-64");
    need(a.hidden >= 8 && a.hidden % 2 == 0, "hidden size must be an even number >= 8");
    need(a.heads >= 1 && a.headDim >= 2 && a.headDim % 2 == 0, "heads >= 1 and an even head dim are needed");
    need(a.experts >= 2 && a.experts <= 256, "experts must be in 2-256");
    need(a.topK >= 1 && a.topK <= a.experts, "top-k must be in 1-experts");
    need(a.expertIntermediate >= 1, "expert width must be positive");
    need(a.context >= 8 && a.context <= 4096, "context must be in 8-4096");
}

std::string demoConfigJson(const DemoArchitecture &a)
{
    checkArchitecture(a);
    nlohmann::ordered_json c;
    c["architectures"] = {"Qwen3MoeForCausalLM"};
    c["model_type"] = "qwen3_moe";
    c["vocab_size"] = kDemoVocabSize;
    c["hidden_size"] = a.hidden;
    c["num_hidden_layers"] = a.layers;
    c["num_attention_heads"] = a.heads;
    c["num_key_value_heads"] = a.heads;
    c["head_dim"] = a.headDim;
    // Unused (every layer is sparse) but part of the family's config.
    c["intermediate_size"] = a.expertIntermediate;
    c["moe_intermediate_size"] = a.expertIntermediate;
    c["num_experts"] = a.experts;
    c["num_experts_per_tok"] = a.topK;
    c["norm_topk_prob"] = true;
    c["decoder_sparse_step"] = 1;
    c["mlp_only_layers"] = nlohmann::json::array();
    c["max_position_embeddings"] = a.context;
    c["rope_theta"] = 10000.0;
    c["rms_norm_eps"] = 1e-6;
    c["hidden_act"] = "silu";
    c["attention_bias"] = false;
    c["tie_word_embeddings"] = false;
    c["use_sliding_window"] = false;
    c["bos_token_id"] = kEndOfTextId;
    c["eos_token_id"] = kEndOfTextId;
    c["pad_token_id"] = kEndOfTextId;
    c["torch_dtype"] = "float32";
    c["transformers_version"] = "4.51.3";
    return c.dump(2) + "\n";
}

namespace {

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest
// map to U+0100 upwards in byte order.
std::string byteSymbol(int byte)
{
    auto printable = [](int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255); };
    int codepoint = byte;
    if (!printable(byte)) {
        int n = 0;
        for (int b = 0; b < byte; ++b)
            if (!printable(b))
                ++n;
        codepoint = 256 + n;
    }
    std::string utf8;
    if (codepoint < 0x80) {
        utf8 += static_cast<char>(codepoint);
    } else {
        utf8 += static_cast<char>(0xC0 | (codepoint >> 6));
        utf8 += static_cast<char>(0x80 | (codepoint & 0x3F));
    }
    return utf8;
}

} // namespace

std::string byteLevelTokenizerJson()
{
    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
    for (int b = 0; b < kByteTokens; ++b)
        vocab[byteSymbol(b)] = b;
    nlohmann::ordered_json t;
    t["version"] = "1.0";
    t["truncation"] = nullptr;
    t["padding"] = nullptr;
    t["added_tokens"] = {{{"id", kEndOfTextId},
                          {"content", "<|endoftext|>"},
                          {"single_word", false},
                          {"lstrip", false},
                          {"rstrip", false},
                          {"normalized", false},
                          {"special", true}}};
    t["normalizer"] = nullptr;
    t["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
                          {"use_regex", false}};
    t["post_processor"] = nullptr;
    t["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
                    {"use_regex", false}};
    t["model"] = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", nullptr},
                  {"continuing_subword_prefix", nullptr},
                  {"end_of_word_suffix", nullptr},
                  {"fuse_unk", false},
                  {"byte_fallback", false},
                  {"ignore_merges", false},
                  {"vocab", vocab},
                  {"merges", nlohmann::json::array()}};
    return t.dump(2) + "\n";
}

DemoArchitecture readDemoArchitecture(const std::string &modelDir)
{
    const auto path = (std::filesystem::path(modelDir) / "config.json").string();
    nlohmann::json c;
    try {
        c = nlohmann::json::parse(readFile(path));
        DemoArchitecture a;
        a.layers = c.at("num_hidden_layers").get<int>();
        a.hidden = c.at("hidden_size").get<int>();
        a.heads = c.at("num_attention_heads").get<int>();
        a.headDim = c.at("head_dim").get<int>();
        a.experts = c.at("num_experts").get<int>();
        a.topK = c.at("num_experts_per_tok").get<int>();
        a.expertIntermediate = c.at("moe_intermediate_size").get<int>();
        a.context = c.at("max_position_embeddings").get<int>();
        if (c.value("model_type", "") != "qwen3_moe" || c.value("vocab_size", 0) != kDemoVocabSize)
            throw Error(path, "not a demo model config (qwen3_moe with the byte vocabulary)");
        checkArchitecture(a);
        return a;
    } catch (const nlohmann::json::exception &e) {
        throw Error(path, std::string("not a demo model config: ") + e.what());
    }
}

} // namespace moescope::training
