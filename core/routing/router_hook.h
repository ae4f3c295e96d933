#pragma once

// The single place where recording, masking and steering touch the model.
// Every MoE block calls, per forward step:
//   beforeSelection(site, logits)  raw router logits [N, E] (float32; for
//                                  sigmoid routers before the sigmoid and any
//                                  correction bias). A hook may modify them in
//                                  place; selection uses what is left there.
//   afterSelection(site, idx, w)   the chosen experts [N, k] int64 (descending
//                                  weight) and the weights [N, k] float32 the
//                                  expert outputs are multiplied by.
// N = batch * tokens of this step, row-major. site.validTokens marks the rows
// that are real tokens (left padding is not); padding rows are never sent to
// experts, and recorders must skip them.
//
// This header stays torch-free; implementations include <ATen/ATen.h>.

#include <cstdint>
#include <vector>

namespace at {
class Tensor;
}

namespace moescope::routing {

struct RouterSite
{
    int layer = 0;       // decoder layer index
    int numExperts = 0;
    int topK = 0;
    std::int64_t batch = 0;  // rows of the batch
    std::int64_t tokens = 0; // tokens per row in this step (N = batch * tokens)
    // bool [N]; nullptr when every row is a real token.
    const at::Tensor *validTokens = nullptr;
};

class RouterHook
{
public:
    virtual ~RouterHook() = default;
    virtual void beforeSelection(const RouterSite &site, at::Tensor &logits);
    virtual void afterSelection(const RouterSite &site, const at::Tensor &topkIdx,
                                const at::Tensor &topkWeights);
};

// Runs several hooks in order (e.g. a reference dump first, so it sees the
// logits before a plan changes them, then the plan, then a recorder).
class RouterHookChain : public RouterHook
{
public:
    RouterHookChain() = default;
    explicit RouterHookChain(std::vector<RouterHook *> hooks) : m_hooks(std::move(hooks)) {}
    void add(RouterHook *hook)
    {
        if (hook)
            m_hooks.push_back(hook);
    }
    bool empty() const { return m_hooks.empty(); }
    void beforeSelection(const RouterSite &site, at::Tensor &logits) override;
    void afterSelection(const RouterSite &site, const at::Tensor &topkIdx,
                        const at::Tensor &topkWeights) override;

private:
    std::vector<RouterHook *> m_hooks;
};

} // namespace moescope::routing
