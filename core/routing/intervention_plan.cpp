#include "core/routing/intervention_plan.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace moescope::routing {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string &source, const std::string &reason)
{
    throw Error(source, reason);
}

LayerRange parseRange(const json &entry, const std::string &where, const std::string &source)
{
    if (!entry.contains("layers"))
        fail(source, where + ": missing \"layers\"");
    const auto &l = entry["layers"];
    if (!l.is_array() || l.size() != 2 || !l[0].is_number_integer() || !l[1].is_number_integer())
        fail(source, where + ": \"layers\" must be [first, last]");
    LayerRange r{l[0].get<int>(), l[1].get<int>()};
    if (r.first > r.last)
        fail(source, where + ": layer range [" + std::to_string(r.first) + ", "
                         + std::to_string(r.last) + "] is reversed");
    return r;
}

std::vector<int> parseExperts(const json &entry, const std::string &where, const std::string &source)
{
    if (!entry.contains("experts") || !entry["experts"].is_array())
        fail(source, where + ": \"experts\" must be a list of expert ids");
    std::vector<int> out;
    for (const auto &e : entry["experts"]) {
        if (!e.is_number_integer())
            fail(source, where + ": expert ids must be integers");
        out.push_back(e.get<int>());
    }
    return out;
}

} // namespace

InterventionPlan parsePlan(const std::string &text, const std::string &source)
{
    json root;
    try {
        root = json::parse(text);
    } catch (const json::exception &e) {
        fail(source, std::string("not valid JSON: ") + e.what());
    }
    if (!root.is_object())
        fail(source, "a plan is a JSON object with \"mask\" and/or \"steer\"");
    for (const auto &[key, value] : root.items()) {
        (void)value;
        if (key != "mask" && key != "steer" && key.rfind("_", 0) != 0 && key != "description")
            fail(source, "unknown plan key \"" + key + "\"");
    }

    InterventionPlan plan;
    if (root.contains("mask")) {
        if (!root["mask"].is_array())
            fail(source, "\"mask\" must be a list");
        int i = 0;
        for (const auto &entry : root["mask"]) {
            const std::string where = "mask[" + std::to_string(i++) + "]";
            if (!entry.is_object())
                fail(source, where + " is not an object");
            plan.mask.push_back({parseRange(entry, where, source), parseExperts(entry, where, source)});
        }
    }
    if (root.contains("steer")) {
        if (!root["steer"].is_array())
            fail(source, "\"steer\" must be a list");
        int i = 0;
        for (const auto &entry : root["steer"]) {
            const std::string where = "steer[" + std::to_string(i++) + "]";
            if (!entry.is_object())
                fail(source, where + " is not an object");
            SteerEntry s;
            s.layers = parseRange(entry, where, source);
            s.experts = parseExperts(entry, where, source);
            const bool hasScale = entry.contains("scale");
            const bool hasScales = entry.contains("scales");
            if (hasScale == hasScales)
                fail(source, where + ": give exactly one of \"scale\" and \"scales\"");
            if (hasScale) {
                if (!entry["scale"].is_number())
                    fail(source, where + ": \"scale\" must be a number");
                s.scales.assign(s.experts.size(), entry["scale"].get<double>());
            } else {
                if (!entry["scales"].is_array())
                    fail(source, where + ": \"scales\" must be a list of numbers");
                for (const auto &x : entry["scales"]) {
                    if (!x.is_number())
                        fail(source, where + ": \"scales\" must be a list of numbers");
                    s.scales.push_back(x.get<double>());
                }
                if (s.scales.size() != s.experts.size())
                    fail(source, where + ": \"scales\" has " + std::to_string(s.scales.size())
                                     + " values for " + std::to_string(s.experts.size()) + " experts");
                s.perExpertScales = true;
            }
            for (double x : s.scales)
                if (!std::isfinite(x))
                    fail(source, where + ": scales must be finite");
            plan.steer.push_back(std::move(s));
        }
    }
    return plan;
}

InterventionPlan loadPlan(const std::string &path)
{
    return parsePlan(readFile(path), path);
}

std::string planToJson(const InterventionPlan &plan)
{
    json root = json::object();
    root["mask"] = json::array();
    for (const auto &m : plan.mask)
        root["mask"].push_back({{"layers", {m.layers.first, m.layers.last}}, {"experts", m.experts}});
    root["steer"] = json::array();
    for (const auto &s : plan.steer) {
        json entry = {{"layers", {s.layers.first, s.layers.last}}, {"experts", s.experts}};
        const bool uniform = !s.scales.empty()
                             && std::all_of(s.scales.begin(), s.scales.end(),
                                            [&](double x) { return x == s.scales.front(); });
        if (s.perExpertScales || !uniform)
            entry["scales"] = s.scales;
        else
            entry["scale"] = s.scales.empty() ? 0.0 : s.scales.front();
        root["steer"].push_back(std::move(entry));
    }
    return root.dump(2) + "\n";
}

void savePlan(const InterventionPlan &plan, const std::string &path)
{
    writeFileAtomically(path, planToJson(plan));
}

void validatePlan(const InterventionPlan &plan, const PlanTarget &target, const std::string &source)
{
    auto check = [&](const std::string &where, const LayerRange &range, const std::vector<int> &experts) {
        if (range.first < 0 || range.last >= target.numLayers)
            fail(source, where + ": layers [" + std::to_string(range.first) + ", "
                             + std::to_string(range.last) + "] outside the model's 0-"
                             + std::to_string(target.numLayers - 1));
        const bool anyMoe = std::any_of(target.moeLayers.begin(), target.moeLayers.end(),
                                        [&](int l) { return range.contains(l); });
        if (!anyMoe)
            fail(source, where + ": layers [" + std::to_string(range.first) + ", "
                             + std::to_string(range.last) + "] contain no MoE layer");
        if (experts.empty())
            fail(source, where + ": no experts listed");
        for (int e : experts)
            if (e < 0 || e >= target.numExperts)
                fail(source, where + ": expert " + std::to_string(e) + " outside the model's 0-"
                                 + std::to_string(target.numExperts - 1));
    };
    for (std::size_t i = 0; i < plan.mask.size(); ++i)
        check("mask[" + std::to_string(i) + "]", plan.mask[i].layers, plan.mask[i].experts);
    for (std::size_t i = 0; i < plan.steer.size(); ++i)
        check("steer[" + std::to_string(i) + "]", plan.steer[i].layers, plan.steer[i].experts);
}

} // namespace moescope::routing
