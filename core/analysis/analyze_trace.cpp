// One call that runs every analysis of the study on a trace; the CLI's
// `analyze` and the GUI both go through it.
#include "core/analysis/routing_analysis.h"

#include "core/common/error.h"

#include <fmt/format.h>

namespace moescope {

std::string checkAnalysisParams(const AnalysisParams &params, const RoutingTrace &trace)
{
    const int experts = trace.model.numExperts;
    if (params.k < 1 || params.k > experts)
        return fmt::format(
            "k must be between 1 and the number of experts ({}), got {}", experts, params.k);
    if (!(params.threshold > 0 && params.threshold < 1))
        return fmt::format("threshold must lie strictly between 0 and 1, got {}", params.threshold);
    if (!params.steering)
        return {};
    const SteeringParams &s = *params.steering;
    for (const std::string *label : { &s.a, &s.b })
        if (!trace.find(*label))
            return fmt::format("steering language '{}' is not in the trace", *label);
    if (s.a == s.b)
        return fmt::format("steering needs two different languages, got '{}' twice", s.a);
    if (s.k < 1 || s.k > experts)
        return fmt::format(
            "steering k must be between 1 and the number of experts ({}), got {}", experts, s.k);
    if (!(s.threshold > 0.5 && s.threshold < 1))
        return fmt::format(
            "steering threshold must lie strictly between 0.5 and 1, got {}", s.threshold);
    if (s.firstLayer < 0 || s.lastLayer >= trace.model.numLayers || s.firstLayer > s.lastLayer)
        return fmt::format("steering layers {}-{} are not a range inside the model's {} layers",
            s.firstLayer, s.lastLayer, trace.model.numLayers);
    return {};
}

AnalysisResult analyzeTrace(const RoutingTrace &trace, const AnalysisParams &params)
{
    if (const std::string problem = checkAnalysisParams(params, trace); !problem.empty())
        throw Error(problem);
    if (trace.languages.empty())
        throw Error("the trace has no languages to analyse");

    AnalysisResult result;
    result.params = params;
    for (const auto &lang : trace.languages)
        result.languages.push_back(lang.label);

    result.similarity = routingSimilarity(trace);
    if (result.similarity.layers.empty())
        throw Error("no MoE layer routed tokens for every language; nothing to compare");

    const std::size_t n = result.languages.size();
    std::vector<std::vector<double>> distance(n, std::vector<double>(n, 0.0));
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t b = 0; b < n; ++b)
            if (a != b)
                distance[a][b] = 1.0 - result.similarity.mean[a][b];
    result.dendrogram = clusterLanguages(result.languages, distance, params.linkage);

    result.entropy = routingEntropy(trace);
    result.experts = expertSpecialisation(trace, params.k, params.threshold);
    if (params.steering) {
        const SteeringParams &s = *params.steering;
        result.steering = steeringSet(trace, s.a, s.b, s.k, s.threshold, s.firstLayer, s.lastLayer);
    }
    return result;
}

} // namespace moescope
