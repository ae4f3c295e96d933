#include "core/training/trainable_model.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/model/checkpoint.h"
#include "core/model/safetensors.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <vector>

namespace moescope::training {

ParameterMap initialParameters(const DemoArchitecture &arch, std::uint64_t seed)
{
    checkArchitecture(arch);
    const std::int64_t H = arch.hidden, Q = arch.heads * arch.headDim, I = arch.expertIntermediate;
    struct Shape
    {
        std::string name;
        std::vector<std::int64_t> shape;
        double std; // 0: a norm gain, ones
    };
    const double base = 0.02, residual = 0.02 / std::sqrt(2.0 * arch.layers);
    std::vector<Shape> shapes;
    shapes.push_back({"model.embed_tokens.weight", {kDemoVocabSize, H}, base});
    for (int l = 0; l < arch.layers; ++l) {
        const auto p = "model.layers." + std::to_string(l) + ".";
        shapes.push_back({p + "input_layernorm.weight", {H}, 0});
        shapes.push_back({p + "post_attention_layernorm.weight", {H}, 0});
        shapes.push_back({p + "self_attn.q_proj.weight", {Q, H}, base});
        shapes.push_back({p + "self_attn.k_proj.weight", {Q, H}, base});
        shapes.push_back({p + "self_attn.v_proj.weight", {Q, H}, base});
        shapes.push_back({p + "self_attn.o_proj.weight", {H, Q}, residual});
        shapes.push_back({p + "self_attn.q_norm.weight", {arch.headDim}, 0});
        shapes.push_back({p + "self_attn.k_norm.weight", {arch.headDim}, 0});
        shapes.push_back({p + "mlp.gate.weight", {arch.experts, H}, base});
        for (int e = 0; e < arch.experts; ++e) {
            const auto x = p + "mlp.experts." + std::to_string(e) + ".";
            shapes.push_back({x + "gate_proj.weight", {I, H}, base});
            shapes.push_back({x + "up_proj.weight", {I, H}, base});
            shapes.push_back({x + "down_proj.weight", {H, I}, residual});
        }
    }
    shapes.push_back({"model.norm.weight", {H}, 0});
    shapes.push_back({"lm_head.weight", {kDemoVocabSize, H}, base});

    // One generator drawn in this fixed order: the same seed gives the same
    // tensors on every machine libtorch's CPU normal sampler is the same on.
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    ParameterMap parameters;
    for (const auto &s : shapes) {
        at::Tensor t = s.std == 0 ? at::ones(s.shape, at::kFloat)
                                  : at::empty(s.shape, at::kFloat).normal_(0.0, s.std, generator);
        parameters[s.name] = t.requires_grad_(true);
    }
    return parameters;
}

void writeParameters(const std::string &path, const ParameterMap &parameters)
{
    model::SafetensorsWriter writer;
    writer.setMetadata("format", "pt");
    writer.setMetadata("producer", "moescope train-demo");
    for (const auto &[name, tensor] : parameters)
        model::addTensor(writer, name, tensor.detach());
    writer.write(path);
}

void writeModelFolder(const std::string &dir, const DemoArchitecture &arch, const ParameterMap &parameters)
{
    std::filesystem::create_directories(dir);
    const std::filesystem::path d(dir);
    writeFileAtomically((d / "config.json").string(), demoConfigJson(arch));
    writeFileAtomically((d / "tokenizer.json").string(), byteLevelTokenizerJson());
    writeParameters((d / "model.safetensors").string(), parameters);
}

ParameterMap readParameters(const std::string &path, const std::string &prefix, bool requireGrad)
{
    const auto file = model::SafetensorsFile::open(path);
    ParameterMap out;
    for (const auto &record : file->tensors()) {
        const auto &name = record.name;
        if (name.rfind(prefix, 0) != 0)
            continue;
        auto t = model::readTensor(*file, name);
        if (t.scalar_type() != at::kFloat)
            throw Error(path, "'" + name + "' is not float32");
        out[name.substr(prefix.size())] = requireGrad ? t.requires_grad_(true) : t;
    }
    return out;
}

TrainableModel makeTrainableModel(const std::string &dir, ParameterMap parameters)
{
    TrainableModel m;
    m.parameters = std::move(parameters);
    m.checkpoint = model::Checkpoint::open(dir);
    m.decoder = std::make_unique<model::Decoder>(m.checkpoint, m.parameters);
    return m;
}

namespace {

// Keeps what the load-balancing loss needs from every MoE layer: the router
// logits as the block computed them (in fp32 the same tensor, so gradients
// flow back into the router) and the experts chosen.
class BalanceCapture : public routing::RouterHook
{
public:
    std::vector<at::Tensor> logits, chosen;
    void beforeSelection(const routing::RouterSite &, at::Tensor &l) override { logits.push_back(l); }
    void afterSelection(const routing::RouterSite &, const at::Tensor &idx, const at::Tensor &) override
    {
        chosen.push_back(idx);
    }
};

} // namespace

BatchLoss batchLoss(const model::Decoder &decoder, const at::Tensor &windows, double balanceWeight)
{
    const auto T = windows.size(1) - 1;
    BalanceCapture capture;
    model::ForwardRequest request;
    request.inputIds = windows.narrow(1, 0, T);
    request.hook = &capture;
    const auto logits = decoder.forward(request);
    const auto V = logits.size(-1);
    BatchLoss loss;
    loss.crossEntropy = at::nll_loss(at::log_softmax(logits.reshape({-1, V}), -1),
                                     windows.narrow(1, 1, T).reshape({-1}));
    const auto &moe = decoder.spec().moe;
    at::Tensor balance = at::zeros({}, at::kFloat);
    for (std::size_t l = 0; l < capture.logits.size(); ++l) {
        const auto probs = at::softmax(capture.logits[l], -1); // [N, E]
        const auto slots = static_cast<double>(capture.chosen[l].numel());
        const auto share = at::bincount(capture.chosen[l].reshape({-1}), {}, moe.numExperts).to(at::kFloat) / slots;
        balance = balance + moe.numExperts * (share * probs.mean(0)).sum();
    }
    if (!capture.logits.empty())
        balance = balance / static_cast<double>(capture.logits.size());
    loss.balance = balance;
    loss.total = loss.crossEntropy + balanceWeight * balance;
    return loss;
}

double AdamW::step(ParameterMap &parameters, double learningRate, double weightDecay, double clip)
{
    at::NoGradGuard noGrad;
    double squared = 0;
    for (auto &[name, p] : parameters)
        if (p.grad().defined())
            squared += p.grad().pow(2).sum().item<double>();
    const double norm = std::sqrt(squared);
    const double scale = clip > 0 && norm > clip ? clip / norm : 1.0;
    ++m_steps;
    const double c1 = 1.0 - std::pow(beta1, static_cast<double>(m_steps));
    const double c2 = 1.0 - std::pow(beta2, static_cast<double>(m_steps));
    for (auto &[name, p] : parameters) {
        if (!p.grad().defined())
            continue;
        const auto g = p.grad() * scale;
        auto &m = m_first[name];
        auto &v = m_second[name];
        if (!m.defined()) {
            m = at::zeros_like(p);
            v = at::zeros_like(p);
        }
        m.mul_(beta1).add_(g, 1.0 - beta1);
        v.mul_(beta2).addcmul_(g, g, 1.0 - beta2);
        if (p.dim() >= 2 && weightDecay > 0)
            p.mul_(1.0 - learningRate * weightDecay);
        const auto denom = (v / c2).sqrt_().add_(eps);
        p.addcdiv_(m, denom, -learningRate / c1);
        p.grad().zero_();
    }
    return norm;
}

void AdamW::saveTo(ParameterMap &tensors) const
{
    for (const auto &[name, m] : m_first)
        tensors["adam_m." + name] = m;
    for (const auto &[name, v] : m_second)
        tensors["adam_v." + name] = v;
}

void AdamW::restore(const ParameterMap &moments, std::int64_t steps)
{
    m_first.clear();
    m_second.clear();
    for (const auto &[name, t] : moments) {
        if (name.rfind("adam_m.", 0) == 0)
            m_first[name.substr(7)] = t;
        else if (name.rfind("adam_v.", 0) == 0)
            m_second[name.substr(7)] = t;
    }
    m_steps = steps;
}

} // namespace moescope::training
