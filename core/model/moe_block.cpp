// The sparse MoE block: router rules (the routing seam), expert weight
// layouts, and grouped expert execution. Each rule cites the transformers
// code it mirrors.
#include "core/model/decoder.h"

#include "core/common/error.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <atomic>
#include <limits>

namespace moescope::model {

// ------------------------------------------------------------------- Router

namespace {

// Rules whose natural order is not by weight are put in descending weight
// order, as the RouterHook contract promises.
RouterDecision byDescendingWeight(const at::Tensor &idx, const at::Tensor &weights)
{
    const auto order = std::get<1>(weights.sort(1, /*descending=*/true));
    return { idx.gather(1, order), weights.gather(1, order) };
}

// DeepseekV3TopkRouter (v4.51.3): sigmoid scores; the choice adds the
// correction bias; experts are split into n_group groups scored by the sum of
// their two best choice scores; outside the topk_group best groups the choice
// scores become 0.0 (not -inf, so such an expert can still win against
// negative scores); top-k by choice; weights are the uncorrected scores,
// renormalised (+1e-20) if norm_topk_prob, times routed_scaling_factor.
// Masked experts are excluded from the final choice (below).
RouterDecision sigmoidGroupLimited(
    const MoeSpec &moe, const at::Tensor &logits, const at::Tensor &correctionBias)
{
    const auto N = logits.size(0);
    const std::int64_t E = moe.numExperts, G = moe.numGroups;
    const auto scores = at::sigmoid(logits);
    auto choice = correctionBias.defined() ? scores + correctionBias.unsqueeze(0) : scores;
    const auto groupScores
        = std::get<0>(choice.view({ N, G, E / G }).topk(2, -1)).sum(-1); // [N, G]
    const auto keptGroups = std::get<1>(groupScores.topk(moe.topkGroups, -1));
    const auto groupMask = at::zeros({ N, G }, at::kBool).scatter_(1, keptGroups, true);
    const auto expertMask = groupMask.unsqueeze(-1).expand({ N, G, E / G }).reshape({ N, E });
    choice = choice.masked_fill(expertMask.logical_not(), 0.0);
    // A masked expert (logit -1e9, PLAN.json) has score 0 but keeps its
    // correction bias, which could still win it a slot with weight 0. The plan
    // contract says masked experts are never chosen, so the slot goes to the
    // next expert, as under softmax routers. Only a score that underflows to
    // exactly 0 (logit below about -88) is affected.
    choice = choice.masked_fill(scores.eq(0), -std::numeric_limits<double>::infinity());
    const auto idx = std::get<1>(choice.topk(moe.topK, -1));
    auto weights = scores.gather(1, idx);
    if (moe.renormalize)
        weights = weights / (weights.sum(-1, /*keepdim=*/true) + 1e-20);
    weights = weights * moe.routedScalingFactor;
    return byDescendingWeight(idx, weights);
}

// One sparsemixer step in eval mode (modeling_phimoe.sparsemixer, v4.47.1):
// pick the arg-max of `candidates`; its weight is the softmax over the
// candidates whose relative distance to that maximum,
// (max - z) / max(|z|, max) over the original logits z, is at most 2·eps.
std::pair<at::Tensor, at::Tensor> sparseMixerPick(
    const at::Tensor &logits, const at::Tensor &candidates, double eps)
{
    auto [top, idx] = candidates.max(-1, /*keepdim=*/true);
    const auto factor = at::maximum(logits.abs(), top);
    const auto outside = (top - logits) / factor > 2 * eps;
    const auto gates = at::softmax(
        candidates.masked_fill(outside, -std::numeric_limits<double>::infinity()), -1);
    return { idx, gates.gather(1, idx) };
}

RouterDecision sparseMixer(const MoeSpec &moe, const at::Tensor &logits)
{
    const auto [first, firstWeight] = sparseMixerPick(logits, logits, moe.jitterEps);
    const auto rest = logits.scatter(1, first, -std::numeric_limits<double>::infinity());
    const auto [second, secondWeight] = sparseMixerPick(logits, rest, moe.jitterEps);
    return byDescendingWeight(
        at::cat({ first, second }, 1), at::cat({ firstWeight, secondWeight }, 1));
}

} // namespace

RouterDecision selectExperts(
    const MoeSpec &moe, const at::Tensor &logits, const at::Tensor &correctionBias)
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
        return { idx, weights };
    }
    case RouterRule::TopKSoftmax: {
        // GraniteMoeTopKGating / GptOssTopKRouter: top-k logits, softmax over them.
        auto [values, idx] = logits.topk(moe.topK, 1);
        return { idx, at::softmax(values, 1, at::kFloat) };
    }
    case RouterRule::SigmoidGroupLimited:
        return sigmoidGroupLimited(moe, logits, correctionBias);
    case RouterRule::SparseMixer:
        return sparseMixer(moe, logits);
    }
    throw Error("unknown router rule");
}

// ----------------------------------------------------------------- Experts

namespace {

// A stacked expert tensor [E, a, b] with the shape the config implies.
at::Tensor stackedTensor(const ModelSpec &spec, const WeightStore &store, const std::string &name,
    std::vector<std::int64_t> shape)
{
    auto t = store.get(name);
    if (t.sizes().vec() != shape) {
        std::string want;
        for (auto d : shape)
            want += (want.empty() ? "" : ", ") + std::to_string(d);
        throw Error(store.checkpoint().directory(),
            "'" + name + "' does not have the shape [" + want + "] that " + spec.modelType
                + "'s config implies");
    }
    return t;
}

} // namespace

std::vector<GatedMlp> loadExperts(const ModelSpec &spec, const WeightStore &store, int layer)
{
    const auto &n = spec.names;
    const std::int64_t E = spec.moe.numExperts, H = spec.hiddenSize,
                       I = spec.moe.expertIntermediate;
    const bool bias = spec.moe.expertBias;
    std::vector<GatedMlp> experts(static_cast<std::size_t>(E));
    for (auto &mlp : experts) {
        mlp.activation = spec.activation;
        mlp.limit = spec.swigluLimit;
    }
    const auto stacked = ModelSpec::expand(n.layer + n.moe + n.expert, layer);
    switch (spec.moe.layout) {
    case ExpertLayout::SeparateLinears:
        for (std::int64_t e = 0; e < E; ++e) {
            const auto prefix
                = ModelSpec::expand(n.layer + n.moe + n.expert, layer, static_cast<int>(e));
            auto &mlp = experts[static_cast<std::size_t>(e)];
            mlp.gate = Projection::linear(store, prefix + n.gateProj, bias);
            mlp.up = Projection::linear(store, prefix + n.upProj, bias);
            mlp.down = Projection::linear(store, prefix + n.downProj, bias);
        }
        return experts;
    case ExpertLayout::StackedGateUp:
    case ExpertLayout::InterleavedGateUp: {
        // Per-expert views into the stacked tensors (zero-copy): granitemoe
        // input_linear [E, 2I, H] / output_linear [E, H, I] are nn.Linear
        // layouts; gpt_oss gate_up_proj [E, H, 2I] / down_proj [E, I, H] are
        // input-major (x @ W).
        const bool inputMajor = spec.moe.layout == ExpertLayout::InterleavedGateUp;
        const auto gateUp = stackedTensor(spec, store, stacked + n.gateUpProj,
            inputMajor ? std::vector<std::int64_t> { E, H, 2 * I }
                       : std::vector<std::int64_t> { E, 2 * I, H });
        const auto down = stackedTensor(spec, store, stacked + n.downProj,
            inputMajor ? std::vector<std::int64_t> { E, I, H }
                       : std::vector<std::int64_t> { E, H, I });
        at::Tensor gateUpBias, downBias;
        if (bias) {
            gateUpBias = stackedTensor(spec, store, stacked + n.gateUpProj + "_bias", { E, 2 * I });
            downBias = stackedTensor(spec, store, stacked + n.downProj + "_bias", { E, H });
        }
        for (std::int64_t e = 0; e < E; ++e) {
            auto &mlp = experts[static_cast<std::size_t>(e)];
            mlp.fused = inputMajor ? GatedMlp::Fused::Interleaved : GatedMlp::Fused::Halves;
            mlp.gateUp = Projection { gateUp[e], bias ? gateUpBias[e] : at::Tensor(), inputMajor };
            mlp.down = Projection { down[e], bias ? downBias[e] : at::Tensor(), inputMajor };
        }
        return experts;
    }
    }
    throw Error(spec.configPath, "unknown expert weight layout");
}

// ----------------------------------------------------------------- MoE block

MoeBlock::MoeBlock(const ModelSpec &spec, const WeightStore &store, int layer)
    : m_layer(layer)
    , m_spec(spec.moe)
{
    const auto &n = spec.names;
    const auto prefix = ModelSpec::expand(n.layer + n.moe, layer);
    m_router = Projection::linear(store, prefix + n.router, m_spec.routerBias);
    if (m_router.weight.dim() != 2 || m_router.weight.size(0) != m_spec.numExperts)
        throw Error(store.checkpoint().directory(),
            "'" + prefix + n.router + ".weight' does not have one row per expert ("
                + std::to_string(m_spec.numExperts) + ")");
    if (m_spec.routerInFloat32) {
        m_router.weight = m_router.weight.to(at::kFloat);
        if (m_router.bias.defined())
            m_router.bias = m_router.bias.to(at::kFloat);
    }
    if (m_spec.rule == RouterRule::SigmoidGroupLimited) {
        // A persistent buffer: absent in some exports, where it is zeros.
        m_correctionBias = store.getIfPresent(prefix + n.correctionBias);
        if (m_correctionBias.defined())
            m_correctionBias = m_correctionBias.to(at::kFloat);
    }
    m_experts = loadExperts(spec, store, layer);
    m_expertsInFloat32 = !m_experts.empty() && m_experts.front().runsInFloat32();
    if (m_spec.shared != SharedExpertKind::None) {
        GatedMlp shared;
        shared.gate = Projection::linear(store, prefix + n.sharedExpert + n.gateProj, false);
        shared.up = Projection::linear(store, prefix + n.sharedExpert + n.upProj, false);
        shared.down = Projection::linear(store, prefix + n.sharedExpert + n.downProj, false);
        shared.activation = spec.activation;
        shared.limit = spec.swigluLimit;
        m_shared = std::move(shared);
        if (m_spec.shared == SharedExpertKind::SigmoidGated)
            m_sharedGate = Projection::linear(store, prefix + n.sharedExpertGate, false);
    }
}

// Kernel-path experts: one parallel region per layer in which the threads
// take whole experts from a shared counter (the kernels then run
// single-threaded inside it), instead of a parallel region with a static
// split per matmul and element-wise op. Each expert writes its weighted
// outputs to its own rows of one buffer in the sorted (expert, token) order;
// one index_add_ over that buffer then accumulates in the same order as the
// sequential loop.
void MoeBlock::runExpertsInParallel(const at::Tensor &xs, const std::int64_t *count,
    const at::Tensor &sortedTokens, const at::Tensor &sortedWeights, at::Tensor &out) const
{
    const std::int64_t E = m_spec.numExperts;
    std::vector<std::int64_t> active, start;
    std::int64_t total = 0;
    for (std::int64_t e = 0; e < E; ++e) {
        if (count[e] > 0) {
            active.push_back(e);
            start.push_back(total);
        }
        total += count[e];
    }
    if (total == 0)
        return;
    auto weighted = at::empty({ total, xs.size(1) }, xs.options());
    std::atomic<std::size_t> next { 0 };
    const auto threads = std::min<std::int64_t>(at::get_num_threads(), static_cast<std::int64_t>(active.size()));
    at::parallel_for(0, threads, 1, [&](std::int64_t, std::int64_t) {
        c10::InferenceMode guard; // thread-local: worker threads do not inherit it
        for (auto i = next++; i < active.size(); i = next++) {
            const auto e = active[i];
            const auto rows = sortedTokens.narrow(0, start[i], count[e]);
            const auto y = m_experts[static_cast<std::size_t>(e)](xs.index_select(0, rows))
                * sortedWeights.narrow(0, start[i], count[e]).unsqueeze(1);
            weighted.narrow(0, start[i], count[e]).copy_(y);
        }
    });
    out.index_add_(0, sortedTokens.narrow(0, 0, total), weighted);
}

at::Tensor MoeBlock::forward(const at::Tensor &x, const MoeStepContext &ctx) const
{
    const auto N = x.size(0);
    const std::int64_t E = m_spec.numExperts, K = m_spec.topK;
    at::Tensor logits
        = (m_spec.routerInFloat32 ? m_router(x.to(at::kFloat)) : m_router(x)).to(at::kFloat);
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
    const auto flatExpert = decision.topkIdx.reshape({ -1 });
    auto bucket = flatExpert;
    if (ctx.validTokens.defined())
        bucket = flatExpert.masked_fill(ctx.validTokens.repeat_interleave(K).logical_not(), E);
    const auto counts = at::bincount(bucket, {}, E + 1).to(at::kCPU); // the one host sync
    const auto order = std::get<1>(at::sort(bucket, /*stable=*/true, 0, false));
    const auto tokenOf = at::arange(N, x.options().dtype(at::kLong)).repeat_interleave(K);
    const auto sortedTokens = tokenOf.index_select(0, order);
    // bf16 experts on the kernel path compute in fp32 anyway: convert the
    // tokens once and accumulate the weighted outputs in fp32 (as
    // transformers' deepseek_v3 does), rounding once at the end.
    const auto xs = m_expertsInFloat32 ? x.to(at::kFloat) : x;
    const auto sortedWeights
        = decision.topkWeights.reshape({ -1 }).index_select(0, order).to(xs.scalar_type());

    auto out = at::zeros_like(xs);
    const auto *count = counts.data_ptr<std::int64_t>();
    if (m_expertsInFloat32) {
        runExpertsInParallel(xs, count, sortedTokens, sortedWeights, out);
    } else {
        std::int64_t offset = 0;
        for (std::int64_t e = 0; e < E; ++e) {
            const auto n = count[e];
            if (n == 0)
                continue;
            const auto tokens = sortedTokens.narrow(0, offset, n);
            const auto y = m_experts[static_cast<std::size_t>(e)](xs.index_select(0, tokens))
                * sortedWeights.narrow(0, offset, n).unsqueeze(1);
            out.index_add_(0, tokens, y);
            offset += n;
        }
    }

    if (m_shared) {
        auto shared = (*m_shared)(xs);
        if (m_spec.shared == SharedExpertKind::SigmoidGated)
            shared = at::sigmoid(m_sharedGate(xs)) * shared;
        out = out + shared;
    }
    return out.to(x.scalar_type());
}

} // namespace moescope::model
