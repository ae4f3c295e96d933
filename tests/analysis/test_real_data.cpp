// The study's analyses on the bundled MGSM routing data (Qwen3-30B-A3B, 8
// languages) against values computed independently with numpy/scipy
// (tests/data/analysis/README.md).
#include "core/analysis/routing_analysis.h"
#include "core/common/atomic_file.h"
#include "core/trace/study_json.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

using namespace moescope;
using nlohmann::json;

namespace {

const std::string kBundledMgsm = MOESCOPE_SOURCE_DIR "/resources/data/qwen3-30b-a3b-mgsm";

const RoutingTrace &mgsmTrace()
{
    static const RoutingTrace trace = importStudyJson({ kBundledMgsm });
    return trace;
}

const json &reference()
{
    static const json ref
        = json::parse(readFile(MOESCOPE_TEST_DATA "/analysis/mgsm_reference.json"));
    return ref;
}

// Reference languages are listed by label; the trace may order them
// differently.
std::vector<std::size_t> referenceIndexOf(const std::vector<std::string> &labels)
{
    const auto refLabels = reference().at("languages").get<std::vector<std::string>>();
    std::vector<std::size_t> index;
    for (const auto &label : labels) {
        const auto it = std::find(refLabels.begin(), refLabels.end(), label);
        EXPECT_NE(it, refLabels.end()) << label;
        index.push_back(static_cast<std::size_t>(it - refLabels.begin()));
    }
    return index;
}

std::vector<std::string> labelsOf(const RoutingTrace &trace)
{
    std::vector<std::string> labels;
    for (const auto &l : trace.languages)
        labels.push_back(l.label);
    return labels;
}

} // namespace

TEST(MgsmData, HasTheStudysEightLanguages)
{
    auto labels = labelsOf(mgsmTrace());
    std::sort(labels.begin(), labels.end());
    EXPECT_EQ(
        labels, (std::vector<std::string> { "bn", "de", "en", "es", "fr", "ja", "sw", "zh" }));
    EXPECT_EQ(mgsmTrace().model.numLayers, 48);
    EXPECT_EQ(mgsmTrace().model.numExperts, 128);
}

TEST(MgsmData, SimilarityMatchesReference)
{
    const auto &trace = mgsmTrace();
    const auto s = routingSimilarity(trace);
    const auto idx = referenceIndexOf(labelsOf(trace));
    const auto &ref = reference().at("similarity");
    ASSERT_EQ(s.layers.size(), 48u);
    const std::size_t n = idx.size();
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t b = 0; b < n; ++b) {
            EXPECT_NEAR(s.mean[a][b], ref.at("mean").at(idx[a]).at(idx[b]).get<double>(), 1e-12);
            for (int l : s.layers)
                EXPECT_NEAR(s.perLayer[static_cast<std::size_t>(l)][a][b],
                    ref.at("per_layer").at(l).at(idx[a]).at(idx[b]).get<double>(), 1e-12);
        }
    for (int l : s.layers)
        EXPECT_NEAR(s.meanPairwisePerLayer[static_cast<std::size_t>(l)],
            ref.at("mean_pairwise_per_layer").at(l).get<double>(), 1e-12);
}

TEST(MgsmData, SpanishAndFrenchAreTheMostSimilarPairAndMergeFirst)
{
    const auto &trace = mgsmTrace();
    AnalysisParams params;
    const auto r = analyzeTrace(trace, params);
    std::size_t bestA = 0, bestB = 1;
    for (std::size_t a = 0; a < r.languages.size(); ++a)
        for (std::size_t b = a + 1; b < r.languages.size(); ++b)
            if (r.similarity.mean[a][b] > r.similarity.mean[bestA][bestB]) {
                bestA = a;
                bestB = b;
            }
    std::vector<std::string> pair { r.languages[bestA], r.languages[bestB] };
    std::sort(pair.begin(), pair.end());
    EXPECT_EQ(pair, (std::vector<std::string> { "es", "fr" }));
    EXPECT_EQ(r.dendrogram.merges.at(0).members, (std::vector<std::string> { "es", "fr" }));
}

TEST(MgsmData, LinkageAndLeafOrderMatchReferenceForEveryMethod)
{
    // Labels in the reference's order, so scipy's cluster ids apply as-is.
    const auto refLabels = reference().at("languages").get<std::vector<std::string>>();
    const auto s = routingSimilarity(mgsmTrace());
    const auto idx = referenceIndexOf(labelsOf(mgsmTrace()));
    const std::size_t n = refLabels.size();
    std::vector<std::vector<double>> distance(n, std::vector<double>(n, 0.0));
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t b = 0; b < n; ++b)
            if (a != b)
                distance[idx[a]][idx[b]] = 1.0 - s.mean[a][b];

    for (Linkage method : { Linkage::Average, Linkage::Single, Linkage::Complete, Linkage::Ward }) {
        SCOPED_TRACE(linkageName(method));
        const auto &ref = reference().at("linkage").at(linkageName(method));
        const auto d = clusterLanguages(refLabels, distance, method);
        ASSERT_EQ(d.merges.size(), ref.at("merges").size());
        for (std::size_t i = 0; i < d.merges.size(); ++i) {
            const auto &m = ref.at("merges").at(i);
            EXPECT_EQ(d.merges[i].left, m.at("left").get<int>()) << "merge " << i;
            EXPECT_EQ(d.merges[i].right, m.at("right").get<int>()) << "merge " << i;
            EXPECT_NEAR(d.merges[i].height, m.at("height").get<double>(), 1e-12) << "merge " << i;
            EXPECT_EQ(d.merges[i].members, m.at("members").get<std::vector<std::string>>());
        }
        std::vector<std::string> order;
        for (int leaf : d.leafOrder)
            order.push_back(refLabels[static_cast<std::size_t>(leaf)]);
        EXPECT_EQ(order, ref.at("leaf_order").get<std::vector<std::string>>());
    }
}

TEST(MgsmData, EntropyMatchesReference)
{
    const auto &trace = mgsmTrace();
    const auto h = routingEntropy(trace);
    for (std::size_t t = 0; t < trace.languages.size(); ++t) {
        const auto expected
            = reference().at("entropy").at(trace.languages[t].label).get<std::vector<double>>();
        ASSERT_EQ(h[t].size(), expected.size());
        for (std::size_t l = 0; l < expected.size(); ++l)
            EXPECT_NEAR(h[t][l], expected[l], 1e-12);
    }
}

TEST(MgsmData, ExclusiveAndSharedExpertsMatchReference)
{
    const auto &trace = mgsmTrace();
    const auto &ref = reference().at("experts");
    const auto x
        = expertSpecialisation(trace, ref.at("k").get<int>(), ref.at("threshold").get<double>());
    for (const auto &lang : trace.languages) {
        SCOPED_TRACE(lang.label);
        std::vector<std::pair<int, int>> expected;
        for (const auto &cell : ref.at("exclusive").at(lang.label))
            expected.emplace_back(cell.at(0).get<int>(), cell.at(1).get<int>());
        EXPECT_EQ(x.exclusive.at(lang.label), expected);
        EXPECT_EQ(x.exclusive.at(lang.label).size(),
            ref.at("exclusive_counts").at(lang.label).get<std::size_t>());
    }
    EXPECT_EQ(x.shared.size(), ref.at("shared_count").get<std::size_t>());
    EXPECT_EQ(x.sharedPerLayer, ref.at("shared_per_layer").get<std::vector<int>>());
}

TEST(MgsmData, SteeringSetMatchesReference)
{
    const auto &ref = reference().at("steering");
    const auto set = steeringSet(mgsmTrace(), ref.at("a"), ref.at("b"), ref.at("k").get<int>(),
        ref.at("threshold").get<double>(), ref.at("layers").at(0), ref.at("layers").at(1));
    ASSERT_EQ(set.size(), ref.at("experts").size());
    for (std::size_t i = 0; i < set.size(); ++i) {
        const auto &e = ref.at("experts").at(i);
        EXPECT_EQ(set[i].layer, e.at("layer").get<int>());
        EXPECT_EQ(set[i].expert, e.at("expert").get<int>());
        EXPECT_NEAR(set[i].shareA, e.at("share_a").get<double>(), 1e-12);
    }
}
