// Batch invariance (docs/engine.md): in the default mode a token's router
// logits, expert choices, gate weights and logits are the same bits whatever
// else is in its batch, however the batch is padded, for every kernel path
// this CPU runs. Sequences of different lengths go through one by one, in
// batches of 3 and in one batch of 8 (left-padded), on every bf16 fixture.
#include "core/model/decoder.h"
#include "core/model/kernel_paths.h"
#include "core/model/moe_model.h"
#include "model_test_support.h"

#include <gtest/gtest.h>

#include <c10/core/InferenceMode.h>

#include <iostream>

using namespace moescope::model;
using moescope::test::fixtureDir;

namespace {

// The kernel paths this CPU runs; the others are named on stdout, since a
// CPU without them cannot check them.
std::vector<kernels::KernelPath> runnablePaths()
{
    std::vector<kernels::KernelPath> paths;
    for (auto path : { kernels::KernelPath::Avx2Widen, kernels::KernelPath::Avx512Dot }) {
        if (kernels::pathSupported(path))
            paths.push_back(path);
        else
            std::cout << "[ SKIPPED  ] kernel path " << kernels::pathName(path)
                      << ": this CPU does not have its instructions\n";
    }
    return paths;
}

struct PathGuard
{
    explicit PathGuard(kernels::KernelPath path) { kernels::forcePath(path); }
    ~PathGuard() { kernels::forcePath(std::nullopt); }
};

struct TokenRouting
{
    // Per MoE layer: router logits [E], chosen experts [k], weights [k].
    std::map<int, std::vector<at::Tensor>> logits, experts, weights;
    at::Tensor tokenLogits; // [V]
};

// Runs the sequences as one left-padded batch and returns, per sequence,
// each real token's routing and logits.
std::vector<std::vector<TokenRouting>> runBatch(const MoeModel &model, const std::vector<std::vector<std::int64_t>> &seqs)
{
    std::int64_t T = 0;
    for (const auto &s : seqs)
        T = std::max<std::int64_t>(T, static_cast<std::int64_t>(s.size()));
    const auto B = static_cast<std::int64_t>(seqs.size());
    auto ids = at::full({ B, T }, 3, at::kLong);
    auto mask = at::zeros({ B, T }, at::kLong);
    for (std::int64_t b = 0; b < B; ++b) {
        const auto len = static_cast<std::int64_t>(seqs[static_cast<std::size_t>(b)].size());
        for (std::int64_t t = 0; t < len; ++t)
            ids[b][T - len + t] = seqs[static_cast<std::size_t>(b)][static_cast<std::size_t>(t)];
        mask[b].narrow(0, T - len, len).fill_(1);
    }
    RoutingCapture capture;
    const bool padded = std::any_of(seqs.begin(), seqs.end(), [&](const auto &s) { return static_cast<std::int64_t>(s.size()) < T; });
    const auto logits = moescope::test::logitsOf(model, ids, padded ? mask : at::Tensor(), &capture);
    std::vector<std::vector<TokenRouting>> out(static_cast<std::size_t>(B));
    for (std::int64_t b = 0; b < B; ++b) {
        const auto len = static_cast<std::int64_t>(seqs[static_cast<std::size_t>(b)].size());
        for (std::int64_t t = T - len; t < T; ++t) {
            TokenRouting r;
            const auto row = b * T + t;
            for (const auto &[layer, c] : capture.layers) {
                r.logits[layer].push_back(c.routerLogits[row].clone());
                r.experts[layer].push_back(c.topkIdx[row].clone());
                r.weights[layer].push_back(c.topkWeights[row].clone());
            }
            r.tokenLogits = logits[b][t].clone();
            out[static_cast<std::size_t>(b)].push_back(std::move(r));
        }
    }
    return out;
}

std::string bitwiseDifference(const TokenRouting &a, const TokenRouting &b)
{
    for (const auto &[layer, logits] : a.logits) {
        if (!at::equal(logits[0], b.logits.at(layer)[0]))
            return "router logits of layer " + std::to_string(layer);
        if (!at::equal(a.experts.at(layer)[0], b.experts.at(layer)[0]))
            return "experts of layer " + std::to_string(layer);
        if (!at::equal(a.weights.at(layer)[0], b.weights.at(layer)[0]))
            return "gate weights of layer " + std::to_string(layer);
    }
    if (!at::equal(a.tokenLogits, b.tokenLogits))
        return "logits";
    return {};
}

class BatchInvariance : public ::testing::TestWithParam<std::string>
{
};

TEST_P(BatchInvariance, RoutingIsTheSameBitsInAnyBatch)
{
    const auto paths = runnablePaths();
    if (paths.empty())
        GTEST_SKIP() << "no bf16 kernel runs on this CPU";
    c10::InferenceMode guard;
    for (const auto path : paths) {
        SCOPED_TRACE(kernels::pathName(path));
        PathGuard forced(path);
        const auto model = MoeModel::load(fixtureDir(GetParam()));
        ASSERT_EQ(model.decoder().computeType(), at::kBFloat16);
        at::manual_seed(11);
        const auto vocab = model.spec().vocabSize;
        std::vector<std::vector<std::int64_t>> seqs;
        for (const std::int64_t len : { 13, 5, 16, 1, 9, 16, 2, 11 }) {
            const auto ids = at::randint(4, vocab, { len }, at::kLong);
            seqs.emplace_back(ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + len);
        }
        std::vector<std::vector<TokenRouting>> alone;
        for (const auto &s : seqs)
            alone.push_back(runBatch(model, { s }).front());
        const auto all = runBatch(model, seqs);
        std::vector<std::vector<TokenRouting>> threes;
        for (std::size_t i = 0; i < seqs.size(); i += 3) {
            const auto part = runBatch(model, { seqs.begin() + static_cast<std::ptrdiff_t>(i),
                                                seqs.begin() + static_cast<std::ptrdiff_t>(std::min(seqs.size(), i + 3)) });
            threes.insert(threes.end(), part.begin(), part.end());
        }
        for (std::size_t s = 0; s < seqs.size(); ++s)
            for (std::size_t t = 0; t < seqs[s].size(); ++t) {
                EXPECT_EQ(bitwiseDifference(alone[s][t], all[s][t]), "")
                    << "batch of 8 vs alone: sequence " << s << ", token " << t;
                EXPECT_EQ(bitwiseDifference(alone[s][t], threes[s][t]), "")
                    << "batches of 3 vs alone: sequence " << s << ", token " << t;
            }
    }
}

INSTANTIATE_TEST_SUITE_P(TinyMoeBf16, BatchInvariance,
                         ::testing::Values("mixtral-bf16", "qwen2_moe-bf16", "qwen3_moe-bf16", "olmoe-bf16",
                                           "granitemoe-bf16", "gpt_oss-bf16", "phimoe-bf16", "deepseek_v3-bf16",
                                           "deepseek_v2-bf16", "deepseek_v2_group-bf16", "ernie4_5_moe-bf16",
                                           "glm4_moe-bf16", "qwen3_next-bf16"));

} // namespace
