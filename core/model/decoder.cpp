// Weight loading and the decoder loop shared by every family
// (MixtralModel.forward and its siblings, eager path).
#include "core/model/decoder.h"

#include "core/common/error.h"
#include "core/jobs/job_context.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <limits>

namespace moescope::model {

namespace {

bool isFloating(DType dtype)
{
    return dtype == DType::F64 || dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

} // namespace

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
    case DType::F8_E4M3: // raw codes; decoded by quantized_weights.h
    case DType::F8_E5M2: return at::kByte;
    }
    return at::kFloat;
}

at::ScalarType defaultComputeType(const Checkpoint &checkpoint)
{
    return checkpoint.defaultComputeDType() == DType::BF16 ? at::kBFloat16 : at::kFloat;
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
    return m_checkpoint->find(name) != nullptr || m_checkpoint->find(name + "_blocks") != nullptr;
}

at::Tensor WeightStore::getIfPresent(const std::string &name) const
{
    return contains(name) ? get(name) : at::Tensor();
}

std::optional<quant::QuantizedTensor> WeightStore::quantized(const std::string &name) const
{
    if (m_holdsParameters)
        return std::nullopt;
    return quant::findQuantized(*m_checkpoint, name);
}

at::Tensor WeightStore::get(const std::string &name) const
{
    if (m_holdsParameters) {
        const auto it = m_parameters.find(name);
        if (it == m_parameters.end())
            throw Error(m_checkpoint->directory(), "no trainable parameter '" + name + "'");
        return it->second;
    }
    if (const auto stored = quantized(name)) {
        // A whole decoded copy: for callers outside the layers (the layers
        // keep quantised weights as stored, see Projection).
        const auto type = m_compute == at::kBFloat16 ? at::kBFloat16 : at::kFloat;
        if (stored->shape.size() == 2)
            return decodeQuantized(*stored, type).to(m_compute);
        std::vector<at::Tensor> matrices;
        for (std::int64_t i = 0; i < stored->shape[0]; ++i)
            matrices.push_back(decodeQuantized(stored->matrix(i), type));
        return at::stack(matrices).to(m_compute);
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
            mlp.gate = Projection::linear(m_store, p + n.gateProj, spec.mlpBias);
            mlp.up = Projection::linear(m_store, p + n.upProj, spec.mlpBias);
            mlp.down = Projection::linear(m_store, p + n.downProj, spec.mlpBias);
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
    cache.keyValid.resize(static_cast<std::size_t>(batch));
    cache.validCount.assign(static_cast<std::size_t>(batch), 0);
    return cache;
}

namespace {

// Which cache slots hold real tokens: the cached rows followed by this step's
// tokens (stepValid [B, T] row-major, null = all real).
struct KeyValidity
{
    const KvCache *cache = nullptr;
    const bool *stepValid = nullptr;
    std::int64_t past = 0, tq = 0;
    bool operator()(std::int64_t b, std::int64_t k) const
    {
        if (k < past)
            return cache->keyValid[static_cast<std::size_t>(b)][static_cast<std::size_t>(k)] != 0;
        return !stepValid || stepValid[b * tq + (k - past)];
    }
};

// Additive attention mask [B, 1, Tq, Tk] over cache slots: causal, optional
// sliding window (q - window < k, as the HF eager mask), padding keys hidden.
// Padding queries also see themselves so that no softmax row is empty; their
// outputs are never used. Built on the host: a handful of tensor ops per
// step cost more than the loop. fp32 whatever the compute dtype: every
// attention path scores in fp32.
at::Tensor buildAttentionMask(const KeyValidity &keyValid, std::int64_t batch, std::optional<int> window)
{
    const auto past = keyValid.past, tq = keyValid.tq, tk = past + tq;
    auto mask = at::empty({batch, 1, tq, tk}, at::kFloat);
    float *out = mask.data_ptr<float>();
    for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t i = 0; i < tq; ++i) {
            const auto q = past + i;
            for (std::int64_t k = 0; k < tk; ++k) {
                const bool allowed = (k <= q && (!window || k > q - *window) && keyValid(b, k)) || k == q;
                *out++ = allowed ? 0.0f : -std::numeric_limits<float>::infinity();
            }
        }
    return mask;
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
    {
        // The ids are host data: check them there rather than with two
        // reductions and two .item() calls per step.
        const auto hostIds = ids.cpu().contiguous();
        const auto *id = hostIds.data_ptr<std::int64_t>();
        for (std::int64_t i = 0; i < hostIds.numel(); ++i)
            if (id[i] < 0 || id[i] >= spec.vocabSize)
                throw Error("input ids outside the vocabulary (0-" + std::to_string(spec.vocabSize - 1) + ")");
    }
    KvCache *cache = request.cache;
    if (cache && static_cast<std::int64_t>(cache->validCount.size()) != B)
        throw Error("KV cache batch size does not match the input");
    const auto dtype = m_store.computeType();

    at::Tensor valid; // bool [B, T]
    at::Tensor hostValid;
    const bool *stepValid = nullptr; // hostValid's data, null = every token real
    if (request.attentionMask.defined()) {
        if (request.attentionMask.sizes() != ids.sizes())
            throw Error("attention mask shape does not match the input ids");
        valid = request.attentionMask.ne(0);
        hostValid = valid.cpu().contiguous();
        stepValid = hostValid.data_ptr<bool>();
    }
    const auto stepReal = [&](std::int64_t b, std::int64_t t) { return !stepValid || stepValid[b * T + t]; };
    const std::int64_t past = cache ? cache->length : 0;
    // Position ids count real tokens only (HF generate: cumsum(mask) - 1,
    // clamped at 0), so a left-padded row sees the same positions as the
    // unpadded one; a cache continues each row from its real-token count.
    auto positions = at::empty({B, T}, at::kLong);
    std::int64_t hiddenStepTokens = 0;
    {
        auto *pos = positions.data_ptr<std::int64_t>();
        for (std::int64_t b = 0; b < B; ++b) {
            const auto base = cache ? cache->validCount[static_cast<std::size_t>(b)] : 0;
            std::int64_t real = 0;
            for (std::int64_t t = 0; t < T; ++t) {
                if (stepReal(b, t))
                    ++real;
                else
                    ++hiddenStepTokens;
                pos[b * T + t] = std::max<std::int64_t>(real - 1, 0) + base;
            }
        }
    }

    const KeyValidity keyValid{cache, stepValid, past, T};
    const bool everyKeyReal = hiddenStepTokens == 0 && (!cache || cache->hiddenKeys == 0);
    std::vector<std::pair<std::optional<int>, at::Tensor>> masks; // one per distinct window
    auto maskFor = [&](std::optional<int> window) -> at::Tensor {
        // One query seeing every key inside the window: the mask is all zeros.
        if (T == 1 && everyKeyReal && (!window || past < *window))
            return {};
        for (const auto &[w, m] : masks)
            if (w == window)
                return m;
        masks.emplace_back(window, buildAttentionMask(keyValid, B, window));
        return masks.back().second;
    };

    const RopeTables rope = m_rope->tables(positions, spec.rope.inFloat32 ? at::kFloat : dtype);
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
        AttentionContext ctx{&rope, maskFor(layer.slidingWindow), valid};
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
        cache->hiddenKeys += hiddenStepTokens;
        for (std::int64_t b = 0; b < B; ++b) {
            auto &row = cache->keyValid[static_cast<std::size_t>(b)];
            for (std::int64_t t = 0; t < T; ++t) {
                const bool real = stepReal(b, t);
                row.push_back(real ? 1 : 0);
                cache->validCount[static_cast<std::size_t>(b)] += real ? 1 : 0;
            }
        }
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
