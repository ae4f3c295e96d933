#pragma once

// What the one decoder needs to know about a checkpoint: dimensions, the
// attention variant, the router rule, the expert weight layout, norms, rope
// and the scalar multipliers, plus the tensor names. A family (families/*.cpp)
// is a function config.json -> ModelSpec; the decoder (decoder.cpp) builds
// itself from a ModelSpec alone. Torch-free and Qt-free.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moescope::model {

enum class NormKind {
    RmsNorm,   // w * x / sqrt(mean(x^2) + eps), computed in fp32 (LlamaRMSNorm)
    LayerNorm, // (x - mean) / sqrt(var + eps) * w + b (phimoe)
    RmsNormWeightInFloat32, // as RmsNorm, but the weight multiplies the fp32 value before the cast back (gpt_oss)
    ZeroCentredRmsNorm,     // as RmsNormWeightInFloat32 with (1 + w) as the weight (qwen3_next Qwen3NextRMSNorm)
};

enum class QkNormKind {
    None,
    PerHead, // RMSNorm over head_dim, applied to every head (qwen3_moe q_norm/k_norm)
    Full,    // RMSNorm over the whole q / k projection (olmoe)
};

enum class Activation {
    SiLU,          // "silu" / "swish"
    GeluExact,     // "gelu"
    GeluTanh,      // "gelu_pytorch_tanh", "gelu_new"
    Relu,          // "relu"
    ClampedSwiGlu, // gpt_oss: (clamp(up,-l,l)+1) * g*sigmoid(1.702*g), g = clamp(gate, max=l), l = swiglu_limit
};

enum class RouterRule {
    SoftmaxTopK,         // softmax over all experts, top-k, optional renormalisation (mixtral, qwen*, olmoe)
    TopKSoftmax,         // top-k on raw logits, softmax over the k kept (granitemoe, gpt_oss)
    SigmoidGroupLimited, // deepseek_v3: sigmoid, +correction bias for choice, group-limited top-k
    SparseMixer,         // phimoe: eval-mode sparsemixer, top-2 with jitter-threshold softmaxes
    SoftmaxGroupLimited, // deepseek_v2 group_limited_greedy: softmax, groups scored by their best probability
    SoftmaxCorrected,    // ernie4_5_moe: softmax, +correction bias for choice, weights renormalised (floor normMin)
};

enum class ExpertLayout {
    SeparateLinears,    // one nn.Linear per projection per expert: experts.{E}.<gate|up|down>.weight
    StackedGateUp,      // granitemoe: input_linear [E, 2I, H] (gate rows first), output_linear [E, H, I]
    InterleavedGateUp,  // gpt_oss: gate_up_proj [E, H, 2I] (gate = even cols) + biases, down_proj [E, I, H]
};

enum class SharedExpertKind {
    None,
    SigmoidGated, // qwen2_moe: shared_mlp(x) * sigmoid(shared_expert_gate(x))
    Always,       // deepseek_v3: shared_mlp(x) added unscaled
};

enum class RopeKind { None, Default, Linear, DynamicNtk, Yarn, Llama3, LongRope };

struct RopeSpec
{
    RopeKind kind = RopeKind::Default;
    double theta = 10000.0;
    int rotaryDim = 0;             // dims rotated per head (<= head_dim; partial rotary)
    bool interleaved = false;      // pairs (2i, 2i+1) instead of halves (deepseek rope_interleave)
    bool inFloat32 = false;        // cos/sin and the rotation in fp32 whatever the compute dtype (deepseek_v2, ernie)
    int maxPositions = 0;          // config max_position_embeddings
    double factor = 1.0;           // linear / dynamic / yarn / llama3
    int originalMaxPositions = 0;  // yarn / llama3 (0: not given)
    double lowFreqFactor = 1.0, highFreqFactor = 4.0; // llama3
    double betaFast = 32.0, betaSlow = 1.0;           // yarn
    std::optional<double> attentionFactor;            // yarn: explicit cos/sin scale
    double mscale = 0.0, mscaleAllDim = 0.0;          // yarn (deepseek)
    bool yarnTruncate = true;                         // yarn: floor/ceil the correction range (gpt_oss: false)
    // longrope (phimoe): per-frequency divisors for short and long contexts and
    // the cos/sin scales that go with them; originalMaxPositions decides.
    std::vector<double> shortFactor, longFactor;
    std::optional<double> shortMscale, longMscale;
    bool longRopeHasOriginal = false; // config carries original_max_position_embeddings
};

enum class AttentionKind {
    Grouped, // grouped-query attention (every family but deepseek_v3)
    Latent,  // multi-head latent attention (deepseek_v3): low-rank q and kv, split nope/rope head dims
    GatedDeltaNet, // linear attention with a recurrent state (qwen3_next linear_attention layers)
};

// Gated DeltaNet dimensions (Qwen3NextGatedDeltaNet): value head h reads key
// head h / (numValueHeads / numKeyHeads).
struct LinearAttentionSpec
{
    int numKeyHeads = 0;
    int numValueHeads = 0;
    int keyHeadDim = 0;
    int valueHeadDim = 0;
    int convKernel = 0; // depthwise causal conv1d over [q | k | v]
};

// Multi-head latent attention dimensions (DeepseekV3Attention).
struct LatentAttentionSpec
{
    std::optional<int> qLoraRank; // absent: a direct q_proj
    int kvLoraRank = 0;
    int qkNopeHeadDim = 0;
    int qkRopeHeadDim = 0;
    int vHeadDim = 0;
    double loraNormEps = 1e-6; // q_a_layernorm / kv_a_layernorm use the RMSNorm default, not rms_norm_eps
};

struct AttentionSpec
{
    AttentionKind kind = AttentionKind::Grouped;
    int numHeads = 0;
    int numKvHeads = 0;
    int headDim = 0;                    // Latent: qk head dim (nope + rope)
    bool qkvBias = false;               // Latent: q_a_proj and kv_a_proj_with_mqa
    bool oBias = false;
    QkNormKind qkNorm = QkNormKind::None;
    double scoreScale = 0.0;            // multiplies q·k; 1/sqrt(head_dim) unless a family says otherwise
    std::optional<double> clipQkv;      // olmoe clip_qkv: clamp q, k, v to [-c, c]
    bool sinks = false;                 // gpt_oss: learned per-head sink logit in the softmax
    LatentAttentionSpec latent;         // kind == Latent
    NormKind qkNormKind = NormKind::RmsNorm; // the q_norm / k_norm kind (qwen3_next: zero-centred)
    bool outputGate = false;            // qwen3_next: q_proj gives query | gate per head; output * sigmoid(gate) before o_proj
    LinearAttentionSpec linear;         // layers whose kind is GatedDeltaNet
};

struct MoeSpec
{
    int numExperts = 0;
    int topK = 0;
    int expertIntermediate = 0;
    RouterRule rule = RouterRule::SoftmaxTopK;
    bool renormalize = false;           // divide the kept weights by their sum
    bool routerBias = false;            // router linear has a bias (gpt_oss)
    bool routerInFloat32 = false;       // router matmul in fp32 whatever the compute dtype (deepseek_v3)
    double routedScalingFactor = 1.0;   // deepseek_v3
    int numGroups = 1, topkGroups = 1;  // deepseek_v3 group-limited routing
    double jitterEps = 0.0;             // phimoe sparsemixer: router_jitter_noise
    double normMin = 0.0;               // SoftmaxCorrected renormalisation: divide by max(sum, normMin) (ernie moe_norm_min)
    ExpertLayout layout = ExpertLayout::SeparateLinears;
    bool expertBias = false;            // expert projections carry biases (gpt_oss)
    SharedExpertKind shared = SharedExpertKind::None;
    int sharedIntermediate = 0;
};

// How the checkpoint stores its weights (config.json quantization_config).
// Which tensors are quantised is read from the files themselves
// (quantized_weights.h): an F8_E4M3 weight with its `_scale_inv`, or
// `<name>_blocks` + `<name>_scales` in place of `<name>`.
enum class QuantMethod {
    None,
    Fp8Block, // "fp8": float8 e4m3fn weights, one float scale per weight_block_size block
    Mxfp4,    // "mxfp4": e2m1 values, two per byte, one e8m0 scale per 32 (gpt-oss experts)
};

struct QuantizationSpec
{
    QuantMethod method = QuantMethod::None;
    int blockRows = 128, blockCols = 128;          // Fp8Block: weight_block_size [rows, cols]
    std::vector<std::string> modulesToNotConvert;  // informational: the files say what is quantised
};

struct LayerSpec
{
    bool moe = true;
    int denseIntermediate = 0;          // width of the dense MLP when !moe
    std::optional<int> slidingWindow;   // key k visible from query q iff q - window < k <= q
    std::optional<AttentionKind> attention; // this layer's kind when it differs from AttentionSpec::kind (hybrid models)
};

// Tensor names. "{L}" is replaced by the layer index, "{E}" by the expert index.
struct WeightNames
{
    std::string embed = "model.embed_tokens.weight";
    std::string finalNorm = "model.norm";            // + ".weight" / ".bias"
    std::string lmHead = "lm_head.weight";
    std::string lmHeadBias = "lm_head.bias";
    std::string layer = "model.layers.{L}.";
    std::string inputNorm = "input_layernorm";
    std::string postAttentionNorm = "post_attention_layernorm";
    std::string attention = "self_attn.";
    std::string q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj";
    std::string qNorm = "q_norm", kNorm = "k_norm";
    std::string moe = "mlp.";                         // the sparse block, relative to the layer
    std::string router = "gate";                      // + ".weight" (+ ".bias")
    std::string correctionBias = "gate.e_score_correction_bias"; // SigmoidGroupLimited, SoftmaxCorrected
    std::string expert = "experts.{E}.";
    std::string gateProj = "gate_proj", upProj = "up_proj", downProj = "down_proj";
    // Stacked layouts: full tensor names under <moe><expert> (no {E}); the
    // biases (expertBias) are <name>_bias. downProj names the stacked down tensor.
    std::string gateUpProj = "gate_up_proj";
    // Latent attention (deepseek_v3), under <attention>.
    std::string qA = "q_a_proj", qANorm = "q_a_layernorm", qB = "q_b_proj";
    std::string kvA = "kv_a_proj_with_mqa", kvANorm = "kv_a_layernorm", kvB = "kv_b_proj";
    std::string sinks = "sinks";
    std::string sharedExpert = "shared_expert.";
    std::string sharedExpertGate = "shared_expert_gate";
    std::string denseMlp = "mlp.";                    // dense layers: <denseMlp><gateProj|upProj|downProj>
    // Gated DeltaNet layers, under <layer><linearAttention>.
    std::string linearAttention = "linear_attn.";
    std::string inProjQkvz = "in_proj_qkvz", inProjBa = "in_proj_ba", conv1d = "conv1d";
    std::string aLog = "A_log", dtBias = "dt_bias", linearNorm = "norm", outProj = "out_proj";
    // Stored tensors the model never loads (qwen3_next "mtp.": the multi-token-prediction head), "" = none.
    std::string ignoredPrefix;
};

struct ModelSpec
{
    std::string modelType;
    std::string configPath;
    int vocabSize = 0;
    int hiddenSize = 0;
    int numLayers = 0;
    int maxPositions = 0;
    NormKind norm = NormKind::RmsNorm;
    double normEps = 1e-6;
    Activation activation = Activation::SiLU;
    bool tieWordEmbeddings = false;
    double swigluLimit = 7.0;         // Activation::ClampedSwiGlu
    bool lmHeadBias = false;          // phimoe lm_head_bias
    bool mlpBias = false;             // dense MLPs and shared experts carry biases (ernie use_bias, deepseek_v2 mlp_bias)
    double embeddingMultiplier = 1.0; // granitemoe
    double residualMultiplier = 1.0;  // granitemoe: branch outputs scaled before the residual add
    double logitsDivisor = 1.0;       // granitemoe: logits_scaling
    std::string torchDtype;           // config torch_dtype or "dtype" ("float32", "bfloat16", ...), may be empty
    std::vector<std::int64_t> eosTokenIds; // from config.json
    std::optional<std::int64_t> bosTokenId, padTokenId;
    QuantizationSpec quantization;

    AttentionSpec attention;
    RopeSpec rope;
    MoeSpec moe;
    std::vector<LayerSpec> layers;
    WeightNames names;

    std::vector<int> moeLayers() const;
    // A name from names with {L}/{E} filled in.
    static std::string expand(const std::string &pattern, int layer, int expert = -1);
};

// Reads DIR/config.json and describes the model, or throws Error naming what
// is not supported (unknown model_type, quant_method, rope type, ...).
ModelSpec describeModelDirectory(const std::string &dir);
// Same, from the text of a config.json (path is used for error messages).
ModelSpec describeModelConfig(const std::string &configJson, const std::string &path);

std::vector<std::string> supportedModelTypes();

} // namespace moescope::model
