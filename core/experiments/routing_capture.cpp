#include "core/experiments/routing_capture.h"

#include "core/common/error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <map>

namespace moescope::experiments {

TokenScope parseTokenScope(const std::string &text)
{
    if (text == "prompt")
        return TokenScope::Prompt;
    if (text == "generated")
        return TokenScope::Generated;
    if (text == "all")
        return TokenScope::All;
    throw Error("token scope must be prompt, generated or all, not '" + text + "'");
}

std::string tokenScopeName(TokenScope scope)
{
    switch (scope) {
    case TokenScope::Prompt:
        return "prompt";
    case TokenScope::Generated:
        return "generated";
    case TokenScope::All:
        return "all";
    }
    return "prompt";
}

struct ScopedRoutingCapture::Impl
{
    int numLayers, numExperts, topK;
    bool keepTokens;
    routing::RoutingRecorder recorder;

    std::vector<std::vector<std::int64_t>> rows;
    std::vector<std::size_t> promptTokens;
    TokenScope scope = TokenScope::Prompt;

    // Built on the first layer of a batch, when B and T are known.
    at::Tensor counted;     // bool [B*T]
    at::Tensor countedRows; // int64 [n]: flat positions counted, row-major
    std::int64_t batch = -1, tokens = -1;
    std::map<int, std::pair<at::Tensor, at::Tensor>> captured; // layer -> (idx int64 [n,k], w float [n,k])

    Impl(int l, int e, int k, bool keep) : numLayers(l), numExperts(e), topK(k), keepTokens(keep), recorder(l, e)
    {
    }

    void buildMask(const routing::RouterSite &site)
    {
        if (site.batch != static_cast<std::int64_t>(rows.size()))
            throw Error("routing capture: the batch has " + std::to_string(site.batch) + " rows, "
                        + std::to_string(rows.size()) + " were declared");
        batch = site.batch;
        tokens = site.tokens;
        std::vector<std::uint8_t> keep(static_cast<std::size_t>(batch * tokens), 0);
        std::vector<std::int64_t> positions;
        for (std::int64_t b = 0; b < batch; ++b) {
            const auto &row = rows[static_cast<std::size_t>(b)];
            const auto length = static_cast<std::int64_t>(row.size());
            if (length > tokens)
                throw Error("routing capture: a row is longer than the routed batch");
            const auto pad = tokens - length; // left padding
            const auto prompt = static_cast<std::int64_t>(promptTokens[static_cast<std::size_t>(b)]);
            const auto first = scope == TokenScope::Generated ? pad + prompt : pad;
            const auto last = scope == TokenScope::Prompt ? pad + prompt : tokens;
            for (auto t = first; t < last; ++t) {
                keep[static_cast<std::size_t>(b * tokens + t)] = 1;
                positions.push_back(b * tokens + t);
            }
        }
        counted = at::from_blob(keep.data(), {batch * tokens}, at::kByte).to(at::kBool).clone();
        countedRows = at::from_blob(positions.data(), {static_cast<std::int64_t>(positions.size())}, at::kLong)
                          .clone();
    }
};

ScopedRoutingCapture::ScopedRoutingCapture(int numLayers, int numExperts, int topK, bool keepTokenRecords)
    : m(std::make_unique<Impl>(numLayers, numExperts, topK, keepTokenRecords))
{
}

ScopedRoutingCapture::~ScopedRoutingCapture() = default;

void ScopedRoutingCapture::beginBatch(std::vector<std::vector<std::int64_t>> rows,
                                      std::vector<std::size_t> promptTokens, TokenScope scope)
{
    if (rows.size() != promptTokens.size())
        throw Error("routing capture: one prompt length per row is needed");
    for (std::size_t b = 0; b < rows.size(); ++b)
        if (promptTokens[b] > rows[b].size())
            throw Error("routing capture: a prompt is longer than its row");
    m->rows = std::move(rows);
    m->promptTokens = std::move(promptTokens);
    m->scope = scope;
    m->batch = m->tokens = -1;
    m->captured.clear();
    m->recorder.reset();
}

void ScopedRoutingCapture::afterSelection(const routing::RouterSite &site, const at::Tensor &topkIdx,
                                          const at::Tensor &topkWeights)
{
    c10::InferenceMode guard;
    if (m->batch != site.batch || m->tokens != site.tokens)
        m->buildMask(site);
    at::Tensor counted = m->counted.to(topkIdx.device());
    if (site.validTokens)
        counted = counted.logical_and(site.validTokens->to(counted.device()));
    routing::RouterSite scoped = site;
    scoped.validTokens = &counted;
    m->recorder.afterSelection(scoped, topkIdx, topkWeights);
    if (m->keepTokens) {
        const auto rows = m->countedRows.to(topkIdx.device());
        m->captured[site.layer] = {topkIdx.index_select(0, rows).to(at::kCPU, at::kLong).contiguous(),
                                   topkWeights.index_select(0, rows).to(at::kCPU, at::kFloat).contiguous()};
    }
}

routing::RoutingTotals ScopedRoutingCapture::totals() const
{
    return m->recorder.totals();
}

TokenBatch ScopedRoutingCapture::tokenRecords() const
{
    if (!m->keepTokens)
        throw Error("routing capture: token records were not requested");
    TokenBatch out;
    const auto L = static_cast<std::size_t>(m->numLayers), k = static_cast<std::size_t>(m->topK);
    for (std::size_t b = 0; b < m->rows.size(); ++b) {
        const auto &row = m->rows[b];
        const auto prompt = m->promptTokens[b];
        const auto first = m->scope == TokenScope::Generated ? prompt : 0;
        const auto last = m->scope == TokenScope::Prompt ? prompt : row.size();
        for (auto t = first; t < last; ++t)
            out.tokenIds.push_back(static_cast<std::int32_t>(row[t]));
        out.documentLengths.push_back(static_cast<std::int64_t>(last - first));
    }
    const auto n = out.tokenIds.size();
    out.topkIdx.assign(n * L * k, -1);
    out.topkWeights.assign(n * L * k, 0.0f);
    for (const auto &[layer, pair] : m->captured) {
        const auto &[idx, w] = pair;
        if (static_cast<std::size_t>(idx.size(0)) != n || static_cast<std::size_t>(idx.size(1)) != k)
            throw Error("routing capture: layer " + std::to_string(layer) + " routed an unexpected shape");
        const auto *pi = idx.data_ptr<std::int64_t>();
        const auto *pw = w.data_ptr<float>();
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < k; ++j) {
                const auto dst = (i * L + static_cast<std::size_t>(layer)) * k + j;
                out.topkIdx[dst] = static_cast<std::int16_t>(pi[i * k + j]);
                out.topkWeights[dst] = pw[i * k + j];
            }
    }
    return out;
}

} // namespace moescope::experiments
