#pragma once

// The one decoder: shared blocks (norm, rotary, attention, gated MLP, MoE
// block) assembled from a ModelSpec. Internal, torch-level API for core code
// (engine, recording, evaluation); it includes ATen, so UI code and public
// headers never include it. Public, torch-free entry point: moe_model.h.

#include "core/model/checkpoint.h"
#include "core/model/kernel_paths.h"
#include "core/model/quantized_weights.h"
#include "core/routing/router_hook.h"

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace moescope {
class JobContext;
}

namespace moescope::model {

// The checkpoint's tensors as ATen tensors in the compute dtype. Tensors whose
// stored dtype equals the compute dtype are the mapped file bytes (zero-copy,
// never written to); others are converted once on load. Quantised tensors
// (quantized_weights.h) come out decoded by get(); the layers instead ask
// quantized() and keep them as stored (Projection), unless the compute dtype
// is fp32, where decoding once at load is what `--dtype fp32` asks for.
//
// Training seam (core/training): a store over `parameters` instead, fp32
// tensors (typically requires_grad leaves) handed out as they are, so the
// decoder built over it shares them and autograd reaches them. The
// checkpoint then only supplies the spec and the folder for messages; every
// weight must be among the parameters.
class WeightStore
{
public:
    WeightStore(std::shared_ptr<const Checkpoint> checkpoint, at::ScalarType computeType);
    WeightStore(std::shared_ptr<const Checkpoint> checkpoint, std::map<std::string, at::Tensor> parameters);
    at::Tensor get(const std::string &name) const;      // throws Error naming the file
    at::Tensor getIfPresent(const std::string &name) const; // undefined when absent
    bool contains(const std::string &name) const;
    // The stored quantised form of `name` (throws Error for malformed scales or
    // blocks); nullopt for plain tensors and parameter stores.
    std::optional<quant::QuantizedTensor> quantized(const std::string &name) const;
    // Whether layers keep quantised weights as stored and decode them per
    // product (every compute dtype but fp32).
    bool decodesPerProduct() const { return !m_holdsParameters && m_compute != at::kFloat; }
    at::ScalarType computeType() const { return m_compute; }
    const Checkpoint &checkpoint() const { return *m_checkpoint; }
    std::shared_ptr<const Checkpoint> shared() const { return m_checkpoint; }
    bool holdsParameters() const { return m_holdsParameters; }

private:
    std::shared_ptr<const Checkpoint> m_checkpoint;
    at::ScalarType m_compute;
    bool m_holdsParameters = false;
    std::map<std::string, at::Tensor> m_parameters;
};

// y = x W^T + b for nn.Linear weights [out, in], the result in x's dtype.
// bf16 weights go through the AVX2 kernel (bf16_gemm.h) when libtorch has no
// fast bf16 GEMM on this CPU, with fp32 accumulation and no upcast copy of
// the weights; everything else is at::linear.
at::Tensor linearLayer(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias = {});
// Whether linearLayer takes the kernel path for this weight. Callers then keep
// activations in fp32 around it: the kernel reads and writes fp32 anyway, and
// libtorch's bf16 matmuls and conversions are the slow part.
bool usesBf16Kernel(const at::Tensor &weight);
// Threads for a kernel region of `items` independent pieces of work
// (kernels::runOnThreads): the intra-op threads, at most one per item, and
// one inside an OpenMP region, whose threads are already busy.
int kernelThreads(std::int64_t items);

// The compute-dtype tensor [rows, cols] of a quantised matrix (fp32 or bf16).
at::Tensor decodeQuantized(const quant::QuantizedTensor &stored, at::ScalarType dtype);

// y = x W^T + b for nn.Linear weights [out, in], or y = x W + b when the
// checkpoint stores [in, out] (fused expert tensors); `weight` may be a
// strided view into a stacked tensor.
//
// A quantised weight kept as stored (`quantized` set, `weight` undefined) is
// decoded into a transient compute-dtype [out, in] tensor for each product,
// so memory holds the file's bytes plus one matrix (docs/engine.md,
// "Checkpoint formats").
struct Projection
{
    at::Tensor weight;
    at::Tensor bias;
    bool inputMajor = false;
    std::shared_ptr<const quant::QuantizedTensor> quantized = nullptr;
    at::ScalarType quantizedDType = at::kBFloat16; // what `quantized` decodes to
    at::Tensor operator()(const at::Tensor &x) const;
    // The weight as the product uses it: `weight`, or `quantized` decoded now.
    at::Tensor dense() const;
    // The same projection with a dense weight (decoded once), e.g. for a router kept in fp32.
    Projection materialized() const;
    std::int64_t outFeatures() const;
    // Whether the product takes linearLayer's bf16 kernel path (usesBf16Kernel).
    bool usesKernel() const;
    // prefix + ".weight" (+ ".bias" when withBias); a quantised weight stays
    // as stored unless the store computes in fp32.
    static Projection linear(const WeightStore &store, const std::string &prefix, bool withBias);
    // A projection over a quantised matrix, as `linear` would hold it.
    static Projection ofQuantized(const WeightStore &store, const quant::QuantizedTensor &stored, at::Tensor bias);
};

// Every projection of the same x (q, k and v; gate and up), each result as
// (*p)(x) gives it. When all take the bf16 kernel path they run in one
// kernel region: x is packed once and the worker threads woken once.
std::vector<at::Tensor> projectAll(const at::Tensor &x, const std::vector<const Projection *> &projections);

class Norm
{
public:
    Norm() = default;
    Norm(NormKind kind, at::Tensor weight, at::Tensor bias, double eps);
    // prefix + ".weight" (+ ".bias" for LayerNorm).
    static Norm load(const WeightStore &store, const std::string &prefix, NormKind kind, double eps);
    at::Tensor operator()(const at::Tensor &x) const;

private:
    NormKind m_kind = NormKind::RmsNorm;
    at::Tensor m_weight, m_bias;
    double m_eps = 1e-6;
};

struct RopeTables
{
    at::Tensor cos, sin; // [B, T, rotaryDim], compute dtype, already scaled by the attention factor
};

class RotaryEmbedding
{
public:
    explicit RotaryEmbedding(const RopeSpec &spec);
    // positions: [B, T] int64.
    RopeTables tables(const at::Tensor &positions, at::ScalarType dtype) const;
    const RopeSpec &spec() const { return m_spec; }

private:
    struct Frequencies
    {
        at::Tensor inverse; // float32 [rotaryDim / 2]
        double attentionScaling = 1.0;
    };
    // Dynamic NTK and longrope depend on the sequence length; the others do not.
    Frequencies frequencies(std::int64_t seqLen) const;
    RopeSpec m_spec;
    at::Tensor m_invFreq; // float32 [rotaryDim / 2]
    at::Tensor m_longInvFreq; // longrope: the long-context frequencies (m_invFreq holds the short ones)
    double m_attentionScaling = 1.0;
};

// x: [B, heads, T, D]; rotates the first rotaryDim dims of every head.
// interleaved (deepseek rope_interleave): the rotated dims are first
// de-interleaved (pairs 2i, 2i+1 -> halves) and stay in that order, as in
// apply_rotary_pos_emb_interleave; q and k get the same permutation, so q·k
// is that of the interleaved rotation.
at::Tensor applyRotary(const at::Tensor &x, const RopeTables &rope, bool interleaved);

// One layer's cached keys and values, [B, kv_heads, capacity, D] (keys and
// values may differ in D: latent attention); grows by doubling. A linear-
// attention layer (gated DeltaNet) holds its state instead: the last
// kernel-1 inputs of its causal conv, [B, kernel-1, channels], and the
// recurrent state per value head, fp32 [B, value_heads, Dk, Dv].
struct LayerKvCache
{
    at::Tensor key, value;
    std::int64_t length = 0;
    at::Tensor convState, recurrentState;
    // Appends [B, kv_heads, T, D] and returns views of everything cached so far.
    std::pair<at::Tensor, at::Tensor> append(const at::Tensor &k, const at::Tensor &v);
};

// The per-row bookkeeping lives on the host: masks and position ids are
// built there, so a decode step costs no tensor ops (and no re-concatenation
// of a growing mask) for it.
struct KvCache
{
    std::vector<LayerKvCache> layers;
    std::vector<std::vector<std::uint8_t>> keyValid; // [B][length]: 0 for left padding and masked-out steps
    std::vector<std::int64_t> validCount;            // [B]: real tokens cached per row (next position id)
    std::int64_t hiddenKeys = 0;                     // slots with keyValid 0, over all rows
    std::int64_t length = 0;                         // slots used
};

struct AttentionContext
{
    const RopeTables *rope = nullptr;
    // Additive fp32 [B, 1, Tq, Tk]: 0 where visible, -inf elsewhere. Undefined
    // when it would be all zeros (one query that sees every key: an
    // unpadded decode step inside any sliding window).
    at::Tensor mask;
    // bool [B, T], false for left padding and masked-out steps; undefined
    // when every token is real. Linear attention keeps those out of its state.
    at::Tensor validTokens;
};

// The attention seam: grouped-query attention (with the per-family options of
// AttentionSpec, incl. gpt_oss sinks) and multi-head latent attention
// (deepseek_v3), chosen by AttentionSpec::kind in makeAttention.
class Attention
{
public:
    virtual ~Attention() = default;
    // x: [B, T, hidden] (already normed). Returns [B, T, hidden].
    virtual at::Tensor forward(const at::Tensor &x, const AttentionContext &ctx,
                               LayerKvCache *cache) const = 0;
};

// The kind comes from the layer's LayerSpec::attention, else AttentionSpec::kind.
std::unique_ptr<Attention> makeAttention(const ModelSpec &spec, const WeightStore &store, int layer);
// Gated DeltaNet (linear_attention.cpp), AttentionKind::GatedDeltaNet.
std::unique_ptr<Attention> makeGatedDeltaNet(const ModelSpec &spec, const WeightStore &store, int layer);
// The projections' input for attention blocks: fp32 when `first` takes the
// bf16 kernel path (which computes in fp32), else x as it is.
at::Tensor projectionInput(const at::Tensor &x, const Projection &first);

// The gated delta rule (fla's chunk_gated_delta_rule / fused_recurrent, as
// transformers' torch fallbacks). Per head, state S [Dk, Dv] and per token:
// S <- exp(g) S;  S <- S + k (beta (v - S^T k))^T;  o = S^T q.
// q, k [B, H, T, Dk] (q already l2-normalised and scaled, k normalised),
// v [B, H, T, Dv], g and beta [B, H, T], all fp32; initialState [B, H, Dk,
// Dv] or undefined (zeros). Returns o [B, H, T, Dv] and the final state.
struct DeltaRuleResult
{
    at::Tensor out, state;
};
// Token by token (decode steps).
DeltaRuleResult recurrentGatedDeltaRule(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
    const at::Tensor &g, const at::Tensor &beta, const at::Tensor &initialState);
// The same in chunks of chunkSize tokens (prefill): within a chunk the
// recurrence is solved as a unit-lower-triangular system, across chunks the
// state carries over; equal to the recurrent form up to fp32 rounding.
DeltaRuleResult chunkGatedDeltaRule(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
    const at::Tensor &g, const at::Tensor &beta, const at::Tensor &initialState, std::int64_t chunkSize = 64);

// down(act(gate(x)) * up(x)): dense MLP layers, shared experts and routed
// experts. Gate and up are either two projections or one fused projection
// whose output holds both, as halves (granitemoe input_linear, chunk(2)) or
// interleaved (gpt_oss gate_up_proj: gate = even, up = odd columns).
struct GatedMlp
{
    enum class Fused { None, Halves, Interleaved };
    Projection gate, up, down;
    Projection gateUp; // fused != None
    Fused fused = Fused::None;
    Activation activation = Activation::SiLU;
    double limit = 7.0; // ClampedSwiGlu
    // The result has x's dtype; with kernel-path bf16 weights
    // (usesBf16Kernel) the MLP computes in fp32 whatever x's dtype.
    at::Tensor operator()(const at::Tensor &x) const;
    bool runsInFloat32() const;
};

// act(g) * u * scale over one row of n values, in place in g, in fp32
// scalar code (GatedMlp's formulas): the MoE block's kernel experts and
// GatedMlp in fp32, the same bits for a token whatever its batch.
void gatedActivation(Activation activation, float limit, float *g, const float *u, std::int64_t n, float scale);

// sigmoid(z) element by element in scalar fp32 code (at::sigmoid under
// autograd): at::sigmoid's vector and scalar paths differ in the last bit
// and which one an element takes depends on its place in the whole tensor.
at::Tensor elementwiseSigmoid(const at::Tensor &z);

struct RouterDecision
{
    at::Tensor topkIdx;     // int64 [N, k], by descending weight
    at::Tensor topkWeights; // float32 [N, k]
};

// The router-rule seam: logits float32 [N, E] (after the hook) -> decision,
// experts ordered by descending weight. correctionBias [E]: SigmoidGroupLimited, SoftmaxCorrected.
RouterDecision selectExperts(const MoeSpec &moe, const at::Tensor &logits,
                             const at::Tensor &correctionBias);

struct MoeStepContext
{
    routing::RouterHook *hook = nullptr;
    at::Tensor validTokens; // bool [N]; undefined = all real tokens
    std::int64_t batch = 0, tokens = 0;
};

class MoeBlock
{
public:
    MoeBlock(const ModelSpec &spec, const WeightStore &store, int layer);
    // x: [N, hidden]. Tokens are grouped by expert: one matmul chain per
    // active expert, one host sync per call (the per-expert counts).
    at::Tensor forward(const at::Tensor &x, const MoeStepContext &ctx) const;

private:
    // One expert's bf16 weights as the AVX2 kernel reads them (the mapped
    // bytes; gate and up may be the two halves of one fused tensor), biases
    // widened to fp32 once.
    struct KernelExpert
    {
        const std::uint16_t *gate = nullptr, *up = nullptr, *down = nullptr;
        std::int64_t gateStride = 0, upStride = 0, downStride = 0;
        at::Tensor gateBias, upBias, downBias; // fp32, undefined without expert biases
        kernels::KernelPath gateUpPath = kernels::KernelPath::Avx2Widen, downPath = kernels::KernelPath::Avx2Widen;
    };
    static std::vector<KernelExpert> kernelViews(const std::vector<GatedMlp> &experts);
    at::Tensor runKernelExperts(const at::Tensor &x, const RouterDecision &decision,
                                const at::Tensor &validTokens) const;
    at::Tensor routerLogits(const at::Tensor &x) const;
    int m_layer;
    MoeSpec m_spec;
    Projection m_router;
    at::Tensor m_routerTransposed; // fp32 routers: [H, E rounded up to 16], for fp32MatMul
    at::Tensor m_correctionBias;        // e_score_correction_bias [E] (float32): deepseek_v3, glm4_moe, ernie4_5_moe
    std::vector<GatedMlp> m_experts;    // per-expert views, whatever the stored layout
    std::vector<KernelExpert> m_kernelExperts; // set when every expert takes the bf16 kernel path
    std::optional<GatedMlp> m_shared;
    Projection m_sharedGate;
};

// The expert-layout seam: builds per-expert GatedMlp views from the stored tensors.
std::vector<GatedMlp> loadExperts(const ModelSpec &spec, const WeightStore &store, int layer);

struct ForwardRequest
{
    at::Tensor inputIds;      // int64 [B, T]
    at::Tensor attentionMask; // [B, T], nonzero = real token; undefined = all real
    KvCache *cache = nullptr; // continue from / append to this cache
    routing::RouterHook *hook = nullptr;
    std::vector<at::Tensor> *hiddenStates = nullptr; // receives hidden.<L>, [B, T, H]
    at::Tensor *finalNorm = nullptr;                 // receives [B, T, H]
    bool lastPositionOnly = false; // logits [B, 1, V] for the last position only
    const JobContext *job = nullptr;
};

class Decoder
{
public:
    Decoder(std::shared_ptr<const Checkpoint> checkpoint, at::ScalarType computeType);
    // Training seam: a decoder over trainable fp32 parameters (see
    // WeightStore). Its forward runs outside c10::InferenceMode, so autograd
    // records it; callers evaluating it wrap calls in at::NoGradGuard. The
    // layers are the same objects inference uses; in fp32 the MoE block takes
    // its plain ATen path (no bf16 kernel, no parallel expert region).
    Decoder(std::shared_ptr<const Checkpoint> checkpoint, std::map<std::string, at::Tensor> parameters);
    ~Decoder();

    const ModelSpec &spec() const;
    const Checkpoint &checkpoint() const;
    at::ScalarType computeType() const;

    // Logits, float32 [B, T, V] (or [B, 1, V]).
    at::Tensor forward(const ForwardRequest &request) const;
    KvCache newCache(std::int64_t batch) const;

private:
    struct Layer;
    void build();
    // Inference decoders run (and are built) under c10::InferenceMode; a
    // decoder over trainable parameters does not.
    bool inferenceOnly() const { return !m_store.holdsParameters(); }
    std::shared_ptr<const Checkpoint> m_checkpoint;
    WeightStore m_store;
    at::Tensor m_embed, m_lmHead, m_lmHeadBias;
    Norm m_finalNorm;
    std::unique_ptr<RotaryEmbedding> m_rope;
    std::vector<std::unique_ptr<Layer>> m_layers;
};

// Keeps, per MoE layer, the router logits as this hook sees them (put it
// first in a chain to get the raw, pre-plan logits) and the final decision.
class RoutingCapture : public routing::RouterHook
{
public:
    struct Layer
    {
        at::Tensor routerLogits, topkIdx, topkWeights;
    };
    std::map<int, Layer> layers;

    void beforeSelection(const routing::RouterSite &site, at::Tensor &logits) override
    {
        layers[site.layer].routerLogits = logits.clone();
    }
    void afterSelection(const routing::RouterSite &site, const at::Tensor &topkIdx,
                        const at::Tensor &topkWeights) override
    {
        auto &layer = layers[site.layer];
        layer.topkIdx = topkIdx.clone();
        layer.topkWeights = topkWeights.clone();
    }
};

// safetensors <-> ATen: a copy of a stored tensor, and adding a tensor
// (any device/layout; written contiguous) to a writer.
at::Tensor readTensor(const SafetensorsFile &file, const std::string &name);
void addTensor(SafetensorsWriter &writer, const std::string &name, const at::Tensor &tensor);

// The ATen type of a stored safetensors dtype (F8 codes as raw bytes).
at::ScalarType scalarTypeOf(DType dtype);

// The compute dtype for a checkpoint: fp32 and bf16 as stored, fp16 as fp32.
at::ScalarType defaultComputeType(const Checkpoint &checkpoint);

} // namespace moescope::model
