// Language-exclusive and shared experts, and the steering set (arXiv
// 2601.14050, expert specialisation and layerwise steering; the study's
// scripts keep each language's top-k experts per layer and normalise f
// across languages to get each language's share of an expert).
#include "core/analysis/routing_analysis.h"

#include "core/common/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

namespace moescope {

namespace {

// Marks a language's kept experts of one layer: the k with the largest f,
// ties to the lower expert index, and only experts selected at least once
// (an expert nobody chose is not "kept" even if k exceeds the used ones).
void markTopK(const double *f, int numExperts, int k, std::vector<char> &kept)
{
    std::vector<int> order(static_cast<std::size_t>(numExperts));
    std::iota(order.begin(), order.end(), 0);
    const auto byFrequency = [f](int a, int b) { return f[a] > f[b] || (f[a] == f[b] && a < b); };
    const int keep = std::min(k, numExperts);
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), byFrequency);
    std::fill(kept.begin(), kept.end(), 0);
    for (int i = 0; i < keep; ++i)
        if (f[order[static_cast<std::size_t>(i)]] > 0)
            kept[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = 1;
}

void checkK(int k, const ModelSummary &model, const std::string &what)
{
    if (k < 1 || k > model.numExperts)
        throw Error(what + " must be between 1 and the number of experts ("
            + std::to_string(model.numExperts) + "), got " + std::to_string(k));
}

} // namespace

ExpertSpecialisation expertSpecialisation(const RoutingTrace &trace, int k, double threshold)
{
    const auto &model = trace.model;
    checkK(k, model, "k");
    if (!(threshold > 0 && threshold < 1))
        throw Error(fmt::format("threshold must lie strictly between 0 and 1, got {}", threshold));
    const std::size_t nLang = trace.languages.size();
    const std::size_t numLayers = static_cast<std::size_t>(model.numLayers);
    const std::size_t experts = static_cast<std::size_t>(model.numExperts);

    // kept[t][l*E + e]: f of language t where it keeps the expert, else 0.
    std::vector<std::vector<double>> kept;
    kept.reserve(nLang);
    std::vector<char> mask(experts);
    for (const auto &lang : trace.languages) {
        std::vector<double> f = activationFrequency(lang, model);
        for (std::size_t l = 0; l < numLayers; ++l) {
            markTopK(f.data() + l * experts, model.numExperts, k, mask);
            for (std::size_t e = 0; e < experts; ++e)
                if (!mask[e])
                    f[l * experts + e] = 0;
        }
        kept.push_back(std::move(f));
    }

    ExpertSpecialisation result;
    result.share.assign(nLang, std::vector<double>(numLayers * experts, 0.0));
    result.exclusivePerLayer.assign(nLang, std::vector<int>(numLayers, 0));
    result.sharedPerLayer.assign(numLayers, 0);
    for (const auto &lang : trace.languages)
        result.exclusive[lang.label]; // every language gets an entry, even if empty

    for (std::size_t l = 0; l < numLayers; ++l) {
        for (std::size_t e = 0; e < experts; ++e) {
            const std::size_t cell = l * experts + e;
            double total = 0;
            int keepers = 0;
            for (std::size_t t = 0; t < nLang; ++t) {
                total += kept[t][cell];
                keepers += kept[t][cell] > 0 ? 1 : 0;
            }
            if (total <= 0)
                continue;
            bool exclusiveToAny = false;
            for (std::size_t t = 0; t < nLang; ++t) {
                const double share = kept[t][cell] / total;
                result.share[t][cell] = share;
                if (share > threshold) {
                    result.exclusive[trace.languages[t].label].emplace_back(
                        static_cast<int>(l), static_cast<int>(e));
                    ++result.exclusivePerLayer[t][l];
                    exclusiveToAny = true;
                }
            }
            if (keepers >= 2 && !exclusiveToAny) {
                result.shared.emplace_back(static_cast<int>(l), static_cast<int>(e));
                ++result.sharedPerLayer[l];
            }
        }
    }
    return result;
}

std::vector<SteeringExpert> steeringSet(const RoutingTrace &trace, const std::string &a,
    const std::string &b, int k, double threshold, int firstLayer, int lastLayer)
{
    const auto &model = trace.model;
    const LanguageRouting *langA = trace.find(a);
    const LanguageRouting *langB = trace.find(b);
    if (!langA || !langB)
        throw Error("steering: language '" + (langA ? b : a) + "' is not in the trace");
    if (a == b)
        throw Error("steering needs two different languages, got '" + a + "' twice");
    checkK(k, model, "steering k");
    if (!(threshold > 0.5 && threshold < 1))
        throw Error(fmt::format("steering threshold must lie strictly between 0.5 and 1 (the "
                                "band (1 - thr, thr) is empty otherwise), got {}",
            threshold));
    if (firstLayer < 0 || lastLayer >= model.numLayers || firstLayer > lastLayer)
        throw Error("steering layers " + std::to_string(firstLayer) + "-"
            + std::to_string(lastLayer) + " are not a range inside the model's "
            + std::to_string(model.numLayers) + " layers");

    const std::size_t experts = static_cast<std::size_t>(model.numExperts);
    const std::vector<double> fA = activationFrequency(*langA, model);
    const std::vector<double> fB = activationFrequency(*langB, model);
    std::vector<char> keptA(experts), keptB(experts);
    std::vector<SteeringExpert> set;
    for (int layer = firstLayer; layer <= lastLayer; ++layer) {
        const std::size_t offset = static_cast<std::size_t>(layer) * experts;
        markTopK(fA.data() + offset, model.numExperts, k, keptA);
        markTopK(fB.data() + offset, model.numExperts, k, keptB);
        for (std::size_t e = 0; e < experts; ++e) {
            if (!keptA[e] || !keptB[e])
                continue;
            const double share = fA[offset + e] / (fA[offset + e] + fB[offset + e]);
            if (share > 1.0 - threshold && share < threshold)
                set.push_back({ layer, static_cast<int>(e), share });
        }
    }
    return set;
}

} // namespace moescope
