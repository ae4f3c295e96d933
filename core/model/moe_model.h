#pragma once

// The native MoE inference engine, torch-free public API. A MoeModel is a
// loaded Hugging Face folder (mapped weights + the decoder built from its
// ModelSpec). Everything routing-related goes through routing::RouterHook.
// Code that needs tensors includes core/model/decoder.h and uses decoder().

#include "core/model/checkpoint.h"
#include "core/model/kernel_paths.h"
#include "core/model/model_spec.h"
#include "core/routing/intervention_plan.h"
#include "core/routing/router_hook.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace moescope {
class JobContext;
}

namespace moescope::model {

class Decoder;

enum class ComputeDtype {
    Checkpoint, // as stored: bf16 stays bf16, fp32 stays fp32, fp16 computes in fp32
    Float32,    // bf16 weights upcast once on load (the reference fixtures' setting)
    BFloat16,
};
// "fp32" | "bf16" | "" (checkpoint); throws Error otherwise.
ComputeDtype parseComputeDtype(const std::string &text);

struct LoadOptions
{
    ComputeDtype dtype = ComputeDtype::Checkpoint;
    int threads = 0; // intra-op threads; 0 = hardware threads
};

struct GenerationOptions
{
    int maxNewTokens = 32;
    double temperature = 0.0; // 0: greedy (argmax)
    double topP = 1.0;
    std::uint64_t seed = 0;
    // Generation stops for a row at any of these; nullopt = the checkpoint's
    // eos ids (generation_config.json, else config.json); empty = never.
    std::optional<std::vector<std::int64_t>> stopTokens;
};

struct GenerationResult
{
    std::vector<std::vector<std::int64_t>> tokens; // new tokens per row (a stop token included)
    std::vector<bool> stopped;                     // row ended on a stop token
};

// Called once per generated token, in order, as soon as it is chosen.
using TokenCallback = std::function<void(std::size_t row, std::int64_t token)>;

class MoeModel
{
public:
    static MoeModel load(const std::string &dir, const LoadOptions &options = {});
    MoeModel(MoeModel &&) noexcept;
    MoeModel &operator=(MoeModel &&) noexcept;
    ~MoeModel();

    const ModelSpec &spec() const;
    const std::string &directory() const;
    const GenerationDefaults &generationDefaults() const;
    std::string computeDtypeName() const; // "fp32" | "bf16"
    routing::PlanTarget planTarget() const;

    // `moescope forward`: reads input_ids (int64 [B,T]; optional attention_mask
    // [B,T]) from idsPath, writes logits, hidden.<L>, final_norm and per MoE
    // layer router_logits.<L> (before the plan), topk_idx.<L>, topk_w.<L>
    // (docs/architecture.md names) to outPath atomically.
    void forwardFile(const std::string &idsPath, const std::string &outPath,
                     const routing::InterventionPlan *plan = nullptr,
                     const JobContext *job = nullptr) const;

    // Prompts of any lengths are batched with left padding and attention
    // masks; padding never changes a row's tokens or routing. KV cache on.
    GenerationResult generate(const std::vector<std::vector<std::int64_t>> &prompts,
                              const GenerationOptions &options, routing::RouterHook *hook = nullptr,
                              const TokenCallback &onToken = {}, const JobContext *job = nullptr) const;

    // Runs the prompts through the model so that the hook sees every MoE
    // layer (routing recording); logits are only formed for the last token.
    void route(const std::vector<std::vector<std::int64_t>> &prompts, routing::RouterHook &hook,
               const JobContext *job = nullptr) const;

    // log p(token_i | tokens_<i) for i >= 1 of each row (perplexity, scoring).
    std::vector<std::vector<double>> tokenLogProbs(const std::vector<std::vector<std::int64_t>> &prompts,
                                                   routing::RouterHook *hook = nullptr,
                                                   const JobContext *job = nullptr) const;

    // The kernel path every bf16 product of this model takes on this machine
    // and why (kernel_paths.h): a short prefill and a decode step make the
    // choices not made yet. For `info --verbose` and `bench`.
    std::vector<kernels::PathChoice> kernelPaths() const;

    Decoder &decoder() const;

private:
    struct Impl;
    explicit MoeModel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace moescope::model
