#include "core/routing/router_hook.h"

namespace moescope::routing {

void RouterHook::beforeSelection(const RouterSite &, at::Tensor &) {}

void RouterHook::afterSelection(const RouterSite &, const at::Tensor &, const at::Tensor &) {}

void RouterHookChain::beforeSelection(const RouterSite &site, at::Tensor &logits)
{
    for (auto *hook : m_hooks)
        hook->beforeSelection(site, logits);
}

void RouterHookChain::afterSelection(const RouterSite &site, const at::Tensor &topkIdx,
                                     const at::Tensor &topkWeights)
{
    for (auto *hook : m_hooks)
        hook->afterSelection(site, topkIdx, topkWeights);
}

} // namespace moescope::routing
