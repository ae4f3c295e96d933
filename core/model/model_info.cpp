#include "core/model/model_info.h"

#include "core/model/checkpoint.h"
#include "core/model/quantized_weights.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace moescope::model {

namespace {

std::string humanCount(std::uint64_t n)
{
    char buf[32];
    if (n >= 1000000000ull)
        std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
    else if (n >= 1000000ull)
        std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
    else if (n >= 1000ull)
        std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
    return buf;
}

std::string humanBytes(std::uint64_t n)
{
    char buf[32];
    if (n >= (1ull << 30))
        std::snprintf(buf, sizeof buf, "%.2f GiB", n / double(1ull << 30));
    else if (n >= (1ull << 20))
        std::snprintf(buf, sizeof buf, "%.2f MiB", n / double(1ull << 20));
    else
        std::snprintf(buf, sizeof buf, "%.1f KiB", n / 1024.0);
    return buf;
}

std::string describeAttention(const ModelSpec &spec)
{
    const auto &att = spec.attention;
    std::string out;
    if (att.kind == AttentionKind::Latent) {
        const auto &mla = att.latent;
        out = "multi-head latent (q_lora_rank ";
        out.append(mla.qLoraRank ? std::to_string(*mla.qLoraRank) : std::string("none"))
            .append(", kv_lora_rank ")
            .append(std::to_string(mla.kvLoraRank))
            .append(", nope/rope/v head dims ")
            .append(std::to_string(mla.qkNopeHeadDim))
            .append("/")
            .append(std::to_string(mla.qkRopeHeadDim))
            .append("/")
            .append(std::to_string(mla.vHeadDim))
            .append(")");
    } else {
        out = "grouped-query";
    }
    if (att.outputGate)
        out += ", sigmoid output gate";
    std::string linear;
    for (int l = 0; l < spec.numLayers; ++l)
        if (spec.layers[static_cast<std::size_t>(l)].attention == AttentionKind::GatedDeltaNet)
            linear.append(linear.empty() ? "" : ",").append(std::to_string(l));
    if (!linear.empty()) {
        const auto &d = att.linear;
        out += "; gated DeltaNet linear attention in layers [" + linear + "] (" + std::to_string(d.numKeyHeads)
               + " key / " + std::to_string(d.numValueHeads) + " value heads, head dims "
               + std::to_string(d.keyHeadDim) + "/" + std::to_string(d.valueHeadDim) + ", conv kernel "
               + std::to_string(d.convKernel) + ")";
    }
    if (att.sinks)
        out += ", sinks";
    std::string windowed;
    for (int l = 0; l < spec.numLayers; ++l)
        if (const auto w = spec.layers[static_cast<std::size_t>(l)].slidingWindow) {
            if (!windowed.empty())
                windowed += ',';
            windowed.append(std::to_string(l)).append(":").append(std::to_string(*w));
        }
    if (!windowed.empty())
        out += ", sliding window (layer:window) [" + windowed + "]";
    return out;
}

std::string describeRouter(const MoeSpec &moe)
{
    std::string out;
    switch (moe.rule) {
    case RouterRule::SoftmaxTopK:
        out = moe.renormalize ? "softmax, top-k, renormalised" : "softmax, top-k";
        break;
    case RouterRule::TopKSoftmax:
        out = "top-k logits, softmax over k";
        break;
    case RouterRule::SigmoidGroupLimited:
        out = "sigmoid + correction bias, top-";
        out.append(std::to_string(moe.topkGroups))
            .append(" of ")
            .append(std::to_string(moe.numGroups))
            .append(" groups")
            .append(moe.renormalize ? ", renormalised" : "");
        break;
    case RouterRule::SparseMixer:
        out = "sparsemixer (top-2)";
        break;
    case RouterRule::SoftmaxGroupLimited:
        out = "softmax, top-";
        out.append(std::to_string(moe.topkGroups))
            .append(" of ")
            .append(std::to_string(moe.numGroups))
            .append(" groups (by best probability)")
            .append(moe.renormalize ? ", renormalised" : "");
        break;
    case RouterRule::SoftmaxCorrected:
        out = "softmax + correction bias, top-k, renormalised";
        break;
    }
    if (moe.routedScalingFactor != 1.0) {
        char buf[32];
        std::snprintf(buf, sizeof buf, ", x%g", moe.routedScalingFactor);
        out += buf;
    }
    if (moe.routerBias)
        out += ", router bias";
    return out;
}

std::string lowerDtype(DType dtype)
{
    switch (dtype) {
    case DType::BF16: return "bf16";
    case DType::F32: return "fp32";
    case DType::F16: return "fp16";
    case DType::F64: return "fp64";
    default: return dtypeName(dtype);
    }
}

bool isFloating(DType dtype)
{
    return dtype == DType::F64 || dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

// The quantised tensors of a checkpoint, each once (by its codes / blocks).
std::vector<quant::QuantizedTensor> quantizedTensors(const Checkpoint &ckpt)
{
    std::vector<quant::QuantizedTensor> out;
    for (const auto &file : ckpt.files())
        for (const auto &rec : file->tensors()) {
            std::optional<quant::QuantizedTensor> t;
            if (rec.dtype == DType::F8_E4M3)
                t = quant::findQuantized(ckpt, rec.name);
            else if (rec.name.size() > 7 && rec.name.compare(rec.name.size() - 7, 7, "_blocks") == 0)
                t = quant::findQuantized(ckpt, rec.name.substr(0, rec.name.size() - 7));
            if (t)
                out.push_back(std::move(*t));
        }
    return out;
}

std::string describeFormat(const Checkpoint &ckpt, const std::vector<quant::QuantizedTensor> &quantized)
{
    const auto &spec = ckpt.spec();
    // The dtype of the plain (not quantised) weight bytes.
    std::map<DType, std::uint64_t> plain;
    for (const auto &file : ckpt.files())
        for (const auto &rec : file->tensors())
            if (isFloating(rec.dtype) && !quant::isQuantizationPart(ckpt, rec))
                plain[rec.dtype] += rec.byteSize();
    DType rest = ckpt.storageDType();
    std::uint64_t most = 0;
    for (const auto &[dtype, bytes] : plain)
        if (bytes > most) {
            most = bytes;
            rest = dtype;
        }
    std::string out;
    const auto &q = spec.quantization;
    if (q.method == QuantMethod::Mxfp4) {
        bool onlyExperts = !quantized.empty();
        for (const auto &t : quantized)
            onlyExperts = onlyExperts && t.name.find(".experts.") != std::string::npos;
        out = std::string(onlyExperts ? "MXFP4 experts" : "MXFP4") + ", " + lowerDtype(rest) + " elsewhere";
    } else if (q.method == QuantMethod::Fp8Block) {
        bool bf16Scales = false;
        for (const auto &t : quantized)
            bf16Scales = bf16Scales || t.bf16Scales;
        out = "FP8 e4m3, " + std::to_string(q.blockRows) + "\u00d7" + std::to_string(q.blockCols) + " blocks ("
              + (bf16Scales ? "bf16" : "fp32") + " scales), " + lowerDtype(rest) + " elsewhere";
    } else {
        out = lowerDtype(ckpt.storageDType());
    }
    if (spec.moe.layout == ExpertLayout::StackedGateUp && spec.names.gateUpProj == "gate_up_proj")
        out += ", packed experts (transformers v5)";
    return out;
}

// Weight memory for a compute dtype (BF16 / F32), as WeightStore holds it.
std::uint64_t weightMemory(const Checkpoint &ckpt, const std::vector<quant::QuantizedTensor> &quantized, DType compute)
{
    const auto &spec = ckpt.spec();
    std::uint64_t total = 0;
    for (const auto &file : ckpt.files())
        for (const auto &rec : file->tensors()) {
            if ((spec.tieWordEmbeddings && rec.name == spec.names.lmHead) || quant::isQuantizationPart(ckpt, rec))
                continue;
            total += isFloating(rec.dtype) && rec.dtype != compute
                         ? static_cast<std::uint64_t>(rec.numel()) * dtypeSize(compute)
                         : rec.byteSize();
        }
    std::uint64_t largest = 0;
    for (const auto &t : quantized) {
        const auto matrix = static_cast<std::uint64_t>(t.rows() * t.cols()) * dtypeSize(compute);
        if (compute == DType::F32) {
            total += static_cast<std::uint64_t>(t.numel()) * 4; // decoded once at load
        } else {
            total += t.storedBytes();
            largest = std::max(largest, matrix);
        }
    }
    return total + largest;
}

} // namespace

ModelInfo inspectModel(const std::string &dir)
{
    const auto ckpt = Checkpoint::open(dir);
    const auto &spec = ckpt->spec();
    ModelInfo info;
    info.directory = dir;
    info.modelType = spec.modelType;
    info.numLayers = spec.numLayers;
    info.hiddenSize = spec.hiddenSize;
    info.vocabSize = spec.vocabSize;
    info.numHeads = spec.attention.numHeads;
    info.numKvHeads = spec.attention.numKvHeads;
    info.headDim = spec.attention.headDim;
    info.attention = describeAttention(spec);
    info.router = describeRouter(spec.moe);
    info.moeLayers = spec.moeLayers();
    info.numExperts = spec.moe.numExperts;
    info.topK = spec.moe.topK;
    info.expertIntermediate = spec.moe.expertIntermediate;
    info.sharedExpert = spec.moe.shared == SharedExpertKind::None           ? "none"
                        : spec.moe.shared == SharedExpertKind::SigmoidGated ? "sigmoid-gated"
                                                                            : "always";
    info.sharedIntermediate = spec.moe.sharedIntermediate;
    info.tiedEmbeddings = spec.tieWordEmbeddings;
    info.storageDtype = dtypeName(ckpt->storageDType());
    info.configDtype = spec.torchDtype;

    // Persistent buffers are stored but are not parameters (transformers'
    // num_parameters): deepseek_v3's e_score_correction_bias.
    std::set<std::string> buffers;
    if (spec.moe.rule == RouterRule::SigmoidGroupLimited)
        for (int l : info.moeLayers)
            buffers.insert(ModelSpec::expand(spec.names.layer + spec.names.moe + spec.names.correctionBias, l));
    const auto quantized = quantizedTensors(*ckpt);
    for (const auto &file : ckpt->files()) {
        info.files.emplace_back(std::filesystem::path(file->path()).filename().string(), file->fileSize());
        for (const auto &rec : file->tensors()) {
            // A tied checkpoint that still stores lm_head holds the matrix once in the model.
            if (spec.tieWordEmbeddings && rec.name == spec.names.lmHead)
                continue;
            if (buffers.count(rec.name) || quant::isQuantizationPart(*ckpt, rec))
                continue;
            if (!spec.names.ignoredPrefix.empty() && rec.name.rfind(spec.names.ignoredPrefix, 0) == 0)
                continue;
            info.totalParameters += static_cast<std::uint64_t>(rec.numel());
        }
    }
    // Quantised weights count as the parameters they decode to (scales are not parameters).
    for (const auto &t : quantized)
        info.totalParameters += static_cast<std::uint64_t>(t.numel());
    info.format = describeFormat(*ckpt, quantized);
    const auto compute = ckpt->defaultComputeDType();
    info.computeDtype = lowerDtype(compute);
    info.memoryBytes = weightMemory(*ckpt, quantized, compute);
    info.memoryBytesFp32 = weightMemory(*ckpt, quantized, DType::F32);
    const std::uint64_t H = static_cast<std::uint64_t>(spec.hiddenSize);
    const std::uint64_t I = static_cast<std::uint64_t>(spec.moe.expertIntermediate);
    // Every layout holds gate, up [I, H] and down [H, I] per expert (stacked
    // or not); gpt_oss adds biases of 2I and H.
    std::uint64_t perExpert = 3 * H * I;
    if (spec.moe.expertBias)
        perExpert += 2 * I + H;
    const std::uint64_t unchosen = static_cast<std::uint64_t>(spec.moe.numExperts - spec.moe.topK);
    const std::uint64_t inactive = unchosen * perExpert * info.moeLayers.size();
    info.activeParameters = info.totalParameters > inactive ? info.totalParameters - inactive : 0;
    return info;
}

std::string formatModelInfo(const ModelInfo &info)
{
    std::ostringstream out;
    std::string moeLayers;
    for (std::size_t i = 0; i < info.moeLayers.size(); ++i) {
        if (i)
            moeLayers += ",";
        moeLayers += std::to_string(info.moeLayers[i]);
    }
    std::uint64_t totalBytes = 0;
    for (const auto &f : info.files)
        totalBytes += f.second;
    out << "model:        " << info.directory << "\n"
        << "family:       " << info.modelType << "\n"
        << "parameters:   " << humanCount(info.totalParameters) << " total (" << info.totalParameters << "), "
        << humanCount(info.activeParameters) << " active per token (" << info.activeParameters << ")\n"
        << "layers:       " << info.numLayers << " (hidden " << info.hiddenSize << ", vocab " << info.vocabSize
        << ")\n"
        << "attention:    " << info.numHeads << " heads, " << info.numKvHeads << " kv heads, head dim "
        << info.headDim << ", " << info.attention << "\n"
        << "moe layers:   " << info.moeLayers.size() << " [" << moeLayers << "]\n"
        << "experts:      " << info.numExperts << " (width " << info.expertIntermediate << "), top-k "
        << info.topK << ", router " << info.router << ", shared expert " << info.sharedExpert;
    if (info.sharedExpert != "none")
        out << " (width " << info.sharedIntermediate << ")";
    out << "\n"
        << "dtype:        " << info.storageDtype
        << (info.configDtype.empty() ? "" : " (config torch_dtype " + info.configDtype + ")") << "\n"
        << "format:       " << info.format << "\n"
        << "memory:       ~" << humanBytes(info.memoryBytes) << " of weights with " << info.computeDtype
        << " compute (the default), ~" << humanBytes(info.memoryBytesFp32) << " with --dtype fp32\n"
        << "tied embeddings: " << (info.tiedEmbeddings ? "yes" : "no") << "\n"
        << "files:        " << info.files.size() << ", " << humanBytes(totalBytes) << "\n";
    for (const auto &[name, bytes] : info.files)
        out << "  " << name << "  " << humanBytes(bytes) << "\n";
    return out.str();
}

std::string modelInfoJson(const ModelInfo &info)
{
    nlohmann::json j = {
        {"directory", info.directory},
        {"model_type", info.modelType},
        {"num_layers", info.numLayers},
        {"hidden_size", info.hiddenSize},
        {"vocab_size", info.vocabSize},
        {"num_heads", info.numHeads},
        {"num_kv_heads", info.numKvHeads},
        {"head_dim", info.headDim},
        {"attention", info.attention},
        {"router", info.router},
        {"moe_layers", info.moeLayers},
        {"num_experts", info.numExperts},
        {"top_k", info.topK},
        {"expert_intermediate_size", info.expertIntermediate},
        {"shared_expert", info.sharedExpert},
        {"shared_expert_intermediate_size", info.sharedIntermediate},
        {"tie_word_embeddings", info.tiedEmbeddings},
        {"dtype", info.storageDtype},
        {"config_dtype", info.configDtype},
        {"format", info.format},
        {"compute_dtype", info.computeDtype},
        {"memory_bytes", info.memoryBytes},
        {"memory_bytes_fp32", info.memoryBytesFp32},
        {"total_parameters", info.totalParameters},
        {"active_parameters", info.activeParameters},
    };
    j["files"] = nlohmann::json::array();
    for (const auto &[name, bytes] : info.files)
        j["files"].push_back({{"name", name}, {"bytes", bytes}});
    return j.dump(2) + "\n";
}

} // namespace moescope::model
