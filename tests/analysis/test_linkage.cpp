#include "core/analysis/routing_analysis.h"
#include "core/common/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

using namespace moescope;

namespace {

using Matrix = std::vector<std::vector<double>>;
const std::vector<std::string> kLabels { "A", "B", "C", "D" };

// A-B 0.2, B-C 0.3, C-D 0.35, A-C 0.6, B-D 0.8, A-D 0.9: a chain that single
// linkage follows and the other methods do not.
const Matrix kChain { { 0, 0.2, 0.6, 0.9 }, { 0.2, 0, 0.3, 0.8 }, { 0.6, 0.3, 0, 0.35 },
    { 0.9, 0.8, 0.35, 0 } };

struct ExpectedMerge
{
    int left, right;
    double height;
    std::vector<std::string> members;
};

void expectMerges(const Dendrogram &d, const std::vector<ExpectedMerge> &expected)
{
    ASSERT_EQ(d.merges.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        SCOPED_TRACE("merge " + std::to_string(i));
        EXPECT_EQ(d.merges[i].left, expected[i].left);
        EXPECT_EQ(d.merges[i].right, expected[i].right);
        EXPECT_NEAR(d.merges[i].height, expected[i].height, 1e-15);
        EXPECT_EQ(d.merges[i].members, expected[i].members);
    }
}

} // namespace

TEST(Linkage, SingleFollowsTheChain)
{
    // A+B at 0.2 (id 4). d(AB,C) = min(0.6, 0.3) = 0.3 < d(C,D) = 0.35, so
    // C joins at 0.3 (id 5); d(ABC,D) = min(0.9, 0.8, 0.35) = 0.35.
    expectMerges(clusterLanguages(kLabels, kChain, Linkage::Single),
        { { 0, 1, 0.2, { "A", "B" } }, { 2, 4, 0.3, { "A", "B", "C" } },
            { 3, 5, 0.35, { "A", "B", "C", "D" } } });
}

TEST(Linkage, CompleteUsesTheFarthestPair)
{
    // A+B at 0.2; d(AB,C) = max(0.6, 0.3) = 0.6 > 0.35, so C+D at 0.35;
    // d(AB,CD) = max of all four = 0.9.
    expectMerges(clusterLanguages(kLabels, kChain, Linkage::Complete),
        { { 0, 1, 0.2, { "A", "B" } }, { 2, 3, 0.35, { "C", "D" } },
            { 4, 5, 0.9, { "A", "B", "C", "D" } } });
}

TEST(Linkage, AverageUsesTheMeanPairDistance)
{
    // d(AB,C) = 0.45, d(AB,D) = 0.85, so C+D at 0.35;
    // d(AB,CD) = (0.6 + 0.9 + 0.3 + 0.8) / 4 = 0.65.
    const auto d = clusterLanguages(kLabels, kChain, Linkage::Average);
    expectMerges(d,
        { { 0, 1, 0.2, { "A", "B" } }, { 2, 3, 0.35, { "C", "D" } },
            { 4, 5, 0.65, { "A", "B", "C", "D" } } });
    EXPECT_EQ(d.linkage, Linkage::Average);
    EXPECT_EQ(d.labels, kLabels);
}

TEST(Linkage, WardUsesTheLanceWilliamsRecurrenceOnDistances)
{
    // After A+B (0.2):
    //   d(AB,C)^2 = (2*0.6^2 + 2*0.3^2 - 0.2^2) / 3 = 0.86/3   (0.535 > 0.35)
    //   d(AB,D)^2 = (2*0.9^2 + 2*0.8^2 - 0.2^2) / 3 = 2.86/3
    // so C+D at 0.35, then
    //   d(AB,CD)^2 = (3*0.86/3 + 3*2.86/3 - 2*0.35^2) / 4 = 3.475/4 = 0.86875.
    expectMerges(clusterLanguages(kLabels, kChain, Linkage::Ward),
        { { 0, 1, 0.2, { "A", "B" } }, { 2, 3, 0.35, { "C", "D" } },
            { 4, 5, std::sqrt(0.86875), { "A", "B", "C", "D" } } });
}

TEST(Linkage, TiesMergeTheLowestClusterIdsFirst)
{
    const Matrix equal { { 0, 1, 1, 1 }, { 1, 0, 1, 1 }, { 1, 1, 0, 1 }, { 1, 1, 1, 0 } };
    // Candidates after 0+1 (id 4): (2,3), (2,4), (3,4), all at 1 -> (2,3).
    for (Linkage l : { Linkage::Average, Linkage::Single, Linkage::Complete }) {
        SCOPED_TRACE(linkageName(l));
        expectMerges(clusterLanguages(kLabels, equal, l),
            { { 0, 1, 1, { "A", "B" } }, { 2, 3, 1, { "C", "D" } },
                { 4, 5, 1, { "A", "B", "C", "D" } } });
    }
}

TEST(Linkage, MembersAreSortedLabelsNotInputOrder)
{
    const std::vector<std::string> labels { "zh", "en", "de" };
    const Matrix d { { 0, 0.5, 0.2 }, { 0.5, 0, 0.4 }, { 0.2, 0.4, 0 } };
    const auto r = clusterLanguages(labels, d, Linkage::Average);
    ASSERT_EQ(r.merges.size(), 2u);
    EXPECT_EQ(r.merges[0].members, (std::vector<std::string> { "de", "zh" }));
    EXPECT_EQ(r.merges[0].left, 0);
    EXPECT_EQ(r.merges[0].right, 2);
    EXPECT_EQ(r.merges[1].members, (std::vector<std::string> { "de", "en", "zh" }));
    EXPECT_NEAR(r.merges[1].height, 0.45, 1e-15);
}

TEST(Linkage, SmallAndInvalidInputs)
{
    const auto one = clusterLanguages({ "en" }, { { 0 } }, Linkage::Ward);
    EXPECT_TRUE(one.merges.empty());
    EXPECT_EQ(one.leafOrder, std::vector<int> { 0 });
    EXPECT_TRUE(clusterLanguages({}, {}, Linkage::Average).merges.empty());
    EXPECT_THROW(clusterLanguages(kLabels, { { 0, 1 }, { 1, 0 } }, Linkage::Average), Error);
    EXPECT_THROW(clusterLanguages({ "a", "b" }, { { 0, 1 }, { 2, 0 } }, Linkage::Average), Error);
    EXPECT_THROW(clusterLanguages({ "a", "b" }, { { 0, -1 }, { -1, 0 } }, Linkage::Average), Error);
    EXPECT_THROW(
        clusterLanguages({ "a", "b" }, { { 0, NAN }, { NAN, 0 } }, Linkage::Average), Error);
}

TEST(Linkage, ParsesAndNamesMethods)
{
    for (Linkage l : { Linkage::Average, Linkage::Single, Linkage::Complete, Linkage::Ward })
        EXPECT_EQ(parseLinkage(linkageName(l)), l);
    EXPECT_THROW(parseLinkage("centroid"), Error);
}

TEST(LeafOrdering, FlipsChildrenToShortenTheChain)
{
    // A-B 0.1 and C-D 0.2 merge first; across the two pairs A-D (0.5) is the
    // closest. Unordered: A B C D costs 0.1 + 0.9 + 0.2 = 1.2. With the root's
    // left child first the orders cost ABCD 1.2, ABDC 1.0, BACD 1.1 and
    // BADC 0.1 + 0.5 + 0.2 = 0.8, the optimum.
    const Matrix d { { 0, 0.1, 0.8, 0.5 }, { 0.1, 0, 0.9, 0.7 }, { 0.8, 0.9, 0, 0.2 },
        { 0.5, 0.7, 0.2, 0 } };
    const auto r = clusterLanguages(kLabels, d, Linkage::Average);
    EXPECT_EQ(dendrogramLeafOrder(r.merges, 4), (std::vector<int> { 0, 1, 2, 3 }));
    EXPECT_EQ(r.leafOrder, (std::vector<int> { 1, 0, 3, 2 }));
}

namespace {

double chainCost(const std::vector<int> &order, const Matrix &d)
{
    double cost = 0;
    for (std::size_t i = 0; i + 1 < order.size(); ++i)
        cost += d[static_cast<std::size_t>(order[i])][static_cast<std::size_t>(order[i + 1])];
    return cost;
}

// Every order reachable by flipping merges, root never flipped.
std::vector<std::vector<int>> allDendrogramOrders(const std::vector<LinkageMerge> &merges, int n)
{
    std::vector<std::vector<int>> orders;
    const int internal = static_cast<int>(merges.size());
    for (unsigned bits = 0; bits < (1u << (internal - 1)); ++bits) {
        std::function<std::vector<int>(int)> leaves = [&](int node) -> std::vector<int> {
            if (node < n)
                return { node };
            const int i = node - n;
            auto a = leaves(merges[static_cast<std::size_t>(i)].left);
            auto b = leaves(merges[static_cast<std::size_t>(i)].right);
            if (i < internal - 1 && (bits >> i) & 1u)
                std::swap(a, b);
            a.insert(a.end(), b.begin(), b.end());
            return a;
        };
        orders.push_back(leaves(n + internal - 1));
    }
    return orders;
}

} // namespace

TEST(LeafOrdering, MatchesBruteForceOnRandomTrees)
{
    std::mt19937 rng(20260114);
    std::uniform_real_distribution<double> uniform(0.01, 1.0);
    for (int n : { 5, 6, 7, 8, 9 }) {
        for (int trial = 0; trial < 6; ++trial) {
            Matrix d(
                static_cast<std::size_t>(n), std::vector<double>(static_cast<std::size_t>(n), 0));
            for (int a = 0; a < n; ++a)
                for (int b = a + 1; b < n; ++b)
                    d[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)]
                        = d[static_cast<std::size_t>(b)][static_cast<std::size_t>(a)]
                        = uniform(rng);
            std::vector<std::string> labels;
            for (int i = 0; i < n; ++i)
                labels.push_back("L" + std::to_string(i));
            for (Linkage l :
                { Linkage::Average, Linkage::Single, Linkage::Complete, Linkage::Ward }) {
                SCOPED_TRACE("n " + std::to_string(n) + " trial " + std::to_string(trial) + " "
                    + linkageName(l));
                const auto r = clusterLanguages(labels, d, l);
                const auto orders = allDendrogramOrders(r.merges, n);
                double best = std::numeric_limits<double>::infinity();
                for (const auto &o : orders)
                    best = std::min(best, chainCost(o, d));
                EXPECT_NEAR(chainCost(r.leafOrder, d), best, 1e-12);
                // The result must be one of the tree's own orders.
                EXPECT_NE(std::find(orders.begin(), orders.end(), r.leafOrder), orders.end());
            }
        }
    }
}

TEST(LeafOrdering, BeatsScipysHeuristicOnItsIssueExample)
{
    // scipy issue #11227: complete linkage on this matrix; scipy returns an
    // order costing more than 0, 1, 2, 3.
    const Matrix d { { 0, 0.46680166, 0.7747411, 0.79942054 },
        { 0.46680166, 0, 0.28626558, 0.68441929 }, { 0.7747411, 0.28626558, 0, 0.74692541 },
        { 0.79942054, 0.68441929, 0.74692541, 0 } };
    const auto r = clusterLanguages(kLabels, d, Linkage::Complete);
    // Tree: 1+2, then 3 joins them, then 0 (the root's left child) joins.
    ASSERT_EQ(r.merges.back().left, 0);
    EXPECT_EQ(r.leafOrder, (std::vector<int> { 0, 1, 2, 3 }))
        << "cost " << chainCost(r.leafOrder, d);
}
