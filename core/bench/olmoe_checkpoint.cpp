#include "core/bench/olmoe_checkpoint.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/jobs/job_context.h"
#include "core/model/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

namespace moescope::bench {

namespace fs = std::filesystem;
using model::DType;
using model::SafetensorsWriter;

namespace {

constexpr double kWeightStd = 0.02; // OlmoeConfig.initializer_range
constexpr double kRouterStd
    = 0.1; // router logits ~ N(0, 0.1^2 * hidden): decisive, token-dependent
// With N(0, 0.02) embeddings the first attention output (~0.2 rms: the mean
// of the prefix's values) would swamp the token's own embedding, every token
// would carry the same residual and pick the same experts. Unit-variance
// embeddings keep the residual stream token-specific, as in a trained model.
constexpr double kEmbeddingStd = 1.0;

struct TensorPlan
{
    std::string name;
    std::vector<std::int64_t> shape;
    double std = 0.0; // 0: a norm weight, filled with ones

    std::size_t numel() const
    {
        std::size_t n = 1;
        for (auto d : shape)
            n *= static_cast<std::size_t>(d);
        return n;
    }
};

std::uint64_t splitmix64(std::uint64_t &state)
{
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// float -> bf16 bits, round to nearest even (finite inputs only).
std::uint16_t toBf16(float value)
{
    const auto bits = std::bit_cast<std::uint32_t>(value);
    return static_cast<std::uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// Approximately normal values: each 64-bit draw is four 16-bit uniforms whose
// sum (Irwin-Hall, n = 4) has variance 4/12, rescaled to `std`. Cheap enough
// to fill 13 GB in seconds; the tails stop at ±3.46 std, which routing and
// matmul speed do not care about.
void fillNormalBf16(std::uint16_t *out, std::size_t n, double std, std::uint64_t seed)
{
    const float scale = static_cast<float>(std * std::sqrt(3.0) / 65536.0);
    const float centre = 2.0f * 65536.0f;
    std::uint64_t state = seed;
    for (std::size_t i = 0; i < n; ++i) {
        const auto r = splitmix64(state);
        const auto sum = static_cast<float>(
            (r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) + (r >> 48));
        out[i] = toBf16((sum - centre) * scale);
    }
}

std::uint64_t nameSeed(std::uint64_t seed, const std::string &name)
{
    return seed * 0x100000001b3ull ^ std::hash<std::string> {}(name);
}

std::vector<TensorPlan> outerTensors(const OlmoeShape &s)
{
    return { { "model.embed_tokens.weight", { s.vocab, s.hidden }, kEmbeddingStd },
        { "model.norm.weight", { s.hidden }, 0.0 },
        { "lm_head.weight", { s.vocab, s.hidden }, kWeightStd } };
}

std::vector<TensorPlan> layerTensors(const OlmoeShape &s, int layer)
{
    const std::int64_t H = s.hidden, D = s.headDim(), I = s.expertWidth;
    const auto p = "model.layers." + std::to_string(layer) + ".";
    std::vector<TensorPlan> t = {
        { p + "input_layernorm.weight", { H }, 0.0 },
        { p + "post_attention_layernorm.weight", { H }, 0.0 },
        { p + "self_attn.q_proj.weight", { s.heads * D, H }, kWeightStd },
        { p + "self_attn.k_proj.weight", { s.kvHeads * D, H }, kWeightStd },
        { p + "self_attn.v_proj.weight", { s.kvHeads * D, H }, kWeightStd },
        { p + "self_attn.o_proj.weight", { H, s.heads * D }, kWeightStd },
        // OlmoeAttention: RMSNorm over the whole q / k projection.
        { p + "self_attn.q_norm.weight", { s.heads * D }, 0.0 },
        { p + "self_attn.k_norm.weight", { s.kvHeads * D }, 0.0 },
        { p + "mlp.gate.weight", { s.experts, H }, kRouterStd },
    };
    for (int e = 0; e < s.experts; ++e) {
        const auto q = p + "mlp.experts." + std::to_string(e) + ".";
        t.push_back({ q + "gate_proj.weight", { I, H }, kWeightStd });
        t.push_back({ q + "up_proj.weight", { I, H }, kWeightStd });
        t.push_back({ q + "down_proj.weight", { H, I }, kWeightStd });
    }
    return t;
}

std::uint64_t planBytes(const std::vector<TensorPlan> &plans)
{
    std::uint64_t n = 0;
    for (const auto &t : plans)
        n += t.numel() * 2;
    return n;
}

// Generates the tensors of one shard (in parallel, one tensor per task, so
// the values do not depend on the thread count) and writes the shard.
void writeShard(const std::string &path, const std::vector<TensorPlan> &plans, std::uint64_t seed)
{
    std::vector<std::vector<std::uint16_t>> values(plans.size());
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> pool;
    for (unsigned w = 0; w < threads; ++w) {
        pool.emplace_back([&, w] {
            for (std::size_t i = w; i < plans.size(); i += threads) {
                const auto &plan = plans[i];
                values[i].resize(plan.numel());
                if (plan.std == 0.0)
                    std::fill(values[i].begin(), values[i].end(), toBf16(1.0f));
                else
                    fillNormalBf16(
                        values[i].data(), values[i].size(), plan.std, nameSeed(seed, plan.name));
            }
        });
    }
    for (auto &t : pool)
        t.join();
    SafetensorsWriter writer;
    writer.setMetadata("format", "pt");
    for (std::size_t i = 0; i < plans.size(); ++i) {
        writer.add(
            plans[i].name, DType::BF16, plans[i].shape, values[i].data(), values[i].size() * 2);
        std::vector<std::uint16_t>().swap(values[i]);
    }
    writer.write(path);
}

// OLMoE's eos id, kept inside smaller test vocabularies.
std::int64_t eosToken(const OlmoeShape &s)
{
    return std::min<std::int64_t>(50279, s.vocab - 1);
}

nlohmann::json olmoeConfig(const OlmoeShape &s)
{
    // OlmoeConfig defaults (transformers v4.47) with the benchmark's sizes.
    return { { "architectures", { "OlmoeForCausalLM" } }, { "model_type", "olmoe" },
        { "vocab_size", s.vocab }, { "hidden_size", s.hidden },
        { "intermediate_size", s.expertWidth }, { "num_hidden_layers", s.layers },
        { "num_attention_heads", s.heads }, { "num_key_value_heads", s.kvHeads },
        { "hidden_act", "silu" }, { "max_position_embeddings", 4096 },
        { "initializer_range", kWeightStd }, { "rms_norm_eps", 1e-5 }, { "use_cache", true },
        { "pad_token_id", 1 }, { "bos_token_id", nullptr }, { "eos_token_id", eosToken(s) },
        { "tie_word_embeddings", false }, { "rope_theta", 10000.0 }, { "rope_scaling", nullptr },
        { "attention_bias", false }, { "attention_dropout", 0.0 }, { "clip_qkv", nullptr },
        { "num_experts_per_tok", s.topK }, { "num_experts", s.experts },
        { "output_router_logits", false }, { "router_aux_loss_coef", 0.01 },
        { "norm_topk_prob", false }, { "torch_dtype", "bfloat16" } };
}

nlohmann::json stampOf(const OlmoeShape &s, std::uint64_t seed)
{
    return { { "generator", "moescope bench --make-olmoe" },
        { "values",
            { { "embedding_std", kEmbeddingStd }, { "router_std", kRouterStd },
                { "weight_std", kWeightStd } } },
        { "seed", seed }, { "layers", s.layers }, { "hidden", s.hidden }, { "heads", s.heads },
        { "kv_heads", s.kvHeads }, { "experts", s.experts }, { "top_k", s.topK },
        { "expert_width", s.expertWidth }, { "vocab", s.vocab },
        { "weight_bytes", olmoeWeightBytes(s) } };
}

std::string shardName(int index, int count)
{
    char name[64];
    std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", index, count);
    return name;
}

} // namespace

std::uint64_t olmoeWeightBytes(const OlmoeShape &shape)
{
    std::uint64_t bytes = planBytes(outerTensors(shape));
    for (int l = 0; l < shape.layers; ++l)
        bytes += planBytes(layerTensors(shape, l));
    return bytes;
}

bool writeRandomOlmoe(
    const std::string &dir, const OlmoeShape &shape, std::uint64_t seed, const JobContext *job)
{
    if (shape.layers < 1 || shape.hidden < 1 || shape.heads < 1 || shape.kvHeads < 1
        || shape.experts < 1 || shape.topK < 1 || shape.topK > shape.experts
        || shape.expertWidth < 1 || shape.vocab < 1 || shape.hidden % shape.heads != 0
        || shape.heads % shape.kvHeads != 0)
        throw Error(dir, "invalid OLMoE benchmark shape");
    const fs::path root(dir);
    const auto stampPath = root / "moescope-bench.json";
    const auto stamp = stampOf(shape, seed);
    std::error_code ec;
    if (fs::exists(stampPath, ec)) {
        try {
            if (nlohmann::json::parse(readFile(stampPath.string())) == stamp)
                return false;
        } catch (const std::exception &) {
            // An unreadable stamp means an unknown state: regenerate.
        }
        fs::remove(stampPath, ec);
    }
    fs::create_directories(root, ec);
    if (ec)
        throw Error(dir, "cannot create the folder: " + ec.message());
    const auto space = fs::space(root, ec);
    const auto needed = olmoeWeightBytes(shape);
    if (!ec && space.available < needed + (1ull << 30))
        throw Error(dir,
            "not enough free disk space for the benchmark checkpoint ("
                + std::to_string(needed >> 20) + " MiB needed, "
                + std::to_string(space.available >> 20) + " MiB free)");

    const int shards = shape.layers + 1;
    nlohmann::json weightMap = nlohmann::json::object();
    std::uint64_t done = 0;
    auto shard = [&](int index, const std::vector<TensorPlan> &plans) {
        if (job)
            job->checkCancelled();
        const auto file = shardName(index, shards);
        writeShard((root / file).string(), plans, seed);
        for (const auto &t : plans)
            weightMap[t.name] = file;
        done += planBytes(plans);
        if (job)
            job->report(static_cast<std::size_t>(done >> 20),
                static_cast<std::size_t>(needed >> 20), "MiB", "writing " + file);
    };
    shard(1, outerTensors(shape));
    for (int l = 0; l < shape.layers; ++l)
        shard(l + 2, layerTensors(shape, l));

    writeFileAtomically((root / "config.json").string(), olmoeConfig(shape).dump(2) + "\n");
    writeFileAtomically((root / "generation_config.json").string(),
        nlohmann::json({ { "eos_token_id", eosToken(shape) }, { "pad_token_id", 1 } }).dump(2)
            + "\n");
    const nlohmann::json index
        = { { "metadata", { { "total_size", needed } } }, { "weight_map", weightMap } };
    writeFileAtomically((root / "model.safetensors.index.json").string(), index.dump(2) + "\n");
    writeFileAtomically(stampPath.string(), stamp.dump(2) + "\n");
    return true;
}

std::string defaultOlmoeDir(int layers)
{
    fs::path base;
    if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        base = xdg;
    else if (const char *home = std::getenv("HOME"); home && *home)
        base = fs::path(home) / ".cache";
    else
        base = fs::temp_directory_path();
    return (base / "moescope" / "bench" / ("olmoe-L" + std::to_string(layers))).string();
}

} // namespace moescope::bench
