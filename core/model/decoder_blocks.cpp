// Small shared decoder blocks: projections, norms, rotary embeddings and the
// gated MLP. Attention lives in attention.cpp, routing and experts in
// moe_block.cpp. Each block cites the transformers code it mirrors; numerics
// follow the eager path (norm statistics and softmaxes in float32).
#include "core/model/decoder.h"

#include "core/common/error.h"
#include "core/model/bf16_gemm.h"
#include "core/model/kernel_paths.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <cmath>

namespace moescope::model {

// ------------------------------------------------------------ bf16 kernel

namespace {

kernels::KernelPath kernelPathOf(const at::Tensor &weight)
{
    return kernels::pathFor(weight.size(0), weight.size(1),
                            reinterpret_cast<const std::uint16_t *>(weight.data_ptr()), weight.stride(0));
}

} // namespace

bool usesBf16Kernel(const at::Tensor &weight)
{
    return weight.scalar_type() == at::kBFloat16 && weight.dim() == 2 && weight.stride(1) == 1
           && weight.device().is_cpu() && weight.size(0) > 0 && weight.size(1) > 0
           && kernelPathOf(weight) != kernels::KernelPath::Torch;
}

int kernelThreads(std::int64_t items)
{
    if (at::in_parallel_region())
        return 1;
    return static_cast<int>(std::clamp<std::int64_t>(items, 1, at::get_num_threads()));
}

namespace {

struct KernelProduct
{
    const at::Tensor *weight, *bias;
};

bool kernelTakes(const at::Tensor &x, const at::Tensor &weight)
{
    return usesBf16Kernel(weight) && x.dim() > 0 && x.size(-1) == weight.size(1) && x.is_floating_point();
}

// y_i = x W_i^T + b_i for every product, all in one kernel region: x is
// converted and packed once, and the other worker is woken once rather than
// per product (a wake-up costs tens of microseconds on an idle core and far
// more when the core is busy with somebody else's work). Threads take
// column blocks of any product from one shared counter rather than one
// static half each: on a busy machine a descheduled thread would otherwise
// hold everybody at the end of the region. The blocks are 48 columns, or
// 384 for one row of x: the one-row kernel reads its block as six
// sequential streams, and streams of 8 weight rows end before the
// prefetchers are up to speed (2 threads, 1024 x 2048: 23.7 GB/s in
// 48-column blocks; a 50304-row lm_head 33 GB/s). For one row a product is
// cut into a multiple of the thread count of equal blocks of about 384, so
// the last block is not a short one that leaves a thread idle (2048 rows:
// six of 342 rather than five of 384 and one of 128). Products too small
// to repay a wake-up (the router's 64 rows at decode) run on the calling
// thread.
std::vector<at::Tensor> kernelLinear(const at::Tensor &x, const std::vector<KernelProduct> &products)
{
    const auto K = products.front().weight->size(1);
    const auto rows = x.numel() / std::max<std::int64_t>(K, 1);
    std::vector<at::Tensor> outputs;
    const auto threadCount = std::max<std::int64_t>(1, at::get_num_threads());
    std::vector<std::int64_t> firstBlock, blockOf; // in the shared numbering; per product
    std::int64_t blocks = 0, multiplyAdds = 0, weightBytes = 0;
    for (const auto &p : products) {
        const auto N = p.weight->size(0);
        outputs.push_back(at::empty({rows, N}, x.options().dtype(at::kFloat)));
        std::int64_t block = 48;
        if (rows == 1) {
            const auto count = (N + 384 * threadCount - 1) / (384 * threadCount) * threadCount;
            block = std::max<std::int64_t>(1, (N + count - 1) / count);
        }
        firstBlock.push_back(blocks);
        blockOf.push_back(block);
        blocks += (N + block - 1) / block;
        multiplyAdds += rows * N * K;
        weightBytes += N * K * 2;
    }
    firstBlock.push_back(blocks);
    if (rows > 0 && K > 0) {
        const auto xf = x.reshape({rows, K}).to(at::kFloat).contiguous();
        // x packed once per kernel path among the products (usually one).
        std::vector<kernels::Bf16Product> kernelOf;
        std::vector<at::Tensor> packedFor; // per product, shared between products of one path
        std::map<kernels::KernelPath, at::Tensor> packedByPath;
        for (const auto &p : products) {
            const kernels::Bf16Product product{kernelPathOf(*p.weight)};
            auto &packed = packedByPath[product.path];
            if (!packed.defined()) {
                packed = at::empty({static_cast<std::int64_t>(product.packedBytes(rows, K))},
                                   xf.options().dtype(at::kByte));
                product.pack(xf.data_ptr<float>(), K, rows, K, packed.data_ptr());
            }
            kernelOf.push_back(product);
            packedFor.push_back(packed);
        }
        auto runBlock = [&](std::int64_t b) {
            std::size_t i = 0;
            while (b >= firstBlock[i + 1])
                ++i;
            const auto &weight = *products[i].weight;
            const auto block = blockOf[i];
            const auto N = weight.size(0), first = (b - firstBlock[i]) * block;
            kernelOf[i].multiply(packedFor[i].data_ptr(), rows, K,
                                 reinterpret_cast<const std::uint16_t *>(weight.data_ptr()), weight.stride(0),
                                 outputs[i].data_ptr<float>(), N, first, std::min(N, first + block));
        };
        // ~0.1 ms of one thread's work: 1 MiB of weights or 2M multiply-adds.
        const bool small = weightBytes < (1 << 20) && multiplyAdds < (1 << 21);
        std::atomic<std::int64_t> next{0};
        kernels::runOnThreads(small ? 1 : kernelThreads(blocks), [&] {
            for (auto b = next++; b < blocks; b = next++)
                runBlock(b);
        });
    } else {
        for (auto &y : outputs)
            y.zero_();
    }
    for (std::size_t i = 0; i < products.size(); ++i) {
        auto &y = outputs[i];
        if (products[i].bias->defined())
            y.add_(*products[i].bias);
        auto outSizes = x.sizes().vec();
        outSizes.back() = y.size(1);
        y = y.to(x.scalar_type()).view(outSizes);
    }
    return outputs;
}

at::Tensor fallbackLinear(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias)
{
    // Callers may hand fp32 activations to bf16 weights (see usesBf16Kernel).
    const bool convert = x.is_floating_point() && weight.is_floating_point()
                         && x.scalar_type() != weight.scalar_type();
    return at::linear(convert ? x.to(weight.scalar_type()) : x, weight, bias);
}

} // namespace

at::Tensor linearLayer(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias)
{
    if (!kernelTakes(x, weight))
        return fallbackLinear(x, weight, bias);
    return kernelLinear(x, {{&weight, &bias}}).front();
}

std::vector<at::Tensor> projectAll(const at::Tensor &x, const std::vector<const Projection *> &projections)
{
    // Quantised weights: decoded for this call only, then as dense ones.
    if (std::any_of(projections.begin(), projections.end(), [](const Projection *p) { return p->quantized != nullptr; })) {
        std::vector<Projection> decoded;
        decoded.reserve(projections.size());
        for (const auto *p : projections)
            decoded.push_back(p->quantized ? p->materialized() : *p);
        std::vector<const Projection *> pointers;
        for (const auto &p : decoded)
            pointers.push_back(&p);
        return projectAll(x, pointers);
    }
    std::vector<KernelProduct> products;
    for (const auto *p : projections)
        if (!p->inputMajor && kernelTakes(x, p->weight))
            products.push_back({&p->weight, &p->bias});
    if (products.size() == projections.size() && !products.empty())
        return kernelLinear(x, products);
    std::vector<at::Tensor> outputs;
    for (const auto *p : projections)
        outputs.push_back((*p)(x));
    return outputs;
}

// ---------------------------------------------------------------- Projection

namespace {

// x W + b for input-major bf16 weights [in, out] on the AVX2 panel tile:
// at::matmul would pick its kernels (and so its sums) by the number of rows,
// and a token's result must not depend on its batch (docs/engine.md "Batch
// invariance"). fp32 accumulation; the result in x's dtype.
at::Tensor inputMajorLinear(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias)
{
    const auto K = weight.size(0), N = weight.size(1);
    const auto rows = x.numel() / std::max<std::int64_t>(K, 1);
    const auto xf = x.reshape({rows, K}).to(at::kFloat).contiguous();
    auto y = at::empty({rows, N}, xf.options());
    const auto *w = reinterpret_cast<const std::uint16_t *>(weight.data_ptr());
    constexpr std::int64_t kBlock = 48; // columns per work item, whole 16-column panels
    const auto blocks = (N + kBlock - 1) / kBlock;
    std::atomic<std::int64_t> next{0};
    kernels::runOnThreads(rows * N * K < (1 << 21) ? 1 : kernelThreads(blocks), [&] {
        for (auto b = next++; b < blocks; b = next++)
            kernels::bf16InputMajorGemm(xf.data_ptr<float>(), K, rows, K, w, weight.stride(0),
                                        y.data_ptr<float>(), N, b * kBlock, std::min(N, (b + 1) * kBlock));
    });
    if (bias.defined())
        y.add_(bias);
    auto sizes = x.sizes().vec();
    sizes.back() = N;
    return y.to(x.scalar_type()).view(sizes);
}

bool inputMajorKernelTakes(const at::Tensor &x, const at::Tensor &weight)
{
    return weight.scalar_type() == at::kBFloat16 && weight.dim() == 2 && weight.stride(1) == 1
           && weight.device().is_cpu() && x.dim() > 0 && x.size(-1) == weight.size(0) && x.is_floating_point()
           && !at::GradMode::is_enabled() && kernels::bf16GemmSupported();
}

} // namespace
at::Tensor decodeQuantized(const quant::QuantizedTensor &stored, at::ScalarType dtype)
{
    if (dtype != at::kFloat && dtype != at::kBFloat16)
        throw Error(stored.file, "'" + stored.name + "' can only be decoded to fp32 or bf16");
    auto out = at::empty({stored.rows(), stored.cols()}, at::TensorOptions().dtype(dtype));
    // Rows in parallel: a decode-step product is otherwise bound by one
    // thread's decoding (~1 ns per value) rather than by memory.
    const auto rows = stored.rows(), cols = stored.cols();
    const auto grain = std::max<std::int64_t>(1, (1 << 16) / std::max<std::int64_t>(cols, 1));
    at::parallel_for(0, rows, grain, [&](std::int64_t first, std::int64_t last) {
        if (dtype == at::kFloat)
            stored.decodeRows(first, last, out.data_ptr<float>() + first * cols);
        else
            stored.decodeRows(first, last, reinterpret_cast<std::uint16_t *>(out.data_ptr()) + first * cols);
    });
    return out;
}

at::Tensor Projection::dense() const
{
    return quantized ? decodeQuantized(*quantized, quantizedDType) : weight;
}

Projection Projection::materialized() const
{
    Projection p = *this;
    if (quantized) {
        p.weight = dense();
        p.quantized.reset();
    }
    return p;
}

std::int64_t Projection::outFeatures() const
{
    if (quantized)
        return quantized->rows();
    return inputMajor ? weight.size(-1) : weight.size(0);
}

bool Projection::usesKernel() const
{
    if (inputMajor)
        return false;
    if (!quantized)
        return usesBf16Kernel(weight);
    // What the decoded weight would take: a contiguous bf16 [out, in] tensor
    // goes to a kernel whenever this CPU has one (a measurement never
    // chooses at::linear).
    return quantizedDType == at::kBFloat16 && kernels::bf16KernelAvailable();
}

at::Tensor Projection::operator()(const at::Tensor &x) const
{
    if (quantized)
        return materialized()(x);
    if (!inputMajor)
        return linearLayer(x, weight, bias);
    if (inputMajorKernelTakes(x, weight))
        return inputMajorLinear(x, weight, bias);
    at::Tensor y = at::matmul(x.scalar_type() == weight.scalar_type() ? x : x.to(weight.scalar_type()), weight);
    if (bias.defined())
        y = y + bias;
    return y;
}

Projection Projection::linear(const WeightStore &store, const std::string &prefix, bool withBias)
{
    const auto bias = withBias ? store.get(prefix + ".bias") : at::Tensor();
    if (const auto stored = store.quantized(prefix + ".weight")) {
        if (stored->shape.size() != 2)
            throw Error(stored->file, "'" + stored->name + "' is not a 2-D linear weight");
        return ofQuantized(store, *stored, bias);
    }
    Projection p;
    p.weight = store.get(prefix + ".weight");
    p.bias = bias;
    return p;
}

Projection Projection::ofQuantized(const WeightStore &store, const quant::QuantizedTensor &stored, at::Tensor bias)
{
    Projection p;
    p.bias = std::move(bias);
    p.quantized = std::make_shared<const quant::QuantizedTensor>(stored);
    p.quantizedDType = store.computeType() == at::kBFloat16 ? at::kBFloat16 : at::kFloat;
    if (!store.decodesPerProduct())
        return p.materialized();
    return p;
}

// ---------------------------------------------------------------------- Norm

Norm::Norm(NormKind kind, at::Tensor weight, at::Tensor bias, double eps)
    : m_kind(kind), m_weight(std::move(weight)), m_bias(std::move(bias)), m_eps(eps)
{
    // Qwen3NextRMSNorm: normed(x.float()) * (1.0 + w.float()), cast back
    // afterwards; the (1 + w) weight is formed once, in fp32.
    if (m_kind == NormKind::ZeroCentredRmsNorm)
        m_weight = m_weight.to(at::kFloat) + 1.0;
}

Norm Norm::load(const WeightStore &store, const std::string &prefix, NormKind kind, double eps)
{
    return Norm(kind, store.get(prefix + ".weight"),
                kind == NormKind::LayerNorm ? store.get(prefix + ".bias") : at::Tensor(), eps);
}

namespace {

float toFloat(float v) { return v; }
float toFloat(at::BFloat16 v) { return static_cast<float>(v); }

// The RMS norm below, one row at a time on the host: the tensor version is
// eight ops (conversions, pow, mean, add, rsqrt, two multiplies) on a
// 2048-value row, ~17 times per decode step. Each step rounds as the ops
// do (fp32 products, the input dtype's rounding where they convert), except
// that the mean of squares accumulates in double rather than torch's fp32
// lanes (a last-bit difference in the variance).
template <typename In, typename Weight, typename Out>
void rmsNormRows(const In *x, const Weight *weight, Out *out, std::int64_t rows, std::int64_t width, float eps,
                 bool weightInFloat32)
{
    for (std::int64_t r = 0; r < rows; ++r, x += width, out += width) {
        double squares = 0.0;
        for (std::int64_t i = 0; i < width; ++i) {
            const float v = toFloat(x[i]);
            squares += static_cast<double>(v * v);
        }
        const float variance = static_cast<float>(squares / static_cast<double>(width));
        const float scale = 1.0f / std::sqrt(variance + eps);
        for (std::int64_t i = 0; i < width; ++i) {
            const float normed = toFloat(x[i]) * scale;
            // RmsNorm: the normed value is rounded to the input dtype first.
            const float rounded = weightInFloat32 ? normed : toFloat(static_cast<In>(normed));
            out[i] = static_cast<Out>(toFloat(weight[i]) * rounded);
        }
    }
}

template <typename In, typename Weight>
void rmsNormInto(const at::Tensor &x, const at::Tensor &weight, at::Tensor &out, float eps, bool weightInFloat32)
{
    const auto width = x.size(-1), rows = x.numel() / std::max<std::int64_t>(width, 1);
    const auto *xs = x.data_ptr<In>();
    const auto *w = weight.data_ptr<Weight>();
    if (out.scalar_type() == at::kFloat)
        rmsNormRows(xs, w, out.data_ptr<float>(), rows, width, eps, weightInFloat32);
    else
        rmsNormRows(xs, w, out.data_ptr<at::BFloat16>(), rows, width, eps, weightInFloat32);
}

bool isFloatOrBf16(const at::Tensor &t)
{
    return t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16;
}

} // namespace

at::Tensor Norm::operator()(const at::Tensor &x) const
{
    if (m_kind == NormKind::LayerNorm)
        return at::layer_norm(x, {x.size(-1)}, m_weight, m_bias, m_eps);
    // The zero-centred norm keeps torch's fp32 mean: the host loop's double
    // sum rounds differently, and qwen3_next's router logits (|z| ~ 16)
    // turn that alone into most of the reference tolerance (1e-5).
    const bool hostPath = m_kind != NormKind::ZeroCentredRmsNorm && x.device().is_cpu() && m_weight.device().is_cpu()
                          && isFloatOrBf16(x) && isFloatOrBf16(m_weight) && m_weight.dim() == 1 && m_weight.is_contiguous()
                          && x.dim() > 0 && x.size(-1) == m_weight.size(0)
                          && !(at::GradMode::is_enabled() && (x.requires_grad() || m_weight.requires_grad()));
    if (hostPath) {
        const auto xc = x.contiguous();
        const bool weightInFloat32 = m_kind == NormKind::RmsNormWeightInFloat32;
        // The result type of the tensor version: weight * normed promotes.
        const auto outType = weightInFloat32 ? x.scalar_type() : at::promote_types(m_weight.scalar_type(), x.scalar_type());
        auto out = at::empty(x.sizes(), xc.options().dtype(outType));
        const auto eps = static_cast<float>(m_eps);
        const bool bf16In = x.scalar_type() == at::kBFloat16, bf16Weight = m_weight.scalar_type() == at::kBFloat16;
        if (bf16In && bf16Weight)
            rmsNormInto<at::BFloat16, at::BFloat16>(xc, m_weight, out, eps, weightInFloat32);
        else if (bf16In)
            rmsNormInto<at::BFloat16, float>(xc, m_weight, out, eps, weightInFloat32);
        else if (bf16Weight)
            rmsNormInto<float, at::BFloat16>(xc, m_weight, out, eps, weightInFloat32);
        else
            rmsNormInto<float, float>(xc, m_weight, out, eps, weightInFloat32);
        return out;
    }
    // LlamaRMSNorm: statistics in float32, then back to the input dtype
    // before the weight multiply; GptOssRMSNorm multiplies first.
    const auto xf = x.to(at::kFloat);
    const auto variance = xf.pow(2).mean(-1, /*keepdim=*/true);
    const auto normed = xf * at::rsqrt(variance + m_eps);
    if (m_kind == NormKind::RmsNormWeightInFloat32 || m_kind == NormKind::ZeroCentredRmsNorm)
        return (m_weight * normed).to(x.scalar_type());
    return m_weight * normed.to(x.scalar_type());
}

// ------------------------------------------------------------------- Rotary

namespace {

at::Tensor evenDimsOver(std::int64_t dim)
{
    // torch.arange(0, dim, 2, dtype=int64).float() / dim
    return at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
}

at::Tensor defaultInverseFrequencies(double theta, std::int64_t dim)
{
    return at::pow(theta, evenDimsOver(dim)).reciprocal();
}

double yarnMscale(double scale, double mscale)
{
    return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

} // namespace

RotaryEmbedding::RotaryEmbedding(const RopeSpec &spec) : m_spec(spec)
{
    const std::int64_t dim = spec.rotaryDim;
    switch (spec.kind) {
    case RopeKind::None:
        return;
    case RopeKind::Default:
    case RopeKind::DynamicNtk: // recomputed per call when the sequence outgrows max_position_embeddings
        m_invFreq = defaultInverseFrequencies(spec.theta, dim);
        break;
    case RopeKind::Linear:
        m_invFreq = defaultInverseFrequencies(spec.theta, dim) / spec.factor;
        break;
    case RopeKind::LongRope: {
        // modeling_rope_utils._compute_longrope_parameters (v4.47.1): the
        // default frequencies divided by per-frequency factors.
        auto divided = [&](const std::vector<double> &factors) {
            const auto f = at::tensor(std::vector<float>(factors.begin(), factors.end()), at::kFloat);
            return (f * at::pow(spec.theta, evenDimsOver(dim))).reciprocal();
        };
        m_invFreq = divided(spec.shortFactor);
        m_longInvFreq = divided(spec.longFactor);
        break;
    }
    case RopeKind::Llama3: {
        // modeling_rope_utils._compute_llama3_parameters
        const auto inv = defaultInverseFrequencies(spec.theta, dim);
        const double oldContext = spec.originalMaxPositions;
        const double lowWavelen = oldContext / spec.lowFreqFactor;
        const double highWavelen = oldContext / spec.highFreqFactor;
        const auto wavelen = 2 * M_PI / inv;
        auto llama = at::where(wavelen > lowWavelen, inv / spec.factor, inv);
        const auto smooth = (oldContext / wavelen - spec.lowFreqFactor)
                            / (spec.highFreqFactor - spec.lowFreqFactor);
        const auto smoothed = (1 - smooth) * llama / spec.factor + smooth * llama;
        const auto medium = wavelen.le(lowWavelen).logical_and(wavelen.ge(highWavelen));
        m_invFreq = at::where(medium, smoothed, llama);
        break;
    }
    case RopeKind::Yarn: {
        // modeling_rope_utils._compute_yarn_parameters (v4.51).
        double factor = spec.factor;
        double originalMax = spec.maxPositions;
        if (spec.originalMaxPositions > 0) {
            originalMax = spec.originalMaxPositions;
            factor = static_cast<double>(spec.maxPositions) / spec.originalMaxPositions;
        }
        if (spec.attentionFactor)
            m_attentionScaling = *spec.attentionFactor;
        else if (spec.mscale != 0.0 && spec.mscaleAllDim != 0.0)
            m_attentionScaling = yarnMscale(factor, spec.mscale) / yarnMscale(factor, spec.mscaleAllDim);
        else
            m_attentionScaling = yarnMscale(factor, 1.0);
        const double base = spec.theta;
        auto correctionDim = [&](double rotations) {
            return (dim * std::log(originalMax / (rotations * 2 * M_PI))) / (2 * std::log(base));
        };
        // v4.55 adds rope_scaling.truncate (default true = the v4.51 floor/ceil).
        double low = correctionDim(spec.betaFast), high = correctionDim(spec.betaSlow);
        if (spec.yarnTruncate) {
            low = std::floor(low);
            high = std::ceil(high);
        }
        low = std::max(low, 0.0);
        high = std::min(high, static_cast<double>(dim - 1));
        if (low == high)
            high += 0.001;
        const auto posFreqs = at::pow(base, evenDimsOver(dim));
        const auto extrapolation = posFreqs.reciprocal();
        const auto interpolation = (factor * posFreqs).reciprocal();
        const auto ramp = ((at::arange(dim / 2, at::kFloat) - low) / (high - low)).clamp(0, 1);
        const auto extrapolationFactor = 1 - ramp;
        m_invFreq = interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor;
        break;
    }
    }
}

RotaryEmbedding::Frequencies RotaryEmbedding::frequencies(std::int64_t seqLen) const
{
    if (m_spec.kind == RopeKind::DynamicNtk && seqLen > m_spec.maxPositions) {
        // _compute_dynamic_ntk_parameters: the base grows with the sequence length.
        const double dim = m_spec.rotaryDim;
        const double base = m_spec.theta
                            * std::pow(m_spec.factor * seqLen / m_spec.maxPositions - (m_spec.factor - 1),
                                       dim / (dim - 2));
        return {defaultInverseFrequencies(base, m_spec.rotaryDim), m_attentionScaling};
    }
    if (m_spec.kind == RopeKind::LongRope) {
        // _compute_longrope_parameters (v4.47.1) for the current length, then
        // PhimoeRotaryEmbedding's short/long mscale replaces the attention factor.
        double original, expanded, factor;
        if (m_spec.longRopeHasOriginal) {
            original = m_spec.originalMaxPositions;
            expanded = seqLen < original ? original : m_spec.maxPositions;
            factor = expanded / original;
        } else {
            original = m_spec.maxPositions;
            expanded = original * m_spec.factor;
            factor = m_spec.factor;
        }
        double scaling = 1.0;
        if (m_spec.attentionFactor)
            scaling = *m_spec.attentionFactor;
        else if (factor > 1.0)
            scaling = std::sqrt(1.0 + std::log(factor) / std::log(original));
        if (m_spec.shortMscale && m_spec.longMscale)
            scaling = seqLen > m_spec.originalMaxPositions ? *m_spec.longMscale : *m_spec.shortMscale;
        return {expanded > original ? m_longInvFreq : m_invFreq, scaling};
    }
    return {m_invFreq, m_attentionScaling};
}

RopeTables RotaryEmbedding::tables(const at::Tensor &positions, at::ScalarType dtype) const
{
    // Only dynamic NTK and longrope depend on the length; avoid the host sync
    // otherwise. The length is that of the longest row's real tokens (HF uses
    // the cache position, which also counts left padding).
    std::int64_t seqLen = 0;
    if ((m_spec.kind == RopeKind::DynamicNtk || m_spec.kind == RopeKind::LongRope) && positions.numel())
        seqLen = positions.max().item<std::int64_t>() + 1;
    const auto freq = frequencies(seqLen);
    const auto freqs = positions.to(at::kFloat).unsqueeze(-1) * freq.inverse; // [B, T, R/2]
    const auto emb = at::cat({freqs, freqs}, -1);
    auto cos = emb.cos(), sin = emb.sin();
    if (freq.attentionScaling != 1.0) {
        cos = cos * freq.attentionScaling;
        sin = sin * freq.attentionScaling;
    }
    return {cos.to(dtype), sin.to(dtype)};
}

at::Tensor applyRotary(const at::Tensor &input, const RopeTables &rope, bool interleaved)
{
    // fp32 tables (RopeSpec::inFloat32) rotate a lower-precision x in fp32
    // and round once, as deepseek_v2's and ernie's apply functions do.
    const bool upcast = rope.cos.scalar_type() == at::kFloat && input.scalar_type() != at::kFloat;
    const auto x = upcast ? input.to(at::kFloat) : input;
    const auto rot = rope.cos.size(-1);
    const auto cos = rope.cos.unsqueeze(1); // [B, 1, T, R]
    const auto sin = rope.sin.unsqueeze(1);
    const bool partial = rot < x.size(-1);
    auto xr = partial ? x.narrow(-1, 0, rot) : x;
    if (interleaved) {
        // view(..., R/2, 2).transpose(-1, -2): evens first, then odds.
        const auto flat = xr.sizes().vec();
        auto pairs = flat;
        pairs.back() = rot / 2;
        pairs.push_back(2);
        xr = xr.reshape(pairs).transpose(-1, -2).reshape(flat);
    }
    // rotate_half: cat(-x2, x1)
    const auto x1 = xr.narrow(-1, 0, rot / 2);
    const auto x2 = xr.narrow(-1, rot / 2, rot / 2);
    auto out = xr * cos + at::cat({-x2, x1}, -1) * sin;
    if (partial)
        out = at::cat({out, x.narrow(-1, rot, x.size(-1) - rot)}, -1);
    return upcast ? out.to(input.scalar_type()) : out;
}

// ------------------------------------------------------------------ Gated MLP

bool GatedMlp::runsInFloat32() const
{
    return (fused == Fused::None ? gate : gateUp).usesKernel();
}

// act(g) * u * scale over one row, in place in g: the gated activations of
// GatedMlp::operator() (same formulas, fp32), times the routing weight so
// that `down` yields the weighted output directly.
void gatedActivation(Activation activation, float limit, float *g, const float *u, std::int64_t n, float scale)
{
    switch (activation) {
    case Activation::SiLU:
        for (std::int64_t i = 0; i < n; ++i)
            g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i] * scale;
        return;
    case Activation::GeluExact:
        for (std::int64_t i = 0; i < n; ++i)
            g[i] = 0.5f * g[i] * (1.0f + std::erf(g[i] * static_cast<float>(M_SQRT1_2))) * u[i] * scale;
        return;
    case Activation::GeluTanh: {
        const auto k = static_cast<float>(std::sqrt(2.0 / M_PI));
        for (std::int64_t i = 0; i < n; ++i) {
            const float x = g[i];
            g[i] = 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x))) * u[i] * scale;
        }
        return;
    }
    case Activation::Relu:
        for (std::int64_t i = 0; i < n; ++i)
            g[i] = std::max(g[i], 0.0f) * u[i] * scale;
        return;
    case Activation::ClampedSwiGlu:
        for (std::int64_t i = 0; i < n; ++i) {
            const float gc = std::min(g[i], limit);
            const float uc = std::clamp(u[i], -limit, limit);
            g[i] = (uc + 1.0f) * (gc / (1.0f + std::exp(-gc * 1.702f))) * scale;
        }
        return;
    }
}

at::Tensor elementwiseSigmoid(const at::Tensor &z)
{
    if (at::GradMode::is_enabled() || !z.device().is_cpu())
        return at::sigmoid(z);
    const auto zf = z.to(at::kFloat).contiguous();
    auto out = at::empty_like(zf);
    const float *in = zf.data_ptr<float>();
    float *o = out.data_ptr<float>();
    for (std::int64_t i = 0; i < zf.numel(); ++i)
        o[i] = 1.0f / (1.0f + std::exp(-in[i]));
    return out.to(z.scalar_type());
}

at::Tensor GatedMlp::operator()(const at::Tensor &x) const
{
    // Kernel-path weights: one conversion in and one out instead of one per
    // projection and bf16 element-wise ops in between.
    if (x.scalar_type() != at::kFloat && runsInFloat32())
        return (*this)(x.to(at::kFloat)).to(x.scalar_type());
    at::Tensor g, u;
    switch (fused) {
    case Fused::None: {
        auto both = projectAll(x, {&gate, &up});
        g = std::move(both[0]);
        u = std::move(both[1]);
        break;
    }
    case Fused::Halves: { // GraniteMoeMoE: chunk(2, dim=-1)
        const auto both = gateUp(x);
        const auto width = both.size(-1) / 2;
        g = both.narrow(-1, 0, width);
        u = both.narrow(-1, width, width);
        break;
    }
    case Fused::Interleaved: { // GptOssExperts: gate_up[..., ::2], gate_up[..., 1::2]
        const auto both = gateUp(x);
        const auto width = both.size(-1) / 2;
        g = both.slice(-1, 0, 2 * width, 2);
        u = both.slice(-1, 1, 2 * width, 2);
        break;
    }
    }
    if (g.scalar_type() == at::kFloat && u.scalar_type() == at::kFloat && !at::GradMode::is_enabled()
        && g.device().is_cpu()) {
        // The kernel experts' scalar formulas: ATen's element-wise kernels
        // take vector or scalar code by an element's place in the whole
        // tensor, so a token's activations would depend on its batch.
        auto a = g.contiguous().clone();
        const auto uc = u.contiguous();
        const auto width = a.size(-1), rows = a.numel() / std::max<std::int64_t>(width, 1);
        for (std::int64_t r = 0; r < rows; ++r)
            gatedActivation(activation, static_cast<float>(limit), a.data_ptr<float>() + r * width,
                            uc.data_ptr<float>() + r * width, width, 1.0f);
        return down(a);
    }
    at::Tensor a;
    switch (activation) {
    case Activation::SiLU:
        a = at::silu(g) * u;
        break;
    case Activation::GeluExact:
        a = at::gelu(g) * u;
        break;
    case Activation::GeluTanh:
        a = at::gelu(g, "tanh") * u;
        break;
    case Activation::Relu:
        a = at::relu(g) * u;
        break;
    case Activation::ClampedSwiGlu: {
        // GptOssExperts: alpha 1.702, gate clamped above only, up both ways, (up + 1).
        const auto gc = g.clamp_max(limit);
        const auto uc = u.clamp(-limit, limit);
        a = (uc + 1) * (gc * at::sigmoid(gc * 1.702));
        break;
    }
    }
    return down(a);
}

} // namespace moescope::model
