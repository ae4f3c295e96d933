// Optimal leaf ordering of a dendrogram: Z. Bar-Joseph, D. K. Gifford,
// T. S. Jaakkola, "Fast optimal leaf ordering for hierarchical clustering",
// Bioinformatics 17 (suppl. 1), 2001. Among the 2^(n-1) orders reachable by
// flipping merges, find one minimising the sum of distances between
// neighbouring leaves.
//
// For a node v with children L and R and leaves u in L, w in R, let
// C(v, u, w) be the cheapest order of v's leaves that starts at u and ends at
// w. Then C(v, u, w) = min over m in L, k in R of C(L, u, m) + D(m, k) +
// C(R, k, w), where m must lie in the other child of L than u (m = u if L is
// a leaf), likewise k and w in R. Splitting the minimum into T(u, k) = min_m
// C(L, u, m) + D(m, k) followed by min_k T(u, k) + C(R, k, w) makes the whole
// tree O(n^3). Every leaf pair has exactly one lowest common ancestor, so one
// n x n table holds C for all nodes.
#include "core/analysis/routing_analysis.h"

#include "core/common/error.h"

#include <limits>

namespace moescope {

namespace {

// Leaves are handled by their position in the unordered (left-first) order,
// where every cluster covers a contiguous range [begin, end).
struct Range
{
    int begin = 0, end = 0;
    int size() const { return end - begin; }
    bool contains(int x) const { return x >= begin && x < end; }
};

} // namespace

std::vector<int> optimalLeafOrder(
    const std::vector<LinkageMerge> &merges, const std::vector<std::vector<double>> &distance)
{
    const int n = static_cast<int>(merges.size()) + 1;
    if (distance.size() != static_cast<std::size_t>(n))
        throw Error("leaf ordering: distance matrix has " + std::to_string(distance.size())
            + " rows for " + std::to_string(n) + " leaves");
    for (const auto &row : distance)
        if (row.size() != static_cast<std::size_t>(n))
            throw Error("leaf ordering: distance matrix is not square");
    const std::vector<int> naive = dendrogramLeafOrder(merges, n);
    if (n <= 2)
        return naive;

    std::vector<int> position(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        position[static_cast<std::size_t>(naive[static_cast<std::size_t>(i)])] = i;
    const int clusters = 2 * n - 1;
    std::vector<Range> range(static_cast<std::size_t>(clusters));
    for (int leaf = 0; leaf < n; ++leaf) {
        const int p = position[static_cast<std::size_t>(leaf)];
        range[static_cast<std::size_t>(leaf)] = { p, p + 1 };
    }
    for (int i = 0; i + 1 < n; ++i) {
        const auto &m = merges[static_cast<std::size_t>(i)];
        range[static_cast<std::size_t>(n + i)] = { range[static_cast<std::size_t>(m.left)].begin,
            range[static_cast<std::size_t>(m.right)].end };
    }

    const auto idx = [n](int a, int b) { return static_cast<std::size_t>(a) * n + b; };
    std::vector<double> dist(static_cast<std::size_t>(n) * n);
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b)
            dist[idx(a, b)]
                = distance[static_cast<std::size_t>(naive[static_cast<std::size_t>(a)])]
                          [static_cast<std::size_t>(naive[static_cast<std::size_t>(b)])];

    // cost[a][b]: cheapest order of lca(a, b)'s leaves from a to b; it is
    // a ... endA[a][b] followed by startB[a][b] ... b.
    std::vector<double> cost(static_cast<std::size_t>(n) * n, 0.0);
    std::vector<int> endA(static_cast<std::size_t>(n) * n, -1), startB(endA);

    // Leaves of cluster c that may end an order of c starting at x.
    const auto partner = [&](int c, int x) -> Range {
        if (c < n)
            return { x, x + 1 };
        const auto &m = merges[static_cast<std::size_t>(c - n)];
        const Range left = range[static_cast<std::size_t>(m.left)];
        return left.contains(x) ? range[static_cast<std::size_t>(m.right)] : left;
    };
    constexpr double infinity = std::numeric_limits<double>::infinity();

    for (int i = 0; i + 1 < n; ++i) {
        const auto &merge = merges[static_cast<std::size_t>(i)];
        const Range L = range[static_cast<std::size_t>(merge.left)];
        const Range R = range[static_cast<std::size_t>(merge.right)];

        // viaM[u][k] = min over m of cost(u, m) + D(m, k), with its m.
        std::vector<double> viaM(static_cast<std::size_t>(L.size()) * R.size(), infinity);
        std::vector<int> bestM(viaM.size(), -1);
        for (int u = L.begin; u < L.end; ++u) {
            const Range ms = partner(merge.left, u);
            for (int k = R.begin; k < R.end; ++k) {
                const std::size_t t
                    = static_cast<std::size_t>(u - L.begin) * R.size() + (k - R.begin);
                for (int m = ms.begin; m < ms.end; ++m) {
                    const double c = cost[idx(u, m)] + dist[idx(m, k)];
                    if (c < viaM[t]) {
                        viaM[t] = c;
                        bestM[t] = m;
                    }
                }
            }
        }
        for (int u = L.begin; u < L.end; ++u) {
            for (int w = R.begin; w < R.end; ++w) {
                const Range ks = partner(merge.right, w);
                double best = infinity;
                int bestK = -1;
                for (int k = ks.begin; k < ks.end; ++k) {
                    const std::size_t t
                        = static_cast<std::size_t>(u - L.begin) * R.size() + (k - R.begin);
                    const double c = viaM[t] + cost[idx(k, w)];
                    if (c < best) {
                        best = c;
                        bestK = k;
                    }
                }
                const int m
                    = bestM[static_cast<std::size_t>(u - L.begin) * R.size() + (bestK - R.begin)];
                cost[idx(u, w)] = cost[idx(w, u)] = best;
                endA[idx(u, w)] = m;
                startB[idx(u, w)] = bestK;
                // The same order read backwards: w ... k then m ... u.
                endA[idx(w, u)] = bestK;
                startB[idx(w, u)] = m;
            }
        }
    }

    // The root's left child comes first, which fixes the mirror image.
    const auto &root = merges.back();
    const Range L = range[static_cast<std::size_t>(root.left)];
    const Range R = range[static_cast<std::size_t>(root.right)];
    int first = L.begin, last = R.begin;
    double best = infinity;
    for (int u = L.begin; u < L.end; ++u)
        for (int w = R.begin; w < R.end; ++w)
            if (cost[idx(u, w)] < best) {
                best = cost[idx(u, w)];
                first = u;
                last = w;
            }

    std::vector<int> order;
    order.reserve(static_cast<std::size_t>(n));
    std::vector<std::pair<int, int>> stack { { first, last } };
    while (!stack.empty()) {
        const auto [a, b] = stack.back();
        stack.pop_back();
        if (a == b) {
            order.push_back(naive[static_cast<std::size_t>(a)]);
            continue;
        }
        stack.push_back({ startB[idx(a, b)], b });
        stack.push_back({ a, endA[idx(a, b)] });
    }
    return order;
}

} // namespace moescope
