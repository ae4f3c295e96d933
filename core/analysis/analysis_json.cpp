#include "core/analysis/analysis_json.h"

#include <algorithm>

namespace moescope {

namespace {

using nlohmann::json;

json layerExpertPairs(const std::vector<std::pair<int, int>> &pairs)
{
    json out = json::array();
    for (const auto &[layer, expert] : pairs)
        out.push_back({ layer, expert });
    return out;
}

json modelJson(const ModelSummary &m)
{
    return { { "model_id", m.modelId }, { "model_type", m.modelType },
        { "num_layers", m.numLayers }, { "num_experts", m.numExperts }, { "top_k", m.topK },
        { "moe_layers", m.moeLayers } };
}

json languageInfo(const RoutingTrace &trace)
{
    json out = json::object();
    for (const auto &lang : trace.languages) {
        // Tokens are counted per layer and equal across MoE layers in
        // practice; the largest is the number of tokens recorded.
        const std::uint64_t tokens
            = lang.tokens.empty() ? 0 : *std::max_element(lang.tokens.begin(), lang.tokens.end());
        out[lang.label]
            = { { "tokens", tokens }, { "documents", lang.documents }, { "corpus", lang.corpus },
                  { "token_scope", lang.tokenScope }, { "template", lang.templateName } };
    }
    return out;
}

json parametersJson(const AnalysisParams &p)
{
    json out
        = { { "k", p.k }, { "threshold", p.threshold }, { "linkage", linkageName(p.linkage) } };
    if (p.steering)
        out["steering"] = { { "languages", { p.steering->a, p.steering->b } },
            { "k", p.steering->k }, { "threshold", p.steering->threshold },
            { "layers", { p.steering->firstLayer, p.steering->lastLayer } } };
    return out;
}

json similarityJson(const SimilarityResult &s)
{
    json perLayer = json::array(), pairwise = json::array();
    for (int layer : s.layers) {
        const auto l = static_cast<std::size_t>(layer);
        perLayer.push_back({ { "layer", layer }, { "matrix", s.perLayer[l] } });
        pairwise.push_back(s.meanPairwisePerLayer[l]);
    }
    return { { "measure", "1 - JSD (base 2) of per-layer expert distributions" },
        { "layers", s.layers }, { "mean", s.mean }, { "per_layer", perLayer },
        { "mean_pairwise_per_layer", pairwise } };
}

json linkageJson(const Dendrogram &d)
{
    json merges = json::array();
    for (const auto &m : d.merges)
        merges.push_back({ { "members", m.members }, { "height", m.height }, { "left", m.left },
            { "right", m.right } });
    json order = json::array();
    for (int leaf : d.leafOrder)
        order.push_back(d.labels[static_cast<std::size_t>(leaf)]);
    return { { "method", linkageName(d.linkage) }, { "distance", "1 - mean similarity" },
        { "merges", merges }, { "leaf_order", order }, { "leaf_order_indices", d.leafOrder } };
}

json expertsJson(const AnalysisResult &r)
{
    const auto &x = r.experts;
    json counts = json::object(), exclusive = json::object(), perLayer = json::object();
    for (std::size_t t = 0; t < r.languages.size(); ++t) {
        const std::string &label = r.languages[t];
        const auto it = x.exclusive.find(label);
        const std::vector<std::pair<int, int>> none;
        const auto &list = it == x.exclusive.end() ? none : it->second;
        counts[label] = list.size();
        exclusive[label] = layerExpertPairs(list);
        perLayer[label] = x.exclusivePerLayer[t];
    }
    return { { "k", r.params.k }, { "threshold", r.params.threshold },
        { "exclusive_counts", counts }, { "exclusive", exclusive },
        { "exclusive_per_layer", perLayer }, { "shared_count", x.shared.size() },
        { "shared", layerExpertPairs(x.shared) }, { "shared_per_layer", x.sharedPerLayer } };
}

json steeringJson(const AnalysisResult &r)
{
    const SteeringParams &s = *r.params.steering;
    json experts = json::array();
    for (const auto &e : r.steering)
        experts.push_back(
            { { "layer", e.layer }, { "expert", e.expert }, { "share_a", e.shareA } });
    return { { "a", s.a }, { "b", s.b }, { "k", s.k }, { "threshold", s.threshold },
        { "layers", { s.firstLayer, s.lastLayer } }, { "count", r.steering.size() },
        { "experts", experts } };
}

} // namespace

nlohmann::json analysisToJson(
    const AnalysisResult &result, const RoutingTrace &trace, const std::string &source)
{
    json out;
    out["format"] = "moescope-analysis";
    out["version"] = 1;
    if (!source.empty())
        out["source"] = source;
    out["model"] = modelJson(trace.model);
    out["languages"] = result.languages;
    out["language_info"] = languageInfo(trace);
    out["parameters"] = parametersJson(result.params);
    out["similarity"] = similarityJson(result.similarity);
    out["linkage"] = linkageJson(result.dendrogram);
    json entropy = json::object();
    for (std::size_t t = 0; t < result.languages.size() && t < result.entropy.size(); ++t)
        entropy[result.languages[t]] = result.entropy[t];
    out["entropy"] = entropy;
    out["experts"] = expertsJson(result);
    if (result.params.steering)
        out["steering"] = steeringJson(result);
    return out;
}

} // namespace moescope
