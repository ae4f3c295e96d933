// Agglomerative clustering of languages on 1 - mean routing similarity,
// with the Lance-Williams updates scipy.cluster.hierarchy.linkage uses, so
// heights and merge order match scipy on the same distance matrix.
#include "core/analysis/routing_analysis.h"

#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace moescope {

Linkage parseLinkage(const std::string &name)
{
    if (name == "average")
        return Linkage::Average;
    if (name == "single")
        return Linkage::Single;
    if (name == "complete")
        return Linkage::Complete;
    if (name == "ward")
        return Linkage::Ward;
    throw Error("unknown linkage '" + name + "' (expected average, single, complete or ward)");
}

std::string linkageName(Linkage l)
{
    switch (l) {
    case Linkage::Average:
        return "average";
    case Linkage::Single:
        return "single";
    case Linkage::Complete:
        return "complete";
    case Linkage::Ward:
        return "ward";
    }
    return "average";
}

namespace {

void checkDistanceMatrix(const std::vector<std::vector<double>> &distance, std::size_t n)
{
    if (distance.size() != n)
        throw Error("distance matrix has " + std::to_string(distance.size()) + " rows for "
            + std::to_string(n) + " labels");
    for (std::size_t i = 0; i < n; ++i) {
        if (distance[i].size() != n)
            throw Error("distance matrix row " + std::to_string(i) + " has "
                + std::to_string(distance[i].size()) + " values, expected " + std::to_string(n));
        for (std::size_t j = 0; j < n; ++j) {
            const double d = distance[i][j];
            if (!std::isfinite(d) || d < 0)
                throw Error("distance matrix has a negative or non-finite entry at ("
                    + std::to_string(i) + ", " + std::to_string(j) + ")");
        }
    }
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j)
            if (std::abs(distance[i][j] - distance[j][i]) > 1e-9)
                throw Error("distance matrix is not symmetric at (" + std::to_string(i) + ", "
                    + std::to_string(j) + ")");
}

// Distance from cluster r to the union of s and t (sizes nr, ns, nt), given
// the distances before the merge: the Lance-Williams recurrence of each
// method. Ward's is scipy's form on the given (not squared) distances.
double updatedDistance(
    Linkage linkage, double drs, double drt, double dst, double nr, double ns, double nt)
{
    switch (linkage) {
    case Linkage::Single:
        return std::min(drs, drt);
    case Linkage::Complete:
        return std::max(drs, drt);
    case Linkage::Average:
        return (ns * drs + nt * drt) / (ns + nt);
    case Linkage::Ward: {
        // dst is the smallest active distance, so nr*dst^2 <= nr*drs^2 and the
        // radicand is never negative.
        const double radicand
            = ((nr + ns) * drs * drs + (nr + nt) * drt * drt - nr * dst * dst) / (nr + ns + nt);
        return std::sqrt(std::max(radicand, 0.0));
    }
    }
    return 0;
}

} // namespace

Dendrogram clusterLanguages(const std::vector<std::string> &labels,
    const std::vector<std::vector<double>> &distance, Linkage linkage)
{
    const std::size_t n = labels.size();
    checkDistanceMatrix(distance, n);

    Dendrogram result;
    result.linkage = linkage;
    result.labels = labels;
    if (n == 0)
        return result;

    // Slot i holds an active cluster; a merge reuses the lower slot. d is the
    // working distance matrix between slots.
    std::vector<std::vector<double>> d = distance;
    std::vector<int> id(n), size(n, 1);
    std::vector<std::vector<int>> members(n);
    std::vector<bool> active(n, true);
    for (std::size_t i = 0; i < n; ++i) {
        id[i] = static_cast<int>(i);
        members[i] = { static_cast<int>(i) };
    }

    for (std::size_t step = 0; step + 1 < n; ++step) {
        std::size_t bestS = 0, bestT = 0;
        double best = std::numeric_limits<double>::infinity();
        std::pair<int, int> bestIds { std::numeric_limits<int>::max(), 0 };
        for (std::size_t s = 0; s < n; ++s) {
            if (!active[s])
                continue;
            for (std::size_t t = s + 1; t < n; ++t) {
                if (!active[t])
                    continue;
                const std::pair<int, int> ids = std::minmax(id[s], id[t]);
                if (d[s][t] < best || (d[s][t] == best && ids < bestIds)) {
                    best = d[s][t];
                    bestIds = ids;
                    bestS = s;
                    bestT = t;
                }
            }
        }

        const double ns = size[bestS], nt = size[bestT];
        for (std::size_t r = 0; r < n; ++r) {
            if (!active[r] || r == bestS || r == bestT)
                continue;
            const double v
                = updatedDistance(linkage, d[r][bestS], d[r][bestT], best, size[r], ns, nt);
            d[r][bestS] = d[bestS][r] = v;
        }

        LinkageMerge merge;
        merge.left = bestIds.first;
        merge.right = bestIds.second;
        merge.height = best;
        std::vector<int> joined = members[bestS];
        joined.insert(joined.end(), members[bestT].begin(), members[bestT].end());
        for (int leaf : joined)
            merge.members.push_back(labels[static_cast<std::size_t>(leaf)]);
        std::sort(merge.members.begin(), merge.members.end());
        result.merges.push_back(std::move(merge));

        members[bestS] = std::move(joined);
        members[bestT].clear();
        size[bestS] += size[bestT];
        id[bestS] = static_cast<int>(n + step);
        active[bestT] = false;
    }
    result.leafOrder = optimalLeafOrder(result.merges, distance);
    return result;
}

std::vector<int> dendrogramLeafOrder(const std::vector<LinkageMerge> &merges, int numLeaves)
{
    if (numLeaves <= 0)
        return {};
    if (merges.size() + 1 != static_cast<std::size_t>(numLeaves))
        throw Error("a dendrogram over " + std::to_string(numLeaves) + " leaves needs "
            + std::to_string(numLeaves - 1) + " merges, got " + std::to_string(merges.size()));
    // Iterative depth-first walk from the root, left child first.
    std::vector<int> order, stack { numLeaves + static_cast<int>(merges.size()) - 1 };
    while (!stack.empty()) {
        const int node = stack.back();
        stack.pop_back();
        if (node < numLeaves) {
            order.push_back(node);
            continue;
        }
        const auto &m = merges[static_cast<std::size_t>(node - numLeaves)];
        if (m.left >= node || m.right >= node || m.left < 0 || m.right < 0)
            throw Error("merge " + std::to_string(node - numLeaves)
                + " refers to a cluster that does not exist yet");
        stack.push_back(m.right);
        stack.push_back(m.left);
    }
    std::vector<bool> seen(static_cast<std::size_t>(numLeaves), false);
    for (int leaf : order) {
        if (seen[static_cast<std::size_t>(leaf)])
            throw Error("the merges do not form one tree over all leaves");
        seen[static_cast<std::size_t>(leaf)] = true;
    }
    if (order.size() != static_cast<std::size_t>(numLeaves))
        throw Error("the merges do not form one tree over all leaves");
    return order;
}

} // namespace moescope
