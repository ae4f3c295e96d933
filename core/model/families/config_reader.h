#pragma once

// Typed access to config.json for the family descriptions, with errors that
// name the file and the key. Internal to core/model/families.

#include "core/model/model_spec.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace moescope::model {

class ConfigReader
{
public:
    ConfigReader(nlohmann::json json, std::string path);

    const std::string &path() const { return m_path; }
    const nlohmann::json &json() const { return m_json; }

    // Present and not null.
    bool has(const std::string &key) const;
    int requireInt(const std::string &key) const;
    int getInt(const std::string &key, int fallback) const;
    double getDouble(const std::string &key, double fallback) const;
    bool getBool(const std::string &key, bool fallback) const;
    std::string getString(const std::string &key, const std::string &fallback) const;
    std::optional<int> optionalInt(const std::string &key) const;
    std::optional<double> optionalDouble(const std::string &key) const;
    std::vector<int> getIntList(const std::string &key) const; // absent/null: empty
    // An int or a list of ints (eos_token_id); absent/null: empty.
    std::vector<std::int64_t> getIdList(const std::string &key) const;

    [[noreturn]] void fail(const std::string &reason) const;

private:
    const nlohmann::json *find(const std::string &key) const;

    nlohmann::json m_json;
    std::string m_path;
};

// Family-independent defaults a family passes to describeCommonDecoder
// (they differ between the HF configuration classes).
struct CommonDefaults
{
    double normEps = 1e-6;
    double ropeTheta = 10000.0;
    bool readsHeadDim = true;   // the family's attention honours config.head_dim
};

// Further configuration-class defaults some families need.
struct ShapeDefaults
{
    // head_dim when config.json lacks the key (gpt_oss: 64); an explicit null
    // still means hidden / heads.
    std::optional<int> absentHeadDim;
    int maxPositions = 4096; // max_position_embeddings
};

// The parts every decoder-only family here shares: dimensions, activation,
// norm epsilon, rope (rope_scaling parsed and validated), tied embeddings,
// eos/bos/pad ids, quantization_config (fp8 block, mxfp4; others refused).
// The family fills in the rest.
ModelSpec describeCommonDecoder(const ConfigReader &config, const CommonDefaults &defaults,
                                const ShapeDefaults &shape = {});

// "{L} is MoE" rule shared by qwen2_moe / qwen3_moe: not in mlp_only_layers
// and (L + 1) % decoder_sparse_step == 0; dense layers get intermediate_size.
// intermediateDefault: the configuration class's intermediate_size when the key is absent.
void applySparseStepLayout(ModelSpec &spec, const ConfigReader &config,
                           std::optional<int> intermediateDefault = std::nullopt);

// DeepSeek-style pieces (deepseek_common.cpp): multi-head latent attention
// from q_lora_rank / kv_lora_rank / qk_*_head_dim / v_head_dim /
// attention_bias (rotary dim = qk_rope_head_dim), and n_group / topk_group
// for group-limited rules (moe.numExperts and moe.rule set first).
void describeLatentAttention(ModelSpec &spec, const ConfigReader &config);
void readExpertGroups(MoeSpec &moe, const ConfigReader &config, int defaultGroups, int defaultTopkGroups);
// DeepSeek-style ungated shared experts (`n_shared_experts` x the expert width,
// `shared_experts.`) and dense layers below `first_k_dense_replace` of width
// `intermediate_size`, with the configuration class's defaults.
void readSharedExpertsAndDenseLayers(ModelSpec &spec, const ConfigReader &config, int defaultShared,
                                     int defaultFirstDense, int defaultDenseWidth);

// Every family: a function from config.json to a ModelSpec.
using FamilyDescriber = ModelSpec (*)(const ConfigReader &);
struct FamilyEntry
{
    const char *modelType;
    FamilyDescriber describe;
};
const std::vector<FamilyEntry> &familyRegistry();

ModelSpec describeMixtral(const ConfigReader &config);
ModelSpec describeQwen2Moe(const ConfigReader &config);
ModelSpec describeQwen3Moe(const ConfigReader &config);
ModelSpec describeOlmoe(const ConfigReader &config);
ModelSpec describeGranitemoe(const ConfigReader &config);
ModelSpec describePhimoe(const ConfigReader &config);
ModelSpec describeDeepseekV3(const ConfigReader &config);
ModelSpec describeGptOss(const ConfigReader &config);
ModelSpec describeDeepseekV2(const ConfigReader &config);
ModelSpec describeErnie45Moe(const ConfigReader &config);
ModelSpec describeGlm4Moe(const ConfigReader &config);
ModelSpec describeQwen3Next(const ConfigReader &config);

} // namespace moescope::model
