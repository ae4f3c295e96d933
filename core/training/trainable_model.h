#pragma once

// ATen-level pieces of demo training, shared by demo_trainer.cpp and the
// tests: parameter initialisation, the trainable decoder, the loss with its
// load-balancing term, and AdamW. Includes ATen: core/training and
// tests/training only.

#include "core/model/decoder.h"
#include "core/training/demo_model.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace moescope::training {

using ParameterMap = std::map<std::string, at::Tensor>;

// Every weight of the demo architecture, fp32, from `seed` alone (same seed,
// same tensors): linears N(0, 0.02), output projections (o_proj, down_proj)
// N(0, 0.02 / sqrt(2 * layers)) as GPT-2 scales residual branches, norms 1.
// The tensors require grad.
ParameterMap initialParameters(const DemoArchitecture &arch, std::uint64_t seed);

// config.json, tokenizer.json and model.safetensors (the parameters) into
// dir, each written atomically; dir is created.
void writeModelFolder(const std::string &dir, const DemoArchitecture &arch, const ParameterMap &parameters);
void writeParameters(const std::string &path, const ParameterMap &parameters);
// fp32 copies of every tensor in a safetensors file whose name starts with
// prefix (prefix stripped), requiring grad when asked.
ParameterMap readParameters(const std::string &path, const std::string &prefix, bool requireGrad);

// The inference decoder over trainable parameters, for the model folder dir
// (its config.json gives the spec; the weights come from `parameters`).
struct TrainableModel
{
    ParameterMap parameters;
    std::shared_ptr<const model::Checkpoint> checkpoint;
    std::unique_ptr<model::Decoder> decoder;
};
TrainableModel makeTrainableModel(const std::string &dir, ParameterMap parameters);

struct BatchLoss
{
    at::Tensor total;        // crossEntropy + balanceWeight * balance (scalar, with grad)
    at::Tensor crossEntropy; // mean next-byte loss, nats
    at::Tensor balance;      // load-balancing loss averaged over MoE layers
};
// windows: int64 [B, T + 1]; the model reads [:, :T] and predicts [:, 1:].
// balance (Switch Transformer eq. 4, Mixtral's load_balancing_loss_func):
// E * sum_e f_e * P_e with f_e the share of the N * k routing slots that went
// to expert e and P_e the mean router probability of e; 1 when uniform.
BatchLoss batchLoss(const model::Decoder &decoder, const at::Tensor &windows, double balanceWeight);

// Decoupled weight decay Adam (Loshchilov & Hutter 2019), decay on matrices
// only (not norms' gains); gradients are clipped to a global norm first.
class AdamW
{
public:
    double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
    // Returns the gradient norm before clipping.
    double step(ParameterMap &parameters, double learningRate, double weightDecay, double clip);
    std::int64_t steps() const { return m_steps; }
    // Moments as "adam_m.<name>" / "adam_v.<name>" tensors.
    void saveTo(ParameterMap &tensors) const;
    void restore(const ParameterMap &moments, std::int64_t steps);

private:
    std::int64_t m_steps = 0;
    ParameterMap m_first, m_second;
};

} // namespace moescope::training
