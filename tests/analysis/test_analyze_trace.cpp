#include "core/analysis/analysis_json.h"
#include "core/analysis/routing_analysis.h"
#include "core/common/error.h"
#include "handmade_trace.h"

#include <gtest/gtest.h>

using namespace moescope;
using moescope::testing::addLanguage;
using moescope::testing::handmadeTrace;

namespace {

// Four experts, top-1, layer 0 dense. u and v route alike, w elsewhere.
RoutingTrace smallTrace()
{
    auto trace = handmadeTrace(3, 4, 1, { 1, 2 });
    const std::vector<std::uint64_t> dense(4, 0);
    addLanguage(trace, "w", { dense, { 0, 0, 6, 2 }, { 1, 0, 5, 2 } }, { 0, 8, 8 });
    addLanguage(trace, "u", { dense, { 5, 3, 0, 0 }, { 4, 4, 0, 0 } }, { 0, 8, 8 });
    addLanguage(trace, "v", { dense, { 4, 3, 1, 0 }, { 4, 3, 0, 1 } }, { 0, 8, 8 });
    return trace;
}

} // namespace

TEST(AnalyzeTrace, BundlesEveryAnalysisConsistently)
{
    const auto trace = smallTrace();
    AnalysisParams params;
    params.k = 2;
    params.threshold = 0.6;
    params.linkage = Linkage::Complete;
    params.steering = SteeringParams { "u", "v", 2, 0.7, 1, 2 };
    const auto r = analyzeTrace(trace, params);

    EXPECT_EQ(r.languages, (std::vector<std::string> { "w", "u", "v" }));
    const auto s = routingSimilarity(trace);
    EXPECT_EQ(r.similarity.mean, s.mean);
    ASSERT_EQ(r.dendrogram.merges.size(), 2u);
    EXPECT_EQ(r.dendrogram.linkage, Linkage::Complete);
    EXPECT_EQ(r.dendrogram.merges[0].members, (std::vector<std::string> { "u", "v" }));
    EXPECT_DOUBLE_EQ(r.dendrogram.merges[0].height, 1.0 - s.mean[1][2]);
    EXPECT_EQ(r.entropy, routingEntropy(trace));
    EXPECT_EQ(r.experts.exclusive, expertSpecialisation(trace, 2, 0.6).exclusive);
    const auto steer = steeringSet(trace, "u", "v", 2, 0.7, 1, 2);
    ASSERT_EQ(r.steering.size(), steer.size());
    EXPECT_FALSE(steer.empty());
}

TEST(AnalyzeTrace, ChecksParametersWithOneLineReasons)
{
    const auto trace = smallTrace();
    AnalysisParams p;
    p.k = 2;
    EXPECT_EQ(checkAnalysisParams(p, trace), "");
    p.k = 5;
    EXPECT_NE(checkAnalysisParams(p, trace).find("k must be between 1 and"), std::string::npos);
    EXPECT_THROW(analyzeTrace(trace, p), Error);
    p.k = 2;
    p.threshold = 1.0;
    EXPECT_NE(checkAnalysisParams(p, trace).find("threshold"), std::string::npos);
    p.threshold = 0.4;
    p.steering = SteeringParams { "u", "xx", 2, 0.7, 1, 2 };
    EXPECT_NE(checkAnalysisParams(p, trace).find("'xx'"), std::string::npos);
    p.steering = SteeringParams { "u", "v", 2, 0.7, 1, 3 };
    EXPECT_NE(checkAnalysisParams(p, trace).find("layers"), std::string::npos);
    p.steering = SteeringParams { "u", "v", 2, 0.4, 1, 2 };
    EXPECT_NE(checkAnalysisParams(p, trace).find("steering threshold"), std::string::npos);
    for (const auto &reason : { checkAnalysisParams(p, trace) })
        EXPECT_EQ(reason.find('\n'), std::string::npos);
}

TEST(AnalyzeTrace, RefusesTracesWithNothingToCompare)
{
    AnalysisParams params;
    params.k = 2;
    auto empty = handmadeTrace(2, 4, 1, { 1 });
    EXPECT_THROW(analyzeTrace(empty, params), Error);
    auto silent = handmadeTrace(2, 4, 1, { 1 });
    addLanguage(silent, "a", { { 0, 0, 0, 0 }, { 0, 0, 0, 0 } }, { 0, 0 });
    EXPECT_THROW(analyzeTrace(silent, params), Error);
}

TEST(AnalysisJson, HasTheDocumentedFields)
{
    const auto trace = smallTrace();
    AnalysisParams params;
    params.k = 2;
    params.threshold = 0.6;
    params.steering = SteeringParams { "u", "v", 2, 0.7, 1, 2 };
    const auto r = analyzeTrace(trace, params);
    const auto j = analysisToJson(r, trace, "small.h5");

    EXPECT_EQ(j.at("source"), "small.h5");
    EXPECT_EQ(j.at("model").at("num_experts"), 4);
    EXPECT_EQ(j.at("languages"), nlohmann::json({ "w", "u", "v" }));
    EXPECT_EQ(j.at("similarity").at("layers"), nlohmann::json({ 1, 2 }));
    EXPECT_EQ(j.at("similarity").at("mean").at(1).at(2).get<double>(), r.similarity.mean[1][2]);
    const auto &perLayer = j.at("similarity").at("per_layer");
    ASSERT_EQ(perLayer.size(), 2u);
    EXPECT_EQ(perLayer.at(1).at("layer"), 2);
    EXPECT_EQ(
        perLayer.at(1).at("matrix").at(0).at(2).get<double>(), r.similarity.perLayer[2][0][2]);
    EXPECT_EQ(j.at("similarity").at("mean_pairwise_per_layer").at(0).get<double>(),
        r.similarity.meanPairwisePerLayer[1]);

    const auto &linkage = j.at("linkage");
    EXPECT_EQ(linkage.at("method"), "average");
    ASSERT_EQ(linkage.at("merges").size(), 2u);
    EXPECT_EQ(linkage.at("merges").at(0).at("members"), nlohmann::json({ "u", "v" }));
    EXPECT_EQ(linkage.at("merges").at(0).at("height").get<double>(), r.dendrogram.merges[0].height);
    EXPECT_EQ(linkage.at("merges").at(1).at("left"), r.dendrogram.merges[1].left);
    EXPECT_EQ(linkage.at("leaf_order").size(), 3u);

    EXPECT_EQ(j.at("entropy").at("u").size(), 3u);
    EXPECT_EQ(j.at("entropy").at("u").at(1).get<double>(), r.entropy[1][1]);

    const auto &experts = j.at("experts");
    std::size_t total = 0;
    for (const auto &label : r.languages) {
        const auto &list = r.experts.exclusive.at(label);
        EXPECT_EQ(experts.at("exclusive_counts").at(label), list.size());
        ASSERT_EQ(experts.at("exclusive").at(label).size(), list.size());
        for (std::size_t i = 0; i < list.size(); ++i)
            EXPECT_EQ(experts.at("exclusive").at(label).at(i),
                nlohmann::json({ list[i].first, list[i].second }));
        EXPECT_EQ(experts.at("exclusive_per_layer").at(label).size(), 3u);
        total += list.size();
    }
    EXPECT_GT(total, 0u);
    EXPECT_EQ(experts.at("shared_per_layer").size(), 3u);
    EXPECT_EQ(experts.at("shared_count"), r.experts.shared.size());

    EXPECT_EQ(j.at("parameters").at("k"), 2);
    EXPECT_EQ(j.at("parameters").at("threshold"), 0.6);
    EXPECT_EQ(j.at("parameters").at("linkage"), "average");
    EXPECT_EQ(j.at("steering").at("experts").size(), r.steering.size());
    EXPECT_EQ(j.at("steering").at("layers"), nlohmann::json({ 1, 2 }));

    params.steering.reset();
    EXPECT_FALSE(analysisToJson(analyzeTrace(trace, params), trace).contains("steering"));
}
