#pragma once

// The study's analyses (arXiv 2601.14050, sections on routing similarity and
// expert specialisation) as plain functions over a RoutingTrace. Qt-free; the
// CLI's `analyze` and the GUI call exactly these.

#include "core/trace/routing_trace.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace moescope {

enum class Linkage { Average, Single, Complete, Ward };
Linkage parseLinkage(const std::string &name); // throws Error on unknown names
std::string linkageName(Linkage l);

struct AnalysisParams
{
    int k = 15;              // experts kept per language and layer
    double threshold = 0.4;  // share above which an expert is exclusive
    Linkage linkage = Linkage::Average;
};

// f[l][e] = counts / tokens (sums to ~top_k); p[l] = f renormalised to 1.
// Layers with zero tokens give all-zero rows.
std::vector<double> activationFrequency(const LanguageRouting &lang, const ModelSummary &model);
std::vector<double> routingDistribution(const LanguageRouting &lang, const ModelSummary &model);

// 1 - JSD with base-2 logarithms, in [0, 1].
double jsSimilarity(const double *p, const double *q, int n);

struct SimilarityResult
{
    // [numLayers][nLang][nLang]; only MoE layers are meaningful (others 0).
    std::vector<std::vector<std::vector<double>>> perLayer;
    std::vector<std::vector<double>> mean;  // averaged over MoE layers
    std::vector<double> meanPairwisePerLayer; // [numLayers] mean over pairs a<b
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
};
// distance = 1 - similarity (square, symmetric, zero diagonal).
Dendrogram clusterLanguages(const std::vector<std::string> &labels,
                            const std::vector<std::vector<double>> &distance, Linkage linkage);

// [nLang][numLayers] routing entropy of p (base 2).
std::vector<std::vector<double>> routingEntropy(const RoutingTrace &trace);

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
};
AnalysisResult analyzeTrace(const RoutingTrace &trace, const AnalysisParams &params);

} // namespace moescope
