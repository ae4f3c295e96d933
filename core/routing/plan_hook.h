#pragma once

// Applies an InterventionPlan inside every MoE block, before expert selection
// (docs/architecture.md): a steered expert's logit z becomes z + x·|z|; a masked
// expert's logit becomes -1e9. Steering runs first and masking last, so an
// expert that is both is still never chosen. Entries apply in file order.

#include "core/routing/intervention_plan.h"
#include "core/routing/router_hook.h"

#include <memory>

namespace moescope::routing {

class PlanHook : public RouterHook
{
public:
    explicit PlanHook(InterventionPlan plan);
    ~PlanHook() override;
    const InterventionPlan &plan() const;
    void beforeSelection(const RouterSite &site, at::Tensor &logits) override;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace moescope::routing
