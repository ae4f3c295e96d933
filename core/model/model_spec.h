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
    ClampedSwiGlu, // gpt_oss (part 2): (clamp(up,-l,l)+1) * g*sigmoid(alpha*g), g = clamp(gate, max=l)
};

enum class RouterRule {
    SoftmaxTopK,         // softmax over all experts, top-k, optional renormalisation (mixtral, qwen*, olmoe)
    TopKSoftmax,         // top-k on raw logits, softmax over the k kept (granitemoe, gpt_oss)
    SigmoidGroupLimited, // deepseek_v3 (part 2): sigmoid, +correction bias for choice, group-limited top-k
    SparseMixer,         // phimoe (part 2)
};

enum class ExpertLayout {
    SeparateLinears,    // one nn.Linear per projection per expert: experts.{E}.<gate|up|down>.weight
    StackedGateUp,      // granitemoe (part 2): input_linear [E, 2I, H] (gate rows first), output_linear [E, H, I]
    InterleavedGateUp,  // gpt_oss (part 2): gate_up_proj [E, H, 2I] (gate = even cols) + biases, down_proj [E, I, H]
};

enum class SharedExpertKind {
    None,
    SigmoidGated, // qwen2_moe: shared_mlp(x) * sigmoid(shared_expert_gate(x))
    Always,       // deepseek_v3: shared_mlp(x) added unscaled
};

enum class RopeKind { None, Default, Linear, DynamicNtk, Yarn, Llama3 };

struct RopeSpec
{
    RopeKind kind = RopeKind::Default;
    double theta = 10000.0;
    int rotaryDim = 0;             // dims rotated per head (<= head_dim; partial rotary)
    bool interleaved = false;      // pairs (2i, 2i+1) instead of halves (deepseek, part 2)
    int maxPositions = 0;          // config max_position_embeddings
    double factor = 1.0;           // linear / dynamic / yarn / llama3
    int originalMaxPositions = 0;  // yarn / llama3 (0: not given)
    double lowFreqFactor = 1.0, highFreqFactor = 4.0; // llama3
    double betaFast = 32.0, betaSlow = 1.0;           // yarn
    std::optional<double> attentionFactor;            // yarn: explicit cos/sin scale
    double mscale = 0.0, mscaleAllDim = 0.0;          // yarn (deepseek)
};

struct AttentionSpec
{
    int numHeads = 0;
    int numKvHeads = 0;
    int headDim = 0;
    bool qkvBias = false;
    bool oBias = false;
    QkNormKind qkNorm = QkNormKind::None;
    double scoreScale = 0.0;            // multiplies q·k; 1/sqrt(head_dim) unless a family says otherwise
    std::optional<double> clipQkv;      // olmoe clip_qkv: clamp q, k, v to [-c, c]
    bool sinks = false;                 // gpt_oss (part 2): learned per-head sink logit in the softmax
};

struct MoeSpec
{
    int numExperts = 0;
    int topK = 0;
    int expertIntermediate = 0;
    RouterRule rule = RouterRule::SoftmaxTopK;
    bool renormalize = false;           // divide the kept weights by their sum
    bool routerBias = false;            // router linear has a bias (gpt_oss)
    double routedScalingFactor = 1.0;   // deepseek_v3
    int numGroups = 1, topkGroups = 1;  // deepseek_v3 group-limited routing
    ExpertLayout layout = ExpertLayout::SeparateLinears;
    bool expertBias = false;            // expert projections carry biases (gpt_oss)
    SharedExpertKind shared = SharedExpertKind::None;
    int sharedIntermediate = 0;
};

struct LayerSpec
{
    bool moe = true;
    int denseIntermediate = 0;          // width of the dense MLP when !moe
    std::optional<int> slidingWindow;   // key k visible from query q iff q - window < k <= q
};

// Tensor names. "{L}" is replaced by the layer index, "{E}" by the expert index.
struct WeightNames
{
    std::string embed = "model.embed_tokens.weight";
    std::string finalNorm = "model.norm";            // + ".weight" / ".bias"
    std::string lmHead = "lm_head.weight";
    std::string layer = "model.layers.{L}.";
    std::string inputNorm = "input_layernorm";
    std::string postAttentionNorm = "post_attention_layernorm";
    std::string attention = "self_attn.";
    std::string q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj";
    std::string qNorm = "q_norm", kNorm = "k_norm";
    std::string moe = "mlp.";                         // the sparse block, relative to the layer
    std::string router = "gate";
    std::string expert = "experts.{E}.";
    std::string gateProj = "gate_proj", upProj = "up_proj", downProj = "down_proj";
    std::string sharedExpert = "shared_expert.";
    std::string sharedExpertGate = "shared_expert_gate";
    std::string denseMlp = "mlp.";                    // dense layers: <denseMlp><gateProj|upProj|downProj>
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
    double embeddingMultiplier = 1.0; // granitemoe (part 2)
    double residualMultiplier = 1.0;  // granitemoe (part 2): branch outputs scaled before the residual add
    double logitsDivisor = 1.0;       // granitemoe (part 2): logits_scaling
    std::string torchDtype;           // config torch_dtype ("float32", "bfloat16", ...), may be empty
    std::vector<std::int64_t> eosTokenIds; // from config.json
    std::optional<std::int64_t> bosTokenId, padTokenId;

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
// is not supported (unknown model_type, quantization_config, rope type, ...).
ModelSpec describeModelDirectory(const std::string &dir);
// Same, from the text of a config.json (path is used for error messages).
ModelSpec describeModelConfig(const std::string &configJson, const std::string &path);

std::vector<std::string> supportedModelTypes();

} // namespace moescope::model
