// The training loop of `moescope train-demo` (demo_trainer.h): AdamW on the
// inference decoder's own layers, a cosine learning-rate schedule, held-out
// evaluation with early stopping, and a resumable state on disk.
#include "core/training/demo_trainer.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include <spdlog/spdlog.h>
#include "core/jobs/job_context.h"
#include "core/training/trainable_model.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

namespace moescope::training {

namespace fs = std::filesystem;

namespace {

constexpr double kLn2 = 0.69314718055994530942;
constexpr double kMinImprovement = 0.005; // bits per byte

struct LossPoint
{
    int step = 0;
    double trainBitsPerByte = 0;   // mean over the steps since the previous point
    double heldOutBitsPerByte = 0; // mean over languages
};

struct TrainingState
{
    int step = 0;
    double seconds = 0;
    int bestStep = 0;
    double bestHeldOut = std::numeric_limits<double>::infinity();
    int evaluationsWithoutImprovement = 0;
    std::vector<LossPoint> history;
};

nlohmann::json optionsJson(const DemoTrainingOptions &o)
{
    const auto &a = o.arch;
    return {{"seed", o.seed},
            {"steps", o.steps},
            {"minutes", o.minutes},
            {"architecture",
             {{"layers", a.layers}, {"hidden", a.hidden}, {"heads", a.heads}, {"head_dim", a.headDim},
              {"experts", a.experts}, {"top_k", a.topK}, {"expert_intermediate", a.expertIntermediate},
              {"context", a.context}}},
            {"languages", o.languages},
            {"batch", o.batch},
            {"learning_rate", o.learningRate},
            {"final_learning_rate_ratio", o.finalLearningRateRatio},
            {"warmup_steps", o.warmupSteps},
            {"weight_decay", o.weightDecay},
            {"balance_weight", o.balanceWeight},
            {"gradient_clip", o.gradientClip},
            {"eval_every", o.evalEvery},
            {"checkpoint_every", o.checkpointEvery},
            {"patience", o.patience},
            {"held_out_bytes", o.heldOutBytes},
            {"threads", o.threads},
            {"command", o.command}};
}

DemoTrainingOptions optionsFromJson(const nlohmann::json &j, const DemoTrainingOptions &given)
{
    DemoTrainingOptions o = given; // outDir, resume, minutes, command stay as given
    o.seed = j.at("seed").get<std::uint64_t>();
    o.steps = j.at("steps").get<int>();
    const auto &a = j.at("architecture");
    o.arch.layers = a.at("layers");
    o.arch.hidden = a.at("hidden");
    o.arch.heads = a.at("heads");
    o.arch.headDim = a.at("head_dim");
    o.arch.experts = a.at("experts");
    o.arch.topK = a.at("top_k");
    o.arch.expertIntermediate = a.at("expert_intermediate");
    o.arch.context = a.at("context");
    o.languages = j.at("languages").get<std::vector<std::string>>();
    o.batch = j.at("batch");
    o.learningRate = j.at("learning_rate");
    o.finalLearningRateRatio = j.at("final_learning_rate_ratio");
    o.warmupSteps = j.at("warmup_steps");
    o.weightDecay = j.at("weight_decay");
    o.balanceWeight = j.at("balance_weight");
    o.gradientClip = j.at("gradient_clip");
    o.evalEvery = j.at("eval_every");
    o.checkpointEvery = j.at("checkpoint_every");
    o.patience = j.at("patience");
    o.heldOutBytes = j.at("held_out_bytes");
    o.threads = j.at("threads");
    if (given.command.empty())
        o.command = j.value("command", "");
    return o;
}

void checkOptions(const DemoTrainingOptions &o)
{
    checkArchitecture(o.arch);
    auto need = [](bool ok, const std::string &what) {
        if (!ok)
            throw Error("train-demo: " + what);
    };
    need(!o.outDir.empty(), "an output folder is needed");
    need(o.steps >= 1, "steps must be positive");
    need(o.minutes > 0, "minutes must be positive");
    need(o.batch >= 1, "batch must be positive");
    need(o.learningRate > 0 && o.finalLearningRateRatio >= 0 && o.finalLearningRateRatio <= 1,
         "learning rate must be positive and the final ratio in [0, 1]");
    need(o.weightDecay >= 0 && o.balanceWeight >= 0, "weight decay and balance weight must be >= 0");
    need(o.evalEvery >= 1 && o.checkpointEvery >= 1 && o.patience >= 1,
         "eval-every, checkpoint-every and patience must be positive");
    need(o.heldOutBytes >= 16, "held-out bytes must be >= 16");
    need(!o.languages.empty(), "no languages");
}

// Warm-up, then cosine decay to finalLearningRateRatio * learningRate at `steps`.
double learningRateAt(const DemoTrainingOptions &o, int step)
{
    if (step < o.warmupSteps)
        return o.learningRate * (step + 1) / o.warmupSteps;
    const double progress = std::min(1.0, static_cast<double>(step - o.warmupSteps)
                                              / std::max(1, o.steps - o.warmupSteps));
    const double floor = o.finalLearningRateRatio;
    return o.learningRate * (floor + (1.0 - floor) * 0.5 * (1.0 + std::cos(M_PI * progress)));
}

// Step s draws its windows from a generator seeded by (seed, s) alone, so a
// resumed run sees exactly the batches an uninterrupted one would.
at::Tensor sampleWindows(const std::vector<LanguageText> &corpus, const DemoTrainingOptions &o, int step)
{
    std::seed_seq seq{static_cast<std::uint32_t>(o.seed), static_cast<std::uint32_t>(o.seed >> 32),
                      static_cast<std::uint32_t>(step)};
    std::mt19937_64 rng(seq);
    const std::int64_t length = o.arch.context + 1;
    auto windows = at::empty({o.batch, length}, at::kLong);
    auto *out = windows.data_ptr<std::int64_t>();
    std::uniform_int_distribution<std::size_t> pickLanguage(0, corpus.size() - 1);
    for (int b = 0; b < o.batch; ++b) {
        const auto &text = corpus[pickLanguage(rng)].train;
        if (text.size() < static_cast<std::size_t>(length))
            throw Error("train-demo: training text of a language is shorter than one window");
        std::uniform_int_distribution<std::size_t> pickStart(0, text.size() - static_cast<std::size_t>(length));
        const auto start = pickStart(rng);
        for (std::int64_t i = 0; i < length; ++i)
            out[b * length + i] = static_cast<unsigned char>(text[start + static_cast<std::size_t>(i)]);
    }
    return windows;
}

// Mean held-out bits per byte over languages: the first heldOutBytes bytes of
// each language's held-out articles in non-overlapping context windows (the
// first byte of each window is context only).
double heldOutBitsPerByte(const model::Decoder &decoder, const std::vector<LanguageText> &corpus,
                          const DemoTrainingOptions &o)
{
    at::NoGradGuard noGrad;
    double sum = 0;
    for (const auto &language : corpus) {
        const auto text = language.heldOut.substr(0, static_cast<std::size_t>(o.heldOutBytes));
        double nll = 0;
        std::int64_t scored = 0;
        for (std::size_t start = 0; start + 1 < text.size(); start += static_cast<std::size_t>(o.arch.context)) {
            const auto n = static_cast<std::int64_t>(std::min<std::size_t>(o.arch.context, text.size() - start));
            if (n < 2)
                break;
            auto ids = at::empty({1, n + 0}, at::kLong);
            for (std::int64_t i = 0; i < n; ++i)
                ids[0][i] = static_cast<std::int64_t>(static_cast<unsigned char>(text[start + static_cast<std::size_t>(i)]));
            model::ForwardRequest request;
            request.inputIds = ids.narrow(1, 0, n - 1);
            const auto logits = decoder.forward(request);
            nll += at::nll_loss(at::log_softmax(logits.reshape({n - 1, -1}), -1), ids.narrow(1, 1, n - 1).reshape({-1}),
                                {}, at::Reduction::Sum)
                       .item<double>();
            scored += n - 1;
        }
        sum += nll / kLn2 / static_cast<double>(std::max<std::int64_t>(1, scored));
    }
    return sum / static_cast<double>(corpus.size());
}

std::string lossCsv(const std::vector<LossPoint> &history)
{
    std::ostringstream csv;
    csv << "step,train_bits_per_byte,held_out_bits_per_byte\n";
    csv.setf(std::ios::fixed);
    csv.precision(4);
    for (const auto &p : history) {
        csv << p.step << ',';
        if (p.step > 0) // the untrained point has no training steps to average
            csv << p.trainBitsPerByte;
        csv << ',' << p.heldOutBitsPerByte << '\n';
    }
    return csv.str();
}

void saveState(const fs::path &dir, const DemoTrainingOptions &o, const TrainingState &state,
               const ParameterMap &parameters, const AdamW &optimiser)
{
    ParameterMap tensors = parameters;
    optimiser.saveTo(tensors);
    writeParameters((dir / "training_state.safetensors").string(), tensors);
    nlohmann::json history = nlohmann::json::array();
    for (const auto &p : state.history)
        history.push_back({p.step, p.trainBitsPerByte, p.heldOutBitsPerByte});
    const nlohmann::json j = {{"step", state.step},
                              {"seconds", state.seconds},
                              {"best_step", state.bestStep},
                              {"best_held_out_bits_per_byte", state.bestHeldOut},
                              {"evaluations_without_improvement", state.evaluationsWithoutImprovement},
                              {"optimiser_steps", optimiser.steps()},
                              {"history", history},
                              {"options", optionsJson(o)}};
    // The JSON names the step the tensors hold; it is written second, so a
    // crash in between leaves a state one checkpoint older plus newer tensors,
    // which resume detects by the step stored in the tensor file's sibling.
    writeFileAtomically((dir / "training_state.json").string(), j.dump(1) + "\n");
    writeFileAtomically((dir / "loss.csv").string(), lossCsv(state.history));
}

} // namespace

void writeUntrainedDemoModel(const std::string &dir, const DemoArchitecture &arch, std::uint64_t seed)
{
    writeModelFolder(dir, arch, initialParameters(arch, seed));
}

DemoTrainingResult trainDemoModel(const DemoTrainingOptions &given, const JobContext &job)
{
    const fs::path dir(given.outDir);
    const auto statePath = dir / "training_state.json";
    DemoTrainingOptions o = given;
    TrainingState state;
    ParameterMap parameters;
    AdamW optimiser;
    if (given.resume) {
        if (!fs::exists(statePath))
            throw Error(statePath.string(), "no training state to resume (train without --resume first)");
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(readFile(statePath.string()));
            o = optionsFromJson(j.at("options"), given);
            state.step = j.at("step");
            state.seconds = j.at("seconds");
            state.bestStep = j.at("best_step");
            state.bestHeldOut = j.at("best_held_out_bits_per_byte");
            state.evaluationsWithoutImprovement = j.at("evaluations_without_improvement");
            for (const auto &p : j.at("history"))
                state.history.push_back({p.at(0).get<int>(), p.at(1).get<double>(), p.at(2).get<double>()});
            checkOptions(o);
            const auto tensors = readParameters((dir / "training_state.safetensors").string(), "", false);
            ParameterMap moments;
            for (const auto &[name, t] : tensors) {
                if (name.rfind("adam_", 0) == 0)
                    moments[name] = t;
                else
                    parameters[name] = t.clone().requires_grad_(true);
            }
            optimiser.restore(moments, j.at("optimiser_steps").get<std::int64_t>());
        } catch (const nlohmann::json::exception &e) {
            throw Error(statePath.string(), std::string("unreadable training state: ") + e.what());
        }
        spdlog::info("train-demo: resuming {} at step {} ({:.0f} s trained)", dir.string(), state.step, state.seconds);
    } else {
        checkOptions(o);
        if (fs::exists(statePath))
            throw Error(statePath.string(), "a training state exists here; pass --resume or choose another folder");
        parameters = initialParameters(o.arch, o.seed);
        writeModelFolder(dir.string(), o.arch, parameters);
    }

    const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
    const auto corpus = demoCorpus(o.languages);
    auto model = makeTrainableModel(dir.string(), parameters);
    auto &decoder = *model.decoder;

    DemoTrainingResult result;
    const auto started = std::chrono::steady_clock::now();
    const double secondsBefore = state.seconds;
    auto elapsed = [&] {
        return secondsBefore + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    double trainSum = 0;
    int trainCount = 0;
    std::string stop;

    auto evaluate = [&] {
        const double heldOut = heldOutBitsPerByte(decoder, corpus, o);
        state.history.push_back({state.step, trainCount ? trainSum / trainCount : 0.0, heldOut});
        trainSum = 0;
        trainCount = 0;
        if (heldOut < state.bestHeldOut - kMinImprovement) {
            state.bestHeldOut = heldOut;
            state.bestStep = state.step;
            state.evaluationsWithoutImprovement = 0;
            writeParameters((dir / "model.safetensors").string(), model.parameters);
        } else {
            ++state.evaluationsWithoutImprovement;
        }
        spdlog::info("train-demo: step {} train {:.3f} held-out {:.3f} bits/byte (best {:.3f} at {})", state.step,
                  state.history.back().trainBitsPerByte, heldOut, state.bestHeldOut, state.bestStep);
    };
    auto checkpoint = [&] {
        state.seconds = elapsed();
        saveState(dir, o, state, model.parameters, optimiser);
    };

    if (state.step == 0 && state.history.empty())
        evaluate(); // the untrained loss, step 0 of the curve

    while (true) {
        if (state.step >= o.steps) {
            stop = "steps";
            break;
        }
        if (state.evaluationsWithoutImprovement >= o.patience) {
            stop = "early stopping";
            break;
        }
        if (elapsed() >= o.minutes * 60.0) {
            stop = "time limit";
            break;
        }
        if (job.isCancelled()) {
            checkpoint();
            job.checkCancelled();
        }
        const auto windows = sampleWindows(corpus, o, state.step);
        const auto loss = batchLoss(decoder, windows, o.balanceWeight);
        loss.total.backward();
        optimiser.step(model.parameters, learningRateAt(o, state.step), o.weightDecay, o.gradientClip);
        const double bits = loss.crossEntropy.item<double>() / kLn2;
        if (!std::isfinite(bits))
            throw Error("train-demo: the loss diverged at step " + std::to_string(state.step)
                        + " (try a lower --lr)");
        trainSum += bits;
        ++trainCount;
        ++state.step;
        std::ostringstream message;
        message.setf(std::ios::fixed);
        message.precision(3);
        message << "loss " << bits << " bits/byte, balance " << loss.balance.item<double>() << ", held-out best "
                << state.bestHeldOut;
        job.report(static_cast<std::size_t>(state.step), static_cast<std::size_t>(o.steps), "steps", message.str());
        if (state.step % o.evalEvery == 0 || state.step == o.steps)
            evaluate();
        if (state.step % o.checkpointEvery == 0)
            checkpoint();
    }
    checkpoint();
    result.steps = state.step;
    result.seconds = state.seconds;
    result.bestStep = state.bestStep;
    result.bestHeldOutBitsPerByte = state.bestHeldOut;
    result.stopReason = stop;
    return result;
}

} // namespace moescope::training
