#include "experiment_test_support.h"

#include "core/model/safetensors.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <sstream>
#include <vector>

namespace moescope::test {

namespace fs = std::filesystem;

TempFolder::TempFolder()
{
    std::random_device rd;
    m_path = fs::temp_directory_path() / ("moescope-experiments-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(m_path);
}

TempFolder::~TempFolder()
{
    std::error_code ec;
    fs::permissions(m_path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(m_path, ec);
}

std::string TempFolder::str(const std::string &child) const
{
    return child.empty() ? m_path.string() : (m_path / child).string();
}

void writeTextFile(const fs::path &path, const std::string &text)
{
    std::ofstream out(path, std::ios::binary);
    out << text;
}

std::string readTextFile(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

namespace {

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others
// for code points from U+0100 up, so every byte has a visible character.
std::string byteLevelCharacter(int byte)
{
    int n = 0;
    int codePoint = -1;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        const int cp = printable ? b : 256 + n++;
        if (b == byte) {
            codePoint = cp;
            break;
        }
    }
    std::string out;
    if (codePoint < 0x80) {
        out += static_cast<char>(codePoint);
    } else {
        out += static_cast<char>(0xC0 | (codePoint >> 6));
        out += static_cast<char>(0x80 | (codePoint & 0x3F));
    }
    return out;
}

void addTensor(model::SafetensorsWriter &w, const std::string &name, std::vector<std::int64_t> shape,
               const std::vector<float> &values)
{
    w.add(name, model::DType::F32, shape, values.data(), values.size() * sizeof(float));
}

} // namespace

void writeByteTokenizer(const fs::path &dir, const std::string &chatTemplate)
{
    nlohmann::json vocab = nlohmann::json::object();
    for (int b = 0; b < 256; ++b)
        vocab[byteLevelCharacter(b)] = b;
    nlohmann::json added = nlohmann::json::array();
    const char *specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    for (int i = 0; i < 3; ++i) {
        vocab[specials[i]] = 256 + i;
        added.push_back({{"id", 256 + i}, {"content", specials[i]}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", true}});
    }
    const nlohmann::json tokenizer = {
        {"version", "1.0"},
        {"truncation", nullptr},
        {"padding", nullptr},
        {"added_tokens", added},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", true}}},
        {"post_processor", nullptr},
        {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", true}}},
        {"model",
         {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
          {"merges", nlohmann::json::array()}}}};
    writeTextFile(dir / "tokenizer.json", tokenizer.dump());
    if (!chatTemplate.empty()) {
        const nlohmann::json config = {{"chat_template", chatTemplate}, {"eos_token", "<|im_end|>"}};
        writeTextFile(dir / "tokenizer_config.json", config.dump());
    }
}

void writeScriptRoutedModel(const fs::path &dir, int layers)
{
    fs::create_directories(dir);
    const int vocab = 264, hidden = 32, heads = 4, kvHeads = 2, headDim = 8, experts = 8, topK = 2, width = 16;
    const nlohmann::json config = {
        {"model_type", "mixtral"}, {"vocab_size", vocab}, {"hidden_size", hidden},
        {"num_hidden_layers", layers}, {"num_attention_heads", heads}, {"num_key_value_heads", kvHeads},
        {"head_dim", headDim}, {"intermediate_size", width}, {"num_local_experts", experts},
        {"num_experts_per_tok", topK}, {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0},
        {"max_position_embeddings", 4096}, {"tie_word_embeddings", false}, {"torch_dtype", "float32"},
        {"hidden_act", "silu"}, {"eos_token_id", 256}, {"bos_token_id", 256}};
    writeTextFile(dir / "config.json", config.dump(2));

    std::mt19937 rng(20260114);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto noise = [&](std::size_t n, float scale) {
        std::vector<float> v(n);
        for (auto &x : v)
            x = normal(rng) * scale;
        return v;
    };
    model::SafetensorsWriter w;
    // Embeddings: dimension 0 marks ASCII bytes, dimension 1 bytes >= 0x80.
    auto embed = noise(static_cast<std::size_t>(vocab * hidden), 0.05f);
    for (int v = 0; v < 256; ++v)
        embed[static_cast<std::size_t>(v * hidden + (v < 128 ? 0 : 1))] += 4.0f;
    addTensor(w, "model.embed_tokens.weight", {vocab, hidden}, embed);
    // The head reads dimension 2 as "next byte is ASCII", 3 as "next byte >= 0x80".
    auto head = noise(static_cast<std::size_t>(vocab * hidden), 0.05f);
    for (int v = 0; v < 256; ++v)
        head[static_cast<std::size_t>(v * hidden + (v < 128 ? 2 : 3))] += 1.5f;
    addTensor(w, "lm_head.weight", {vocab, hidden}, head);
    addTensor(w, "model.norm.weight", {hidden}, std::vector<float>(hidden, 1.0f));
    for (int l = 0; l < layers; ++l) {
        const auto p = "model.layers." + std::to_string(l) + ".";
        addTensor(w, p + "input_layernorm.weight", {hidden}, std::vector<float>(hidden, 1.0f));
        addTensor(w, p + "post_attention_layernorm.weight", {hidden}, std::vector<float>(hidden, 1.0f));
        addTensor(w, p + "self_attn.q_proj.weight", {heads * headDim, hidden}, noise(heads * headDim * hidden, 0.02f));
        addTensor(w, p + "self_attn.k_proj.weight", {kvHeads * headDim, hidden}, noise(kvHeads * headDim * hidden, 0.02f));
        addTensor(w, p + "self_attn.v_proj.weight", {kvHeads * headDim, hidden}, noise(kvHeads * headDim * hidden, 0.02f));
        addTensor(w, p + "self_attn.o_proj.weight", {hidden, heads * headDim}, noise(hidden * heads * headDim, 0.02f));
        // Router: ASCII prefers 0 > 1 > 2, 3; high bytes 2 > 3 > 0, 1; the rest
        // only see noise. Masking 0 and 1 sends ASCII tokens to 2 and 3.
        auto router = noise(static_cast<std::size_t>(experts * hidden), 0.01f);
        auto at = [&](int e, int d) -> float & { return router[static_cast<std::size_t>(e * hidden + d)]; };
        at(0, 0) = 2.5f, at(1, 0) = 2.4f, at(0, 1) = 1.0f, at(1, 1) = 0.9f;
        at(2, 1) = 2.5f, at(3, 1) = 2.4f, at(2, 0) = 1.0f, at(3, 0) = 0.9f;
        addTensor(w, p + "block_sparse_moe.gate.weight", {experts, hidden}, router);
        for (int e = 0; e < experts; ++e) {
            const auto q = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
            auto gate = noise(static_cast<std::size_t>(width * hidden), 0.02f);
            auto up = noise(static_cast<std::size_t>(width * hidden), 0.02f);
            auto down = noise(static_cast<std::size_t>(hidden * width), 0.02f);
            if (e < 4) {
                // A positive output along dimension 2 (experts 0, 1) or 3 (2, 3)
                // for any token that reaches the expert.
                for (int i = 0; i < width; ++i) {
                    gate[static_cast<std::size_t>(i * hidden + 0)] = gate[static_cast<std::size_t>(i * hidden + 1)] = 0.5f;
                    up[static_cast<std::size_t>(i * hidden + 0)] = up[static_cast<std::size_t>(i * hidden + 1)] = 0.5f;
                    down[static_cast<std::size_t>((e < 2 ? 2 : 3) * width + i)] = 0.035f;
                }
            }
            addTensor(w, q + "w1.weight", {width, hidden}, gate);
            addTensor(w, q + "w3.weight", {width, hidden}, up);
            addTensor(w, q + "w2.weight", {hidden, width}, down);
        }
    }
    w.write((dir / "model.safetensors").string());
    writeByteTokenizer(dir);
}

const ScriptModel &scriptModel()
{
    static TempFolder folder;
    static const ScriptModel m = [] {
        ScriptModel s;
        s.dir = folder.str("script-model");
        writeScriptRoutedModel(s.dir);
        s.model = std::make_unique<model::MoeModel>(model::MoeModel::load(s.dir));
        s.tokenizer = std::make_unique<Tokenizer>(Tokenizer::load(s.dir));
        return s;
    }();
    return m;
}

void copyFixtureWithTokenizer(const std::string &family, const fs::path &dir)
{
    const fs::path from = fs::path(MOESCOPE_TEST_DATA) / "tiny-moe" / family;
    fs::create_directories(dir);
    for (const auto *name : {"config.json", "generation_config.json", "model.safetensors"})
        if (fs::exists(from / name))
            fs::copy_file(from / name, dir / name, fs::copy_options::overwrite_existing);
    writeByteTokenizer(dir);
}

} // namespace moescope::test
