#include "core/model/checkpoint.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/model/quantized_weights.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <set>

namespace moescope::model {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> shardPaths(const fs::path &dir)
{
    const fs::path single = dir / "model.safetensors";
    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::exists(index)) {
        nlohmann::json json;
        try {
            json = nlohmann::json::parse(readFile(index.string()));
        } catch (const nlohmann::json::exception &e) {
            throw Error(index.string(), std::string("not valid JSON: ") + e.what());
        }
        if (!json.contains("weight_map") || !json["weight_map"].is_object())
            throw Error(index.string(), "missing 'weight_map'");
        std::set<std::string> names;
        for (const auto &[tensor, file] : json["weight_map"].items()) {
            if (!file.is_string())
                throw Error(index.string(), "weight_map entry '" + tensor + "' is not a file name");
            names.insert(file.get<std::string>());
        }
        std::vector<std::string> out;
        for (const auto &n : names) {
            const fs::path p = dir / n;
            if (!fs::exists(p))
                throw Error(p.string(), "missing (listed in model.safetensors.index.json)");
            out.push_back(p.string());
        }
        if (out.empty())
            throw Error(index.string(), "lists no weight files");
        return out;
    }
    if (fs::exists(single))
        return {single.string()};
    throw Error(dir.string(), "no model.safetensors or model.safetensors.index.json "
                              "(only safetensors checkpoints are supported)");
}

// transformers v5 holds the experts of mixtral, qwen2_moe, qwen3_moe, olmoe
// and deepseek_v3 packed, and save_pretrained(save_original_format=False)
// writes them so: `mlp.experts.gate_up_proj` [E, 2I, H] (rows 0..I-1 gate,
// I..2I-1 up: linear(x, W).chunk(2)) and `mlp.experts.down_proj` [E, H, I],
// with mixtral's `block_sparse_moe.` renamed `mlp.` (conversion_mapping.py).
// When the first MoE layer has those names instead of per-expert tensors, the
// spec switches to the stacked halves layout (granitemoe's) under them.
void adoptPackedExperts(ModelSpec &spec, const std::function<bool(const std::string &)> &stored)
{
    const auto layers = spec.moeLayers();
    if (spec.moe.layout != ExpertLayout::SeparateLinears || layers.empty())
        return;
    auto &n = spec.names;
    const int l = layers.front();
    if (stored(ModelSpec::expand(n.layer + n.moe + n.expert + n.gateProj + ".weight", l, 0)))
        return;
    for (const std::string &moe : {n.moe, std::string("mlp.")}) {
        const auto packed = ModelSpec::expand(n.layer + moe + "experts.", l);
        if (stored(packed + "gate_up_proj") && stored(packed + "down_proj")) {
            n.moe = moe;
            n.expert = "experts.";
            n.gateUpProj = "gate_up_proj";
            // Only the routed experts read it as a stacked name; the shared
            // experts' and dense layers' down projection is down_proj in
            // every family with either (deepseek_v3, qwen2_moe).
            n.downProj = "down_proj";
            spec.moe.layout = ExpertLayout::StackedGateUp;
            return;
        }
    }
}

// Every quantised tensor checked against its scales when the folder is
// opened (headers only), so `info` and loading fail alike, with one line
// naming the file and tensor.
void validateQuantized(const Checkpoint &ckpt)
{
    const std::string blocks = "_blocks";
    for (const auto &file : ckpt.files())
        for (const auto &rec : file->tensors()) {
            if (rec.dtype == DType::F8_E4M3 || rec.dtype == DType::F8_E5M2)
                quant::findQuantized(ckpt, rec.name);
            else if (rec.name.size() > blocks.size()
                     && rec.name.compare(rec.name.size() - blocks.size(), blocks.size(), blocks) == 0)
                quant::findQuantized(ckpt, rec.name.substr(0, rec.name.size() - blocks.size()));
        }
}

} // namespace

std::shared_ptr<const Checkpoint> Checkpoint::open(const std::string &dir)
{
    auto ckpt = std::shared_ptr<Checkpoint>(new Checkpoint());
    ckpt->m_dir = dir;
    ckpt->m_spec = describeModelDirectory(dir);

    std::map<DType, std::uint64_t> bytesByType;
    for (const auto &path : shardPaths(dir)) {
        auto file = SafetensorsFile::open(path);
        for (const auto &rec : file->tensors()) {
            if (ckpt->m_entries.count(rec.name))
                throw Error(path, "tensor '" + rec.name + "' also appears in another shard");
            ckpt->m_entries[rec.name] = Entry{file.get(), &rec};
            bytesByType[rec.dtype] += rec.byteSize();
        }
        ckpt->m_files.push_back(std::move(file));
    }
    validateQuantized(*ckpt);
    adoptPackedExperts(ckpt->m_spec, [&](const std::string &name) { return ckpt->m_entries.count(name) != 0; });
    std::uint64_t most = 0;
    for (const auto &[dtype, bytes] : bytesByType)
        if (bytes > most) {
            most = bytes;
            ckpt->m_storageDType = dtype;
        }

    const auto &spec = ckpt->m_spec;
    ckpt->m_generation.eosTokenIds = spec.eosTokenIds;
    ckpt->m_generation.bosTokenId = spec.bosTokenId;
    ckpt->m_generation.padTokenId = spec.padTokenId;
    const fs::path genPath = fs::path(dir) / "generation_config.json";
    if (fs::exists(genPath)) {
        nlohmann::json gen;
        try {
            gen = nlohmann::json::parse(readFile(genPath.string()));
        } catch (const nlohmann::json::exception &e) {
            throw Error(genPath.string(), std::string("not valid JSON: ") + e.what());
        }
        auto ids = [&](const char *key) -> std::optional<std::vector<std::int64_t>> {
            if (!gen.contains(key) || gen[key].is_null())
                return std::nullopt;
            const auto &v = gen[key];
            if (v.is_number_integer())
                return std::vector<std::int64_t>{v.get<std::int64_t>()};
            if (v.is_array()) {
                std::vector<std::int64_t> out;
                for (const auto &x : v)
                    if (x.is_number_integer())
                        out.push_back(x.get<std::int64_t>());
                return out;
            }
            throw Error(genPath.string(), std::string("'") + key + "' is not an id or a list of ids");
        };
        if (auto eos = ids("eos_token_id"))
            ckpt->m_generation.eosTokenIds = *eos;
        if (auto pad = ids("pad_token_id"); pad && !pad->empty())
            ckpt->m_generation.padTokenId = pad->front();
        if (auto bos = ids("bos_token_id"); bos && !bos->empty())
            ckpt->m_generation.bosTokenId = bos->front();
    }
    return ckpt;
}

const Checkpoint::Entry *Checkpoint::find(const std::string &name) const
{
    const auto it = m_entries.find(name);
    return it == m_entries.end() ? nullptr : &it->second;
}

const Checkpoint::Entry &Checkpoint::get(const std::string &name) const
{
    const auto *entry = find(name);
    if (!entry)
        throw Error(m_files.size() == 1 ? m_files.front()->path() : m_dir,
                    "missing weight '" + name + "' (needed by " + m_spec.modelType + ")");
    return *entry;
}

DType Checkpoint::defaultComputeDType() const
{
    // Every published fp8 / mxfp4 checkpoint says bfloat16; transformers'
    // quantizers default to it too.
    if (m_spec.quantization.method != QuantMethod::None)
        return m_spec.torchDtype == "float32" ? DType::F32 : DType::BF16;
    switch (m_storageDType) {
    case DType::BF16:
        return DType::BF16;
    case DType::F32:
    case DType::F16: // half-precision matmuls are slow or missing on CPU
    case DType::F64:
        return DType::F32;
    default:
        throw Error(m_dir, "weights are stored as " + dtypeName(m_storageDType) + ", which is not a floating-point type");
    }
}

std::uint64_t Checkpoint::totalFileBytes() const
{
    std::uint64_t total = 0;
    for (const auto &f : m_files)
        total += f->fileSize();
    return total;
}

} // namespace moescope::model
