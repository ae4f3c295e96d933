// Per-language expert distributions and their entropy (arXiv 2601.14050,
// routing analysis): f = activation tokens / routed tokens, p = f / sum f.
#include "core/analysis/routing_analysis.h"

#include "core/common/error.h"

#include <cmath>

namespace moescope {

namespace {

void checkShape(const LanguageRouting &lang, const ModelSummary &model)
{
    const auto cells = static_cast<std::size_t>(model.numLayers) * model.numExperts;
    if (model.numLayers < 0 || model.numExperts < 0)
        throw Error("model has a negative number of layers or experts");
    if (lang.counts.size() != cells)
        throw Error("language '" + lang.label + "' has " + std::to_string(lang.counts.size())
            + " counts, expected " + std::to_string(model.numLayers) + " layers x "
            + std::to_string(model.numExperts) + " experts");
    if (lang.tokens.size() != static_cast<std::size_t>(model.numLayers))
        throw Error("language '" + lang.label + "' has " + std::to_string(lang.tokens.size())
            + " token totals, expected one per layer (" + std::to_string(model.numLayers) + ")");
}

} // namespace

std::vector<int> analysedLayers(const RoutingTrace &trace)
{
    std::vector<int> candidates = trace.model.moeLayers;
    if (candidates.empty())
        for (int l = 0; l < trace.model.numLayers; ++l)
            candidates.push_back(l);
    for (const auto &lang : trace.languages)
        checkShape(lang, trace.model);
    std::vector<int> layers;
    for (int l : candidates) {
        if (l < 0 || l >= trace.model.numLayers)
            throw Error("MoE layer " + std::to_string(l) + " is outside the model's "
                + std::to_string(trace.model.numLayers) + " layers");
        bool everyLanguageRouted = true;
        for (const auto &lang : trace.languages)
            if (lang.tokens[static_cast<std::size_t>(l)] == 0)
                everyLanguageRouted = false;
        if (everyLanguageRouted)
            layers.push_back(l);
    }
    return layers;
}

std::vector<double> activationFrequency(const LanguageRouting &lang, const ModelSummary &model)
{
    checkShape(lang, model);
    const std::size_t experts = static_cast<std::size_t>(model.numExperts);
    std::vector<double> f(lang.counts.size(), 0.0);
    for (std::size_t l = 0; l < lang.tokens.size(); ++l) {
        if (lang.tokens[l] == 0)
            continue;
        const double tokens = static_cast<double>(lang.tokens[l]);
        for (std::size_t e = 0; e < experts; ++e)
            f[l * experts + e] = static_cast<double>(lang.counts[l * experts + e]) / tokens;
    }
    return f;
}

std::vector<double> routingDistribution(const LanguageRouting &lang, const ModelSummary &model)
{
    std::vector<double> p = activationFrequency(lang, model);
    const std::size_t experts = static_cast<std::size_t>(model.numExperts);
    for (std::size_t l = 0; l < lang.tokens.size(); ++l) {
        double sum = 0;
        for (std::size_t e = 0; e < experts; ++e)
            sum += p[l * experts + e];
        if (sum <= 0)
            continue;
        for (std::size_t e = 0; e < experts; ++e)
            p[l * experts + e] /= sum;
    }
    return p;
}

std::vector<std::vector<double>> routingEntropy(const RoutingTrace &trace)
{
    const auto &model = trace.model;
    const std::size_t experts = static_cast<std::size_t>(model.numExperts);
    std::vector<std::vector<double>> entropy;
    entropy.reserve(trace.languages.size());
    for (const auto &lang : trace.languages) {
        const std::vector<double> p = routingDistribution(lang, model);
        std::vector<double> h(static_cast<std::size_t>(model.numLayers), 0.0);
        for (std::size_t l = 0; l < h.size(); ++l) {
            double sum = 0;
            for (std::size_t e = 0; e < experts; ++e) {
                const double pe = p[l * experts + e];
                if (pe > 0) // 0 log 0 = 0
                    sum -= pe * std::log2(pe);
            }
            h[l] = sum;
        }
        entropy.push_back(std::move(h));
    }
    return entropy;
}

} // namespace moescope
