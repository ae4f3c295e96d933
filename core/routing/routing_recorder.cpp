#include "core/routing/routing_recorder.h"

#include "core/common/error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace moescope::routing {

struct RoutingRecorder::Impl
{
    int numLayers, numExperts;
    at::Tensor counts;  // int64 [L, E]
    at::Tensor gateSum; // float64 [L, E]
    at::Tensor tokens;  // int64 [L]

    void allocate(const at::Device &device)
    {
        counts = at::zeros({numLayers, numExperts}, at::TensorOptions().dtype(at::kLong).device(device));
        gateSum = at::zeros({numLayers, numExperts}, at::TensorOptions().dtype(at::kDouble).device(device));
        tokens = at::zeros({numLayers}, at::TensorOptions().dtype(at::kLong).device(device));
    }
};

RoutingRecorder::RoutingRecorder(int numLayers, int numExperts) : m_impl(std::make_unique<Impl>())
{
    m_impl->numLayers = numLayers;
    m_impl->numExperts = numExperts;
    c10::InferenceMode guard;
    m_impl->allocate(at::kCPU);
}

RoutingRecorder::~RoutingRecorder() = default;

void RoutingRecorder::reset()
{
    c10::InferenceMode guard;
    m_impl->allocate(m_impl->counts.device());
}

void RoutingRecorder::afterSelection(const RouterSite &site, const at::Tensor &topkIdx,
                                     const at::Tensor &topkWeights)
{
    auto &impl = *m_impl;
    if (site.layer < 0 || site.layer >= impl.numLayers || site.numExperts != impl.numExperts)
        throw Error("routing recorder: layer/expert shape does not match the model");
    c10::InferenceMode guard;
    if (impl.counts.device() != topkIdx.device())
        impl.allocate(topkIdx.device());
    const auto k = topkIdx.size(1);
    const auto experts = topkIdx.reshape({-1});
    auto weights = topkWeights.reshape({-1}).to(at::kDouble);
    at::Tensor ones;
    if (site.validTokens) {
        const auto valid = site.validTokens->to(topkIdx.device());
        ones = valid.repeat_interleave(k).to(at::kLong);
        weights = weights * ones.to(at::kDouble);
        impl.tokens[site.layer] += valid.sum();
    } else {
        ones = at::ones_like(experts);
        impl.tokens[site.layer] += topkIdx.size(0);
    }
    impl.counts[site.layer].index_add_(0, experts, ones);
    impl.gateSum[site.layer].index_add_(0, experts, weights);
}

RoutingTotals RoutingRecorder::totals() const
{
    c10::InferenceMode guard;
    const auto &impl = *m_impl;
    RoutingTotals t;
    t.numLayers = impl.numLayers;
    t.numExperts = impl.numExperts;
    const auto counts = impl.counts.to(at::kCPU).contiguous();
    const auto gate = impl.gateSum.to(at::kCPU).contiguous();
    const auto tokens = impl.tokens.to(at::kCPU).contiguous();
    const auto *c = counts.data_ptr<std::int64_t>();
    const auto *g = gate.data_ptr<double>();
    t.counts.assign(c, c + counts.numel());
    t.gateSum.assign(g, g + gate.numel());
    const auto *n = tokens.data_ptr<std::int64_t>();
    t.tokens.assign(n, n + tokens.numel());
    return t;
}

} // namespace moescope::routing
