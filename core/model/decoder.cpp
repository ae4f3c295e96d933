// Weight loading and the decoder loop shared by every family
// (MixtralModel.forward and its siblings, eager path).
#include "core/model/decoder.h"

#include "core/common/error.h"
#include "core/jobs/job_context.h"

#include <c10/core/InferenceMode.h>

#include <limits>

namespace moescope::model {

namespace {

at::ScalarType scalarTypeOf(DType dtype)
{
    switch (dtype) {
    case DType::F64: return at::kDouble;
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::I64: return at::kLong;
    case DType::I32: return at::kInt;
    case DType::I16: return at::kShort;
    case DType::I8: return at::kChar;
    case DType::U8: return at::kByte;
    case DType::Bool: return at::kBool;
    }
    return at::kFloat;
}

bool isFloating(DType dtype)
{
    return dtype == DType::F64 || dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

} // namespace

at::ScalarType defaultComputeType(const Checkpoint &checkpoint)
{
    switch (checkpoint.storageDType()) {
    case DType::BF16:
        return at::kBFloat16;
    case DType::F32:
    case DType::F16: // half-precision matmuls are slow or missing on CPU
    case DType::F64:
        return at::kFloat;
    default:
        throw Error(checkpoint.directory(), "weights are stored as " + dtypeName(checkpoint.storageDType())
                                                + ", which is not a floating-point type");
    }
}

// ---------------------------------------------------------------- WeightStore

WeightStore::WeightStore(std::shared_ptr<const Checkpoint> checkpoint, at::ScalarType computeType)
    : m_checkpoint(std::move(checkpoint)), m_compute(computeType)
{
}

WeightStore::WeightStore(std::shared_ptr<const Checkpoint> checkpoint,
                         std::map<std::string, at::Tensor> parameters)
    : m_checkpoint(std::move(checkpoint)), m_compute(at::kFloat), m_holdsParameters(true),
      m_parameters(std::move(parameters))
{
    for (const auto &[name, tensor] : m_parameters)
        if (tensor.scalar_type() != at::kFloat)
            throw Error(m_checkpoint->directory(), "trainable parameter '" + name + "' is not float32");
}

bool WeightStore::contains(const std::string &name) const
{
    if (m_holdsParameters)
        return m_parameters.count(name) != 0;
    return m_checkpoint->find(name) != nullptr;
}

at::Tensor WeightStore::getIfPresent(const std::string &name) const
{
    return contains(name) ? get(name) : at::Tensor();
}

at::Tensor WeightStore::get(const std::string &name) const
{
    if (m_holdsParameters) {
        const auto it = m_parameters.find(name);
        if (it == m_parameters.end())
            throw Error(m_checkpoint->directory(), "no trainable parameter '" + name + "'");
        return it->second;
    }
    const auto &entry = m_checkpoint->get(name);
    const auto &rec = *entry.record;
    const auto stored = scalarTypeOf(rec.dtype);
    auto *bytes = const_cast<std::byte *>(entry.file->data(rec));
    // Zero-copy view of the mapped file; the WeightStore keeps the mapping
    // alive and the engine never writes to weights.
    at::Tensor t = at::from_blob(bytes, rec.shape, at::TensorOptions().dtype(stored));
    if (!isFloating(rec.dtype))
        return t;
    if (stored != m_compute)
        return t.to(m_compute);
    if (reinterpret_cast<std::uintptr_t>(bytes) % dtypeSize(rec.dtype) != 0)
        return t.clone(); // misaligned data section: keep vectorised kernels safe
    return t;
}

// ------------------------------------------------------------------- Decoder

struct Decoder::Layer
{
    Norm inputNorm, postAttentionNorm;
    std::unique_ptr<Attention> attention;
    std::optional<GatedMlp> dense;
    std::unique_ptr<MoeBlock> moe;
    std::optional<int> slidingWindow;
};

Decoder::Decoder(std::shared_ptr<const Checkpoint> checkpoint, at::ScalarType computeType)
    : m_checkpoint(checkpoint), m_store(checkpoint, computeType)
{
    build();
}

Decoder::Decoder(std::shared_ptr<const Checkpoint> checkpoint, std::map<std::string, at::Tensor> parameters)
    : m_checkpoint(checkpoint), m_store(checkpoint, std::move(parameters))
{
    build();
}

void Decoder::build()
{
    c10::InferenceMode guard(inferenceOnly());
    const auto &spec = m_checkpoint->spec();
    const auto &n = spec.names;
    m_embed = m_store.get(n.embed);
    if (m_embed.dim() != 2 || m_embed.size(0) != spec.vocabSize || m_embed.size(1) != spec.hiddenSize)
        throw Error(m_checkpoint->directory(), "'" + n.embed + "' has the wrong shape for vocab_size x hidden_size");
    // tie_word_embeddings: lm_head shares the embedding matrix (HF ties them
    // even when the file also carries an lm_head tensor).
    m_lmHead = spec.tieWordEmbeddings ? m_embed : m_store.get(n.lmHead);
    if (spec.lmHeadBias)
        m_lmHeadBias = m_store.get(n.lmHeadBias);
    m_finalNorm = Norm::load(m_store, n.finalNorm, spec.norm, spec.normEps);
    m_rope = std::make_unique<RotaryEmbedding>(spec.rope);

    for (int l = 0; l < spec.numLayers; ++l) {
        const auto &ls = spec.layers[static_cast<std::size_t>(l)];
        auto layer = std::make_unique<Layer>();
        const auto prefix = ModelSpec::expand(n.layer, l);
        layer->inputNorm = Norm::load(m_store, prefix + n.inputNorm, spec.norm, spec.normEps);
        layer->postAttentionNorm = Norm::load(m_store, prefix + n.postAttentionNorm, spec.norm, spec.normEps);
        layer->attention = makeAttention(spec, m_store, l);
        if (ls.moe) {
            layer->moe = std::make_unique<MoeBlock>(spec, m_store, l);
        } else {
            GatedMlp mlp;
            const auto p = prefix + n.denseMlp;
            mlp.gate = Projection::linear(m_store, p + n.gateProj, false);
            mlp.up = Projection::linear(m_store, p + n.upProj, false);
            mlp.down = Projection::linear(m_store, p + n.downProj, false);
            mlp.activation = spec.activation;
            layer->dense = std::move(mlp);
        }
        layer->slidingWindow = ls.slidingWindow;
        m_layers.push_back(std::move(layer));
    }
}

Decoder::~Decoder() = default;

const ModelSpec &Decoder::spec() const
{
    return m_checkpoint->spec();
}

const Checkpoint &Decoder::checkpoint() const
{
    return *m_checkpoint;
}

at::ScalarType Decoder::computeType() const
{
    return m_store.computeType();
}

KvCache Decoder::newCache(std::int64_t batch) const
{
    KvCache cache;
    cache.layers.resize(m_layers.size());
    cache.keyValid = at::zeros({batch, 0}, at::kBool);
    cache.validCount = at::zeros({batch}, at::kLong);
    return cache;
}

namespace {

// Additive attention mask [B, 1, Tq, Tk] over cache slots: causal, optional
// sliding window (q - window < k, as the HF eager mask), padding keys hidden.
// Padding queries also see themselves so that no softmax row is empty; their
// outputs are never used.
at::Tensor buildAttentionMask(const at::Tensor &keyValid, std::int64_t past, std::int64_t tq,
                              std::optional<int> window, at::ScalarType dtype)
{
    const auto tk = keyValid.size(1);
    const auto q = at::arange(past, past + tq, at::kLong).unsqueeze(1);
    const auto k = at::arange(tk, at::kLong).unsqueeze(0);
    auto allowed = k.le(q);
    if (window)
        allowed = allowed.logical_and(k.gt(q - *window));
    allowed = allowed.unsqueeze(0).logical_and(keyValid.unsqueeze(1)); // [B, Tq, Tk]
    allowed = allowed.logical_or(k.eq(q).unsqueeze(0));
    auto mask = at::zeros(allowed.sizes(), at::TensorOptions().dtype(dtype));
    mask.masked_fill_(allowed.logical_not(), -std::numeric_limits<double>::infinity());
    return mask.unsqueeze(1);
}

} // namespace

at::Tensor Decoder::forward(const ForwardRequest &request) const
{
    c10::InferenceMode guard(inferenceOnly());
    const auto &spec = m_checkpoint->spec();
    const auto &ids = request.inputIds;
    if (ids.dim() != 2 || ids.scalar_type() != at::kLong)
        throw Error("input ids must be int64 [batch, tokens]");
    const auto B = ids.size(0), T = ids.size(1);
    if (T == 0)
        throw Error("input has no tokens");
    if (ids.numel() && (ids.min().item<std::int64_t>() < 0 || ids.max().item<std::int64_t>() >= spec.vocabSize))
        throw Error("input ids outside the vocabulary (0-" + std::to_string(spec.vocabSize - 1) + ")");
    KvCache *cache = request.cache;
    if (cache && cache->validCount.size(0) != B)
        throw Error("KV cache batch size does not match the input");
    const auto dtype = m_store.computeType();

    at::Tensor valid; // bool [B, T]
    if (request.attentionMask.defined()) {
        if (request.attentionMask.sizes() != ids.sizes())
            throw Error("attention mask shape does not match the input ids");
        valid = request.attentionMask.ne(0);
    }
    // Position ids count real tokens only (HF generate: cumsum(mask) - 1), so a
    // left-padded row sees the same positions as the unpadded one.
    at::Tensor positions;
    if (valid.defined())
        positions = (valid.to(at::kLong).cumsum(1) - 1).clamp_min(0);
    else
        positions = at::arange(T, at::kLong).unsqueeze(0).expand({B, T});
    const std::int64_t past = cache ? cache->length : 0;
    if (cache)
        positions = positions + cache->validCount.unsqueeze(1);

    const auto stepValid = valid.defined() ? valid : at::ones({B, T}, at::kBool);
    const auto keyValid = cache ? at::cat({cache->keyValid, stepValid}, 1) : stepValid;

    std::vector<std::pair<std::optional<int>, at::Tensor>> masks; // one per distinct window
    auto maskFor = [&](std::optional<int> window) -> const at::Tensor & {
        for (const auto &[w, m] : masks)
            if (w == window)
                return m;
        masks.emplace_back(window, buildAttentionMask(keyValid, past, T, window, dtype));
        return masks.back().second;
    };

    const RopeTables rope = m_rope->tables(positions, dtype);
    MoeStepContext moeCtx;
    moeCtx.hook = request.hook;
    moeCtx.batch = B;
    moeCtx.tokens = T;
    if (valid.defined())
        moeCtx.validTokens = valid.reshape({-1});

    at::Tensor h = at::embedding(m_embed, ids);
    if (spec.embeddingMultiplier != 1.0)
        h = h * spec.embeddingMultiplier;
    if (request.hiddenStates)
        request.hiddenStates->clear();

    for (std::size_t l = 0; l < m_layers.size(); ++l) {
        if (request.job)
            request.job->checkCancelled();
        const auto &layer = *m_layers[l];
        AttentionContext ctx{&rope, maskFor(layer.slidingWindow)};
        auto attn = layer.attention->forward(layer.inputNorm(h), ctx, cache ? &cache->layers[l] : nullptr);
        if (spec.residualMultiplier != 1.0)
            attn = attn * spec.residualMultiplier;
        h = h + attn;
        const auto normed = layer.postAttentionNorm(h);
        at::Tensor mlp = layer.moe ? layer.moe->forward(normed.reshape({B * T, -1}), moeCtx).view({B, T, -1})
                                   : (*layer.dense)(normed);
        if (spec.residualMultiplier != 1.0)
            mlp = mlp * spec.residualMultiplier;
        h = h + mlp;
        if (request.hiddenStates)
            request.hiddenStates->push_back(h);
    }

    if (cache) {
        cache->length += T;
        cache->keyValid = keyValid;
        cache->validCount = cache->validCount + stepValid.to(at::kLong).sum(1);
    }

    auto normed = m_finalNorm(h);
    if (request.finalNorm)
        *request.finalNorm = normed;
    // Left padding keeps every row's last real token in the last column.
    if (request.lastPositionOnly)
        normed = normed.narrow(1, T - 1, 1);
    auto logits = linearLayer(usesBf16Kernel(m_lmHead) ? normed.to(at::kFloat) : normed, m_lmHead, m_lmHeadBias)
                      .to(at::kFloat);
    if (spec.logitsDivisor != 1.0)
        logits = logits / spec.logitsDivisor;
    return logits;
}

} // namespace moescope::model
