#include "core/model/moe_model.h"

#include "core/common/error.h"
#include "core/jobs/job_context.h"
#include "core/model/decoder.h"
#include "core/routing/plan_hook.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <limits>
#include <malloc.h>
#include <mutex>
#include <thread>

namespace moescope::model {

ComputeDtype parseComputeDtype(const std::string &text)
{
    if (text.empty() || text == "auto" || text == "checkpoint")
        return ComputeDtype::Checkpoint;
    if (text == "fp32" || text == "float32")
        return ComputeDtype::Float32;
    if (text == "bf16" || text == "bfloat16")
        return ComputeDtype::BFloat16;
    throw Error("unknown dtype '" + text + "' (use fp32 or bf16)");
}

// ------------------------------------------------------------ tensor I/O

namespace {

DType dtypeOf(at::ScalarType type)
{
    switch (type) {
    case at::kDouble: return DType::F64;
    case at::kFloat: return DType::F32;
    case at::kHalf: return DType::F16;
    case at::kBFloat16: return DType::BF16;
    case at::kLong: return DType::I64;
    case at::kInt: return DType::I32;
    case at::kShort: return DType::I16;
    case at::kChar: return DType::I8;
    case at::kByte: return DType::U8;
    case at::kBool: return DType::Bool;
    default: throw Error("tensor dtype cannot be stored in safetensors");
    }
}


} // namespace

at::Tensor readTensor(const SafetensorsFile &file, const std::string &name)
{
    const auto &rec = file.get(name);
    auto *bytes = const_cast<std::byte *>(file.data(rec));
    return at::from_blob(bytes, rec.shape, at::TensorOptions().dtype(scalarTypeOf(rec.dtype))).clone();
}

void addTensor(SafetensorsWriter &writer, const std::string &name, const at::Tensor &tensor)
{
    const auto t = tensor.to(at::kCPU).contiguous();
    writer.add(name, dtypeOf(t.scalar_type()), t.sizes().vec(), t.data_ptr(),
               static_cast<std::size_t>(t.numel()) * t.element_size());
}

// ------------------------------------------------------------------ model

struct MoeModel::Impl
{
    std::shared_ptr<const Checkpoint> checkpoint;
    std::unique_ptr<Decoder> decoder;

    // Left-pads prompts into ids [B, Tmax] and a mask (undefined when no row is padded).
    std::pair<at::Tensor, at::Tensor> pack(const std::vector<std::vector<std::int64_t>> &prompts) const
    {
        if (prompts.empty())
            throw Error("no prompts given");
        std::size_t maxLen = 0;
        for (const auto &p : prompts) {
            if (p.empty())
                throw Error("empty prompt (a prompt needs at least one token)");
            maxLen = std::max(maxLen, p.size());
        }
        const auto B = static_cast<std::int64_t>(prompts.size());
        const auto T = static_cast<std::int64_t>(maxLen);
        const auto pad = checkpoint->generation().padTokenId.value_or(0);
        auto ids = at::full({B, T}, pad, at::kLong);
        auto mask = at::zeros({B, T}, at::kLong);
        bool padded = false;
        auto idsA = ids.accessor<std::int64_t, 2>();
        auto maskA = mask.accessor<std::int64_t, 2>();
        for (std::int64_t b = 0; b < B; ++b) {
            const auto &p = prompts[static_cast<std::size_t>(b)];
            const auto offset = T - static_cast<std::int64_t>(p.size());
            padded = padded || offset > 0;
            for (std::size_t i = 0; i < p.size(); ++i) {
                idsA[b][offset + static_cast<std::int64_t>(i)] = p[i];
                maskA[b][offset + static_cast<std::int64_t>(i)] = 1;
            }
        }
        return {ids, padded ? mask : at::Tensor()};
    }
};

MoeModel::MoeModel(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
MoeModel::MoeModel(MoeModel &&) noexcept = default;
MoeModel &MoeModel::operator=(MoeModel &&) noexcept = default;
MoeModel::~MoeModel() = default;

namespace {

// A forward pass allocates the same large temporaries every layer (a
// prefill's expert outputs, attention scores: 16-32 MB and more). glibc
// serves large blocks with fresh mappings (its mmap threshold cannot be
// raised past 32 MiB) and trims freed heap above its trim threshold, so
// each layer faulted its buffers in again and unmapped them after: 5-6% of
// a 512-token prefill in page faults and munmap. Served from a heap that is
// not trimmed, the next layer reuses the pages. Peak memory is unchanged;
// the process keeps its largest working set until it exits.
void keepForwardBuffersMapped()
{
    static std::once_flag once;
    std::call_once(once, [] {
        mallopt(M_MMAP_MAX, 0);
        mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
    });
}

} // namespace

MoeModel MoeModel::load(const std::string &dir, const LoadOptions &options)
{
    keepForwardBuffersMapped();
    // libtorch's default here is one intra-op thread (docs/architecture.md).
    const int threads = options.threads > 0 ? options.threads
                                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (at::get_num_threads() != threads)
        at::set_num_threads(threads);

    auto impl = std::make_unique<Impl>();
    impl->checkpoint = Checkpoint::open(dir);
    at::ScalarType compute = defaultComputeType(*impl->checkpoint);
    if (options.dtype == ComputeDtype::Float32)
        compute = at::kFloat;
    else if (options.dtype == ComputeDtype::BFloat16)
        compute = at::kBFloat16;
    impl->decoder = std::make_unique<Decoder>(impl->checkpoint, compute);
    return MoeModel(std::move(impl));
}

const ModelSpec &MoeModel::spec() const
{
    return m_impl->checkpoint->spec();
}

const std::string &MoeModel::directory() const
{
    return m_impl->checkpoint->directory();
}

const GenerationDefaults &MoeModel::generationDefaults() const
{
    return m_impl->checkpoint->generation();
}

std::string MoeModel::computeDtypeName() const
{
    return m_impl->decoder->computeType() == at::kBFloat16 ? "bf16" : "fp32";
}

routing::PlanTarget MoeModel::planTarget() const
{
    const auto &s = spec();
    return {s.numLayers, s.moe.numExperts, s.moeLayers()};
}

Decoder &MoeModel::decoder() const
{
    return *m_impl->decoder;
}

void MoeModel::forwardFile(const std::string &idsPath, const std::string &outPath,
                           const routing::InterventionPlan *plan, const JobContext *job) const
{
    c10::InferenceMode guard;
    const auto file = SafetensorsFile::open(idsPath);
    const auto *rec = file->find("input_ids");
    if (!rec)
        throw Error(idsPath, "no tensor 'input_ids'");
    if (rec->dtype != DType::I64 && rec->dtype != DType::I32)
        throw Error(idsPath, "'input_ids' must be int64 (found " + dtypeName(rec->dtype) + ")");
    if (rec->shape.size() != 2 || rec->shape[0] == 0 || rec->shape[1] == 0)
        throw Error(idsPath, "'input_ids' must have shape [batch, tokens]");
    const auto ids = readTensor(*file, "input_ids").to(at::kLong);
    at::Tensor mask;
    if (const auto *m = file->find("attention_mask")) {
        if (m->shape != rec->shape)
            throw Error(idsPath, "'attention_mask' shape differs from 'input_ids'");
        if (m->dtype == DType::F32 || m->dtype == DType::F16 || m->dtype == DType::BF16 || m->dtype == DType::F64)
            throw Error(idsPath, "'attention_mask' must be an integer or bool tensor");
        mask = readTensor(*file, "attention_mask");
    }
    const auto vocab = spec().vocabSize;
    if (ids.min().item<std::int64_t>() < 0 || ids.max().item<std::int64_t>() >= vocab)
        throw Error(idsPath, "'input_ids' holds ids outside the vocabulary (0-" + std::to_string(vocab - 1) + ")");

    RoutingCapture capture;
    routing::RouterHookChain chain;
    chain.add(&capture);
    std::unique_ptr<routing::PlanHook> planHook;
    if (plan && !plan->empty()) {
        planHook = std::make_unique<routing::PlanHook>(*plan);
        chain.add(planHook.get());
    }
    std::vector<at::Tensor> hidden;
    at::Tensor finalNorm;
    ForwardRequest request;
    request.inputIds = ids;
    request.attentionMask = mask;
    request.hook = &chain;
    request.hiddenStates = &hidden;
    request.finalNorm = &finalNorm;
    request.job = job;
    const auto logits = m_impl->decoder->forward(request);

    SafetensorsWriter writer;
    writer.setMetadata("format", "pt");
    writer.setMetadata("producer", "moescope forward");
    writer.setMetadata("model_type", spec().modelType);
    writer.setMetadata("compute_dtype", computeDtypeName());
    addTensor(writer, "logits", logits.to(at::kFloat));
    for (std::size_t l = 0; l < hidden.size(); ++l)
        addTensor(writer, "hidden." + std::to_string(l), hidden[l].to(at::kFloat));
    addTensor(writer, "final_norm", finalNorm.to(at::kFloat));
    for (const auto &[layer, captured] : capture.layers) {
        const auto l = std::to_string(layer);
        addTensor(writer, "router_logits." + l, captured.routerLogits.to(at::kFloat));
        addTensor(writer, "topk_idx." + l, captured.topkIdx.to(at::kLong));
        addTensor(writer, "topk_w." + l, captured.topkWeights.to(at::kFloat));
    }
    writer.write(outPath);
}

namespace {

// Temperature + nucleus sampling with an explicit generator, or argmax.
at::Tensor chooseNext(const at::Tensor &logits, const GenerationOptions &options, at::Generator &generator)
{
    if (options.temperature <= 0.0)
        return logits.argmax(-1);
    auto probs = at::softmax(logits / options.temperature, -1);
    if (options.topP < 1.0) {
        // Keep the smallest set of most likely tokens whose mass reaches top_p
        // (at least one), as transformers' TopPLogitsWarper.
        auto [sorted, order] = probs.sort(-1, /*descending=*/true);
        const auto before = sorted.cumsum(-1) - sorted;
        auto keep = before.lt(options.topP);
        keep.select(-1, 0).fill_(true);
        const auto kept = sorted * keep.to(sorted.scalar_type());
        probs = at::zeros_like(probs).scatter_(-1, order, kept);
    }
    return at::multinomial(probs, 1, false, generator).squeeze(-1);
}

} // namespace

GenerationResult MoeModel::generate(const std::vector<std::vector<std::int64_t>> &prompts,
                                    const GenerationOptions &options, routing::RouterHook *hook,
                                    const TokenCallback &onToken, const JobContext *job) const
{
    c10::InferenceMode guard;
    auto [ids, mask] = m_impl->pack(prompts);
    const auto B = ids.size(0);
    const auto stops = options.stopTokens.value_or(generationDefaults().eosTokenIds);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);

    GenerationResult result;
    result.tokens.resize(static_cast<std::size_t>(B));
    result.stopped.assign(static_cast<std::size_t>(B), false);
    if (options.maxNewTokens <= 0)
        return result;

    auto &decoder = *m_impl->decoder;
    KvCache cache = decoder.newCache(B);
    ForwardRequest request;
    request.inputIds = ids;
    request.attentionMask = mask;
    request.cache = &cache;
    request.hook = hook;
    request.lastPositionOnly = true;
    request.job = job;
    auto logits = decoder.forward(request);

    std::vector<bool> finished(static_cast<std::size_t>(B), false);
    for (int step = 0; step < options.maxNewTokens; ++step) {
        const auto next = chooseNext(logits.select(1, 0), options, generator).to(at::kLong).contiguous();
        const auto *nextIds = next.data_ptr<std::int64_t>();
        for (std::int64_t b = 0; b < B; ++b) {
            const auto row = static_cast<std::size_t>(b);
            if (finished[row])
                continue;
            result.tokens[row].push_back(nextIds[b]);
            if (onToken)
                onToken(row, nextIds[b]);
            if (std::find(stops.begin(), stops.end(), nextIds[b]) != stops.end()) {
                finished[row] = true;
                result.stopped[row] = true;
            }
        }
        if (job)
            job->report(static_cast<std::size_t>(step + 1), static_cast<std::size_t>(options.maxNewTokens), "tokens");
        const bool allDone = std::all_of(finished.begin(), finished.end(), [](bool f) { return f; });
        if (allDone || step + 1 == options.maxNewTokens)
            break;
        // Finished rows keep a slot but their tokens are masked out, so they
        // neither attend nor get routed.
        at::Tensor stepMask;
        if (std::any_of(finished.begin(), finished.end(), [](bool f) { return f; })) {
            stepMask = at::ones({B, 1}, at::kLong);
            for (std::int64_t b = 0; b < B; ++b)
                if (finished[static_cast<std::size_t>(b)])
                    stepMask[b][0] = 0;
        }
        request.inputIds = next.unsqueeze(1);
        request.attentionMask = stepMask;
        logits = decoder.forward(request);
    }
    return result;
}

std::vector<kernels::PathChoice> MoeModel::kernelPaths() const
{
    std::vector<std::int64_t> prompt;
    for (std::int64_t t = 0; t < 16; ++t)
        prompt.push_back(t % std::max(1, spec().vocabSize));
    GenerationOptions options;
    options.maxNewTokens = 2;
    options.stopTokens = std::vector<std::int64_t>{};
    generate({prompt}, options);
    return kernels::currentChoices();
}

void MoeModel::route(const std::vector<std::vector<std::int64_t>> &prompts, routing::RouterHook &hook,
                     const JobContext *job) const
{
    c10::InferenceMode guard;
    auto [ids, mask] = m_impl->pack(prompts);
    ForwardRequest request;
    request.inputIds = ids;
    request.attentionMask = mask;
    request.hook = &hook;
    request.lastPositionOnly = true;
    request.job = job;
    m_impl->decoder->forward(request);
}

std::vector<std::vector<double>> MoeModel::tokenLogProbs(const std::vector<std::vector<std::int64_t>> &prompts,
                                                         routing::RouterHook *hook, const JobContext *job) const
{
    c10::InferenceMode guard;
    auto [ids, mask] = m_impl->pack(prompts);
    ForwardRequest request;
    request.inputIds = ids;
    request.attentionMask = mask;
    request.hook = hook;
    request.job = job;
    const auto logProbs = at::log_softmax(m_impl->decoder->forward(request), -1);
    const auto T = ids.size(1);
    // Position t predicts token t+1.
    const auto picked = logProbs.narrow(1, 0, T - 1).gather(-1, ids.narrow(1, 1, T - 1).unsqueeze(-1)).squeeze(-1)
                            .to(at::kDouble).contiguous();
    std::vector<std::vector<double>> out(prompts.size());
    const auto *values = picked.data_ptr<double>();
    for (std::size_t b = 0; b < prompts.size(); ++b) {
        const auto len = static_cast<std::int64_t>(prompts[b].size());
        for (std::int64_t t = T - len; t < T - 1; ++t)
            out[b].push_back(values[static_cast<std::int64_t>(b) * (T - 1) + t]);
    }
    return out;
}

} // namespace moescope::model
