// Gated DeltaNet linear attention (Qwen3NextGatedDeltaNet, transformers
// v4.57.0, the torch fallback path: torch_causal_conv1d_update,
// torch_chunk_gated_delta_rule, torch_recurrent_gated_delta_rule) behind the
// Attention seam. Instead of keys and values a layer caches the last
// kernel-1 inputs of its causal conv and one recurrent state per value head.
#include "core/model/decoder.h"

#include "core/common/error.h"

#include <cmath>
#include <vector>

namespace moescope::model {

DeltaRuleResult recurrentGatedDeltaRule(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
    const at::Tensor &g, const at::Tensor &beta, const at::Tensor &initialState)
{
    const auto B = q.size(0), H = q.size(1), T = q.size(2), Dk = k.size(3), Dv = v.size(3);
    auto state = initialState.defined() ? initialState.to(at::kFloat)
                                        : at::zeros({ B, H, Dk, Dv }, q.options().dtype(at::kFloat));
    const auto decay = g.exp();
    std::vector<at::Tensor> outs;
    outs.reserve(static_cast<std::size_t>(T));
    for (std::int64_t t = 0; t < T; ++t) {
        const auto kt = k.select(2, t); // [B, H, Dk]
        state = state * decay.select(2, t).view({ B, H, 1, 1 });
        const auto memory = at::matmul(kt.unsqueeze(-2), state).squeeze(-2); // S^T k, [B, H, Dv]
        const auto delta = (v.select(2, t) - memory) * beta.select(2, t).unsqueeze(-1);
        state = state + kt.unsqueeze(-1) * delta.unsqueeze(-2);
        outs.push_back(at::matmul(q.select(2, t).unsqueeze(-2), state).squeeze(-2));
    }
    return { at::stack(outs, 2), state };
}

DeltaRuleResult chunkGatedDeltaRule(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v,
    const at::Tensor &g, const at::Tensor &beta, const at::Tensor &initialState, std::int64_t chunkSize)
{
    const auto B = q.size(0), H = q.size(1), T = q.size(2), Dk = k.size(3), Dv = v.size(3);
    const auto C = chunkSize;
    // Zero padding to whole chunks: a padded token has beta = 0 and g = 0,
    // so it neither writes to nor decays the state.
    const auto pad = (C - T % C) % C;
    const auto N = (T + pad) / C;
    const auto chunks4 = [&](const at::Tensor &x) {
        const auto padded = pad ? at::constant_pad_nd(x, { 0, 0, 0, pad }) : x;
        return padded.reshape({ B, H, N, C, x.size(3) });
    };
    const auto chunks3 = [&](const at::Tensor &x) {
        const auto padded = pad ? at::constant_pad_nd(x, { 0, pad }) : x;
        return padded.reshape({ B, H, N, C });
    };
    const auto qc = chunks4(q), kc = chunks4(k), vc = chunks4(v);
    const auto betac = chunks3(beta).unsqueeze(-1);
    const auto gc = chunks3(g).cumsum(-1); // decay from the chunk start, [B, H, N, C]
    const auto kBeta = kc * betac, vBeta = vc * betac;
    // decay[i][j] = exp(gc_i - gc_j) for j <= i, 0 above the diagonal.
    const auto decay = (gc.unsqueeze(-1) - gc.unsqueeze(-2)).tril().exp().tril();

    // Within a chunk the writes depend on each other through S^T k: with
    // A = -(kBeta k^T . decay) strictly below the diagonal, the corrected
    // writes are (I - A)^{-1} applied to beta v. The inverse is built row by
    // row as torch_chunk_gated_delta_rule does (X = A + A X for the strictly
    // lower part), which keeps the rounding of the reference; a triangular
    // solve of the same system drifts by a few ulps more.
    auto lower = (-(at::matmul(kBeta, kc.transpose(-1, -2)) * decay)).tril(-1);
    for (std::int64_t i = 1; i < C; ++i) {
        const auto row = lower.select(-2, i).narrow(-1, 0, i).clone(); // [..., i]
        const auto sub = lower.narrow(-2, 0, i).narrow(-1, 0, i).clone(); // [..., i, i]
        lower.select(-2, i).narrow(-1, 0, i).copy_(row + (row.unsqueeze(-1) * sub).sum(-2));
    }
    const auto solved = lower + at::eye(C, lower.options());
    const auto values = at::matmul(solved, vBeta);
    const auto kCumDecay = at::matmul(solved, kBeta * gc.exp().unsqueeze(-1));

    auto state = initialState.defined() ? initialState.to(at::kFloat)
                                        : at::zeros({ B, H, Dk, Dv }, q.options().dtype(at::kFloat));
    std::vector<at::Tensor> outs;
    outs.reserve(static_cast<std::size_t>(N));
    for (std::int64_t n = 0; n < N; ++n) {
        const auto qi = qc.select(2, n), ki = kc.select(2, n), gi = gc.select(2, n); // [B, H, C, .]
        const auto intra = (at::matmul(qi, ki.transpose(-1, -2)) * decay.select(2, n)).tril();
        const auto vNew = values.select(2, n) - at::matmul(kCumDecay.select(2, n), state);
        const auto inter = at::matmul(qi * gi.exp().unsqueeze(-1), state);
        outs.push_back(inter + at::matmul(intra, vNew));
        const auto gLast = gi.narrow(-1, C - 1, 1); // [B, H, 1]
        state = state * gLast.exp().unsqueeze(-1)
            + at::matmul((ki * (gLast - gi).exp().unsqueeze(-1)).transpose(-1, -2), vNew);
    }
    auto out = at::stack(outs, 2).reshape({ B, H, N * C, Dv });
    if (pad)
        out = out.narrow(2, 0, T);
    return { out, state };
}

namespace {

// x * rsqrt(sum(x^2) + eps) over the last dim (transformers' l2norm, as fla's).
at::Tensor l2Normalise(const at::Tensor &x)
{
    return x * at::rsqrt((x * x).sum(-1, /*keepdim=*/true) + 1e-6);
}

class GatedDeltaNet : public Attention
{
public:
    GatedDeltaNet(const ModelSpec &spec, const WeightStore &store, int layer)
        : m_spec(spec.attention.linear)
        , m_eps(spec.normEps)
    {
        const auto &n = spec.names;
        const auto prefix = ModelSpec::expand(n.layer + n.linearAttention, layer);
        const auto &d = m_spec;
        const auto fail = [&](const std::string &reason) { throw Error(store.checkpoint().directory(), reason); };
        if (d.numKeyHeads <= 0 || d.numValueHeads <= 0 || d.keyHeadDim <= 0 || d.valueHeadDim <= 0
            || d.convKernel <= 0 || d.numValueHeads % d.numKeyHeads != 0)
            throw Error(spec.configPath, "linear attention needs positive sizes and linear_num_value_heads a "
                                         "multiple of linear_num_key_heads");
        m_qkvz = Projection::linear(store, prefix + n.inProjQkvz, false);
        m_ba = Projection::linear(store, prefix + n.inProjBa, false);
        m_out = Projection::linear(store, prefix + n.outProj, false);
        const std::int64_t keyDim = d.numKeyHeads * d.keyHeadDim, valueDim = d.numValueHeads * d.valueHeadDim;
        m_channels = 2 * keyDim + valueDim;
        const auto expectShape = [&](const at::Tensor &t, const std::string &name, std::vector<std::int64_t> shape) {
            if (t.sizes().vec() != shape) {
                std::string want;
                for (const auto s : shape)
                    want.append(want.empty() ? "" : "x").append(std::to_string(s));
                fail("'" + prefix + name + "' must be " + want + " for the config's linear attention sizes");
            }
        };
        expectShape(m_qkvz.weight, n.inProjQkvz + ".weight", { 2 * keyDim + 2 * valueDim, spec.hiddenSize });
        expectShape(m_ba.weight, n.inProjBa + ".weight", { 2 * d.numValueHeads, spec.hiddenSize });
        expectShape(m_out.weight, n.outProj + ".weight", { spec.hiddenSize, valueDim });
        m_conv = store.get(prefix + n.conv1d + ".weight");
        expectShape(m_conv, n.conv1d + ".weight", { m_channels, 1, d.convKernel });
        m_aLog = store.get(prefix + n.aLog);
        expectShape(m_aLog, n.aLog, { d.numValueHeads });
        m_dtBias = store.get(prefix + n.dtBias);
        expectShape(m_dtBias, n.dtBias, { d.numValueHeads });
        m_normWeight = store.get(prefix + n.linearNorm + ".weight");
        expectShape(m_normWeight, n.linearNorm + ".weight", { d.valueHeadDim });
    }

    at::Tensor forward(const at::Tensor &x, const AttentionContext &ctx, LayerKvCache *cache) const override
    {
        const auto B = x.size(0), T = x.size(1);
        const std::int64_t Hk = m_spec.numKeyHeads, Hv = m_spec.numValueHeads, Dk = m_spec.keyHeadDim,
                           Dv = m_spec.valueHeadDim, K = m_spec.convKernel, r = Hv / Hk;
        auto xin = projectionInput(x, m_qkvz);
        // apply_mask_to_padding_states: padding enters as zeros.
        at::Tensor validFloat; // [B, T, 1] fp32, undefined = every token real
        if (ctx.validTokens.defined()) {
            validFloat = ctx.validTokens.to(at::kFloat).unsqueeze(-1);
            xin = xin * validFloat.to(xin.scalar_type());
        }
        auto projected = projectAll(xin, { &m_qkvz, &m_ba });
        // fix_query_key_value_ordering: rows come in key-head groups of
        // [q | k | v of the group's value heads | z of them], and [b | a].
        const auto qkvz = projected[0].view({ B, T, Hk, 2 * Dk + 2 * r * Dv });
        const auto ba = projected[1].view({ B, T, Hk, 2 * r });
        const auto mixed = at::cat({ qkvz.narrow(-1, 0, Dk).reshape({ B, T, Hk * Dk }),
                                     qkvz.narrow(-1, Dk, Dk).reshape({ B, T, Hk * Dk }),
                                     qkvz.narrow(-1, 2 * Dk, r * Dv).reshape({ B, T, Hv * Dv }) },
                                   -1); // [B, T, channels]
        const auto z = qkvz.narrow(-1, 2 * Dk + r * Dv, r * Dv).reshape({ B, T, Hv, Dv });
        const auto b = ba.narrow(-1, 0, r).reshape({ B, T, Hv });
        const auto a = ba.narrow(-1, r, r).reshape({ B, T, Hv });

        // Depthwise causal conv over [cached inputs | this step], then SiLU.
        // (A fresh sequence pads inside the conv, as the reference's
        // no-cache path does; the same zeros.)
        const bool fresh = !cache || !cache->convState.defined();
        const auto weight = m_conv.to(mixed.scalar_type());
        const std::int64_t stride = 1, dilation = 1, padding = fresh ? K - 1 : 0;
        const auto window = fresh ? mixed : at::cat({ cache->convState.to(mixed.scalar_type()), mixed }, 1);
        const auto conv = at::silu(at::conv1d(window.transpose(1, 2), weight, at::Tensor(), at::IntArrayRef(stride),
                                              at::IntArrayRef(padding), at::IntArrayRef(dilation), m_channels)
                                       .narrow(-1, 0, T))
                              .transpose(1, 2); // [B, T, channels]
        if (cache) // the inputs so far, zeros in front of a fresh sequence
            cache->convState = lastRealInputs(
                fresh ? at::cat({ at::zeros({ B, K - 1, m_channels }, mixed.options()), mixed }, 1) : window,
                ctx.validTokens);

        const auto keyDim = Hk * Dk;
        const auto heads = [&](const at::Tensor &t, std::int64_t n, std::int64_t dim) {
            return t.to(at::kFloat).reshape({ B, T, n, dim });
        };
        auto q = heads(conv.narrow(-1, 0, keyDim), Hk, Dk);
        auto k = heads(conv.narrow(-1, keyDim, keyDim), Hk, Dk);
        auto v = heads(conv.narrow(-1, 2 * keyDim, Hv * Dv), Hv, Dv);
        if (r > 1) { // value head h reads key head h / r
            q = q.repeat_interleave(r, 2);
            k = k.repeat_interleave(r, 2);
        }
        q = l2Normalise(q) * (1.0 / std::sqrt(static_cast<double>(Dk)));
        k = l2Normalise(k);
        auto beta = at::sigmoid(b).to(at::kFloat);
        auto g = -m_aLog.to(at::kFloat).exp() * at::softplus(a.to(at::kFloat) + m_dtBias.to(at::kFloat));
        if (validFloat.defined()) { // padding neither writes to nor decays the state
            beta = beta * validFloat;
            g = g * validFloat;
        }
        const auto headMajor = [](const at::Tensor &t) { return t.transpose(1, 2).contiguous(); };
        const at::Tensor initial = cache ? cache->recurrentState : at::Tensor();
        const auto rule = T == 1
            ? recurrentGatedDeltaRule(headMajor(q), headMajor(k), headMajor(v), headMajor(g), headMajor(beta), initial)
            : chunkGatedDeltaRule(headMajor(q), headMajor(k), headMajor(v), headMajor(g), headMajor(beta), initial);
        if (cache)
            cache->recurrentState = rule.state;

        // Qwen3NextRMSNormGated: rms over each value head (plain weight),
        // times silu(z), in the projections' dtype.
        const auto dtype = xin.scalar_type();
        const auto core = rule.out.transpose(1, 2).to(dtype).to(at::kFloat); // [B, T, Hv, Dv]
        const auto normed = (core * at::rsqrt(core.pow(2).mean(-1, /*keepdim=*/true) + m_eps)).to(dtype);
        const auto gated = ((m_normWeight * normed).to(at::kFloat) * at::silu(z.to(at::kFloat))).to(dtype);
        return m_out(gated.reshape({ B, T, Hv * Dv })).to(x.scalar_type());
    }

private:
    // The conv state after this step: per row the last kernel-1 inputs that
    // were real tokens (the cached ones count as real), so a padded or
    // masked-out step leaves a row's state as it was.
    at::Tensor lastRealInputs(const at::Tensor &window, const at::Tensor &validTokens) const
    {
        const std::int64_t keep = m_spec.convKernel - 1, B = window.size(0), L = window.size(1), T = L - keep;
        if (!validTokens.defined())
            return window.narrow(1, T, keep).clone();
        const auto valid = validTokens.to(at::kBool).cpu().contiguous();
        const bool *real = valid.data_ptr<bool>();
        auto index = at::empty({ B, keep }, at::kLong);
        auto *idx = index.data_ptr<std::int64_t>();
        for (std::int64_t row = 0; row < B; ++row) {
            std::int64_t slot = keep;
            for (std::int64_t p = L - 1; p >= 0 && slot > 0; --p)
                if (p < keep || real[row * T + (p - keep)])
                    idx[row * keep + --slot] = p;
        }
        return window.gather(1, index.to(window.device()).unsqueeze(-1).expand({ B, keep, window.size(2) }));
    }

    LinearAttentionSpec m_spec;
    double m_eps;
    std::int64_t m_channels = 0;
    Projection m_qkvz, m_ba, m_out;
    at::Tensor m_conv, m_aLog, m_dtBias, m_normWeight;
};

} // namespace

std::unique_ptr<Attention> makeGatedDeltaNet(const ModelSpec &spec, const WeightStore &store, int layer)
{
    return std::make_unique<GatedDeltaNet>(spec, store, layer);
}

} // namespace moescope::model
