// Shared decoder blocks. Each block cites the transformers code it mirrors;
// numerics follow the eager fp32 path (norms and softmaxes in float32).
#include "core/model/decoder.h"

#include "core/common/error.h"

#include <cmath>

namespace moescope::model {

// ---------------------------------------------------------------- Projection

at::Tensor Projection::operator()(const at::Tensor &x) const
{
    at::Tensor y = inputMajor ? at::matmul(x, weight) : at::linear(x, weight);
    if (bias.defined())
        y = y + bias;
    return y;
}

Projection Projection::linear(const WeightStore &store, const std::string &prefix, bool withBias)
{
    Projection p;
    p.weight = store.get(prefix + ".weight");
    if (withBias)
        p.bias = store.get(prefix + ".bias");
    return p;
}

// ---------------------------------------------------------------------- Norm

Norm::Norm(NormKind kind, at::Tensor weight, at::Tensor bias, double eps)
    : m_kind(kind), m_weight(std::move(weight)), m_bias(std::move(bias)), m_eps(eps)
{
}

Norm Norm::load(const WeightStore &store, const std::string &prefix, NormKind kind, double eps)
{
    return Norm(kind, store.get(prefix + ".weight"),
                kind == NormKind::LayerNorm ? store.get(prefix + ".bias") : at::Tensor(), eps);
}

at::Tensor Norm::operator()(const at::Tensor &x) const
{
    if (m_kind == NormKind::LayerNorm)
        return at::layer_norm(x, {x.size(-1)}, m_weight, m_bias, m_eps);
    // LlamaRMSNorm: statistics in float32, then back to the input dtype
    // before the weight multiply.
    const auto xf = x.to(at::kFloat);
    const auto variance = xf.pow(2).mean(-1, /*keepdim=*/true);
    return m_weight * (xf * at::rsqrt(variance + m_eps)).to(x.scalar_type());
}

// ------------------------------------------------------------------- Rotary

namespace {

at::Tensor evenDimsOver(std::int64_t dim)
{
    // torch.arange(0, dim, 2, dtype=int64).float() / dim
    return at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
}

at::Tensor defaultInverseFrequencies(double theta, std::int64_t dim)
{
    return at::pow(theta, evenDimsOver(dim)).reciprocal();
}

double yarnMscale(double scale, double mscale)
{
    return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

} // namespace

RotaryEmbedding::RotaryEmbedding(const RopeSpec &spec) : m_spec(spec)
{
    const std::int64_t dim = spec.rotaryDim;
    switch (spec.kind) {
    case RopeKind::None:
        return;
    case RopeKind::Default:
    case RopeKind::DynamicNtk: // recomputed per call when the sequence outgrows max_position_embeddings
        m_invFreq = defaultInverseFrequencies(spec.theta, dim);
        break;
    case RopeKind::Linear:
        m_invFreq = defaultInverseFrequencies(spec.theta, dim) / spec.factor;
        break;
    case RopeKind::Llama3: {
        // modeling_rope_utils._compute_llama3_parameters
        const auto inv = defaultInverseFrequencies(spec.theta, dim);
        const double oldContext = spec.originalMaxPositions;
        const double lowWavelen = oldContext / spec.lowFreqFactor;
        const double highWavelen = oldContext / spec.highFreqFactor;
        const auto wavelen = 2 * M_PI / inv;
        auto llama = at::where(wavelen > lowWavelen, inv / spec.factor, inv);
        const auto smooth = (oldContext / wavelen - spec.lowFreqFactor)
                            / (spec.highFreqFactor - spec.lowFreqFactor);
        const auto smoothed = (1 - smooth) * llama / spec.factor + smooth * llama;
        const auto medium = wavelen.le(lowWavelen).logical_and(wavelen.ge(highWavelen));
        m_invFreq = at::where(medium, smoothed, llama);
        break;
    }
    case RopeKind::Yarn: {
        // modeling_rope_utils._compute_yarn_parameters (v4.51).
        double factor = spec.factor;
        double originalMax = spec.maxPositions;
        if (spec.originalMaxPositions > 0) {
            originalMax = spec.originalMaxPositions;
            factor = static_cast<double>(spec.maxPositions) / spec.originalMaxPositions;
        }
        if (spec.attentionFactor)
            m_attentionScaling = *spec.attentionFactor;
        else if (spec.mscale != 0.0 && spec.mscaleAllDim != 0.0)
            m_attentionScaling = yarnMscale(factor, spec.mscale) / yarnMscale(factor, spec.mscaleAllDim);
        else
            m_attentionScaling = yarnMscale(factor, 1.0);
        const double base = spec.theta;
        auto correctionDim = [&](double rotations) {
            return (dim * std::log(originalMax / (rotations * 2 * M_PI))) / (2 * std::log(base));
        };
        double low = std::max(std::floor(correctionDim(spec.betaFast)), 0.0);
        double high = std::min(std::ceil(correctionDim(spec.betaSlow)), static_cast<double>(dim - 1));
        if (low == high)
            high += 0.001;
        const auto posFreqs = at::pow(base, evenDimsOver(dim));
        const auto extrapolation = posFreqs.reciprocal();
        const auto interpolation = (factor * posFreqs).reciprocal();
        const auto ramp = ((at::arange(dim / 2, at::kFloat) - low) / (high - low)).clamp(0, 1);
        const auto extrapolationFactor = 1 - ramp;
        m_invFreq = interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor;
        break;
    }
    }
}

at::Tensor RotaryEmbedding::inverseFrequencies(std::int64_t seqLen) const
{
    if (m_spec.kind != RopeKind::DynamicNtk || seqLen <= m_spec.maxPositions)
        return m_invFreq;
    // _compute_dynamic_ntk_parameters: the base grows with the sequence length.
    const double dim = m_spec.rotaryDim;
    const double base = m_spec.theta
                        * std::pow(m_spec.factor * seqLen / m_spec.maxPositions - (m_spec.factor - 1),
                                   dim / (dim - 2));
    return defaultInverseFrequencies(base, m_spec.rotaryDim);
}

RopeTables RotaryEmbedding::tables(const at::Tensor &positions, at::ScalarType dtype) const
{
    // Only dynamic NTK depends on the length; avoid the host sync otherwise.
    std::int64_t seqLen = 0;
    if (m_spec.kind == RopeKind::DynamicNtk && positions.numel())
        seqLen = positions.max().item<std::int64_t>() + 1;
    const auto inv = inverseFrequencies(seqLen);
    const auto freqs = positions.to(at::kFloat).unsqueeze(-1) * inv; // [B, T, R/2]
    const auto emb = at::cat({freqs, freqs}, -1);
    auto cos = emb.cos(), sin = emb.sin();
    if (m_attentionScaling != 1.0) {
        cos = cos * m_attentionScaling;
        sin = sin * m_attentionScaling;
    }
    return {cos.to(dtype), sin.to(dtype)};
}

at::Tensor applyRotary(const at::Tensor &x, const RopeTables &rope, bool interleaved)
{
    if (interleaved)
        throw Error("interleaved rotary layout is not implemented yet");
    const auto rot = rope.cos.size(-1);
    const auto cos = rope.cos.unsqueeze(1); // [B, 1, T, R]
    const auto sin = rope.sin.unsqueeze(1);
    const bool partial = rot < x.size(-1);
    const auto xr = partial ? x.narrow(-1, 0, rot) : x;
    // rotate_half: cat(-x2, x1)
    const auto x1 = xr.narrow(-1, 0, rot / 2);
    const auto x2 = xr.narrow(-1, rot / 2, rot / 2);
    auto out = xr * cos + at::cat({-x2, x1}, -1) * sin;
    if (partial)
        out = at::cat({out, x.narrow(-1, rot, x.size(-1) - rot)}, -1);
    return out;
}

// ----------------------------------------------------------------- KV cache

std::pair<at::Tensor, at::Tensor> LayerKvCache::append(const at::Tensor &k, const at::Tensor &v)
{
    const auto t = k.size(2);
    const auto capacity = key.defined() ? key.size(2) : 0;
    if (length + t > capacity) {
        const auto newCapacity = std::max<std::int64_t>(std::max<std::int64_t>(2 * capacity, 64), length + t);
        auto newKey = at::empty({k.size(0), k.size(1), newCapacity, k.size(3)}, k.options());
        auto newValue = at::empty({v.size(0), v.size(1), newCapacity, v.size(3)}, v.options());
        if (length > 0) {
            newKey.narrow(2, 0, length).copy_(key.narrow(2, 0, length));
            newValue.narrow(2, 0, length).copy_(value.narrow(2, 0, length));
        }
        key = newKey;
        value = newValue;
    }
    key.narrow(2, length, t).copy_(k);
    value.narrow(2, length, t).copy_(v);
    length += t;
    return {key.narrow(2, 0, length), value.narrow(2, 0, length)};
}

// ---------------------------------------------------------------- Attention

namespace {

// Grouped-query attention (LlamaAttention and the eager_attention_forward of
// the MoE families), with the per-family options of AttentionSpec.
class GqaAttention : public Attention
{
public:
    GqaAttention(const ModelSpec &spec, const WeightStore &store, int layer)
        : m_spec(spec.attention), m_interleavedRope(spec.rope.interleaved)
    {
        const auto prefix = ModelSpec::expand(spec.names.layer + spec.names.attention, layer);
        m_q = Projection::linear(store, prefix + spec.names.q, m_spec.qkvBias);
        m_k = Projection::linear(store, prefix + spec.names.k, m_spec.qkvBias);
        m_v = Projection::linear(store, prefix + spec.names.v, m_spec.qkvBias);
        m_o = Projection::linear(store, prefix + spec.names.o, m_spec.oBias);
        if (m_spec.qkNorm != QkNormKind::None) {
            m_qNorm = Norm::load(store, prefix + spec.names.qNorm, NormKind::RmsNorm, spec.normEps);
            m_kNorm = Norm::load(store, prefix + spec.names.kNorm, NormKind::RmsNorm, spec.normEps);
        }
        if (m_spec.sinks)
            throw Error(spec.configPath, "attention sinks are not implemented yet");
        m_hasRope = spec.rope.kind != RopeKind::None;
    }

    at::Tensor forward(const at::Tensor &x, const AttentionContext &ctx, LayerKvCache *cache) const override
    {
        const auto B = x.size(0), T = x.size(1);
        const std::int64_t H = m_spec.numHeads, KV = m_spec.numKvHeads, D = m_spec.headDim;
        auto q = m_q(x), k = m_k(x), v = m_v(x);
        if (m_spec.qkNorm == QkNormKind::Full) { // olmoe: over the whole projection
            q = m_qNorm(q);
            k = m_kNorm(k);
        }
        if (m_spec.clipQkv) {
            const double c = *m_spec.clipQkv;
            q = q.clamp(-c, c);
            k = k.clamp(-c, c);
            v = v.clamp(-c, c);
        }
        q = q.view({B, T, H, D});
        k = k.view({B, T, KV, D});
        v = v.view({B, T, KV, D});
        if (m_spec.qkNorm == QkNormKind::PerHead) { // qwen3_moe: over head_dim
            q = m_qNorm(q);
            k = m_kNorm(k);
        }
        q = q.transpose(1, 2);
        k = k.transpose(1, 2);
        v = v.transpose(1, 2);
        if (m_hasRope) {
            q = applyRotary(q, *ctx.rope, m_interleavedRope);
            k = applyRotary(k, *ctx.rope, m_interleavedRope);
        }
        if (cache)
            std::tie(k, v) = cache->append(k, v);
        const auto Tk = k.size(2);
        // Query head h uses kv head h / (H / KV) (repeat_kv); grouping the
        // queries of one kv head avoids materialising repeated keys.
        const auto groups = H / KV;
        const auto qg = q.reshape({B, KV, groups * T, D});
        auto scores = at::matmul(qg, k.transpose(-2, -1)) * m_spec.scoreScale;
        scores = scores.view({B, H, T, Tk}) + ctx.mask;
        const auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
        auto out = at::matmul(probs.view({B, KV, groups * T, Tk}), v);
        out = out.view({B, H, T, D}).transpose(1, 2).reshape({B, T, H * D});
        return m_o(out);
    }

private:
    AttentionSpec m_spec;
    bool m_interleavedRope;
    bool m_hasRope = true;
    Projection m_q, m_k, m_v, m_o;
    Norm m_qNorm, m_kNorm;
};

} // namespace

std::unique_ptr<Attention> makeAttention(const ModelSpec &spec, const WeightStore &store, int layer)
{
    return std::make_unique<GqaAttention>(spec, store, layer);
}

// ------------------------------------------------------------------ Gated MLP

at::Tensor GatedMlp::operator()(const at::Tensor &x) const
{
    const auto g = gate(x);
    at::Tensor a;
    switch (activation) {
    case Activation::SiLU:
        a = at::silu(g);
        break;
    case Activation::GeluExact:
        a = at::gelu(g);
        break;
    case Activation::GeluTanh:
        a = at::gelu(g, "tanh");
        break;
    case Activation::Relu:
        a = at::relu(g);
        break;
    case Activation::ClampedSwiGlu:
        throw Error("clamped SwiGLU experts are not implemented yet");
    }
    return down(a * up(x));
}

// ------------------------------------------------------------------- Router

RouterDecision selectExperts(const MoeSpec &moe, const at::Tensor &logits, const at::Tensor &)
{
    switch (moe.rule) {
    case RouterRule::SoftmaxTopK: {
        // MixtralSparseMoeBlock: softmax(dtype=float) over all experts, top-k,
        // optionally renormalised.
        const auto probs = at::softmax(logits, 1, at::kFloat);
        auto [weights, idx] = probs.topk(moe.topK, 1);
        if (moe.renormalize)
            weights = weights / weights.sum(-1, /*keepdim=*/true);
        if (moe.routedScalingFactor != 1.0)
            weights = weights * moe.routedScalingFactor;
        return {idx, weights};
    }
    case RouterRule::TopKSoftmax: {
        auto [values, idx] = logits.topk(moe.topK, 1);
        return {idx, at::softmax(values, 1, at::kFloat)};
    }
    case RouterRule::SigmoidGroupLimited:
    case RouterRule::SparseMixer:
        break;
    }
    throw Error("router rule not implemented yet");
}

// ----------------------------------------------------------------- Experts

std::vector<GatedMlp> loadExperts(const ModelSpec &spec, const WeightStore &store, int layer)
{
    const auto &n = spec.names;
    std::vector<GatedMlp> experts;
    switch (spec.moe.layout) {
    case ExpertLayout::SeparateLinears:
        for (int e = 0; e < spec.moe.numExperts; ++e) {
            const auto prefix = ModelSpec::expand(n.layer + n.moe + n.expert, layer, e);
            GatedMlp mlp;
            mlp.gate = Projection::linear(store, prefix + n.gateProj, spec.moe.expertBias);
            mlp.up = Projection::linear(store, prefix + n.upProj, spec.moe.expertBias);
            mlp.down = Projection::linear(store, prefix + n.downProj, spec.moe.expertBias);
            mlp.activation = spec.activation;
            experts.push_back(std::move(mlp));
        }
        return experts;
    case ExpertLayout::StackedGateUp:
    case ExpertLayout::InterleavedGateUp:
        break;
    }
    throw Error(spec.configPath, "expert weight layout not implemented yet");
}

// ----------------------------------------------------------------- MoE block

MoeBlock::MoeBlock(const ModelSpec &spec, const WeightStore &store, int layer)
    : m_layer(layer), m_spec(spec.moe)
{
    const auto &n = spec.names;
    const auto prefix = ModelSpec::expand(n.layer + n.moe, layer);
    m_router = Projection::linear(store, prefix + n.router, m_spec.routerBias);
    m_experts = loadExperts(spec, store, layer);
    if (m_spec.shared != SharedExpertKind::None) {
        GatedMlp shared;
        shared.gate = Projection::linear(store, prefix + n.sharedExpert + n.gateProj, false);
        shared.up = Projection::linear(store, prefix + n.sharedExpert + n.upProj, false);
        shared.down = Projection::linear(store, prefix + n.sharedExpert + n.downProj, false);
        shared.activation = spec.activation;
        m_shared = std::move(shared);
        if (m_spec.shared == SharedExpertKind::SigmoidGated)
            m_sharedGate = Projection::linear(store, prefix + n.sharedExpertGate, false);
    }
}

at::Tensor MoeBlock::forward(const at::Tensor &x, const MoeStepContext &ctx) const
{
    const auto N = x.size(0);
    const std::int64_t E = m_spec.numExperts, K = m_spec.topK;
    at::Tensor logits = m_router(x).to(at::kFloat);
    routing::RouterSite site;
    site.layer = m_layer;
    site.numExperts = static_cast<int>(E);
    site.topK = static_cast<int>(K);
    site.batch = ctx.batch;
    site.tokens = ctx.tokens;
    site.validTokens = ctx.validTokens.defined() ? &ctx.validTokens : nullptr;
    if (ctx.hook)
        ctx.hook->beforeSelection(site, logits);
    const auto decision = selectExperts(m_spec, logits, m_correctionBias);
    if (ctx.hook)
        ctx.hook->afterSelection(site, decision.topkIdx, decision.topkWeights);

    // Group the (token, slot) pairs by expert: padding pairs go to an extra
    // bucket E that is never computed. Experts run in index order, as the HF
    // loop does, so the index_add accumulation order matches it.
    const auto flatExpert = decision.topkIdx.reshape({-1});
    auto bucket = flatExpert;
    if (ctx.validTokens.defined())
        bucket = flatExpert.masked_fill(ctx.validTokens.repeat_interleave(K).logical_not(), E);
    const auto counts = at::bincount(bucket, {}, E + 1).to(at::kCPU); // the one host sync
    const auto order = std::get<1>(at::sort(bucket, /*stable=*/true, 0, false));
    const auto tokenOf = at::arange(N, x.options().dtype(at::kLong)).repeat_interleave(K);
    const auto sortedTokens = tokenOf.index_select(0, order);
    const auto sortedWeights =
        decision.topkWeights.reshape({-1}).index_select(0, order).to(x.scalar_type());

    auto out = at::zeros_like(x);
    const auto *count = counts.data_ptr<std::int64_t>();
    std::int64_t offset = 0;
    for (std::int64_t e = 0; e < E; ++e) {
        const auto n = count[e];
        if (n == 0)
            continue;
        const auto tokens = sortedTokens.narrow(0, offset, n);
        const auto y = m_experts[static_cast<std::size_t>(e)](x.index_select(0, tokens))
                       * sortedWeights.narrow(0, offset, n).unsqueeze(1);
        out.index_add_(0, tokens, y);
        offset += n;
    }

    if (m_shared) {
        auto shared = (*m_shared)(x);
        if (m_spec.shared == SharedExpertKind::SigmoidGated)
            shared = at::sigmoid(m_sharedGate(x)) * shared;
        out = out + shared;
    }
    return out;
}

} // namespace moescope::model
