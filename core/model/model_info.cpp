#include "core/model/model_info.h"

#include "core/model/checkpoint.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
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

    for (const auto &file : ckpt->files()) {
        info.files.emplace_back(std::filesystem::path(file->path()).filename().string(), file->fileSize());
        for (const auto &rec : file->tensors()) {
            // A tied checkpoint that still stores lm_head holds the matrix once in the model.
            if (spec.tieWordEmbeddings && rec.name == spec.names.lmHead)
                continue;
            info.totalParameters += static_cast<std::uint64_t>(rec.numel());
        }
    }
    const std::uint64_t H = static_cast<std::uint64_t>(spec.hiddenSize);
    const std::uint64_t I = static_cast<std::uint64_t>(spec.moe.expertIntermediate);
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
        << info.headDim << "\n"
        << "moe layers:   " << info.moeLayers.size() << " [" << moeLayers << "]\n"
        << "experts:      " << info.numExperts << " (width " << info.expertIntermediate << "), top-k "
        << info.topK << ", shared expert " << info.sharedExpert;
    if (info.sharedExpert != "none")
        out << " (width " << info.sharedIntermediate << ")";
    out << "\n"
        << "dtype:        " << info.storageDtype
        << (info.configDtype.empty() ? "" : " (config torch_dtype " + info.configDtype + ")") << "\n"
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
        {"moe_layers", info.moeLayers},
        {"num_experts", info.numExperts},
        {"top_k", info.topK},
        {"expert_intermediate_size", info.expertIntermediate},
        {"shared_expert", info.sharedExpert},
        {"shared_expert_intermediate_size", info.sharedIntermediate},
        {"tie_word_embeddings", info.tiedEmbeddings},
        {"dtype", info.storageDtype},
        {"config_dtype", info.configDtype},
        {"total_parameters", info.totalParameters},
        {"active_parameters", info.activeParameters},
    };
    j["files"] = nlohmann::json::array();
    for (const auto &[name, bytes] : info.files)
        j["files"].push_back({{"name", name}, {"bytes", bytes}});
    return j.dump(2) + "\n";
}

} // namespace moescope::model
