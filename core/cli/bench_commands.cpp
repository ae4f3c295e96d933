// bench: the engine's speed on this machine next to the machine's measured
// peaks (docs/performance.md), and the random OLMoE-shaped checkpoint it runs
// on. The logic lives in core/bench, shared with the programs in bench/.
#include "core/cli/command.h"

#include "core/bench/bench_report.h"
#include "core/bench/olmoe_checkpoint.h"
#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/logging.h"
#include "core/common/progress.h"
#include "core/model/kernel_paths.h"
#include "core/model/moe_model.h"

#include <cstdio>

namespace moescope::cli {

namespace {

int positiveOption(const ArgParser &p, const std::string &name, int minimum)
{
    const int value = p.getInt(name);
    if (value < minimum)
        throw UsageError("option --" + name + " must be at least " + std::to_string(minimum));
    return value;
}

// Writes the checkpoint unless the folder already holds it; returns the folder.
std::string ensureOlmoe(const std::string &dir, int layers)
{
    bench::OlmoeShape shape;
    shape.layers = layers;
    ConsoleProgress progress("write checkpoint");
    JobContext job(progress.callback());
    const bool wrote = bench::writeRandomOlmoe(dir, shape, 1, &job);
    progress.finish();
    if (verbosity() != Verbosity::Quiet)
        std::fprintf(stderr, "%s %s (%d layers, %.2f GB of bf16 weights)\n",
            wrote ? "wrote" : "reusing", dir.c_str(), layers,
            static_cast<double>(bench::olmoeWeightBytes(shape)) / 1e9);
    return dir;
}

int bench(const std::vector<std::string> &args)
{
    ArgParser p("bench", "MODEL_DIR | --olmoe LAYERS | --make-olmoe DIR [options]",
        "Measures the engine on this machine: load to first token, prefill tokens/s\n"
        "(BATCHxTOKENS, logits for the last position as generation prefills) and\n"
        "KV-cached decode tokens/s, optionally each with routing recording, and peak\n"
        "RSS; beside them the machine's measured peaks (libtorch bf16/fp32 matmul\n"
        "GFLOP/s, memory read GB/s) and the bounds they imply: prefill <= the better\n"
        "matmul GFLOP/s / (2 x linear parameters per token), decode <= read GB/s /\n"
        "weight bytes read per token. Targets are those of docs/performance.md.\n"
        "--make-olmoe DIR writes the random-weight OLMoE-shaped bf16 checkpoint\n"
        "(hidden 2048, 64 experts of width 1024, top-8, vocab 50304) and exits;\n"
        "--olmoe LAYERS benchmarks the one in $XDG_CACHE_HOME/moescope/bench,\n"
        "writing it first if needed (4 layers: 3.6 GB, 16 layers: 13.8 GB).");
    p.positional("MODEL_DIR", "model folder to benchmark", 0, 1)
        .option("make-olmoe", "DIR", "write the random OLMoE-shaped checkpoint into DIR and exit")
        .option("layers", "N", "decoder layers of the written checkpoint", "4")
        .option(
            "olmoe", "LAYERS", "benchmark the cached OLMoE-shaped checkpoint with this many layers")
        .option("prefill", "SHAPES", "prefill shapes BATCHxTOKENS, comma-separated, or none",
            "1x512,8x128")
        .option("decode", "N", "decode tokens after the decode prompt (0: skip)", "64")
        .option("decode-prompt", "N", "prompt tokens before decoding", "128")
        .flag("record", "also run every scenario with routing recording (RoutingRecorder)")
        .option("repeat", "R", "timed runs per scenario (the median is reported)", "3")
        .option("dtype", "fp32|bf16", "compute dtype (default: the checkpoint's own)")
        .option("threads", "N", "intra-op threads (default: hardware threads)", "0")
        .flag("cold", "evict the checkpoint from the page cache before loading")
        .flag("no-warmup", "skip the untimed run before each prefill shape")
        .flag("no-peaks", "skip measuring the machine's peaks (bounds are then not shown)")
        .option("json", "FILE", "also write the results as JSON (atomically)");
    if (!parseCommon(p, args))
        return 0;

    // Every option is checked before anything is written or loaded.
    const int layers = positiveOption(p, "layers", 1);
    bench::EngineBenchOptions options;
    try {
        options.prefill = bench::parsePrefillShapes(p.get("prefill"));
    } catch (const Error &e) {
        throw UsageError(std::string("option --prefill: ") + e.what());
    }
    options.decodeTokens = positiveOption(p, "decode", 0);
    options.decodePrompt = positiveOption(p, "decode-prompt", 1);
    options.record = p.flagSet("record");
    options.repeat = positiveOption(p, "repeat", 1);
    options.coldLoad = p.flagSet("cold");
    options.warmup = !p.flagSet("no-warmup");
    const auto dtype = p.get("dtype");
    if (!dtype.empty() && dtype != "fp32" && dtype != "bf16")
        throw UsageError("option --dtype must be fp32 or bf16");
    options.load = { model::parseComputeDtype(dtype), positiveOption(p, "threads", 0) };
    const int olmoeLayers = p.has("olmoe") ? positiveOption(p, "olmoe", 1) : 0;

    if (p.has("make-olmoe")) {
        if (!p.positionals().empty() || p.has("olmoe"))
            throw UsageError("--make-olmoe takes no MODEL_DIR or --olmoe");
        ensureOlmoe(p.get("make-olmoe"), layers);
        return 0;
    }
    std::string dir;
    if (olmoeLayers > 0) {
        if (!p.positionals().empty())
            throw UsageError("give either MODEL_DIR or --olmoe, not both");
        dir = ensureOlmoe(bench::defaultOlmoeDir(olmoeLayers), olmoeLayers);
    } else if (!p.positionals().empty()) {
        dir = p.positionals().front();
    } else {
        throw UsageError("give MODEL_DIR, --olmoe LAYERS or --make-olmoe DIR");
    }

    bench::BenchReport report;
    report.cost = bench::modelCost(dir); // headers only: fails fast on a bad folder
    const bool peaks = !p.flagSet("no-peaks");
    // The peaks are measured before and after the engine and the better
    // figure of each is the bound; the buffers of the first are freed
    // before the engine's peak RSS is reset, so they do not count in it.
    bench::MachinePeaks peaksBefore;
    if (peaks)
        peaksBefore = bench::measureMachinePeaks({ options.load.threads });
    {
        ConsoleProgress progress("bench");
        JobContext job(progress.callback());
        const auto before = bench::currentLoadAverage();
        report.engine = bench::runEngineBenchmark(dir, options, &job);
        report.loadAverage
            = before + " at the start, " + bench::currentLoadAverage() + " at the end";
        progress.finish();
    }
    if (peaks)
        report.peaks = bench::bestOf(peaksBefore, bench::measureMachinePeaks({ options.load.threads }));
    std::fputs(bench::formatBenchReport(report).c_str(), stdout);
    // The products the engine ran, and which kernel each took (docs/engine.md "Kernel paths").
    std::fputs(model::kernels::formatPathChoices(model::kernels::currentChoices()).c_str(), stdout);
    if (p.has("json"))
        writeFileAtomically(p.get("json"), bench::benchReportJson(report));
    return 0;
}

} // namespace

std::vector<Command> benchCommands()
{
    return { { "bench",
        "measure prefill/decode speed, load time and memory against this machine's peaks",
        bench } };
}

} // namespace moescope::cli
