#pragma once

// A Hugging Face model folder on disk: config.json (-> ModelSpec), the
// safetensors weights (one model.safetensors, or shards listed by
// model.safetensors.index.json), and generation_config.json when present.
// Only headers are read here; tensor bytes stay mapped until used.

#include "core/model/model_spec.h"
#include "core/model/safetensors.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace moescope::model {

struct GenerationDefaults
{
    std::vector<std::int64_t> eosTokenIds; // generation_config.json, else config.json
    std::optional<std::int64_t> padTokenId;
    std::optional<std::int64_t> bosTokenId;
};

class Checkpoint
{
public:
    // Throws Error naming the file for a missing/unsupported config, a missing
    // or malformed weight file, or an index that names absent tensors.
    static std::shared_ptr<const Checkpoint> open(const std::string &dir);

    struct Entry
    {
        const SafetensorsFile *file = nullptr;
        const TensorRecord *record = nullptr;
    };

    const std::string &directory() const { return m_dir; }
    const ModelSpec &spec() const { return m_spec; }
    const GenerationDefaults &generation() const { return m_generation; }
    const std::vector<std::shared_ptr<SafetensorsFile>> &files() const { return m_files; }

    const Entry *find(const std::string &name) const;
    // Throws Error naming the weight files when the tensor is absent.
    const Entry &get(const std::string &name) const;
    // The dtype most weight bytes are stored in (F32, BF16, F16, ...).
    DType storageDType() const { return m_storageDType; }
    // The compute dtype when none is asked for: BF16 or F32 (fp16 and fp64
    // as F32; quantised checkpoints their torch_dtype, bf16 unless float32).
    // Throws Error when the weights are not floating point.
    DType defaultComputeDType() const;
    std::uint64_t totalFileBytes() const;

private:
    std::string m_dir;
    ModelSpec m_spec;
    GenerationDefaults m_generation;
    std::vector<std::shared_ptr<SafetensorsFile>> m_files;
    std::unordered_map<std::string, Entry> m_entries;
    DType m_storageDType = DType::F32;
};

} // namespace moescope::model
