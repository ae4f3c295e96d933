#include "core/routing/plan_hook.h"

#include <ATen/ATen.h>

namespace moescope::routing {

namespace {
// The plan contract's "masked" logit: finite, so softmax/sigmoid stay NaN-free.
constexpr double kMaskedLogit = -1e9;
} // namespace

struct PlanHook::Impl
{
    InterventionPlan plan;
    // Per steer entry: a [E] float32 vector of x (0 for experts not steered),
    // built on first use when E is known.
    std::vector<at::Tensor> steerScales;
    std::vector<at::Tensor> maskIds;
};

PlanHook::PlanHook(InterventionPlan plan) : m_impl(std::make_unique<Impl>())
{
    m_impl->plan = std::move(plan);
    m_impl->steerScales.resize(m_impl->plan.steer.size());
    m_impl->maskIds.resize(m_impl->plan.mask.size());
}

PlanHook::~PlanHook() = default;

const InterventionPlan &PlanHook::plan() const
{
    return m_impl->plan;
}

void PlanHook::beforeSelection(const RouterSite &site, at::Tensor &logits)
{
    auto &impl = *m_impl;
    const auto numExperts = logits.size(1);
    for (std::size_t i = 0; i < impl.plan.steer.size(); ++i) {
        const auto &entry = impl.plan.steer[i];
        if (!entry.layers.contains(site.layer))
            continue;
        auto &scale = impl.steerScales[i];
        if (!scale.defined() || scale.size(0) != numExperts) {
            std::vector<float> x(static_cast<std::size_t>(numExperts), 0.0f);
            for (std::size_t j = 0; j < entry.experts.size(); ++j)
                if (entry.experts[j] >= 0 && entry.experts[j] < numExperts)
                    x[static_cast<std::size_t>(entry.experts[j])] += static_cast<float>(entry.scales[j]);
            scale = at::tensor(x, at::kFloat);
        }
        // z' = z + x·|z|, the paper's steering rule with x = λ·s.
        logits.add_(logits.abs() * scale.to(logits.options()));
    }
    for (std::size_t i = 0; i < impl.plan.mask.size(); ++i) {
        const auto &entry = impl.plan.mask[i];
        if (!entry.layers.contains(site.layer))
            continue;
        auto &ids = impl.maskIds[i];
        if (!ids.defined()) {
            std::vector<std::int64_t> e;
            for (int x : entry.experts)
                if (x >= 0 && x < numExperts)
                    e.push_back(x);
            ids = at::tensor(e, at::kLong);
        }
        logits.index_fill_(1, ids.to(logits.device()), kMaskedLogit);
    }
}

} // namespace moescope::routing
