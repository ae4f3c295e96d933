// The training pieces on a tiny architecture: files the loaders accept,
// autograd through the inference decoder, AdamW, reload fidelity, resume.
#include "core/common/error.h"
#include "core/jobs/job_context.h"
#include "core/model/model_spec.h"
#include "core/model/moe_model.h"
#include "core/model/tokenizer/tokenizer.h"
#include "core/training/demo_trainer.h"
#include "core/training/trainable_model.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>
#include <string>

using namespace moescope;
using namespace moescope::training;
namespace fs = std::filesystem;

namespace {

DemoArchitecture tinyArchitecture()
{
    DemoArchitecture a;
    a.layers = 2;
    a.hidden = 32;
    a.heads = 2;
    a.headDim = 16;
    a.experts = 4;
    a.topK = 2;
    a.expertIntermediate = 24;
    a.context = 16;
    return a;
}

class TempDir
{
public:
    TempDir()
    {
        static int counter = 0;
        m_path = fs::temp_directory_path()
            / ("moescope-test-training-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(m_path);
        fs::create_directories(m_path);
    }
    ~TempDir() { fs::remove_all(m_path); }
    std::string str() const { return m_path.string(); }
    fs::path path() const { return m_path; }

private:
    fs::path m_path;
};

at::Tensor bytesOf(const std::string &text, std::int64_t rows, std::int64_t length)
{
    auto t = at::empty({rows, length}, at::kLong);
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t i = 0; i < length; ++i)
            t[r][i] = static_cast<std::int64_t>(static_cast<unsigned char>(text[(r * 7 + i) % text.size()]));
    return t;
}

const std::string kText = "All human beings are born free. Tous les êtres humains naissent libres. "
                          "人人生而自由。Все люди рождаются свободными.";

} // namespace

TEST(DemoModelFiles, TokenizerIsOneTokenPerByteAndRoundTrips)
{
    TempDir dir;
    writeModelFolder(dir.str(), tinyArchitecture(), initialParameters(tinyArchitecture(), 1));
    const auto tokenizer = Tokenizer::load(dir.str());
    EXPECT_EQ(tokenizer.vocabSize(), static_cast<std::size_t>(kDemoVocabSize));
    const auto ids = tokenizer.encode(kText);
    ASSERT_EQ(ids.size(), kText.size());
    for (std::size_t i = 0; i < ids.size(); ++i)
        ASSERT_EQ(ids[i], static_cast<unsigned char>(kText[i])) << "byte " << i;
    EXPECT_EQ(tokenizer.decode(ids), kText);
    EXPECT_EQ(tokenizer.tokenId("<|endoftext|>"), std::optional<std::int32_t>(kEndOfTextId));
    EXPECT_TRUE(tokenizer.isSpecial(kEndOfTextId));
}

TEST(DemoModelFiles, ConfigIsAQwen3MoeTheLoaderDescribes)
{
    const auto arch = tinyArchitecture();
    const auto spec = model::describeModelConfig(demoConfigJson(arch), "config.json");
    EXPECT_EQ(spec.modelType, "qwen3_moe");
    EXPECT_EQ(spec.numLayers, arch.layers);
    EXPECT_EQ(spec.hiddenSize, arch.hidden);
    EXPECT_EQ(spec.vocabSize, kDemoVocabSize);
    EXPECT_EQ(spec.moe.numExperts, arch.experts);
    EXPECT_EQ(spec.moe.topK, arch.topK);
    EXPECT_TRUE(spec.moe.renormalize);
    EXPECT_EQ(spec.moeLayers().size(), static_cast<std::size_t>(arch.layers));
    EXPECT_THROW(
        {
            auto bad = arch;
            bad.topK = 5;
            demoConfigJson(bad);
        },
        Error);
}

TEST(TrainingPieces, InitialisationDependsOnTheSeedAlone)
{
    const auto a = initialParameters(tinyArchitecture(), 3);
    const auto b = initialParameters(tinyArchitecture(), 3);
    const auto c = initialParameters(tinyArchitecture(), 4);
    ASSERT_EQ(a.size(), b.size());
    for (const auto &[name, t] : a) {
        EXPECT_TRUE(t.requires_grad()) << name;
        EXPECT_TRUE(at::equal(t, b.at(name))) << name;
    }
    EXPECT_FALSE(at::equal(a.at("model.layers.0.mlp.gate.weight"), c.at("model.layers.0.mlp.gate.weight")));
}

TEST(TrainingPieces, GradientsReachRouterAndExpertsThroughTheInferenceDecoder)
{
    TempDir dir;
    const auto arch = tinyArchitecture();
    writeModelFolder(dir.str(), arch, initialParameters(arch, 5));
    auto model = makeTrainableModel(dir.str(), initialParameters(arch, 5));
    const auto loss = batchLoss(*model.decoder, bytesOf(kText, 4, arch.context + 1), 0.01);
    loss.total.backward();
    for (int l = 0; l < arch.layers; ++l) {
        const auto p = "model.layers." + std::to_string(l) + ".";
        const auto &router = model.parameters.at(p + "mlp.gate.weight");
        ASSERT_TRUE(router.grad().defined()) << p;
        EXPECT_GT(router.grad().abs().sum().item<double>(), 0.0) << p;
        double expertGrad = 0;
        for (int e = 0; e < arch.experts; ++e) {
            const auto &w = model.parameters.at(p + "mlp.experts." + std::to_string(e) + ".down_proj.weight");
            if (w.grad().defined())
                expertGrad += w.grad().abs().sum().item<double>();
        }
        EXPECT_GT(expertGrad, 0.0) << p;
        EXPECT_GT(model.parameters.at(p + "self_attn.q_proj.weight").grad().abs().sum().item<double>(), 0.0);
    }
    EXPECT_GT(model.parameters.at("model.embed_tokens.weight").grad().abs().sum().item<double>(), 0.0);
}

TEST(TrainingPieces, BalanceLossTrainsRoutersNotTheLastLayersExperts)
{
    // f_e is a count (no gradient), so the balance term reaches the routers
    // through P_e and the layers below them, never the experts of the last
    // layer, whose outputs no router sees.
    TempDir dir;
    const auto arch = tinyArchitecture();
    writeModelFolder(dir.str(), arch, initialParameters(arch, 6));
    auto model = makeTrainableModel(dir.str(), initialParameters(arch, 6));
    const auto loss = batchLoss(*model.decoder, bytesOf(kText, 4, arch.context + 1), 0.01);
    EXPECT_GT(loss.balance.item<double>(), 0.5);
    EXPECT_LT(loss.balance.item<double>(), static_cast<double>(arch.experts));
    loss.balance.backward();
    const auto last = "model.layers." + std::to_string(arch.layers - 1) + ".";
    EXPECT_GT(model.parameters.at(last + "mlp.gate.weight").grad().abs().sum().item<double>(), 0.0);
    for (int e = 0; e < arch.experts; ++e) {
        const auto &w = model.parameters.at(last + "mlp.experts." + std::to_string(e) + ".up_proj.weight");
        EXPECT_TRUE(!w.grad().defined() || w.grad().abs().sum().item<double>() == 0.0) << e;
    }
    double below = 0;
    for (int e = 0; e < arch.experts; ++e) {
        const auto &w = model.parameters.at("model.layers.0.mlp.experts." + std::to_string(e) + ".up_proj.weight");
        if (w.grad().defined())
            below += w.grad().abs().sum().item<double>();
    }
    EXPECT_GT(below, 0.0);
}

TEST(TrainingPieces, OneAdamWStepLowersTheLossOnTheBatch)
{
    TempDir dir;
    const auto arch = tinyArchitecture();
    writeModelFolder(dir.str(), arch, initialParameters(arch, 7));
    auto model = makeTrainableModel(dir.str(), initialParameters(arch, 7));
    const auto batch = bytesOf(kText, 4, arch.context + 1);
    const auto before = batchLoss(*model.decoder, batch, 0.01);
    before.total.backward();
    AdamW optimiser;
    const double norm = optimiser.step(model.parameters, 1e-2, 0.1, 1.0);
    EXPECT_GT(norm, 0.0);
    EXPECT_EQ(optimiser.steps(), 1);
    at::NoGradGuard noGrad;
    const auto after = batchLoss(*model.decoder, batch, 0.01);
    EXPECT_LT(after.total.item<double>(), before.total.item<double>() - 0.01);
}

TEST(TrainingPieces, SavedModelReloadsWithTheTrainingForwardsLogits)
{
    TempDir dir;
    const auto arch = tinyArchitecture();
    auto parameters = initialParameters(arch, 8);
    writeModelFolder(dir.str(), arch, parameters);
    auto trainable = makeTrainableModel(dir.str(), parameters);
    // A few steps so the weights are no longer the initial ones.
    AdamW optimiser;
    const auto batch = bytesOf(kText, 4, arch.context + 1);
    for (int i = 0; i < 3; ++i) {
        batchLoss(*trainable.decoder, batch, 0.01).total.backward();
        optimiser.step(trainable.parameters, 1e-2, 0.1, 1.0);
    }
    writeParameters((dir.path() / "model.safetensors").string(), trainable.parameters);
    const auto ids = batch.narrow(1, 0, arch.context);
    model::ForwardRequest request;
    request.inputIds = ids;
    at::Tensor trainingLogits;
    {
        at::NoGradGuard noGrad;
        trainingLogits = trainable.decoder->forward(request);
    }
    const auto loaded = model::MoeModel::load(dir.str());
    EXPECT_EQ(loaded.computeDtypeName(), "fp32");
    at::Tensor inferenceLogits;
    {
        c10::InferenceMode guard;
        inferenceLogits = loaded.decoder().forward(request).clone();
    }
    ASSERT_EQ(inferenceLogits.sizes(), trainingLogits.sizes());
    EXPECT_LE((inferenceLogits - trainingLogits).abs().max().item<double>(), 1e-4);
}

namespace {

DemoTrainingOptions tinyTraining(const std::string &dir)
{
    DemoTrainingOptions o;
    o.outDir = dir;
    o.arch = tinyArchitecture();
    o.languages = {"en", "zh"};
    o.steps = 6;
    o.batch = 2;
    o.warmupSteps = 2;
    o.evalEvery = 3;
    o.checkpointEvery = 3;
    o.heldOutBytes = 48;
    o.threads = 1;
    o.seed = 11;
    return o;
}

} // namespace

TEST(DemoTraining, ResumeAfterCancelContinuesIdentically)
{
    TempDir straight, interrupted;
    const auto a = trainDemoModel(tinyTraining(straight.str()), JobContext());
    EXPECT_EQ(a.steps, 6);
    EXPECT_EQ(a.stopReason, "steps");

    JobContext job;
    job.setProgressCallback([&job](const ProgressUpdate &u) {
        if (u.done == 3)
            job.requestCancel();
    });
    EXPECT_THROW(trainDemoModel(tinyTraining(interrupted.str()), job), Cancelled);
    auto resume = tinyTraining(interrupted.str());
    resume.resume = true;
    resume.steps = 999; // ignored: the saved options win
    const auto b = trainDemoModel(resume, JobContext());
    EXPECT_EQ(b.steps, 6);

    const auto finalA = readParameters((straight.path() / "training_state.safetensors").string(), "", false);
    const auto finalB = readParameters((interrupted.path() / "training_state.safetensors").string(), "", false);
    ASSERT_EQ(finalA.size(), finalB.size());
    for (const auto &[name, t] : finalA)
        EXPECT_TRUE(at::equal(t, finalB.at(name))) << name;
    EXPECT_EQ(a.bestHeldOutBitsPerByte, b.bestHeldOutBitsPerByte);
    // The curve has the untrained point and one per evaluation.
    std::ifstream csv(interrupted.path() / "loss.csv");
    std::string line;
    int lines = 0;
    while (std::getline(csv, line))
        ++lines;
    EXPECT_EQ(lines, 1 + 3);
    // The folder is a loadable model at every moment.
    EXPECT_NO_THROW(model::MoeModel::load(interrupted.str()));
}

TEST(DemoTraining, RefusesToOverwriteAStateAndToResumeNothing)
{
    TempDir dir;
    auto o = tinyTraining(dir.str());
    o.steps = 1;
    trainDemoModel(o, JobContext());
    EXPECT_THROW(trainDemoModel(o, JobContext()), Error);
    TempDir empty;
    auto r = tinyTraining(empty.str());
    r.resume = true;
    EXPECT_THROW(trainDemoModel(r, JobContext()), Error);
}
