// The attention implementations behind the Attention seam, and the per-layer
// KV cache they append to. Grouped-query attention covers every family but
// deepseek_v3 (its options: AttentionSpec); multi-head latent attention is
// DeepseekV3Attention.
#include "core/model/decoder.h"

#include "core/common/error.h"
#include "core/model/bf16_gemm.h"

#include <atomic>
#include <cmath>
#include <limits>
#include <vector>
#include <immintrin.h>

namespace moescope::model {

// ----------------------------------------------------------------- KV cache

std::pair<at::Tensor, at::Tensor> LayerKvCache::append(const at::Tensor &k, const at::Tensor &v)
{
    const auto t = k.size(2);
    const auto capacity = key.defined() ? key.size(2) : 0;
    if (length + t > capacity) {
        const auto newCapacity
            = std::max<std::int64_t>(std::max<std::int64_t>(2 * capacity, 64), length + t);
        auto newKey = at::empty({ k.size(0), k.size(1), newCapacity, k.size(3) }, k.options());
        auto newValue = at::empty({ v.size(0), v.size(1), newCapacity, v.size(3) }, v.options());
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
    return { key.narrow(2, 0, length), value.narrow(2, 0, length) };
}

// ---------------------------------------------------------------- Attention

// The projections' input: fp32 when the weights take the bf16 kernel path
// (which computes in fp32), so q, k, v and the cache stay fp32 and nothing is
// converted per projection. Either way the score and value matmuls run in
// fp32: libtorch's CPU bf16 matmul is a scalar loop without AVX-512, and
// fp32 is the more precise of the two.
at::Tensor projectionInput(const at::Tensor &x, const Projection &first)
{
    return x.scalar_type() != at::kFloat && first.usesKernel() ? x.to(at::kFloat) : x;
}

namespace {

// softmax(scores) over the keys, scores [B, H, Tq, Tk] already masked.
// sinks (gpt_oss eager_attention_forward): one learned logit per head joins
// every row's softmax and is dropped afterwards, so a row's weights sum to
// less than 1; as there, the softmax runs in the scores' dtype after
// subtracting the row maximum (fp32 here: scores are always fp32).
// Otherwise the softmax is in float32.
at::Tensor attentionWeights(const at::Tensor &scores, const at::Tensor &sinks)
{
    if (!sinks.defined())
        return at::softmax(scores, -1, at::kFloat);
    const auto sizes = scores.sizes();
    const auto sinkColumn = sinks.to(scores.scalar_type())
                                .view({ 1, -1, 1, 1 })
                                .expand({ sizes[0], sizes[1], sizes[2], 1 });
    auto combined = at::cat({ scores, sinkColumn }, -1);
    combined = combined - std::get<0>(combined.max(-1, /*keepdim=*/true));
    return at::softmax(combined, -1).narrow(-1, 0, sizes[3]);
}

// Whether attention runs on the engine's own loops (oneQueryAttention for a
// decode step, blockedAttention for more queries) instead of batched BLAS
// calls and tensor ops over [B, H, T, Tk]. Keys and values must be fp32
// with contiguous rows (the cache is, on the kernel path); autograd keeps
// the tensor ops. Sums run in another order than OpenBLAS's, so results
// differ from the tensor path in the last bits.
bool engineAttentionApplies(const at::Tensor &k, const at::Tensor &v)
{
    return kernels::bf16GemmSupported() && !at::GradMode::is_enabled() && k.device().is_cpu()
        && k.scalar_type() == at::kFloat && v.scalar_type() == at::kFloat && k.stride(-1) == 1
        && v.stride(-1) == 1;
}

__attribute__((target("avx2,fma"))) float dot(const float *a, const float *b, std::int64_t n)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8)
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc0 = _mm256_add_ps(acc0, acc1);
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(acc0), _mm256_extractf128_ps(acc0, 1));
    sum = _mm_hadd_ps(sum, sum);
    sum = _mm_hadd_ps(sum, sum);
    float s = _mm_cvtss_f32(sum);
    for (; i < n; ++i)
        s += a[i] * b[i];
    return s;
}

__attribute__((target("avx2,fma"))) void addScaled(float alpha, const float *x, float *y, std::int64_t n)
{
    const __m256 a = _mm256_set1_ps(alpha);
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i)
        y[i] += alpha * x[i];
}

// One row of attention weights, in place: p[t] = scale * p[t] + mask[t]
// (mask may be null), then softmax over the row and, when sink is given,
// gpt_oss's sink logit, which joins the normalisation and is dropped (as
// attentionWeights). Every key masked and no sink gives NaN weights, as
// torch's softmax does.
void softmaxRow(float *p, std::int64_t n, float scale, const float *mask, const float *sink)
{
    float top = -std::numeric_limits<float>::infinity();
    for (std::int64_t t = 0; t < n; ++t) {
        p[t] = p[t] * scale + (mask ? mask[t] : 0.0f);
        top = std::max(top, p[t]);
    }
    if (sink)
        top = std::max(top, *sink);
    float sum = sink ? std::exp(*sink - top) : 0.0f;
    for (std::int64_t t = 0; t < n; ++t) {
        p[t] = std::exp(p[t] - top);
        sum += p[t];
    }
    const float inverse = 1.0f / sum;
    for (std::int64_t t = 0; t < n; ++t)
        p[t] *= inverse;
}

// One query per row and head: scores, scale, mask, softmax (with gpt_oss's
// sink, as attentionWeights) and the weighted sum of values in one pass per
// head. As separate tensor ops these were a handful of tiny OpenMP regions
// per layer, each waking the pool: 0.45 ms of a 2 ms attention block. q
// [B, H, 1, D], keys [B, KV, Tk, D], values [B, KV, Tk, Dv], mask [B, 1, 1,
// Tk] or undefined -> [B, H, 1, Dv].
at::Tensor oneQueryAttention(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
    std::int64_t groups, double scale, const at::Tensor &mask, const at::Tensor &sinks)
{
    const auto B = q.size(0), H = q.size(1), D = q.size(3), Tk = k.size(2), Dv = v.size(3);
    const auto qc = q.to(at::kFloat).contiguous();
    const auto mc = mask.defined() ? mask.to(at::kFloat).expand({ B, 1, 1, Tk }).contiguous() : at::Tensor();
    const auto sc = sinks.defined() ? sinks.to(at::kFloat).contiguous() : at::Tensor();
    auto out = at::zeros({ B, H, 1, Dv }, qc.options());
    const float *qs = qc.data_ptr<float>(), *ks = k.data_ptr<float>(), *vs = v.data_ptr<float>();
    const float *maskRows = mc.defined() ? mc.data_ptr<float>() : nullptr;
    const float *sinkOf = sc.defined() ? sc.data_ptr<float>() : nullptr;
    const auto s = static_cast<float>(scale);
    float *os = out.data_ptr<float>();
    auto head = [&](std::int64_t row, std::vector<float> &p) { // row = b * H + h
        const auto b = row / H, h = row % H;
        const float *query = qs + row * D;
        const float *keys = ks + b * k.stride(0) + (h / groups) * k.stride(1);
        const float *values = vs + b * v.stride(0) + (h / groups) * v.stride(1);
        const float *maskRow = maskRows ? maskRows + b * Tk : nullptr;
        p.resize(static_cast<std::size_t>(Tk));
        for (std::int64_t t = 0; t < Tk; ++t)
            p[static_cast<std::size_t>(t)] = dot(query, keys + t * k.stride(2), D);
        softmaxRow(p.data(), Tk, s, maskRow, sinkOf ? sinkOf + h : nullptr);
        float *o = os + row * Dv;
        for (std::int64_t t = 0; t < Tk; ++t) {
            const float weight = p[static_cast<std::size_t>(t)];
            if (weight != 0.0f) // masked keys: exp(-inf) = 0 adds nothing (NaN passes)
                addScaled(weight, values + t * v.stride(2), o, Dv);
        }
    };
    // The cache is read from memory (the step's weights have evicted it):
    // two threads read it faster than one.
    std::atomic<std::int64_t> next { 0 };
    kernels::runOnThreads(kernelThreads(B * H), [&] {
        std::vector<float> p;
        for (auto row = next++; row < B * H; row = next++)
            head(row, p);
    });
    return out;
}

// Many queries (a prefill): per head, blocks of kQueryBlock queries take
// scores against the keys up to the last one any of them may see, then
// scale, mask and softmax (with the sink) row by row and the weighted sum
// of values, all in a per-thread scratch that stays in L2. Replaces two
// batched OpenBLAS products over [B, H, T, Tk] and four tensor passes over
// that temporary (16 MB per layer at 512 tokens), and skips the causally
// masked half of both products. Same arguments as oneQueryAttention, q
// [B, H, T, D], mask [B, 1, T, Tk] or undefined -> [B, H, T, Dv].
constexpr std::int64_t kQueryBlock = 48; // a multiple of the kernel's 6-row tile

at::Tensor blockedAttention(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
    std::int64_t groups, double scale, const at::Tensor &mask, const at::Tensor &sinks)
{
    const auto B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    const auto KV = k.size(1), Tk = k.size(2), Dv = v.size(3);
    const auto roundUp = [](std::int64_t n) { return (n + 15) / 16 * 16; };
    const auto qc = q.to(at::kFloat).contiguous();
    // The kernel reads its right operand in 16-column blocks: keys are
    // transposed to [D, Tk] with rows padded to 16, values padded likewise
    // when their width is not a multiple of 16.
    const auto TkPad = roundUp(Tk);
    auto keysT = at::zeros({ B, KV, D, TkPad }, qc.options());
    keysT.narrow(-1, 0, Tk).copy_(k.transpose(-2, -1));
    at::Tensor values = v;
    if (Dv % 16 != 0) {
        values = at::zeros({ B, KV, Tk, roundUp(Dv) }, qc.options());
        values.narrow(-1, 0, Dv).copy_(v);
    }
    const auto mc = mask.defined() ? mask.to(at::kFloat).expand({ B, 1, T, Tk }).contiguous() : at::Tensor();
    const auto sc = sinks.defined() ? sinks.to(at::kFloat).contiguous() : at::Tensor();
    const float *maskData = mc.defined() ? mc.data_ptr<float>() : nullptr;
    const float *sinkOf = sc.defined() ? sc.data_ptr<float>() : nullptr;

    // Keys past the last one a block's rows may see are skipped: the
    // block's extent is 1 + the last key with a finite mask value in any of
    // its rows (all keys without a mask).
    const auto blocks = (T + kQueryBlock - 1) / kQueryBlock;
    std::vector<std::int64_t> extent(static_cast<std::size_t>(B * blocks), Tk);
    if (maskData)
        for (std::int64_t b = 0; b < B; ++b)
            for (std::int64_t blk = 0; blk < blocks; ++blk) {
                std::int64_t end = 0;
                for (auto i = blk * kQueryBlock; i < std::min(T, (blk + 1) * kQueryBlock); ++i) {
                    const float *row = maskData + (b * T + i) * Tk;
                    auto last = Tk;
                    while (last > end && row[last - 1] == -std::numeric_limits<float>::infinity())
                        --last;
                    end = std::max(end, last);
                }
                // A block whose every key is masked still scores one key, so
                // its rows come out NaN as torch's softmax makes them.
                extent[static_cast<std::size_t>(b * blocks + blk)] = std::max<std::int64_t>(end, 1);
            }

    auto out = at::empty({ B, H, T, Dv }, qc.options());
    const float *qs = qc.data_ptr<float>(), *kts = keysT.data_ptr<float>(), *vs = values.data_ptr<float>();
    float *os = out.data_ptr<float>();
    const auto s = static_cast<float>(scale);
    const auto items = B * H * blocks;
    std::atomic<std::int64_t> next { 0 };
    kernels::runOnThreads(kernelThreads(items), [&] {
        std::vector<float> scores;
        for (auto item = next++; item < items; item = next++) {
            const auto blk = item % blocks, h = (item / blocks) % H, b = item / (blocks * H);
            const auto i0 = blk * kQueryBlock, rows = std::min(kQueryBlock, T - i0);
            const auto kEnd = extent[static_cast<std::size_t>(b * blocks + blk)];
            const auto kv = h / groups;
            const auto ld = roundUp(kEnd);
            scores.resize(static_cast<std::size_t>(rows * ld));
            kernels::fp32MatMul(qs + ((b * H + h) * T + i0) * D, D, kts + (b * KV + kv) * D * TkPad,
                TkPad, rows, kEnd, D, scores.data(), ld);
            for (std::int64_t r = 0; r < rows; ++r)
                softmaxRow(scores.data() + r * ld, kEnd, s, maskData ? maskData + (b * T + i0 + r) * Tk : nullptr,
                    sinkOf ? sinkOf + h : nullptr);
            kernels::fp32MatMul(scores.data(), ld, vs + b * values.stride(0) + kv * values.stride(1), values.stride(2),
                rows, Dv, kEnd, os + ((b * H + h) * T + i0) * Dv, Dv);
        }
    });
    return out;
}

// softmax(q k^T * scale + mask) v for q [B, H, T, D], keys [B, KV, Tk, D],
// values [B, KV, Tk, Dv], query head h reading kv head h / groups
// (repeat_kv), sinks as attentionWeights -> [B, H, T, Dv], fp32. The
// engine's loops when they apply, else tensor ops (grouping the queries of
// one kv head rather than materialising repeated keys).
at::Tensor attend(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, std::int64_t groups,
    double scale, const at::Tensor &mask, const at::Tensor &sinks)
{
    if (engineAttentionApplies(k, v))
        return q.size(2) == 1 ? oneQueryAttention(q, k, v, groups, scale, mask, sinks)
                              : blockedAttention(q, k, v, groups, scale, mask, sinks);
    const auto B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    const auto KV = k.size(1), Tk = k.size(2);
    const auto qg = q.to(at::kFloat).reshape({ B, KV, groups * T, D });
    auto scores = at::matmul(qg, k.to(at::kFloat).transpose(-2, -1)).view({ B, H, T, Tk });
    scores = scores * scale;
    if (mask.defined())
        scores = scores + mask;
    const auto probs = attentionWeights(scores, sinks);
    return at::matmul(probs.reshape({ B, KV, groups * T, Tk }), v.to(at::kFloat))
        .view({ B, H, T, v.size(3) });
}

// Grouped-query attention (LlamaAttention and the eager_attention_forward of
// the MoE families), with the per-family options of AttentionSpec.
class GqaAttention : public Attention
{
public:
    GqaAttention(const ModelSpec &spec, const WeightStore &store, int layer)
        : m_spec(spec.attention)
        , m_interleavedRope(spec.rope.interleaved)
    {
        const auto prefix = ModelSpec::expand(spec.names.layer + spec.names.attention, layer);
        m_q = Projection::linear(store, prefix + spec.names.q, m_spec.qkvBias);
        m_k = Projection::linear(store, prefix + spec.names.k, m_spec.qkvBias);
        m_v = Projection::linear(store, prefix + spec.names.v, m_spec.qkvBias);
        m_o = Projection::linear(store, prefix + spec.names.o, m_spec.oBias);
        const std::int64_t qRows = m_spec.numHeads * m_spec.headDim * (m_spec.outputGate ? 2 : 1);
        if (m_q.outFeatures() != qRows)
            throw Error(store.checkpoint().directory(),
                "'" + prefix + spec.names.q + ".weight' must have " + std::to_string(qRows) + " rows"
                    + (m_spec.outputGate ? " (query and gate per head)" : ""));
        if (m_spec.qkNorm != QkNormKind::None) {
            m_qNorm = Norm::load(store, prefix + spec.names.qNorm, m_spec.qkNormKind, spec.normEps);
            m_kNorm = Norm::load(store, prefix + spec.names.kNorm, m_spec.qkNormKind, spec.normEps);
        }
        if (m_spec.sinks) {
            m_sinks = store.get(prefix + spec.names.sinks);
            if (m_sinks.dim() != 1 || m_sinks.size(0) != m_spec.numHeads)
                throw Error(store.checkpoint().directory(),
                    "'" + prefix + spec.names.sinks + "' must hold one value per attention head");
        }
        m_hasRope = spec.rope.kind != RopeKind::None;
    }

    at::Tensor forward(
        const at::Tensor &x, const AttentionContext &ctx, LayerKvCache *cache) const override
    {
        const auto B = x.size(0), T = x.size(1);
        const std::int64_t H = m_spec.numHeads, KV = m_spec.numKvHeads, D = m_spec.headDim;
        const auto xin = projectionInput(x, m_q);
        auto qkv = projectAll(xin, { &m_q, &m_k, &m_v });
        auto q = std::move(qkv[0]), k = std::move(qkv[1]), v = std::move(qkv[2]);
        at::Tensor gate;
        if (m_spec.outputGate) { // Qwen3NextAttention: per head [query (D) | gate (D)]
            const auto both = q.view({ B, T, H, 2 * D });
            gate = both.narrow(-1, D, D).reshape({ B, T, H * D });
            q = both.narrow(-1, 0, D).reshape({ B, T, H * D });
        }
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
        q = q.view({ B, T, H, D });
        k = k.view({ B, T, KV, D });
        v = v.view({ B, T, KV, D });
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
        auto out = attend(q, k, v, H / KV, m_spec.scoreScale, ctx.mask, m_sinks);
        out = out.transpose(1, 2).reshape({ B, T, H * D }).to(xin.scalar_type());
        if (gate.defined())
            out = out * at::sigmoid(gate);
        return m_o(out).to(x.scalar_type());
    }

private:
    AttentionSpec m_spec;
    bool m_interleavedRope;
    bool m_hasRope = true;
    Projection m_q, m_k, m_v, m_o;
    Norm m_qNorm, m_kNorm;
    at::Tensor m_sinks; // [H]
};

// Multi-head latent attention (DeepseekV3Attention, v4.51.3; the direct
// q_proj when q_lora_rank is null as in v4.55). Queries and keys are
// [nope | rope] per head: the nope parts and the values come from the
// compressed kv (kv_b_proj over kv_a_layernorm), the rope part of the key is
// one head shared by all heads. The cache keeps the expanded keys and values,
// as transformers' DynamicCache does.
class LatentAttention : public Attention
{
public:
    LatentAttention(const ModelSpec &spec, const WeightStore &store, int layer)
        : m_spec(spec.attention)
        , m_interleavedRope(spec.rope.interleaved)
    {
        const auto &n = spec.names;
        const auto &mla = m_spec.latent;
        const auto prefix = ModelSpec::expand(n.layer + n.attention, layer);
        if (mla.qLoraRank) {
            m_qA = Projection::linear(store, prefix + n.qA, m_spec.qkvBias);
            m_qANorm = Norm::load(store, prefix + n.qANorm, NormKind::RmsNorm, mla.loraNormEps);
            m_qB = Projection::linear(store, prefix + n.qB, false);
        } else {
            m_q = Projection::linear(store, prefix + n.q, false);
        }
        m_kvA = Projection::linear(store, prefix + n.kvA, m_spec.qkvBias);
        m_kvANorm = Norm::load(store, prefix + n.kvANorm, NormKind::RmsNorm, mla.loraNormEps);
        m_kvB = Projection::linear(store, prefix + n.kvB, false);
        m_o = Projection::linear(store, prefix + n.o, m_spec.oBias);
        const std::int64_t H = m_spec.numHeads;
        const auto expectRows
            = [&](const Projection &p, const std::string &name, std::int64_t rows) {
                  if (p.outFeatures() != rows)
                      throw Error(store.checkpoint().directory(),
                          "'" + prefix + name + ".weight' has " + std::to_string(p.outFeatures())
                              + " rows, the config implies " + std::to_string(rows));
              };
        expectRows(mla.qLoraRank ? m_qB : m_q, mla.qLoraRank ? n.qB : n.q, H * m_spec.headDim);
        expectRows(m_kvA, n.kvA, mla.kvLoraRank + mla.qkRopeHeadDim);
        expectRows(m_kvB, n.kvB, H * (mla.qkNopeHeadDim + mla.vHeadDim));
    }

    at::Tensor forward(
        const at::Tensor &x, const AttentionContext &ctx, LayerKvCache *cache) const override
    {
        const auto &mla = m_spec.latent;
        const auto B = x.size(0), T = x.size(1);
        const std::int64_t H = m_spec.numHeads, D = m_spec.headDim;
        const std::int64_t nope = mla.qkNopeHeadDim, rope = mla.qkRopeHeadDim, dv = mla.vHeadDim;

        const auto xin = projectionInput(x, mla.qLoraRank ? m_qA : m_q);
        const auto qStates = mla.qLoraRank ? m_qB(m_qANorm(m_qA(xin))) : m_q(xin);
        const auto q = qStates.view({ B, T, H, D }).transpose(1, 2);
        const auto qPass = q.narrow(-1, 0, nope);
        auto qRot = q.narrow(-1, nope, rope);

        const auto compressed = m_kvA(xin);
        const auto kvLatent = compressed.narrow(-1, 0, mla.kvLoraRank);
        auto kRot = compressed.narrow(-1, mla.kvLoraRank, rope).reshape({ B, 1, T, rope });
        const auto kv = m_kvB(m_kvANorm(kvLatent)).view({ B, T, H, nope + dv }).transpose(1, 2);
        const auto kPass = kv.narrow(-1, 0, nope);
        auto value = kv.narrow(-1, nope, dv);

        qRot = applyRotary(qRot, *ctx.rope, m_interleavedRope);
        kRot = applyRotary(kRot, *ctx.rope, m_interleavedRope);
        const auto query = at::cat({ qPass, qRot }, -1);
        auto key = at::cat({ kPass, kRot.expand({ B, H, T, rope }) }, -1);
        if (cache)
            std::tie(key, value) = cache->append(key, value);

        const auto out = attend(query, key, value, 1, m_spec.scoreScale, ctx.mask, {});
        return m_o(out.transpose(1, 2).reshape({ B, T, H * dv }).to(xin.scalar_type())).to(x.scalar_type());
    }

private:
    AttentionSpec m_spec;
    bool m_interleavedRope;
    Projection m_q, m_qA, m_qB, m_kvA, m_kvB, m_o;
    Norm m_qANorm, m_kvANorm;
};

} // namespace

std::unique_ptr<Attention> makeAttention(const ModelSpec &spec, const WeightStore &store, int layer)
{
    switch (spec.layers.at(static_cast<std::size_t>(layer)).attention.value_or(spec.attention.kind)) {
    case AttentionKind::Grouped:
        return std::make_unique<GqaAttention>(spec, store, layer);
    case AttentionKind::Latent:
        return std::make_unique<LatentAttention>(spec, store, layer);
    case AttentionKind::GatedDeltaNet:
        return makeGatedDeltaNet(spec, store, layer);
    }
    throw Error(spec.configPath, "unknown attention kind");
}

} // namespace moescope::model
