// Routing similarity between languages (arXiv 2601.14050): per layer,
// Sim(a, b) = 1 - JSD(p_a, p_b) with base-2 logarithms, averaged over the
// MoE layers.
#include "core/analysis/routing_analysis.h"

#include <algorithm>
#include <cmath>

namespace moescope {

double jsSimilarity(const double *p, const double *q, int n)
{
    // JSD = 1/2 KL(p||m) + 1/2 KL(q||m), m = (p + q) / 2, 0 log 0 = 0. The two
    // terms of one expert are added before accumulating, so swapping p and q
    // gives the same sum bit for bit.
    double jsd = 0;
    for (int i = 0; i < n; ++i) {
        const double m = 0.5 * (p[i] + q[i]);
        const double fromP = p[i] > 0 ? p[i] * std::log2(p[i] / m) : 0.0;
        const double fromQ = q[i] > 0 ? q[i] * std::log2(q[i] / m) : 0.0;
        jsd += 0.5 * (fromP + fromQ);
    }
    // Base-2 JSD lies in [0, 1]; rounding may step outside by an ulp.
    return std::clamp(1.0 - jsd, 0.0, 1.0);
}

SimilarityResult routingSimilarity(const RoutingTrace &trace)
{
    const auto &model = trace.model;
    const std::size_t nLang = trace.languages.size();
    const std::size_t numLayers = static_cast<std::size_t>(std::max(model.numLayers, 0));
    const std::size_t experts = static_cast<std::size_t>(std::max(model.numExperts, 0));

    SimilarityResult result;
    result.layers = analysedLayers(trace);
    result.perLayer.assign(
        numLayers, std::vector<std::vector<double>>(nLang, std::vector<double>(nLang, 0.0)));
    result.mean.assign(nLang, std::vector<double>(nLang, 0.0));
    result.meanPairwisePerLayer.assign(numLayers, 0.0);

    std::vector<std::vector<double>> distributions;
    distributions.reserve(nLang);
    for (const auto &lang : trace.languages)
        distributions.push_back(routingDistribution(lang, model));

    const std::size_t pairs = nLang * (nLang - (nLang > 0 ? 1 : 0)) / 2;
    for (int layer : result.layers) {
        const std::size_t l = static_cast<std::size_t>(layer);
        auto &matrix = result.perLayer[l];
        double pairSum = 0;
        for (std::size_t a = 0; a < nLang; ++a) {
            matrix[a][a] = 1.0;
            for (std::size_t b = a + 1; b < nLang; ++b) {
                const double s = jsSimilarity(distributions[a].data() + l * experts,
                    distributions[b].data() + l * experts, static_cast<int>(experts));
                matrix[a][b] = matrix[b][a] = s;
                pairSum += s;
            }
        }
        // With fewer than two languages there is no pair; the value stays 0.
        if (pairs > 0)
            result.meanPairwisePerLayer[l] = pairSum / static_cast<double>(pairs);
        for (std::size_t a = 0; a < nLang; ++a)
            for (std::size_t b = 0; b < nLang; ++b)
                result.mean[a][b] += matrix[a][b];
    }
    if (!result.layers.empty())
        for (auto &row : result.mean)
            for (double &v : row)
                v /= static_cast<double>(result.layers.size());
    return result;
}

} // namespace moescope
