#include "core/trace/trace_validation.h"

#include "core/common/error.h"

#include <cmath>
#include <set>
#include <sstream>

namespace moescope {

namespace {

std::string quoted(const std::string &label)
{
    return "language '" + label + "'";
}

std::string cell(int layer, int expert)
{
    return "layer " + std::to_string(layer) + ", expert " + std::to_string(expert);
}

std::string formatDouble(double v)
{
    std::ostringstream s;
    s.precision(17);
    s << v;
    return s.str();
}

} // namespace

void validateLabel(const std::string &label, const std::string &file)
{
    if (label.empty())
        throw Error(file, "empty language label");
    if (label.find('/') != std::string::npos)
        throw Error(file, "language label '" + label
                              + "' contains '/', which HDF5 reads as a group separator");
    if (label == "." || label == "..")
        throw Error(file, "language label '" + label + "' is not allowed");
    for (unsigned char c : label)
        if (c < 0x20 || c == 0x7f)
            throw Error(file, "language label '" + label + "' contains a control character");
}

void validateModel(const ModelSummary &model, const std::string &file)
{
    if (model.numLayers <= 0)
        throw Error(file, "num_layers must be positive, got " + std::to_string(model.numLayers));
    if (model.numExperts <= 0)
        throw Error(file,
                    "num_experts must be positive, got " + std::to_string(model.numExperts));
    // topk_idx is int16 in the token-level trace, hence the expert limit.
    if (model.numExperts > 32768)
        throw Error(file, "num_experts " + std::to_string(model.numExperts)
                              + " exceeds the format's limit of 32768");
    if (model.numLayers > 100000)
        throw Error(file, "num_layers " + std::to_string(model.numLayers) + " is implausible");
    if (model.topK <= 0 || model.topK > model.numExperts)
        throw Error(file, "top_k must be between 1 and num_experts ("
                              + std::to_string(model.numExperts) + "), got "
                              + std::to_string(model.topK));
    if (model.moeLayers.empty())
        throw Error(file, "moe_layers is empty");
    int previous = -1;
    for (int l : model.moeLayers) {
        if (l < 0 || l >= model.numLayers)
            throw Error(file, "moe_layers contains " + std::to_string(l) + ", outside 0.."
                                  + std::to_string(model.numLayers - 1));
        if (l <= previous)
            throw Error(file, "moe_layers must be strictly ascending");
        previous = l;
    }
}

void validateTrace(const RoutingTrace &trace, const std::string &file)
{
    const ModelSummary &m = trace.model;
    validateModel(m, file);
    const std::size_t L = static_cast<std::size_t>(m.numLayers);
    const std::size_t E = static_cast<std::size_t>(m.numExperts);
    std::vector<bool> isMoe(L, false);
    for (int l : m.moeLayers)
        isMoe[static_cast<std::size_t>(l)] = true;

    std::set<std::string> seen;
    for (const LanguageRouting &lang : trace.languages) {
        validateLabel(lang.label, file);
        const std::string who = quoted(lang.label);
        if (!seen.insert(lang.label).second)
            throw Error(file, "duplicate " + who);
        if (lang.counts.size() != L * E)
            throw Error(file, who + ": counts has " + std::to_string(lang.counts.size())
                                  + " values, expected num_layers x num_experts = "
                                  + std::to_string(L * E));
        if (lang.gateSum.size() != L * E)
            throw Error(file, who + ": gate_sum has " + std::to_string(lang.gateSum.size())
                                  + " values, expected " + std::to_string(L * E));
        if (lang.tokens.size() != L)
            throw Error(file, who + ": tokens has " + std::to_string(lang.tokens.size())
                                  + " values, expected num_layers = " + std::to_string(L));
        if (lang.tokenScope != "prompt" && lang.tokenScope != "generated"
            && lang.tokenScope != "all")
            throw Error(file, who + ": token_scope must be prompt, generated or all, got '"
                                  + lang.tokenScope + "'");
        for (std::size_t l = 0; l < L; ++l) {
            const int layer = static_cast<int>(l);
            if (!isMoe[l] && lang.tokens[l] != 0)
                throw Error(file, who + ": dense layer " + std::to_string(l)
                                      + " has routed tokens (only moe_layers route)");
            for (std::size_t e = 0; e < E; ++e) {
                const std::uint64_t c = lang.counts[l * E + e];
                const double g = lang.gateSum[l * E + e];
                const int expert = static_cast<int>(e);
                if (c > 0 && lang.tokens[l] == 0)
                    throw Error(file, who + ": " + cell(layer, expert) + " has count "
                                          + std::to_string(c) + " but the layer's tokens is 0");
                if (c > lang.tokens[l])
                    throw Error(file, who + ": " + cell(layer, expert) + " was selected by "
                                          + std::to_string(c) + " tokens but the layer routed only "
                                          + std::to_string(lang.tokens[l]));
                if (!std::isfinite(g) || g < 0)
                    throw Error(file, who + ": " + cell(layer, expert) + " has gate sum "
                                          + formatDouble(g)
                                          + " (must be finite and not negative)");
                if (c == 0 && g != 0)
                    throw Error(file, who + ": " + cell(layer, expert) + " has gate sum "
                                          + formatDouble(g) + " but was never selected");
            }
        }
    }
}

} // namespace moescope
