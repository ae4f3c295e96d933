#include "core/model/families/config_reader.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace moescope::model {

ConfigReader::ConfigReader(nlohmann::json json, std::string path)
    : m_json(std::move(json)), m_path(std::move(path))
{
}

const nlohmann::json *ConfigReader::find(const std::string &key) const
{
    const auto it = m_json.find(key);
    if (it == m_json.end() || it->is_null())
        return nullptr;
    return &*it;
}

bool ConfigReader::has(const std::string &key) const
{
    return find(key) != nullptr;
}

void ConfigReader::fail(const std::string &reason) const
{
    throw Error(m_path, reason);
}

int ConfigReader::requireInt(const std::string &key) const
{
    const auto *v = find(key);
    if (!v)
        fail("missing '" + key + "'");
    if (!v->is_number_integer())
        fail("'" + key + "' is not an integer");
    return v->get<int>();
}

int ConfigReader::getInt(const std::string &key, int fallback) const
{
    return has(key) ? requireInt(key) : fallback;
}

std::optional<int> ConfigReader::optionalInt(const std::string &key) const
{
    if (!has(key))
        return std::nullopt;
    return requireInt(key);
}

double ConfigReader::getDouble(const std::string &key, double fallback) const
{
    const auto *v = find(key);
    if (!v)
        return fallback;
    if (!v->is_number())
        fail("'" + key + "' is not a number");
    return v->get<double>();
}

std::optional<double> ConfigReader::optionalDouble(const std::string &key) const
{
    if (!has(key))
        return std::nullopt;
    return getDouble(key, 0.0);
}

bool ConfigReader::getBool(const std::string &key, bool fallback) const
{
    const auto *v = find(key);
    if (!v)
        return fallback;
    if (!v->is_boolean())
        fail("'" + key + "' is not true/false");
    return v->get<bool>();
}

std::string ConfigReader::getString(const std::string &key, const std::string &fallback) const
{
    const auto *v = find(key);
    if (!v)
        return fallback;
    if (!v->is_string())
        fail("'" + key + "' is not a string");
    return v->get<std::string>();
}

std::vector<int> ConfigReader::getIntList(const std::string &key) const
{
    const auto *v = find(key);
    if (!v)
        return {};
    if (!v->is_array())
        fail("'" + key + "' is not a list");
    std::vector<int> out;
    for (const auto &x : *v) {
        if (!x.is_number_integer())
            fail("'" + key + "' holds a non-integer");
        out.push_back(x.get<int>());
    }
    return out;
}

std::vector<std::int64_t> ConfigReader::getIdList(const std::string &key) const
{
    const auto *v = find(key);
    if (!v)
        return {};
    std::vector<std::int64_t> out;
    if (v->is_number_integer()) {
        out.push_back(v->get<std::int64_t>());
        return out;
    }
    if (!v->is_array())
        fail("'" + key + "' is neither an id nor a list of ids");
    for (const auto &x : *v) {
        if (!x.is_number_integer())
            fail("'" + key + "' holds a non-integer");
        out.push_back(x.get<std::int64_t>());
    }
    return out;
}

namespace {

Activation parseActivation(const ConfigReader &config, const std::string &name)
{
    if (name == "silu" || name == "swish")
        return Activation::SiLU;
    if (name == "gelu")
        return Activation::GeluExact;
    if (name == "gelu_pytorch_tanh" || name == "gelu_new")
        return Activation::GeluTanh;
    if (name == "relu")
        return Activation::Relu;
    config.fail("unsupported hidden_act '" + name + "'");
}

// transformers' modeling_rope_utils.py (v4.51): rope_scaling["rope_type"]
// (older configs: "type") selects the inverse-frequency initialiser.
RopeSpec parseRope(const ConfigReader &config, double defaultTheta, int headDim, int maxPositions)
{
    RopeSpec rope;
    rope.theta = config.getDouble("rope_theta", defaultTheta);
    rope.maxPositions = maxPositions;
    const double partial = config.getDouble("partial_rotary_factor", 1.0);
    rope.rotaryDim = static_cast<int>(headDim * partial);
    if (rope.rotaryDim <= 0 || rope.rotaryDim > headDim || rope.rotaryDim % 2 != 0)
        config.fail("unsupported partial_rotary_factor " + std::to_string(partial));

    if (!config.has("rope_scaling"))
        return rope;
    const auto &rs = config.json().at("rope_scaling");
    if (!rs.is_object())
        config.fail("'rope_scaling' is not an object");
    std::string type;
    if (rs.contains("rope_type") && rs["rope_type"].is_string())
        type = rs["rope_type"].get<std::string>();
    else if (rs.contains("type") && rs["type"].is_string())
        type = rs["type"].get<std::string>();
    else
        config.fail("rope_scaling has no rope_type");

    auto number = [&](const char *key, std::optional<double> fallback) -> double {
        if (rs.contains(key) && rs[key].is_number())
            return rs[key].get<double>();
        if (fallback)
            return *fallback;
        config.fail("rope_scaling (" + type + ") needs '" + key + "'");
    };
    auto optionalNumber = [&](const char *key) -> std::optional<double> {
        if (rs.contains(key) && rs[key].is_number())
            return rs[key].get<double>();
        return std::nullopt;
    };

    if (type == "default") {
        rope.kind = RopeKind::Default;
    } else if (type == "linear") {
        rope.kind = RopeKind::Linear;
        rope.factor = number("factor", std::nullopt);
    } else if (type == "dynamic") {
        rope.kind = RopeKind::DynamicNtk;
        rope.factor = number("factor", std::nullopt);
    } else if (type == "yarn") {
        rope.kind = RopeKind::Yarn;
        rope.factor = number("factor", std::nullopt);
        if (const auto omp = optionalNumber("original_max_position_embeddings"))
            rope.originalMaxPositions = static_cast<int>(*omp);
        rope.attentionFactor = optionalNumber("attention_factor");
        rope.mscale = number("mscale", 0.0);
        rope.mscaleAllDim = number("mscale_all_dim", 0.0);
        // v4.51 treats a 0/null beta as "use the default" (`get(...) or 32`).
        rope.betaFast = optionalNumber("beta_fast").value_or(0.0);
        rope.betaSlow = optionalNumber("beta_slow").value_or(0.0);
        if (rope.betaFast == 0.0)
            rope.betaFast = 32.0;
        if (rope.betaSlow == 0.0)
            rope.betaSlow = 1.0;
        // v4.55: truncate=false keeps the fractional correction range (gpt_oss).
        if (rs.contains("truncate") && !rs["truncate"].is_null()) {
            if (!rs["truncate"].is_boolean())
                config.fail("rope_scaling.truncate is not true/false");
            rope.yarnTruncate = rs["truncate"].get<bool>();
        }
    } else if (type == "longrope") {
        // _compute_longrope_parameters (v4.47.1) + phimoe's short/long mscale.
        rope.kind = RopeKind::LongRope;
        auto factors = [&](const char *key) {
            std::vector<double> out;
            if (!rs.contains(key) || !rs[key].is_array())
                config.fail(std::string("rope_scaling (longrope) needs the list '") + key + "'");
            for (const auto &x : rs[key]) {
                if (!x.is_number())
                    config.fail(std::string("rope_scaling.") + key + " holds a non-number");
                out.push_back(x.get<double>());
            }
            if (out.size() != static_cast<std::size_t>(rope.rotaryDim / 2))
                config.fail(std::string("rope_scaling.") + key + " must have " + std::to_string(rope.rotaryDim / 2)
                            + " entries (half the rotary dimension)");
            return out;
        };
        rope.shortFactor = factors("short_factor");
        rope.longFactor = factors("long_factor");
        rope.attentionFactor = optionalNumber("attention_factor");
        rope.shortMscale = optionalNumber("short_mscale");
        rope.longMscale = optionalNumber("long_mscale");
        std::optional<double> original = optionalNumber("original_max_position_embeddings");
        if (!original)
            original = config.optionalDouble("original_max_position_embeddings");
        if (original) {
            rope.longRopeHasOriginal = true;
            rope.originalMaxPositions = static_cast<int>(*original);
            if (rope.originalMaxPositions <= 0)
                config.fail("original_max_position_embeddings must be positive");
        } else {
            rope.factor = number("factor", std::nullopt);
        }
    } else if (type == "llama3") {
        rope.kind = RopeKind::Llama3;
        rope.factor = number("factor", std::nullopt);
        rope.lowFreqFactor = number("low_freq_factor", std::nullopt);
        rope.highFreqFactor = number("high_freq_factor", std::nullopt);
        rope.originalMaxPositions =
            static_cast<int>(number("original_max_position_embeddings", std::nullopt));
    } else {
        config.fail("unsupported rope_scaling type '" + type + "'");
    }
    return rope;
}

// quantization_config as transformers' quantizers read it: "fp8"
// (FineGrainedFP8Config: fmt e4m3, weight_block_size, default [128, 128])
// and "mxfp4" (Mxfp4Config). Anything else is refused here rather than
// misread later.
QuantizationSpec parseQuantization(const ConfigReader &config)
{
    QuantizationSpec q;
    if (!config.has("quantization_config"))
        return q;
    const auto &qc = config.json().at("quantization_config");
    if (!qc.is_object())
        config.fail("'quantization_config' is not an object");
    const std::string method = qc.contains("quant_method") && qc["quant_method"].is_string()
                                   ? qc["quant_method"].get<std::string>()
                                   : std::string();
    if (qc.contains("modules_to_not_convert") && qc["modules_to_not_convert"].is_array())
        for (const auto &m : qc["modules_to_not_convert"])
            if (m.is_string())
                q.modulesToNotConvert.push_back(m.get<std::string>());
    if (method == "mxfp4") {
        q.method = QuantMethod::Mxfp4;
        return q;
    }
    if (method != "fp8")
        config.fail("unsupported quantization_config.quant_method '" + method
                    + "' (supported: fp8 with block scales, mxfp4)");
    q.method = QuantMethod::Fp8Block;
    if (qc.contains("fmt") && !(qc["fmt"].is_string() && qc["fmt"].get<std::string>() == "e4m3"))
        config.fail("quantization_config.fmt must be \"e4m3\" (float8 e4m3fn weights)");
    if (qc.contains("weight_block_size") && !qc["weight_block_size"].is_null()) {
        const auto &b = qc["weight_block_size"];
        if (!b.is_array() || b.size() != 2 || !b[0].is_number_integer() || !b[1].is_number_integer()
            || b[0].get<int>() <= 0 || b[1].get<int>() <= 0)
            config.fail("quantization_config.weight_block_size must be two positive integers [rows, cols]");
        q.blockRows = b[0].get<int>();
        q.blockCols = b[1].get<int>();
    } else if (qc.contains("weight_block_size")) {
        config.fail("quantization_config.weight_block_size is null (per-tensor fp8 scales are not supported)");
    }
    return q;
}

} // namespace

ModelSpec describeCommonDecoder(const ConfigReader &config, const CommonDefaults &defaults,
                                const ShapeDefaults &shape)
{
    ModelSpec spec;
    spec.quantization = parseQuantization(config);
    spec.modelType = config.getString("model_type", "");
    spec.configPath = config.path();
    spec.vocabSize = config.requireInt("vocab_size");
    spec.hiddenSize = config.requireInt("hidden_size");
    spec.numLayers = config.requireInt("num_hidden_layers");
    spec.maxPositions = config.getInt("max_position_embeddings", shape.maxPositions);
    spec.normEps = config.getDouble("rms_norm_eps", defaults.normEps);
    spec.activation = parseActivation(config, config.getString("hidden_act", "silu"));
    spec.tieWordEmbeddings = config.getBool("tie_word_embeddings", false);
    spec.torchDtype = config.getString("torch_dtype", config.getString("dtype", "")); // v4.56+ writes "dtype"
    spec.eosTokenIds = config.getIdList("eos_token_id");
    if (config.has("bos_token_id"))
        spec.bosTokenId = config.getIdList("bos_token_id").at(0);
    if (config.has("pad_token_id"))
        spec.padTokenId = config.getIdList("pad_token_id").at(0);

    auto &att = spec.attention;
    att.numHeads = config.requireInt("num_attention_heads");
    att.numKvHeads = config.getInt("num_key_value_heads", att.numHeads);
    if (spec.hiddenSize <= 0 || spec.numLayers <= 0 || spec.vocabSize <= 0 || att.numHeads <= 0
        || att.numKvHeads <= 0)
        config.fail("non-positive model dimensions");
    if (att.numHeads % att.numKvHeads != 0)
        config.fail("num_attention_heads is not a multiple of num_key_value_heads");
    att.headDim = spec.hiddenSize / att.numHeads;
    if (defaults.readsHeadDim && config.has("head_dim"))
        att.headDim = config.requireInt("head_dim");
    else if (defaults.readsHeadDim && shape.absentHeadDim && !config.json().contains("head_dim"))
        att.headDim = *shape.absentHeadDim;
    if (att.headDim <= 0)
        config.fail("head_dim must be positive");
    att.scoreScale = 1.0 / std::sqrt(static_cast<double>(att.headDim));

    spec.rope = parseRope(config, defaults.ropeTheta, att.headDim, spec.maxPositions);
    spec.layers.assign(static_cast<std::size_t>(spec.numLayers), LayerSpec{});
    return spec;
}

void applySparseStepLayout(ModelSpec &spec, const ConfigReader &config, std::optional<int> intermediateDefault)
{
    const int step = config.getInt("decoder_sparse_step", 1);
    const auto mlpOnly = config.getIntList("mlp_only_layers");
    const int denseWidth = intermediateDefault ? config.getInt("intermediate_size", *intermediateDefault)
                                               : config.requireInt("intermediate_size");
    for (int l = 0; l < spec.numLayers; ++l) {
        auto &layer = spec.layers[static_cast<std::size_t>(l)];
        const bool listedDense = std::find(mlpOnly.begin(), mlpOnly.end(), l) != mlpOnly.end();
        layer.moe = !listedDense && spec.moe.numExperts > 0 && step > 0 && (l + 1) % step == 0;
        layer.denseIntermediate = denseWidth;
    }
}

std::vector<int> ModelSpec::moeLayers() const
{
    std::vector<int> out;
    for (int l = 0; l < numLayers; ++l)
        if (layers[static_cast<std::size_t>(l)].moe)
            out.push_back(l);
    return out;
}

std::string ModelSpec::expand(const std::string &pattern, int layer, int expert)
{
    std::string out;
    out.reserve(pattern.size() + 8);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern.compare(i, 3, "{L}") == 0) {
            out += std::to_string(layer);
            i += 2;
        } else if (pattern.compare(i, 3, "{E}") == 0) {
            out += std::to_string(expert);
            i += 2;
        } else {
            out.push_back(pattern[i]);
        }
    }
    return out;
}

ModelSpec describeModelConfig(const std::string &configJson, const std::string &path)
{
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(configJson);
    } catch (const nlohmann::json::exception &e) {
        throw Error(path, std::string("not valid JSON: ") + e.what());
    }
    if (!json.is_object())
        throw Error(path, "not a JSON object");
    const ConfigReader config(std::move(json), path);
    const std::string type = config.getString("model_type", "");
    if (type.empty())
        config.fail("missing 'model_type'");
    for (const auto &family : familyRegistry())
        if (type == family.modelType) {
            ModelSpec spec = family.describe(config);
            if (spec.moeLayers().empty())
                config.fail("model has no MoE layer");
            const auto &m = spec.moe;
            if (m.numExperts <= 0 || m.topK <= 0 || m.topK > m.numExperts)
                config.fail("num_experts_per_tok must be between 1 and the number of experts");
            return spec;
        }
    std::string known;
    for (const auto &family : familyRegistry())
        known += std::string(known.empty() ? "" : ", ") + family.modelType;
    config.fail("unsupported model_type '" + type + "' (supported: " + known + ")");
}

ModelSpec describeModelDirectory(const std::string &dir)
{
    const std::string path = (std::filesystem::path(dir) / "config.json").string();
    if (!std::filesystem::is_directory(dir))
        throw Error(dir, "not a model directory");
    if (!std::filesystem::exists(path))
        throw Error(path, "missing (a Hugging Face model folder needs config.json)");
    return describeModelConfig(readFile(path), path);
}

std::vector<std::string> supportedModelTypes()
{
    std::vector<std::string> out;
    for (const auto &family : familyRegistry())
        out.emplace_back(family.modelType);
    return out;
}

} // namespace moescope::model
