#pragma once

// The study's analyses (arXiv 2601.14050, sections on routing similarity and
// expert specialisation) as plain functions over a RoutingTrace. Qt-free; the
// CLI's `analyze` and the GUI call exactly these.

#include "core/trace/routing_trace.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace moescope {

enum class Linkage { Average, Single, Complete, Ward };
Linkage parseLinkage(const std::string &name); // throws Error on unknown names
std::string linkageName(Linkage l);

// The study's steering experiment (en,zh; k 20; thr 0.7; layers 10-39).
struct SteeringParams
{
    std::string a, b;        // language labels
    int k = 20;
    double threshold = 0.7;  // must lie in (0.5, 1): the band (1 - thr, thr) is empty otherwise
    int firstLayer = 10, lastLayer = 39; // inclusive
};

struct AnalysisParams
{
    int k = 15;              // experts kept per language and layer
    double threshold = 0.4;  // share above which an expert is exclusive
    Linkage linkage = Linkage::Average;
    std::optional<SteeringParams> steering; // computed only when set
};

// Empty when params suit the trace; otherwise a one-line reason (k outside
// [1, num_experts], threshold outside (0, 1), unknown steering labels, ...).
// The CLI turns it into a usage error, analyzeTrace() into an Error.
std::string checkAnalysisParams(const AnalysisParams &params, const RoutingTrace &trace);

// Layers the similarity means run over: the model's MoE layers (all layers
// when moe_layers is empty) in which every language routed at least one
// token. A distribution over zero tokens is undefined, so such a layer is
// left out for every pair rather than compared as if it were uniform.
std::vector<int> analysedLayers(const RoutingTrace &trace);

// f[l][e] = counts / tokens (sums to ~top_k); p[l] = f renormalised to 1.
// Layers with zero tokens give all-zero rows.
std::vector<double> activationFrequency(const LanguageRouting &lang, const ModelSummary &model);
std::vector<double> routingDistribution(const LanguageRouting &lang, const ModelSummary &model);

// 1 - JSD with base-2 logarithms, in [0, 1]; p and q are distributions
// (each sums to 1). Symmetric bit for bit.
double jsSimilarity(const double *p, const double *q, int n);

struct SimilarityResult
{
    // [numLayers][nLang][nLang]; only MoE layers are meaningful (others 0).
    std::vector<std::vector<std::vector<double>>> perLayer;
    std::vector<std::vector<double>> mean;  // averaged over MoE layers
    std::vector<double> meanPairwisePerLayer; // [numLayers] mean over pairs a<b
    std::vector<int> layers; // the layers averaged over, see analysedLayers()
};
SimilarityResult routingSimilarity(const RoutingTrace &trace);

struct LinkageMerge
{
    int left = 0, right = 0;          // scipy-style cluster ids (< n: leaves)
    double height = 0;                // distance at which they merge
    std::vector<std::string> members; // sorted labels of the new cluster
};
struct Dendrogram
{
    std::vector<std::string> labels;
    std::vector<LinkageMerge> merges; // n-1 merges, in order
    std::vector<int> leafOrder;       // optimal leaf ordering (Bar-Joseph et al.)
    Linkage linkage = Linkage::Average;
};
// distance = 1 - similarity (square, symmetric, zero diagonal).
// Ties (equal distances) merge the pair with the smallest lower cluster id,
// then the smallest higher id; left is always the lower id (as in scipy).
Dendrogram clusterLanguages(const std::vector<std::string> &labels,
                            const std::vector<std::vector<double>> &distance, Linkage linkage);

// Leaves left to right when every merge draws `left` first (scipy's
// leaves_list of the unordered linkage).
std::vector<int> dendrogramLeafOrder(const std::vector<LinkageMerge> &merges, int numLeaves);

// Flips children of the merges so that the sum of distances between adjacent
// leaves is minimal (Bar-Joseph, Gifford, Jaakkola 2001), exactly (scipy's
// optimal_leaf_ordering is a heuristic above three levels, scipy issue
// #11227). The order starts with a leaf of the root's left child; among
// equally good orders the first found scanning leaves in dendrogramLeafOrder
// wins.
std::vector<int> optimalLeafOrder(const std::vector<LinkageMerge> &merges,
                                  const std::vector<std::vector<double>> &distance);

// [nLang][numLayers] routing entropy of p (base 2).
std::vector<std::vector<double>> routingEntropy(const RoutingTrace &trace);

// Kept experts: a language's k experts with the largest f in a layer (ties to
// the lower expert index) that were selected at least once; the others count
// 0 for that language. Exclusive to T: share_T > threshold (with a threshold
// below 0.5 an expert can be exclusive to two languages; the study's rule is
// kept as is). Shared: kept by at least two languages and exclusive to none.
struct ExpertSpecialisation
{
    // share[lang][layer*E + e] = f_T / sum over languages of f (top-k filtered).
    std::vector<std::vector<double>> share;
    std::map<std::string, std::vector<std::pair<int, int>>> exclusive; // label -> (layer, expert)
    std::vector<std::vector<int>> exclusivePerLayer; // [nLang][numLayers]
    std::vector<int> sharedPerLayer;                 // [numLayers]
    std::vector<std::pair<int, int>> shared;         // (layer, expert)
};
ExpertSpecialisation expertSpecialisation(const RoutingTrace &trace, int k, double threshold);

struct SteeringExpert
{
    int layer = 0, expert = 0;
    double shareA = 0; // A's share computed over A and B only
};
// Experts in the top-k of both A and B with shareA in (1 - thr, thr), over
// layers [firstLayer, lastLayer]. Study: en,zh; k 20; thr 0.7; layers 10-39.
// Throws Error for unknown or equal labels, k outside [1, E], threshold
// outside (0.5, 1) or layers outside the model.
std::vector<SteeringExpert> steeringSet(const RoutingTrace &trace, const std::string &a,
                                        const std::string &b, int k, double threshold,
                                        int firstLayer, int lastLayer);

struct AnalysisResult
{
    AnalysisParams params;
    std::vector<std::string> languages;
    SimilarityResult similarity;
    Dendrogram dendrogram;
    std::vector<std::vector<double>> entropy;
    ExpertSpecialisation experts;
    std::vector<SteeringExpert> steering; // empty unless params.steering is set
};
AnalysisResult analyzeTrace(const RoutingTrace &trace, const AnalysisParams &params);

} // namespace moescope
