// `moescope info`, `forward` and `generate` end to end on the fixtures.
#include "model_test_support.h"

#include "core/model/decoder.h"
#include "core/model/safetensors.h"
#include "core/model/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <set>
#include <sstream>
#include <sys/wait.h>

using namespace moescope;
using namespace moescope::model;
using moescope::test::fixtureDir;
using moescope::test::maxAbsDiff;

namespace {

struct RunResult
{
    int exitCode = -1;
    std::string out, err;
};

RunResult run(const std::string &args, const test::TempDir &tmp)
{
    const auto errPath = tmp.str("stderr.txt");
    const std::string command = std::string(MOESCOPE_BINARY) + " " + args + " 2>" + errPath;
    RunResult r;
    FILE *pipe = popen(command.c_str(), "r");
    if (!pipe)
        return r;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0)
        r.out.append(buf.data(), n);
    const int status = pclose(pipe);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.err = test::readText(errPath);
    return r;
}

std::string quoted(const std::string &s)
{
    return "'" + s + "'";
}

} // namespace

TEST(ModelCli, ForwardWritesExactlyTheContractTensors)
{
    test::TempDir tmp;
    const auto dir = fixtureDir("qwen2_moe");
    const auto refPath = dir + "/reference.safetensors";
    const auto out = tmp.str("out.safetensors");
    const auto r = run("forward --model " + quoted(dir) + " --ids " + quoted(refPath) + " --out " + quoted(out), tmp);
    ASSERT_EQ(r.exitCode, 0) << r.err;

    const auto file = SafetensorsFile::open(out);
    std::set<std::string> names;
    for (const auto &rec : file->tensors())
        names.insert(rec.name);
    std::set<std::string> expected = {"logits", "final_norm"};
    for (int l = 0; l < 3; ++l) {
        expected.insert("hidden." + std::to_string(l));
        expected.insert("router_logits." + std::to_string(l));
        expected.insert("topk_idx." + std::to_string(l));
        expected.insert("topk_w." + std::to_string(l));
    }
    EXPECT_EQ(names, expected);
    EXPECT_EQ(file->get("logits").dtype, DType::F32);
    EXPECT_EQ(file->get("topk_idx.1").dtype, DType::I64);

    const auto ref = SafetensorsFile::open(refPath);
    EXPECT_LE(maxAbsDiff(readTensor(*file, "logits"), readTensor(*ref, "logits")), 1e-4);
    EXPECT_LE(maxAbsDiff(readTensor(*file, "final_norm"), readTensor(*ref, "final_norm")), 1e-5);
    for (int l = 0; l < 3; ++l) {
        const auto L = std::to_string(l);
        EXPECT_LE(maxAbsDiff(readTensor(*file, "router_logits." + L), readTensor(*ref, "router_logits." + L)), 1e-5);
        const auto cmp = test::compareTopk(readTensor(*file, "topk_idx." + L), readTensor(*file, "topk_w." + L),
                                           readTensor(*ref, "topk_idx." + L), readTensor(*ref, "topk_w." + L));
        EXPECT_EQ(cmp.mismatchedRows, 0);
    }
}

TEST(ModelCli, ForwardAppliesPlanAndDtype)
{
    test::TempDir tmp;
    const auto dir = fixtureDir("olmoe-bf16");
    const auto refPath = dir + "/reference.safetensors";
    test::writeText(tmp.path() / "plan.json", R"({"mask": [{"layers": [1, 1], "experts": [0, 1]}]})");
    const auto out = tmp.str("masked.safetensors");
    const auto r = run("forward --model " + quoted(dir) + " --ids " + quoted(refPath) + " --out " + quoted(out)
                           + " --dtype fp32 --plan " + quoted(tmp.str("plan.json")),
                       tmp);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto file = SafetensorsFile::open(out);
    const auto ref = SafetensorsFile::open(refPath);
    EXPECT_LE(maxAbsDiff(readTensor(*file, "logits"), readTensor(*ref, "logits_mask")), 1e-4);
    // router_logits are written before the plan changes them.
    EXPECT_LE(maxAbsDiff(readTensor(*file, "router_logits.1"), readTensor(*ref, "router_logits.1")), 1e-5);
}

// A family with a dense layer (deepseek_v3-bf16, fp32 compute): the output
// holds routing tensors for the MoE layers only, with the reference values.
TEST(ModelCli, ForwardOnDenseAndMoeLayersWritesRoutingForMoeLayersOnly)
{
    test::TempDir tmp;
    const auto dir = fixtureDir("deepseek_v3-bf16");
    const auto refPath = dir + "/reference.safetensors";
    const auto out = tmp.str("out.safetensors");
    const auto r = run("forward --model " + quoted(dir) + " --ids " + quoted(refPath) + " --out " + quoted(out)
                           + " --dtype fp32",
                       tmp);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto file = SafetensorsFile::open(out);
    std::set<std::string> names;
    for (const auto &rec : file->tensors())
        names.insert(rec.name);
    std::set<std::string> expected = {"logits", "final_norm", "hidden.0", "hidden.1", "hidden.2"};
    for (const char *l : {"1", "2"})
        for (const char *kind : {"router_logits.", "topk_idx.", "topk_w."})
            expected.insert(std::string(kind) + l);
    EXPECT_EQ(names, expected);
    const auto ref = SafetensorsFile::open(refPath);
    EXPECT_LE(maxAbsDiff(readTensor(*file, "logits"), readTensor(*ref, "logits")), 1e-4);
    EXPECT_LE(maxAbsDiff(readTensor(*file, "router_logits.2"), readTensor(*ref, "router_logits.2")), 1e-5);
}

TEST(ModelCli, InfoReportsFamilySizesAndParameters)
{
    test::TempDir tmp;
    const auto dir = fixtureDir("mixtral");
    const auto reference = nlohmann::json::parse(test::readText(dir + "/reference.json"));
    const auto r = run("info " + quoted(dir) + " --json", tmp);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto info = nlohmann::json::parse(r.out);
    EXPECT_EQ(info["model_type"], "mixtral");
    EXPECT_EQ(info["total_parameters"], reference["num_parameters"]);
    EXPECT_EQ(info["moe_layers"], reference["moe_layers"]);
    EXPECT_EQ(info["num_experts"], 8);
    EXPECT_EQ(info["top_k"], 2);
    EXPECT_EQ(info["dtype"], "F32");
    // 6 of 8 experts (3·64·32 parameters each) idle per MoE layer.
    EXPECT_EQ(info["active_parameters"].get<long>(), reference["num_parameters"].get<long>() - 3 * 6 * 3 * 64 * 32);

    const auto text = run("info " + quoted(fixtureDir("qwen2_moe-bf16")), tmp);
    ASSERT_EQ(text.exitCode, 0) << text.err;
    EXPECT_NE(text.out.find("qwen2_moe"), std::string::npos);
    EXPECT_NE(text.out.find("BF16"), std::string::npos);
    EXPECT_NE(text.out.find("sigmoid-gated"), std::string::npos);
}

TEST(ModelCli, GenerateFromIdsMatchesTheReferenceContinuation)
{
    test::TempDir tmp;
    const auto dir = fixtureDir("qwen3_moe");
    const auto refPath = dir + "/reference.safetensors";
    const auto r = run("generate --model " + quoted(dir) + " --ids " + quoted(refPath)
                           + " --max-new-tokens 8 --no-stop --print-ids",
                       tmp);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto ref = SafetensorsFile::open(refPath);
    const auto expected = readTensor(*ref, "generated_ids");
    std::string want;
    for (std::int64_t b = 0; b < expected.size(0); ++b) {
        for (std::int64_t t = 0; t < expected.size(1); ++t) {
            if (t)
                want += ' ';
            want += std::to_string(expected[b][t].item<std::int64_t>());
        }
        want += "\n";
    }
    EXPECT_EQ(r.out, want);
}

TEST(ModelCli, BadInputExitsNonZeroWithOneLine)
{
    test::TempDir tmp;
    const auto dir = fixtureDir("mixtral");
    const auto refPath = dir + "/reference.safetensors";

    const auto usage = run("forward --model " + quoted(dir) + " --ids " + quoted(refPath), tmp);
    EXPECT_EQ(usage.exitCode, 2);
    EXPECT_NE(usage.err.find("--out"), std::string::npos);

    const auto missing = run("info " + quoted(tmp.str("nowhere")), tmp);
    EXPECT_EQ(missing.exitCode, 1);
    EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1);

    test::writeText(tmp.path() / "bad-plan.json", R"({"mask": [{"layers": [1, 1], "experts": [99]}]})");
    const auto plan = run("forward --model " + quoted(dir) + " --ids " + quoted(refPath) + " --out "
                              + quoted(tmp.str("o.safetensors")) + " --plan " + quoted(tmp.str("bad-plan.json")),
                          tmp);
    EXPECT_EQ(plan.exitCode, 1);
    EXPECT_NE(plan.err.find("bad-plan.json"), std::string::npos);
    EXPECT_NE(plan.err.find("expert 99"), std::string::npos);

    const auto noTokenizer = run("generate --model " + quoted(dir) + " --prompt hello", tmp);
    EXPECT_EQ(noTokenizer.exitCode, 1);
    EXPECT_NE(noTokenizer.err.find("tokenizer.json"), std::string::npos);
}

// --prompt goes through the folder's tokenizer.json (the Mistral tokenizer
// over a random 32000-word mixtral): the streamed text is the decoding of the
// generated ids, and the ids are those of the tokenized prompt's continuation.
TEST(ModelCli, GeneratePromptStreamsTheDecodedContinuation)
{
    test::TempDir tmp;
    const auto tokenizerDir = std::string(MOESCOPE_TEST_DATA) + "/tokenizers/mistral";
    test::writeRandomMixtral(tmp.path(), 32000, 32, 2, 4, 2, 17);
    std::filesystem::copy_file(tokenizerDir + "/tokenizer.json", tmp.path() / "tokenizer.json");
    std::filesystem::copy_file(tokenizerDir + "/tokenizer_config.json", tmp.path() / "tokenizer_config.json");
    const auto model = quoted(tmp.str());

    const auto text = run("generate --model " + model + " --prompt 'Bonjour le monde' --max-new-tokens 6 --no-stop", tmp);
    ASSERT_EQ(text.exitCode, 0) << text.err;
    const auto ids = run("generate --model " + model
                             + " --prompt 'Bonjour le monde' --max-new-tokens 6 --no-stop --print-ids",
                         tmp);
    ASSERT_EQ(ids.exitCode, 0) << ids.err;

    const auto tokenizer = Tokenizer::load(tmp.str());
    std::vector<std::int32_t> generated;
    std::istringstream in(ids.out);
    for (std::int32_t id; in >> id;)
        generated.push_back(id);
    ASSERT_EQ(generated.size(), 6u);
    EXPECT_EQ(text.out, tokenizer.decode(generated, true) + "\n");

    // Same continuation as the engine gives for the tokenized prompt (BOS added).
    const auto promptIds = tokenizer.encode("Bonjour le monde", true);
    ASSERT_EQ(promptIds.front(), 1);
    std::string list;
    for (std::size_t i = 0; i < promptIds.size(); ++i)
    {
        if (i)
            list += ',';
        list += std::to_string(promptIds[i]);
    }
    const auto fromIds = run("generate --model " + model + " --ids " + list + " --max-new-tokens 6 --no-stop --print-ids", tmp);
    EXPECT_EQ(fromIds.out, ids.out);
}

// info, forward (with a mask plan) and generate on the families of
// transformers 4.54.0, against their reference files.
class ModelCliFamilies : public ::testing::TestWithParam<std::string>
{
};

TEST_P(ModelCliFamilies, InfoForwardAndGenerateMatchTheReference)
{
    test::TempDir tmp;
    const auto dir = fixtureDir(GetParam());
    const auto refPath = dir + "/reference.safetensors";
    const auto reference = nlohmann::json::parse(test::readText(dir + "/reference.json"));
    const auto info = run("info " + quoted(dir) + " --json", tmp);
    ASSERT_EQ(info.exitCode, 0) << info.err;
    const auto json = nlohmann::json::parse(info.out);
    EXPECT_EQ(json["model_type"], reference["model_type"]);
    EXPECT_EQ(json["total_parameters"], reference["num_parameters"]);
    EXPECT_EQ(json["moe_layers"], reference["moe_layers"]);

    test::writeText(tmp.path() / "plan.json", R"({"mask": [{"layers": [1, 1], "experts": [0, 1]}]})");
    const auto out = tmp.str("out.safetensors");
    const auto forward = run("forward --model " + quoted(dir) + " --ids " + quoted(refPath) + " --out " + quoted(out)
                                 + " --plan " + quoted(tmp.str("plan.json")),
                             tmp);
    ASSERT_EQ(forward.exitCode, 0) << forward.err;
    const auto file = SafetensorsFile::open(out);
    const auto ref = SafetensorsFile::open(refPath);
    EXPECT_LE(maxAbsDiff(readTensor(*file, "logits"), readTensor(*ref, "logits_mask")), 1e-4);
    // The masked layer's router_logits are written before the plan changes them.
    EXPECT_LE(maxAbsDiff(readTensor(*file, "router_logits.1"), readTensor(*ref, "router_logits.1")), 1e-5);
    EXPECT_FALSE(readTensor(*file, "topk_idx.1").lt(2).any().item<bool>());

    const auto generate = run("generate --model " + quoted(dir) + " --ids " + quoted(refPath)
                                  + " --max-new-tokens 8 --no-stop --print-ids",
                              tmp);
    ASSERT_EQ(generate.exitCode, 0) << generate.err;
    const auto expected = readTensor(*ref, "generated_ids");
    std::string want;
    for (std::int64_t b = 0; b < expected.size(0); ++b) {
        for (std::int64_t t = 0; t < expected.size(1); ++t)
            want += (t ? " " : "") + std::to_string(expected[b][t].item<std::int64_t>());
        want += "\n";
    }
    EXPECT_EQ(generate.out, want);
}

INSTANTIATE_TEST_SUITE_P(TinyMoe, ModelCliFamilies,
                         ::testing::Values("deepseek_v2", "deepseek_v2_group", "ernie4_5_moe", "glm4_moe"));

// qwen3_next (hybrid gated DeltaNet / gated attention layers) end to end:
// info, forward and generate against the reference, and record over a
// corpus (the fixture with the bundled demo model's byte tokenizer, 257 ids
// inside its 512-token vocabulary).
TEST(ModelCli, Qwen3NextInfoForwardGenerateAndRecord)
{
    test::TempDir tmp;
    const auto dir = fixtureDir("qwen3_next");
    const auto refPath = dir + "/reference.safetensors";
    const auto ref = SafetensorsFile::open(refPath);

    const auto info = run("info " + quoted(dir) + " --json", tmp);
    ASSERT_EQ(info.exitCode, 0) << info.err;
    const auto json = nlohmann::json::parse(info.out);
    const auto reference = nlohmann::json::parse(test::readText(dir + "/reference.json"));
    EXPECT_EQ(json["model_type"], "qwen3_next");
    EXPECT_EQ(json["total_parameters"], reference["num_parameters"]);
    EXPECT_EQ(json["config_dtype"], "float32");
    EXPECT_NE(json["attention"].get<std::string>().find("gated DeltaNet"), std::string::npos);

    const auto out = tmp.str("out.safetensors");
    const auto forward = run("forward --model " + quoted(dir + "-bf16") + " --dtype fp32 --ids "
                                 + quoted(dir + "-bf16/reference.safetensors") + " --out " + quoted(out),
                             tmp);
    ASSERT_EQ(forward.exitCode, 0) << forward.err;
    const auto bf16Ref = SafetensorsFile::open(dir + "-bf16/reference.safetensors");
    const auto file = SafetensorsFile::open(out);
    EXPECT_LE(maxAbsDiff(readTensor(*file, "logits"), readTensor(*bf16Ref, "logits")), 1e-4);
    EXPECT_LE(maxAbsDiff(readTensor(*file, "router_logits.2"), readTensor(*bf16Ref, "router_logits.2")), 1e-5);

    const auto generated = run("generate --model " + quoted(dir) + " --ids " + quoted(refPath)
                                   + " --max-new-tokens 8 --no-stop --print-ids",
                               tmp);
    ASSERT_EQ(generated.exitCode, 0) << generated.err;
    const auto expected = readTensor(*ref, "generated_ids");
    std::string want;
    for (std::int64_t b = 0; b < expected.size(0); ++b) {
        for (std::int64_t t = 0; t < expected.size(1); ++t)
            want.append(t ? " " : "").append(std::to_string(expected[b][t].item<std::int64_t>()));
        want += "\n";
    }
    EXPECT_EQ(generated.out, want);

    const auto modelDir = tmp.path() / "model";
    std::filesystem::create_directories(modelDir);
    for (const char *name : {"config.json", "generation_config.json", "model.safetensors"})
        std::filesystem::copy_file(dir + "/" + name, modelDir / name);
    std::filesystem::copy_file(std::string(MOESCOPE_SOURCE_DIR) + "/resources/demo-model/tokenizer.json",
                               modelDir / "tokenizer.json");
    const auto trace = tmp.str("trace.h5");
    const auto record = run("record --model " + quoted(modelDir.string()) + " --corpus 'udhr:en,de?articles=1-3'"
                                + " --max-length 64 --out " + quoted(trace),
                            tmp);
    ASSERT_EQ(record.exitCode, 0) << record.err;
    const auto summary = run("trace-info " + quoted(trace), tmp);
    ASSERT_EQ(summary.exitCode, 0) << summary.err;
    EXPECT_NE(summary.out.find("qwen3_next"), std::string::npos) << summary.out;
}
