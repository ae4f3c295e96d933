// The sparse MoE block: router rules (the routing seam), expert weight
// layouts, and grouped expert execution. Each rule cites the transformers
// code it mirrors.
#include "core/model/decoder.h"

#include "core/common/error.h"
#include "core/model/bf16_gemm.h"


#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>

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

// A masked expert (logit -1e9, PLAN.json) has probability / score exactly 0,
// but a correction bias added for the choice, or the 0.0 that group-limited
// rules give experts outside the kept groups, could still win it a slot (with
// weight 0). The plan contract says masked experts are never chosen, so their
// choice becomes -inf and the slot goes to the next expert, as under plain
// softmax routers. Only a score that underflows to exactly 0 is affected.
at::Tensor excludingZeroScores(const at::Tensor &choice, const at::Tensor &scores)
{
    return choice.masked_fill(scores.eq(0), -std::numeric_limits<double>::infinity());
}

// Keeps the topkGroups best groups of consecutive experts (groupScores [N, G])
// and sets the choice of every expert outside them to 0.0 (not -inf), as
// DeepseekV2MoEGate / DeepseekV3TopkRouter do.
at::Tensor keepBestGroups(const MoeSpec &moe, const at::Tensor &choice, const at::Tensor &groupScores)
{
    const auto N = choice.size(0);
    const std::int64_t E = moe.numExperts, G = moe.numGroups;
    const auto keptGroups = std::get<1>(groupScores.topk(moe.topkGroups, -1));
    const auto groupMask = at::zeros({ N, G }, at::kBool).scatter_(1, keptGroups, true);
    const auto expertMask = groupMask.unsqueeze(-1).expand({ N, G, E / G }).reshape({ N, E });
    return choice.masked_fill(expertMask.logical_not(), 0.0);
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
    const auto scores = elementwiseSigmoid(logits);
    auto choice = correctionBias.defined() ? scores + correctionBias.unsqueeze(0) : scores;
    const auto groupScores
        = std::get<0>(choice.view({ N, G, E / G }).topk(2, -1)).sum(-1); // [N, G]
    choice = excludingZeroScores(keepBestGroups(moe, choice, groupScores), scores);
    const auto idx = std::get<1>(choice.topk(moe.topK, -1));
    auto weights = scores.gather(1, idx);
    if (moe.renormalize)
        weights = weights / (weights.sum(-1, /*keepdim=*/true) + 1e-20);
    weights = weights * moe.routedScalingFactor;
    return byDescendingWeight(idx, weights);
}

// DeepseekV2MoEGate, topk_method group_limited_greedy (v4.54.0): softmax
// probabilities; a group's score is its largest probability; outside the
// topk_group best groups the probabilities become 0.0; top-k of those, which
// are also the weights (0.0 for a pick outside the kept groups, as there),
// renormalised only if a family asks (v4.54.0 never does), times
// routed_scaling_factor.
RouterDecision softmaxGroupLimited(const MoeSpec &moe, const at::Tensor &logits)
{
    const auto N = logits.size(0);
    const std::int64_t E = moe.numExperts, G = moe.numGroups;
    const auto probs = at::softmax(logits, 1, at::kFloat);
    const auto groupScores = std::get<0>(probs.view({ N, G, E / G }).max(-1)); // [N, G]
    const auto kept = keepBestGroups(moe, probs, groupScores);
    const auto idx = std::get<1>(excludingZeroScores(kept, probs).topk(moe.topK, -1));
    auto weights = kept.gather(1, idx);
    if (moe.renormalize)
        weights = weights / weights.sum(-1, /*keepdim=*/true);
    return byDescendingWeight(idx, weights * moe.routedScalingFactor);
}

// Ernie4_5_MoeSparseMoeBlock (v4.54.0): softmax probabilities; the choice
// adds the correction bias (moe_statics); weights are the uncorrected
// probabilities of the picks divided by max(their sum, moe_norm_min).
RouterDecision softmaxCorrected(const MoeSpec &moe, const at::Tensor &logits, const at::Tensor &correctionBias)
{
    const auto probs = at::softmax(logits, 1, at::kFloat);
    const auto choice = correctionBias.defined() ? probs + correctionBias.unsqueeze(0) : probs;
    const auto idx = std::get<1>(excludingZeroScores(choice, probs).topk(moe.topK, -1));
    auto weights = probs.gather(1, idx);
    if (moe.renormalize)
        weights = weights / weights.sum(-1, /*keepdim=*/true).clamp_min(moe.normMin);
    return byDescendingWeight(idx, weights * moe.routedScalingFactor);
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
    case RouterRule::SoftmaxGroupLimited:
        return softmaxGroupLimited(moe, logits);
    case RouterRule::SoftmaxCorrected:
        return softmaxCorrected(moe, logits, correctionBias);
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

// gpt-oss as published (openai/gpt-oss-20b/-120b): gate_up_proj and
// down_proj only as MXFP4 `_blocks` / `_scales`, stored output-major
// ([E, 2I, H] and [E, H, I], quantised along the input), i.e. transposed
// against the bf16 [E, H, 2I] / [E, I, H] parameters (FORMATS.md (a)). Each
// expert becomes an nn.Linear-layout projection decoded when a step uses it.
std::vector<GatedMlp> loadMxfp4Experts(const ModelSpec &spec, const WeightStore &store, const std::string &stacked,
    std::vector<GatedMlp> experts)
{
    const auto &n = spec.names;
    const std::int64_t E = spec.moe.numExperts, H = spec.hiddenSize, I = spec.moe.expertIntermediate;
    auto stored = [&](const std::string &name, std::vector<std::int64_t> shape) {
        auto t = store.quantized(stacked + name);
        if (!t)
            throw Error(store.checkpoint().directory(), "missing weight '" + stacked + name + "' (or its _blocks / _scales)");
        if (t->shape != shape) {
            std::string want, have;
            for (auto d : shape)
                want += (want.empty() ? "" : ", ") + std::to_string(d);
            for (auto d : t->shape)
                have += (have.empty() ? "" : ", ") + std::to_string(d);
            throw Error(t->file, "'" + stacked + name + "_blocks' decodes to [" + have + "], but " + spec.modelType
                    + "'s config implies [" + want + "] (experts, out, in)");
        }
        return *t;
    };
    const auto gateUp = stored(n.gateUpProj, { E, 2 * I, H });
    const auto down = stored(n.downProj, { E, H, I });
    at::Tensor gateUpBias, downBias;
    if (spec.moe.expertBias) {
        gateUpBias = stackedTensor(spec, store, stacked + n.gateUpProj + "_bias", { E, 2 * I });
        downBias = stackedTensor(spec, store, stacked + n.downProj + "_bias", { E, H });
    }
    for (std::int64_t e = 0; e < E; ++e) {
        auto &mlp = experts[static_cast<std::size_t>(e)];
        mlp.fused = GatedMlp::Fused::Interleaved;
        mlp.gateUp = Projection::ofQuantized(store, gateUp.matrix(e), gateUpBias.defined() ? gateUpBias[e] : at::Tensor());
        mlp.down = Projection::ofQuantized(store, down.matrix(e), downBias.defined() ? downBias[e] : at::Tensor());
    }
    return experts;
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
        if (inputMajor && store.quantized(stacked + n.gateUpProj))
            return loadMxfp4Experts(spec, store, stacked, std::move(experts));
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

namespace {

const std::uint16_t *bf16Rows(const at::Tensor &weight, std::int64_t firstRow = 0)
{
    return reinterpret_cast<const std::uint16_t *>(weight.data_ptr()) + firstRow * weight.stride(0);
}

at::Tensor floatBias(const at::Tensor &bias, std::int64_t first, std::int64_t length)
{
    return bias.defined() ? bias.narrow(0, first, length).to(at::kFloat).contiguous() : at::Tensor();
}

} // namespace

// The bf16 kernel's view of every expert, or nothing when some projection
// does not take the kernel path (fp32 weights, input-major gpt_oss tensors,
// CPUs with a fast torch bf16 GEMM); those experts run through GatedMlp.
std::vector<MoeBlock::KernelExpert> MoeBlock::kernelViews(const std::vector<GatedMlp> &experts)
{
    std::vector<KernelExpert> views;
    for (const auto &mlp : experts) {
        if (mlp.down.quantized || mlp.gate.quantized || mlp.up.quantized || mlp.gateUp.quantized)
            return {}; // decoded per product by GatedMlp, only for the experts a step uses
        KernelExpert view;
        const auto I = mlp.down.weight.dim() == 2 ? mlp.down.weight.size(1) : 0;
        if (mlp.down.inputMajor || !usesBf16Kernel(mlp.down.weight))
            return {};
        if (mlp.fused == GatedMlp::Fused::None) {
            if (mlp.gate.inputMajor || mlp.up.inputMajor || !usesBf16Kernel(mlp.gate.weight)
                || !usesBf16Kernel(mlp.up.weight))
                return {};
            view.gate = bf16Rows(mlp.gate.weight);
            view.up = bf16Rows(mlp.up.weight);
            view.gateStride = mlp.gate.weight.stride(0);
            view.upStride = mlp.up.weight.stride(0);
            view.gateBias = floatBias(mlp.gate.bias, 0, I);
            view.upBias = floatBias(mlp.up.bias, 0, I);
        } else if (mlp.fused == GatedMlp::Fused::Halves) { // rows [0, I) gate, [I, 2I) up
            if (mlp.gateUp.inputMajor || !usesBf16Kernel(mlp.gateUp.weight) || mlp.gateUp.weight.size(0) != 2 * I)
                return {};
            view.gate = bf16Rows(mlp.gateUp.weight);
            view.up = bf16Rows(mlp.gateUp.weight, I);
            view.gateStride = view.upStride = mlp.gateUp.weight.stride(0);
            view.gateBias = floatBias(mlp.gateUp.bias, 0, I);
            view.upBias = floatBias(mlp.gateUp.bias, I, I);
        } else {
            return {};
        }
        view.down = bf16Rows(mlp.down.weight);
        view.downStride = mlp.down.weight.stride(0);
        view.gateUpPath = kernels::pathFor(I, mlp.down.weight.size(0), view.gate, view.gateStride);
        view.downPath = kernels::pathFor(mlp.down.weight.size(0), I, view.down, view.downStride);
        view.downBias = floatBias(mlp.down.bias, 0, mlp.down.weight.size(0));
        views.push_back(std::move(view));
    }
    return views;
}

MoeBlock::MoeBlock(const ModelSpec &spec, const WeightStore &store, int layer)
    : m_layer(layer)
    , m_spec(spec.moe)
{
    const auto &n = spec.names;
    const auto prefix = ModelSpec::expand(n.layer + n.moe, layer);
    // Routers are small and run every step: a quantised one is decoded once.
    m_router = Projection::linear(store, prefix + n.router, m_spec.routerBias).materialized();
    if (m_router.weight.dim() != 2 || m_router.weight.size(0) != m_spec.numExperts)
        throw Error(store.checkpoint().directory(),
            "'" + prefix + n.router + ".weight' does not have one row per expert ("
                + std::to_string(m_spec.numExperts) + ")");
    if (m_spec.routerInFloat32) {
        m_router.weight = m_router.weight.to(at::kFloat);
        if (m_router.bias.defined())
            m_router.bias = m_router.bias.to(at::kFloat);
        // [H, E] padded to whole 16-column blocks, for fp32MatMul (see
        // routerLogits).
        const auto E = m_router.weight.size(0), padded = (E + 15) / 16 * 16;
        m_routerTransposed = at::zeros({ m_router.weight.size(1), padded }, at::kFloat);
        m_routerTransposed.narrow(1, 0, E).copy_(m_router.weight.t());
    }
    if (m_spec.rule == RouterRule::SigmoidGroupLimited || m_spec.rule == RouterRule::SoftmaxCorrected) {
        // deepseek's persistent buffer is absent in some exports (zeros then);
        // ernie stores it as a [1, E] parameter.
        m_correctionBias = store.getIfPresent(prefix + n.correctionBias);
        if (m_correctionBias.defined()) {
            if (m_correctionBias.numel() != m_spec.numExperts)
                throw Error(store.checkpoint().directory(),
                    "'" + prefix + n.correctionBias + "' does not hold one value per expert ("
                        + std::to_string(m_spec.numExperts) + ")");
            m_correctionBias = m_correctionBias.to(at::kFloat).reshape({ m_spec.numExperts });
        }
    }
    m_experts = loadExperts(spec, store, layer);
    m_kernelExperts = kernelViews(m_experts);
    if (m_spec.shared != SharedExpertKind::None) {
        GatedMlp shared;
        shared.gate = Projection::linear(store, prefix + n.sharedExpert + n.gateProj, spec.mlpBias);
        shared.up = Projection::linear(store, prefix + n.sharedExpert + n.upProj, spec.mlpBias);
        shared.down = Projection::linear(store, prefix + n.sharedExpert + n.downProj, spec.mlpBias);
        shared.activation = spec.activation;
        shared.limit = spec.swigluLimit;
        m_shared = std::move(shared);
        if (m_spec.shared == SharedExpertKind::SigmoidGated)
            m_sharedGate = Projection::linear(store, prefix + n.sharedExpertGate, false);
    }
}

// Kernel-path experts, with no torch op per expert: the (token, slot) pairs
// are counting-sorted by expert on the host (the decision is on the CPU),
// each expert's rows are gathered straight into the kernel's packed layout,
// gate and up read the mapped bf16 rows, the activation is scaled by the
// routing weight before `down`, and `down` writes the weighted rows into one
// buffer in (expert, token) order. The threads take whole experts from a
// shared counter in one parallel region per layer: with a static split per
// matmul a descheduled thread would hold the other at every barrier. The sum
// over each token's slots then runs in that same order, the accumulation
// order of the HF loop (experts in index order).
at::Tensor MoeBlock::runKernelExperts(const at::Tensor &x, const RouterDecision &decision,
                                      const at::Tensor &validTokens) const
{
    const auto N = x.size(0), H = x.size(1);
    const std::int64_t E = m_spec.numExperts, K = decision.topkIdx.size(1);
    const auto xs = x.to(at::kFloat).contiguous();
    const auto idx = decision.topkIdx.to(at::kLong).contiguous();
    const auto weights = decision.topkWeights.to(at::kFloat).contiguous();
    const auto valid = validTokens.defined() ? validTokens.to(at::kBool).contiguous() : at::Tensor();
    const auto *expertOf = idx.data_ptr<std::int64_t>();
    const auto *weightOf = weights.data_ptr<float>();
    const auto *isValid = valid.defined() ? valid.data_ptr<bool>() : nullptr;
    const float *xData = xs.data_ptr<float>();

    std::vector<std::int64_t> start(static_cast<std::size_t>(E + 1), 0);
    for (std::int64_t p = 0; p < N * K; ++p) {
        if (isValid && !isValid[p / K])
            continue;
        if (expertOf[p] < 0 || expertOf[p] >= E)
            throw Error("router chose expert " + std::to_string(expertOf[p]) + " of "
                        + std::to_string(E));
        ++start[static_cast<std::size_t>(expertOf[p] + 1)];
    }
    for (std::int64_t e = 0; e < E; ++e)
        start[static_cast<std::size_t>(e + 1)] += start[static_cast<std::size_t>(e)];
    const auto total = start.back();
    std::vector<std::int64_t> pairAt(static_cast<std::size_t>(total));
    {
        auto fill = start;
        for (std::int64_t p = 0; p < N * K; ++p)
            if (!isValid || isValid[p / K])
                pairAt[static_cast<std::size_t>(fill[static_cast<std::size_t>(expertOf[p])]++)] = p;
    }
    std::vector<std::int64_t> active;
    for (std::int64_t e = 0; e < E; ++e)
        if (start[static_cast<std::size_t>(e + 1)] > start[static_cast<std::size_t>(e)])
            active.push_back(e);
    // Busiest experts first: threads take experts from a shared counter, and
    // ending on the smallest ones leaves the least idle time at the end of
    // the region. (Each expert writes its own rows; the sums below do not
    // depend on this order.)
    auto rowsOf = [&](std::int64_t e) {
        return start[static_cast<std::size_t>(e + 1)] - start[static_cast<std::size_t>(e)];
    };
    std::stable_sort(active.begin(), active.end(),
                     [&](std::int64_t a, std::int64_t b) { return rowsOf(a) > rowsOf(b); });

    const auto I = m_spec.expertIntermediate;
    const auto activation = m_experts.front().activation;
    const auto limit = static_cast<float>(m_experts.front().limit);
    std::unique_ptr<float[]> rows(new float[static_cast<std::size_t>(total * H)]);
    auto runExpert = [&](std::int64_t e, std::vector<float> &scratch) {
        const auto first = start[static_cast<std::size_t>(e)];
        const auto n = start[static_cast<std::size_t>(e + 1)] - first;
        const auto &w = m_kernelExperts[static_cast<std::size_t>(e)];
        const kernels::Bf16Product gateUp { w.gateUpPath }, down { w.downPath };
        // Floats for: the gathered rows, g, u, and the two packed operands
        // (each rounded up to whole floats).
        const auto packedXFloats = static_cast<std::int64_t>(gateUp.packedBytes(n, H) / sizeof(float));
        const auto packedAFloats = static_cast<std::int64_t>(down.packedBytes(n, I) / sizeof(float));
        scratch.resize(static_cast<std::size_t>(n * H + 2 * n * I + packedXFloats + packedAFloats + 16));
        float *gathered = scratch.data(), *g = gathered + n * H, *u = g + n * I;
        // The packed operands 64-byte aligned: the AVX-512 kernel's loads
        // then never straddle two cache lines.
        auto *packedX = reinterpret_cast<float *>(
            (reinterpret_cast<std::uintptr_t>(u + n * I) + 63) / 64 * 64);
        float *packedA = packedX + packedXFloats;
        for (std::int64_t r = 0; r < n; ++r)
            std::copy_n(xData + pairAt[static_cast<std::size_t>(first + r)] / K * H, H, gathered + r * H);
        gateUp.pack(gathered, H, n, H, packedX);
        gateUp.multiply(packedX, n, H, w.gate, w.gateStride, g, I, 0, I);
        gateUp.multiply(packedX, n, H, w.up, w.upStride, u, I, 0, I);
        for (std::int64_t r = 0; r < n; ++r) {
            float *gr = g + r * I, *ur = u + r * I;
            if (w.gateBias.defined())
                for (std::int64_t i = 0; i < I; ++i)
                    gr[i] += w.gateBias.data_ptr<float>()[i];
            if (w.upBias.defined())
                for (std::int64_t i = 0; i < I; ++i)
                    ur[i] += w.upBias.data_ptr<float>()[i];
            gatedActivation(activation, limit, gr, ur, I, weightOf[pairAt[static_cast<std::size_t>(first + r)]]);
        }
        down.pack(g, I, n, I, packedA);
        float *y = rows.get() + first * H;
        down.multiply(packedA, n, I, w.down, w.downStride, y, H, 0, H);
        if (w.downBias.defined()) // the weight scales the whole expert output, bias included
            for (std::int64_t r = 0; r < n; ++r) {
                const float scale = weightOf[pairAt[static_cast<std::size_t>(first + r)]];
                for (std::int64_t h = 0; h < H; ++h)
                    y[r * H + h] += scale * w.downBias.data_ptr<float>()[h];
            }
    };
    std::atomic<std::size_t> next { 0 };
    if (!active.empty())
        kernels::runOnThreads(kernelThreads(static_cast<std::int64_t>(active.size())), [&] {
            std::vector<float> scratch;
            for (auto i = next++; i < active.size(); i = next++)
                runExpert(active[i], scratch);
        });

    auto out = at::zeros({ N, H }, xs.options());
    float *o = out.data_ptr<float>();
    for (std::int64_t r = 0; r < total; ++r) {
        float *dst = o + pairAt[static_cast<std::size_t>(r)] / K * H;
        const float *src = rows.get() + r * H;
        for (std::int64_t h = 0; h < H; ++h)
            dst[h] += src[h];
    }
    return out;
}

// Router logits in fp32 [N, E]. An fp32 router (deepseek) runs on the
// engine's fp32 tile rather than at::linear: BLAS picks other kernels (and
// so other sums) for one row than for many, and a token's routing must not
// depend on its batch (docs/engine.md "Batch invariance"). The tile sums
// each logit over the hidden size in order, whatever the number of rows.
at::Tensor MoeBlock::routerLogits(const at::Tensor &x) const
{
    if (!m_spec.routerInFloat32)
        return m_router(x).to(at::kFloat);
    const auto xf = x.to(at::kFloat).contiguous();
    if (at::GradMode::is_enabled() || !kernels::bf16GemmSupported() || !m_routerTransposed.defined())
        return m_router(xf);
    const auto N = xf.size(0), H = xf.size(1), E = m_router.weight.size(0);
    auto logits = at::empty({ N, E }, xf.options());
    kernels::fp32MatMul(xf.data_ptr<float>(), H, m_routerTransposed.data_ptr<float>(), m_routerTransposed.size(1),
                        N, E, H, logits.data_ptr<float>(), E);
    if (m_router.bias.defined())
        logits.add_(m_router.bias);
    return logits;
}

at::Tensor MoeBlock::forward(const at::Tensor &x, const MoeStepContext &ctx) const
{
    const auto N = x.size(0);
    const std::int64_t E = m_spec.numExperts, K = m_spec.topK;
    at::Tensor logits = routerLogits(x);
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

    // bf16 experts on the kernel path compute in fp32 anyway: convert the
    // tokens once and accumulate the weighted outputs in fp32 (as
    // transformers' deepseek_v3 does), rounding once at the end. Training
    // (fp32 parameters under autograd) never takes it.
    const bool kernelPath = !m_kernelExperts.empty() && !at::GradMode::is_enabled();
    const auto xs = kernelPath ? x.to(at::kFloat) : x;
    at::Tensor out;
    if (kernelPath) {
        out = runKernelExperts(xs, decision, ctx.validTokens);
    } else {
        // Group the (token, slot) pairs by expert: padding pairs go to an
        // extra bucket E that is never computed. Experts run in index order,
        // as the HF loop does, so the index_add accumulation order matches it.
        const auto flatExpert = decision.topkIdx.reshape({ -1 });
        auto bucket = flatExpert;
        if (ctx.validTokens.defined())
            bucket = flatExpert.masked_fill(ctx.validTokens.repeat_interleave(K).logical_not(), E);
        const auto counts = at::bincount(bucket, {}, E + 1).to(at::kCPU); // the one host sync
        const auto order = std::get<1>(at::sort(bucket, /*stable=*/true, 0, false));
        const auto tokenOf = at::arange(N, x.options().dtype(at::kLong)).repeat_interleave(K);
        const auto sortedTokens = tokenOf.index_select(0, order);
        const auto sortedWeights
            = decision.topkWeights.reshape({ -1 }).index_select(0, order).to(xs.scalar_type());
        out = at::zeros_like(xs);
        const auto *count = counts.data_ptr<std::int64_t>();
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
            shared = elementwiseSigmoid(m_sharedGate(xs)) * shared;
        out = out + shared;
    }
    return out.to(x.scalar_type());
}

} // namespace moescope::model
