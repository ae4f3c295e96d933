// Where one decoder layer's time goes, block by block, at the benchmark's
// prefill (N tokens) and decode (1 token) shapes, with the engine's own
// blocks (core/model/decoder.h) and, beside them, the torch-level
// alternatives the optimiser can choose from (fp32 weights, per-expert bf16
// upcast, fused gate/up, matrix-vector kernels). Not part of any build by
// default; docs/performance.md quotes its output.
//
//   profile_blocks [MODEL_DIR] [--tokens N] [--bf16-tokens N] [--layer L] [--repeat R]
//   [--decode-only]
//   [--threads N]   (default: the hardware threads, as MoeModel::load)
#include "core/bench/olmoe_checkpoint.h"
#include "core/model/decoder.h"
#include "core/routing/routing_recorder.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <bit>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <immintrin.h>
#include <limits>
#include <string>
#include <thread>

namespace {

using namespace moescope;
using Clock = std::chrono::steady_clock;

// Median-free but robust enough: best of `repeat` runs after one warm-up.
double bestSeconds(const std::function<void()> &run, int repeat)
{
    run();
    double best = std::numeric_limits<double>::infinity();
    for (int i = 0; i < repeat; ++i) {
        const auto start = Clock::now();
        run();
        best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
    }
    return best;
}

void row(const std::string &what, double seconds, double flops = 0.0, double bytes = 0.0)
{
    std::printf("  %-58s %10.3f ms", what.c_str(), seconds * 1e3);
    if (flops > 0)
        std::printf("  %8.1f GFLOP/s", flops / seconds / 1e9);
    if (bytes > 0)
        std::printf("  %8.2f GB/s", bytes / seconds / 1e9);
    std::printf("\n");
}

// The decoder's additive causal mask (decoder.cpp buildAttentionMask) for an
// unpadded batch: what every prefill builds today.
at::Tensor causalMask(std::int64_t batch, std::int64_t past, std::int64_t tq, at::ScalarType dtype)
{
    const auto keyValid = at::ones({ batch, past + tq }, at::kBool);
    const auto q = at::arange(past, past + tq, at::kLong).unsqueeze(1);
    const auto k = at::arange(past + tq, at::kLong).unsqueeze(0);
    auto allowed = k.le(q).unsqueeze(0).logical_and(keyValid.unsqueeze(1));
    allowed = allowed.logical_or(k.eq(q).unsqueeze(0));
    auto mask = at::zeros(allowed.sizes(), at::TensorOptions().dtype(dtype));
    mask.masked_fill_(allowed.logical_not(), -std::numeric_limits<double>::infinity());
    return mask.unsqueeze(1);
}

// A prototype of the decode kernel the issue asks for (here AVX2 + FMA, the
// best this CPU has): y = W x for bf16 W [rows, cols] and fp32 x, widening
// bf16 to fp32 with a 16-bit shift in registers; rows split over the
// intra-op threads. Only to measure what a weight-streaming kernel reaches.
__attribute__((target("avx2,fma"))) void bf16MatvecRows(const std::uint16_t *w, const float *x,
    float *y, std::int64_t begin, std::int64_t end, std::int64_t cols)
{
    for (std::int64_t r = begin; r < end; ++r) {
        const std::uint16_t *row = w + r * cols;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        std::int64_t c = 0;
        for (; c + 16 <= cols; c += 16) {
            const __m256i lo = _mm256_cvtepu16_epi32(
                _mm_loadu_si128(reinterpret_cast<const __m128i *>(row + c)));
            const __m256i hi = _mm256_cvtepu16_epi32(
                _mm_loadu_si128(reinterpret_cast<const __m128i *>(row + c + 8)));
            acc0 = _mm256_fmadd_ps(
                _mm256_castsi256_ps(_mm256_slli_epi32(lo, 16)), _mm256_loadu_ps(x + c), acc0);
            acc1 = _mm256_fmadd_ps(
                _mm256_castsi256_ps(_mm256_slli_epi32(hi, 16)), _mm256_loadu_ps(x + c + 8), acc1);
        }
        float lanes[8];
        _mm256_storeu_ps(lanes, _mm256_add_ps(acc0, acc1));
        float sum
            = lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
        for (; c < cols; ++c)
            sum += std::bit_cast<float>(static_cast<std::uint32_t>(row[c]) << 16) * x[c];
        y[r] = sum;
    }
}

void bf16MatvecAvx2(
    const std::uint16_t *w, const float *x, float *y, std::int64_t rows, std::int64_t cols)
{
    at::parallel_for(0, rows, 64,
        [&](std::int64_t begin, std::int64_t end) { bf16MatvecRows(w, x, y, begin, end, cols); });
}

struct Groups
{
    std::vector<std::int64_t> counts;
    at::Tensor sortedTokens, sortedWeights;
};

// The MoE block's grouping (moe_block.cpp), reproduced to time its pieces.
Groups groupByExpert(
    const model::RouterDecision &d, std::int64_t E, std::int64_t K, at::ScalarType dtype)
{
    const auto N = d.topkIdx.size(0);
    const auto flat = d.topkIdx.reshape({ -1 });
    const auto counts = at::bincount(flat, {}, E).to(at::kCPU);
    const auto order = std::get<1>(at::sort(flat, true, 0, false));
    Groups g;
    g.counts.assign(counts.data_ptr<std::int64_t>(), counts.data_ptr<std::int64_t>() + E);
    g.sortedTokens = at::arange(N, at::kLong).repeat_interleave(K).index_select(0, order);
    g.sortedWeights = d.topkWeights.reshape({ -1 }).index_select(0, order).to(dtype);
    return g;
}

struct ExpertWeights
{
    std::vector<at::Tensor> gate, up, down; // [I, H], [I, H], [H, I]
};

ExpertWeights expertWeights(
    const model::WeightStore &store, const model::ModelSpec &spec, int layer)
{
    ExpertWeights w;
    for (int e = 0; e < spec.moe.numExperts; ++e) {
        const auto p = model::ModelSpec::expand(
            spec.names.layer + spec.names.moe + spec.names.expert, layer, e);
        w.gate.push_back(store.get(p + spec.names.gateProj + ".weight"));
        w.up.push_back(store.get(p + spec.names.upProj + ".weight"));
        w.down.push_back(store.get(p + spec.names.downProj + ".weight"));
    }
    return w;
}

// Times the expert loop piece by piece: gather, gate, up, activation, down,
// weighting + scatter-add. `upcast`: bf16 weights converted to fp32 per
// expert per call (x is then fp32).
void profileExperts(const std::string &label, const at::Tensor &x, const Groups &g,
    const ExpertWeights &w, bool upcast, bool fusedGateUp, int repeat)
{
    double gather = 0, gate = 0, up = 0, act = 0, down = 0, scatter = 0, convert = 0, flops = 0;
    std::vector<at::Tensor> fused;
    if (fusedGateUp)
        for (std::size_t e = 0; e < w.gate.size(); ++e)
            fused.push_back(at::cat({ w.gate[e], w.up[e] }, 0).contiguous());
    auto time = [&](double &acc, const std::function<at::Tensor()> &op) {
        at::Tensor out;
        const double s = bestSeconds([&] { out = op(); }, repeat);
        acc += s;
        return out;
    };
    auto out = at::zeros_like(x);
    std::int64_t offset = 0;
    for (std::size_t e = 0; e < g.counts.size(); ++e) {
        const auto n = g.counts[e];
        if (n == 0)
            continue;
        const auto tokens = g.sortedTokens.narrow(0, offset, n);
        offset += n;
        at::Tensor wg = w.gate[e], wu = w.up[e], wd = w.down[e],
                   wf = fusedGateUp ? fused[e] : at::Tensor();
        if (upcast) {
            convert += bestSeconds(
                [&] {
                    (void)wg.to(at::kFloat);
                    (void)wu.to(at::kFloat);
                    (void)wd.to(at::kFloat);
                },
                repeat);
            wg = wg.to(at::kFloat);
            wu = wu.to(at::kFloat);
            wd = wd.to(at::kFloat);
            if (fusedGateUp)
                wf = wf.to(at::kFloat);
        }
        const auto xs = time(gather, [&] { return x.index_select(0, tokens); });
        at::Tensor gv, uv;
        if (fusedGateUp) {
            const auto both = time(gate, [&] { return at::linear(xs, wf); });
            gv = both.narrow(-1, 0, wg.size(0));
            uv = both.narrow(-1, wg.size(0), wg.size(0));
        } else {
            gv = time(gate, [&] { return at::linear(xs, wg); });
            uv = time(up, [&] { return at::linear(xs, wu); });
        }
        const auto a = time(act, [&] { return at::silu(gv) * uv; });
        const auto y = time(down, [&] { return at::linear(a, wd); });
        // Repeats add into `out` again: the values do not matter here, the time does.
        time(scatter, [&] {
            return out.index_add_(
                0, tokens, y * g.sortedWeights.narrow(0, offset - n, n).unsqueeze(1));
        });
        flops += 2.0 * n * 3 * wg.numel();
    }
    std::printf(" %s\n", label.c_str());
    if (upcast)
        row("bf16 -> fp32 weight copies (3 per active expert)", convert);
    row("gather tokens (index_select)", gather);
    row(fusedGateUp ? "gate+up fused matmul" : "gate matmul", gate,
        fusedGateUp ? 2 * flops / 3 : flops / 3);
    if (!fusedGateUp)
        row("up matmul", up, flops / 3);
    row("silu(gate) * up", act);
    row("down matmul", down, flops / 3);
    row("routing weight multiply + index_add_", scatter);
    row("expert loop total", convert + gather + gate + up + act + down + scatter, flops);
}

void profileLayer(const std::shared_ptr<const model::Checkpoint> &checkpoint, at::ScalarType dtype,
    int layer, std::int64_t tokens, int repeat, bool alternatives)
{
    const auto &spec = checkpoint->spec();
    const model::WeightStore store(checkpoint, dtype);
    const std::int64_t H = spec.hiddenSize, E = spec.moe.numExperts, K = spec.moe.topK;
    std::printf("\n== layer %d, %s weights, prefill of %lld tokens (1 x %lld) ==\n", layer,
        dtype == at::kBFloat16 ? "bf16" : "fp32", static_cast<long long>(tokens),
        static_cast<long long>(tokens));

    // Attention, as Decoder::forward calls it (no cache: a prefill).
    const auto attention = model::makeAttention(spec, store, layer);
    const model::RotaryEmbedding rotary(spec.rope);
    const auto positions = at::arange(tokens, at::kLong).unsqueeze(0);
    const auto x3 = at::randn({ 1, tokens, H }).to(dtype);
    model::RopeTables rope;
    at::Tensor mask;
    row("rope tables", bestSeconds([&] { rope = rotary.tables(positions, dtype); }, repeat));
    row("causal mask build [1,1,T,T]",
        bestSeconds([&] { mask = causalMask(1, 0, tokens, dtype); }, repeat));
    const model::AttentionContext ctx { &rope, mask };
    const double projFlops
        = 2.0 * tokens * 4 * H * spec.attention.numHeads * spec.attention.headDim;
    const auto wq
        = store.get(model::ModelSpec::expand(spec.names.layer + spec.names.attention, layer)
            + spec.names.q + ".weight");
    row("attention q projection alone", bestSeconds([&] { (void)at::linear(x3, wq); }, repeat),
        projFlops / 4);
    row("attention block (q/k/v/o, q/k norm, rope, softmax)",
        bestSeconds([&] { (void)attention->forward(x3, ctx, nullptr); }, repeat), projFlops);

    // Router and selection.
    const model::MoeBlock block(spec, store, layer);
    const auto x = at::randn({ tokens, H }).to(dtype);
    const auto routerWeight
        = store.get(model::ModelSpec::expand(spec.names.layer + spec.names.moe, layer)
            + spec.names.router + ".weight");
    at::Tensor logits;
    row("router matmul + .float()",
        bestSeconds([&] { logits = at::linear(x, routerWeight).to(at::kFloat); }, repeat),
        2.0 * tokens * E * H);
    model::RouterDecision decision;
    row("softmax + top-k",
        bestSeconds([&] { decision = model::selectExperts(spec.moe, logits, {}); }, repeat));
    Groups groups;
    row("bincount + sort + host sync (grouping)",
        bestSeconds([&] { groups = groupByExpert(decision, E, K, dtype); }, repeat));
    routing::RoutingRecorder recorder(spec.numLayers, static_cast<int>(E));
    routing::RouterSite site;
    site.layer = layer;
    site.numExperts = static_cast<int>(E);
    site.topK = static_cast<int>(K);
    row("RoutingRecorder::afterSelection",
        bestSeconds([&] { recorder.afterSelection(site, decision.topkIdx, decision.topkWeights); },
            repeat));
    int active = 0;
    std::int64_t most = 0;
    for (auto c : groups.counts) {
        active += c > 0;
        most = std::max(most, c);
    }
    std::printf("  active experts %d/%lld, tokens per active expert: mean %.1f, max %lld\n", active,
        static_cast<long long>(E), double(tokens * K) / std::max(active, 1),
        static_cast<long long>(most));
    const model::MoeStepContext moeCtx { nullptr, {}, 1, tokens };
    const double expertFlops = 2.0 * tokens * K * 3 * H * spec.moe.expertIntermediate;
    row("MoE block total (MoeBlock::forward)",
        bestSeconds([&] { (void)block.forward(x, moeCtx); }, repeat),
        expertFlops + 2.0 * tokens * E * H);

    const auto weights = expertWeights(store, spec, layer);
    profileExperts("expert loop, as the engine runs it:", x, groups, weights, false, false, repeat);
    if (alternatives) {
        if (dtype == at::kBFloat16) {
            profileExperts("alternative: bf16 weights upcast to fp32 per expert, fp32 activations:",
                x.to(at::kFloat), groups, weights, true, false, repeat);
        } else {
            profileExperts("alternative: gate and up fused into one [2I, H] matmul:", x, groups,
                weights, false, true, repeat);
        }
    }
}

void profileDecode(const std::shared_ptr<const model::Checkpoint> &checkpoint, int layer,
    std::int64_t past, int repeat)
{
    const auto &spec = checkpoint->spec();
    std::printf("\n== layer %d, decode: 1 token after %lld cached ==\n", layer,
        static_cast<long long>(past));
    for (auto dtype : { at::kBFloat16, at::kFloat }) {
        const std::string name = dtype == at::kBFloat16 ? "bf16" : "fp32";
        const model::WeightStore store(checkpoint, dtype);
        const std::int64_t H = spec.hiddenSize;
        const auto elem = dtype == at::kBFloat16 ? 2.0 : 4.0;
        const model::RotaryEmbedding rotary(spec.rope);

        const auto attention = model::makeAttention(spec, store, layer);
        model::LayerKvCache cache;
        const auto pastRope = rotary.tables(at::arange(past, at::kLong).unsqueeze(0), dtype);
        attention->forward(at::randn({ 1, past, H }).to(dtype),
            { &pastRope, causalMask(1, 0, past, dtype) }, &cache);
        const auto x3 = at::randn({ 1, 1, H }).to(dtype);
        const double attnBytes = 4.0 * H * spec.attention.numHeads * spec.attention.headDim * elem;
        row(name + " attention block incl. mask + rope, 1 token on the cache",
            bestSeconds(
                [&] {
                    const auto rope
                        = rotary.tables(at::full({ 1, 1 }, cache.length, at::kLong), dtype);
                    (void)attention->forward(
                        x3, { &rope, causalMask(1, cache.length, 1, dtype) }, &cache);
                },
                repeat),
            0.0, attnBytes);

        const model::MoeBlock block(spec, store, layer);
        const auto x = at::randn({ 1, H }).to(dtype);
        const model::MoeStepContext moeCtx { nullptr, {}, 1, 1 };
        const double expertBytes = 3.0 * spec.moe.topK * H * spec.moe.expertIntermediate * elem;
        row(name + " MoE block, 1 token (top-k experts)",
            bestSeconds([&] { (void)block.forward(x, moeCtx); }, repeat), 0.0, expertBytes);
        const auto gate
            = store.get(model::ModelSpec::expand(
                            spec.names.layer + spec.names.moe + spec.names.expert, layer, 0)
                + spec.names.gateProj + ".weight");
        row(name + " one expert's gate matvec [1,H] x [I,H]^T",
            bestSeconds([&] { (void)at::linear(x, gate); }, repeat), 0.0, gate.numel() * elem);
        if (dtype == at::kBFloat16) {
            row("bf16 gate upcast to fp32, then fp32 matvec",
                bestSeconds(
                    [&] { (void)at::linear(x.to(at::kFloat), gate.to(at::kFloat)); }, repeat),
                0.0, gate.numel() * elem);
            // The kernel over all top-k experts' gate/up/down of this layer
            // (3 x 8 matrices of 4 MiB, beyond L2 but within L3 on repeats),
            // then over 512 MiB of matrices (from memory).
            const auto xf = at::randn({ H });
            auto y = at::empty({ H });
            std::vector<at::Tensor> many;
            for (int i = 0; i < 128; ++i)
                many.push_back(at::randn({ spec.moe.expertIntermediate, H }).to(at::kBFloat16));
            const auto streamed = [&] {
                for (const auto &m : many)
                    bf16MatvecAvx2(reinterpret_cast<const std::uint16_t *>(m.data_ptr()),
                        xf.data_ptr<float>(), y.data_ptr<float>(), m.size(0), m.size(1));
            };
            row("prototype AVX2 bf16 matvec, one expert's gate",
                bestSeconds(
                    [&] {
                        bf16MatvecAvx2(reinterpret_cast<const std::uint16_t *>(gate.data_ptr()),
                            xf.data_ptr<float>(), y.data_ptr<float>(), gate.size(0), gate.size(1));
                    },
                    repeat),
                0.0, gate.numel() * elem);
            row("prototype AVX2 bf16 matvec over 128 experts' gates (512 MiB)",
                bestSeconds(streamed, repeat), 0.0, 128.0 * gate.numel() * elem);
            const auto torchStreamed = [&] {
                for (const auto &m : many)
                    (void)at::linear(x, m);
            };
            row("torch at::linear bf16 over the same 128 matrices", bestSeconds(torchStreamed, 1),
                0.0, 128.0 * gate.numel() * elem);
        }
    }
}

} // namespace

int main(int argc, char **argv)
{
    std::string dir = bench::defaultOlmoeDir(4);
    std::int64_t tokens = 512, bf16Tokens = 64;
    int layer = 0, repeat = 3;
    bool decodeOnly = false;
    int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--tokens" && i + 1 < argc)
            tokens = std::stoll(argv[++i]);
        else if (a == "--bf16-tokens" && i + 1 < argc)
            bf16Tokens = std::stoll(argv[++i]);
        else if (a == "--layer" && i + 1 < argc)
            layer = std::stoi(argv[++i]);
        else if (a == "--threads" && i + 1 < argc)
            threads = std::stoi(argv[++i]);
        else if (a == "--decode-only")
            decodeOnly = true;
        else if (a == "--repeat" && i + 1 < argc)
            repeat = std::stoi(argv[++i]);
        else
            dir = a;
    }
    at::set_num_threads(threads);
    c10::InferenceMode guard;
    at::manual_seed(0);
    const auto checkpoint = model::Checkpoint::open(dir);
    std::printf("%s, %d intra-op threads\n", dir.c_str(), at::get_num_threads());
    if (!decodeOnly) {
        profileLayer(checkpoint, at::kFloat, layer, tokens, repeat, true);
        profileLayer(checkpoint, at::kBFloat16, layer, bf16Tokens, 1, true);
    }
    profileDecode(checkpoint, layer, 128, repeat);
    return 0;
}
