#include "model_test_support.h"

#include "core/common/error.h"
#include "core/model/decoder.h"
#include "core/model/moe_model.h"

#include <fstream>
#include <random>
#include <sstream>

namespace moescope::test {

using model::addTensor;
using model::SafetensorsWriter;

std::string fixtureDir(const std::string &family)
{
    return std::string(MOESCOPE_TEST_DATA) + "/tiny-moe/" + family;
}

double maxAbsDiff(const at::Tensor &a, const at::Tensor &b)
{
    if (a.sizes() != b.sizes())
        return std::numeric_limits<double>::infinity();
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

TopkComparison compareTopk(const at::Tensor &idxA, const at::Tensor &wA, const at::Tensor &idxB,
                           const at::Tensor &wB)
{
    TopkComparison c;
    if (idxA.sizes() != idxB.sizes()) {
        c.mismatchedRows = -1;
        return c;
    }
    // Sort each row by expert id so that sets and weights line up.
    const auto [sa, oa] = idxA.sort(1);
    const auto [sb, ob] = idxB.sort(1);
    const auto alignedA = wA.to(at::kDouble).gather(1, oa);
    const auto alignedB = wB.to(at::kDouble).gather(1, ob);
    c.mismatchedRows = sa.ne(sb).any(1).sum().item<long>();
    c.maxWeightDiff = (alignedA - alignedB).abs().max().item<double>();
    return c;
}

TempDir::TempDir()
{
    std::random_device rd;
    m_path = std::filesystem::temp_directory_path() / ("moescope-test-" + std::to_string(rd()));
    std::filesystem::create_directories(m_path);
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
}

std::string TempDir::str(const std::string &child) const
{
    return child.empty() ? m_path.string() : (m_path / child).string();
}

void copyConfig(const std::string &fixture, const std::filesystem::path &dir)
{
    const std::filesystem::path from(fixture);
    std::filesystem::copy_file(from / "config.json", dir / "config.json");
    if (std::filesystem::exists(from / "generation_config.json"))
        std::filesystem::copy_file(from / "generation_config.json", dir / "generation_config.json");
}

void writeText(const std::filesystem::path &path, const std::string &text)
{
    std::ofstream out(path, std::ios::binary);
    out << text;
}

std::string readText(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Writes a model folder: config + the given tensors split over `shards` files.
void writeModel(const std::filesystem::path &dir, const nlohmann::json &config,
                const std::vector<std::pair<std::string, at::Tensor>> &tensors, int shards)
{
    test::writeText(dir / "config.json", config.dump(2));
    if (shards == 1) {
        SafetensorsWriter writer;
        for (const auto &[name, t] : tensors)
            addTensor(writer, name, t);
        writer.write((dir / "model.safetensors").string());
        return;
    }
    nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
    std::vector<SafetensorsWriter> writers(static_cast<std::size_t>(shards));
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto shard = i % static_cast<std::size_t>(shards);
        char file[64];
        std::snprintf(file, sizeof file, "model-%05zu-of-%05d.safetensors", shard + 1, shards);
        addTensor(writers[shard], tensors[i].first, tensors[i].second);
        index["weight_map"][tensors[i].first] = file;
    }
    for (int s = 0; s < shards; ++s) {
        char file[64];
        std::snprintf(file, sizeof file, "model-%05d-of-%05d.safetensors", s + 1, shards);
        writers[static_cast<std::size_t>(s)].write((dir / file).string());
    }
    test::writeText(dir / "model.safetensors.index.json", index.dump(2));
}

void writeRandomMixtral(const std::filesystem::path &dir, int vocab, int hidden, int layers, int experts,
                        int topK, std::uint64_t seed)
{
    const int heads = 4, kvHeads = 2, headDim = hidden / heads, width = 2 * hidden;
    const nlohmann::json config = {
        {"model_type", "mixtral"}, {"vocab_size", vocab}, {"hidden_size", hidden},
        {"num_hidden_layers", layers}, {"num_attention_heads", heads}, {"num_key_value_heads", kvHeads},
        {"intermediate_size", width}, {"num_local_experts", experts}, {"num_experts_per_tok", topK},
        {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}, {"max_position_embeddings", 256},
        {"tie_word_embeddings", false}, {"torch_dtype", "float32"}, {"hidden_act", "silu"}};
    at::manual_seed(seed);
    std::vector<std::pair<std::string, at::Tensor>> t;
    auto add = [&](const std::string &name, std::vector<std::int64_t> shape, double scale) {
        t.emplace_back(name, at::randn(shape) * scale);
    };
    add("model.embed_tokens.weight", {vocab, hidden}, 0.5);
    add("lm_head.weight", {vocab, hidden}, 0.1);
    t.emplace_back("model.norm.weight", at::ones({hidden}));
    for (int l = 0; l < layers; ++l) {
        const auto p = "model.layers." + std::to_string(l) + ".";
        t.emplace_back(p + "input_layernorm.weight", at::ones({hidden}));
        t.emplace_back(p + "post_attention_layernorm.weight", at::ones({hidden}));
        add(p + "self_attn.q_proj.weight", {heads * headDim, hidden}, 0.1);
        add(p + "self_attn.k_proj.weight", {kvHeads * headDim, hidden}, 0.1);
        add(p + "self_attn.v_proj.weight", {kvHeads * headDim, hidden}, 0.1);
        add(p + "self_attn.o_proj.weight", {hidden, heads * headDim}, 0.1);
        add(p + "block_sparse_moe.gate.weight", {experts, hidden}, 0.5);
        for (int e = 0; e < experts; ++e) {
            const auto q = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
            add(q + "w1.weight", {width, hidden}, 0.1);
            add(q + "w3.weight", {width, hidden}, 0.1);
            add(q + "w2.weight", {hidden, width}, 0.1);
        }
    }
    writeModel(dir, config, t);
}

nlohmann::json fixtureConfig(const std::string &family)
{
    return nlohmann::json::parse(readText(fixtureDir(family) + "/config.json"));
}

std::vector<std::pair<std::string, at::Tensor>> fixtureTensors(const std::string &family)
{
    const auto file = model::SafetensorsFile::open(fixtureDir(family) + "/model.safetensors");
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto &rec : file->tensors())
        out.emplace_back(rec.name, model::readTensor(*file, rec.name));
    return out;
}

at::Tensor fixtureIds(const std::string &family)
{
    const auto ref = model::SafetensorsFile::open(fixtureDir(family) + "/reference.safetensors");
    return model::readTensor(*ref, "input_ids");
}

at::Tensor logitsOf(const model::MoeModel &model, const at::Tensor &ids, const at::Tensor &mask,
                    routing::RouterHook *hook, at::Tensor *finalNorm)
{
    model::ForwardRequest request;
    request.inputIds = ids;
    request.attentionMask = mask;
    request.hook = hook;
    request.finalNorm = finalNorm;
    return model.decoder().forward(request);
}

at::Tensor logitsInSteps(const model::MoeModel &model, const at::Tensor &ids,
                         const std::vector<std::int64_t> &steps)
{
    model::KvCache cache = model.decoder().newCache(ids.size(0));
    model::ForwardRequest request;
    request.cache = &cache;
    std::vector<at::Tensor> out;
    std::int64_t at = 0;
    for (const auto n : steps) {
        request.inputIds = ids.narrow(1, at, n);
        out.push_back(model.decoder().forward(request));
        at += n;
    }
    return at::cat(out, 1);
}

std::vector<std::int64_t> rowOf(const at::Tensor &ids, std::int64_t b, std::int64_t len)
{
    const auto r = ids[b].contiguous();
    const auto n = len < 0 ? r.size(0) : len;
    return {r.data_ptr<std::int64_t>(), r.data_ptr<std::int64_t>() + n};
}

std::string errorOf(const std::function<void()> &fn)
{
    try {
        fn();
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace moescope::test
