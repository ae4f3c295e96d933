// train-demo, demo-report: the bundled demo model (core/training,
// resources/demo-model/README.md) is trained and measured by these.
#include "core/cli/command.h"
#include "core/cli/common_options.h"

#include "core/common/error.h"
#include "core/common/logging.h"
#include "core/common/progress.h"
#include "core/model/bundled_model.h"
#include "core/model/moe_model.h"
#include "core/training/demo_trainer.h"
#include "core/training/specialisation.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <unistd.h>

namespace moescope::cli {

namespace {

int atLeast(const ArgParser &p, const std::string &name, int minimum)
{
    const int value = p.getInt(name);
    if (value < minimum)
        throw UsageError("option --" + name + " must be at least " + std::to_string(minimum));
    return value;
}

double positive(const ArgParser &p, const std::string &name)
{
    const double value = p.getDouble(name);
    if (!(value >= 0))
        throw UsageError("option --" + name + " must not be negative");
    return value;
}

int trainDemo(const std::vector<std::string> &args)
{
    const training::DemoTrainingOptions d;
    ArgParser p("train-demo", "--out DIR [--resume] [options]",
                "Trains the demo MoE language model (qwen3_moe layout, byte-level tokenizer) on\n"
                "the bundled UDHR sample with the inference decoder itself: articles 0-24 of\n"
                "each language are training text, 25-30 are held out for early stopping.\n"
                "DIR always holds a loadable model (the best held-out checkpoint so far),\n"
                "loss.csv and a resumable training state. Ctrl-C saves the state and stops;\n"
                "--resume continues it (the saved options win, except --minutes).\n"
                "The shipped model was made with the command in resources/demo-model/README.md.");
    p.option("out", "DIR", "output folder (required)")
        .flag("resume", "continue the training state in DIR")
        .option("seed", "N", "seed of the initial weights and of the batches", std::to_string(d.seed))
        .option("steps", "N", "optimiser steps (the learning-rate schedule spans them)", std::to_string(d.steps))
        .option("minutes", "M", "wall-clock limit over all runs of DIR", "30")
        .option("languages", "LIST", "comma-separated UDHR languages (default: the 22 of the card)")
        .option("layers", "N", "decoder layers", std::to_string(d.arch.layers))
        .option("hidden", "N", "hidden size", std::to_string(d.arch.hidden))
        .option("heads", "N", "attention heads", std::to_string(d.arch.heads))
        .option("head-dim", "N", "dimensions per head", std::to_string(d.arch.headDim))
        .option("experts", "N", "routed experts per layer", std::to_string(d.arch.experts))
        .option("top-k", "N", "experts per token", std::to_string(d.arch.topK))
        .option("expert-width", "N", "expert intermediate size", std::to_string(d.arch.expertIntermediate))
        .option("context", "N", "bytes per training window", std::to_string(d.arch.context))
        .option("batch", "N", "windows per step", std::to_string(d.batch))
        .option("lr", "X", "peak learning rate", "0.003")
        .option("warmup", "N", "warm-up steps", std::to_string(d.warmupSteps))
        .option("weight-decay", "X", "AdamW weight decay (matrices)", "0.1")
        .option("balance", "X", "load-balancing loss coefficient", "0.01")
        .option("eval-every", "N", "steps between held-out evaluations", std::to_string(d.evalEvery))
        .option("checkpoint-every", "N", "steps between saved training states", std::to_string(d.checkpointEvery))
        .option("patience", "N", "evaluations without improvement before stopping", std::to_string(d.patience))
        .option("held-out-bytes", "N", "held-out bytes per language for early stopping",
                std::to_string(d.heldOutBytes))
        .option("threads", "N", "intra-op threads (0 = all cores)", "0");
    if (!parseCommon(p, args))
        return 0;
    if (!p.has("out"))
        throw UsageError("--out DIR is required");
    training::DemoTrainingOptions o;
    o.outDir = p.get("out");
    o.resume = p.flagSet("resume");
    const auto seed = p.getInt("seed");
    if (seed < 0)
        throw UsageError("option --seed must not be negative");
    o.seed = static_cast<std::uint64_t>(seed);
    o.steps = atLeast(p, "steps", 1);
    o.minutes = positive(p, "minutes");
    if (p.has("languages"))
        o.languages = splitList(p.get("languages"));
    o.arch.layers = atLeast(p, "layers", 1);
    o.arch.hidden = atLeast(p, "hidden", 8);
    o.arch.heads = atLeast(p, "heads", 1);
    o.arch.headDim = atLeast(p, "head-dim", 2);
    o.arch.experts = atLeast(p, "experts", 2);
    o.arch.topK = atLeast(p, "top-k", 1);
    o.arch.expertIntermediate = atLeast(p, "expert-width", 1);
    o.arch.context = atLeast(p, "context", 8);
    o.batch = atLeast(p, "batch", 1);
    o.learningRate = positive(p, "lr");
    o.warmupSteps = atLeast(p, "warmup", 0);
    o.weightDecay = positive(p, "weight-decay");
    o.balanceWeight = positive(p, "balance");
    o.evalEvery = atLeast(p, "eval-every", 1);
    o.checkpointEvery = atLeast(p, "checkpoint-every", 1);
    o.patience = atLeast(p, "patience", 1);
    o.heldOutBytes = atLeast(p, "held-out-bytes", 16);
    o.threads = atLeast(p, "threads", 0);
    o.command = commandLine("train-demo", args);

    ConsoleProgress progress("train-demo");
    JobContext job(progress.callback());
    InterruptCancels interrupt(job); // the trainer then saves its state and stops
    training::DemoTrainingResult result;
    try {
        result = training::trainDemoModel(o, job);
    } catch (const Cancelled &) {
        progress.finish();
        std::fprintf(stderr, "moescope train-demo: interrupted; the state is saved in %s, --resume continues it\n",
                     o.outDir.c_str());
        return 130;
    }
    progress.finish();
    std::printf("%s: %d steps in %.0f s (stopped: %s); best held-out %.3f bits/byte at step %d\n",
                o.outDir.c_str(), result.steps, result.seconds, result.stopReason.c_str(),
                result.bestHeldOutBitsPerByte, result.bestStep);
    return 0;
}

int demoReport(const std::vector<std::string> &args)
{
    const training::SpecialisationOptions d;
    ArgParser p("demo-report", "[--model DIR] [--control] [options]",
                "Prints the demo model card's figures on held-out UDHR text (articles 25-30):\n"
                "bits per byte per language, (a) nearest routing neighbour in the own language\n"
                "group, (b) Romance vs Germanic separation among es pt it fr / en de nl, and\n"
                "(c) the bits-per-byte rise when a language's exclusive experts are masked,\n"
                "beside an untrained control of the same architecture and seed (--control).\n"
                "Without --model it measures the bundled demo model.");
    p.option("model", "DIR", "a model folder written by train-demo (default: the bundled demo model)")
        .flag("control", "also measure the untrained control (same config, --seed)")
        .option("seed", "N", "the control's seed (the training seed)", "7")
        .option("held-out-bytes", "N", "held-out bytes per language", std::to_string(d.heldOutBytes))
        .option("exclusive-k", "N", "experts kept per language and layer", std::to_string(d.exclusiveK))
        .option("exclusive-threshold", "X", "share above which an expert is exclusive", "0.3")
        .option("threads", "N", "intra-op threads (0 = all cores)", "0");
    if (!parseCommon(p, args))
        return 0;
    std::string dir = p.get("model");
    if (dir.empty()) {
        dir = model::bundledModelDirectory().string();
        if (dir.empty())
            throw Error("no --model given and the bundled demo model was not found "
                        "(resources/demo-model, or set MOESCOPE_DEMO_MODEL)");
    }
    training::SpecialisationOptions o;
    o.heldOutBytes = atLeast(p, "held-out-bytes", 16);
    o.exclusiveK = atLeast(p, "exclusive-k", 1);
    o.exclusiveThreshold = p.getDouble("exclusive-threshold");
    if (!(o.exclusiveThreshold > 0 && o.exclusiveThreshold < 1))
        throw UsageError("option --exclusive-threshold must lie in (0, 1)");
    const int threads = atLeast(p, "threads", 0);
    const auto load = std::chrono::steady_clock::now();
    const auto trained = model::MoeModel::load(dir, {model::ComputeDtype::Checkpoint, threads});
    const double loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load).count();
    const auto figures = training::measureSpecialisation(trained, o);
    std::optional<training::SpecialisationFigures> control;
    if (p.flagSet("control")) {
        const auto controlDir = std::filesystem::temp_directory_path()
            / ("moescope-demo-control-" + std::to_string(::getpid()));
        const auto arch = training::readDemoArchitecture(dir);
        training::writeUntrainedDemoModel(controlDir.string(), arch, static_cast<std::uint64_t>(p.getInt("seed")));
        try {
            const auto untrained = model::MoeModel::load(controlDir.string(), {model::ComputeDtype::Checkpoint, threads});
            control = training::measureSpecialisation(untrained, o);
        } catch (...) {
            std::filesystem::remove_all(controlDir);
            throw;
        }
        std::filesystem::remove_all(controlDir);
    }
    std::printf("model: %s (loaded in %.3f s)\nheld-out text: UDHR articles 25-30, first %d bytes per language; "
                "exclusive experts: k %d, threshold %.2f\n\n%s",
                dir.c_str(), loadSeconds, o.heldOutBytes, o.exclusiveK, o.exclusiveThreshold,
                training::formatSpecialisation(figures, control ? &*control : nullptr).c_str());
    return 0;
}

} // namespace

std::vector<Command> trainingCommands()
{
    return {
        {"train-demo", "train the bundled demo MoE model on the UDHR sample", trainDemo},
        {"demo-report", "the demo model card's specialisation figures vs an untrained control", demoReport},
    };
}

} // namespace moescope::cli
