#include "core/model/checkpoint.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
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

std::uint64_t Checkpoint::totalFileBytes() const
{
    std::uint64_t total = 0;
    for (const auto &f : m_files)
        total += f->fileSize();
    return total;
}

} // namespace moescope::model
