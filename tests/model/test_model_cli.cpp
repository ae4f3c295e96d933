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

namespace {

// A byte-level BPE tokenizer without merges: one token per UTF-8 byte, ids
// 0..255, so any fixture's vocabulary (512) covers it. GPT-2's
// bytes_to_unicode gives every byte a visible character.
void writeByteTokenizer(const std::filesystem::path &dir)
{
    nlohmann::json vocab = nlohmann::json::object();
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
        const bool visible = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        const int codePoint = visible ? b : 256 + extra++;
        std::string ch;
        if (codePoint < 0x80) {
            ch.push_back(static_cast<char>(codePoint));
        } else {
            ch.push_back(static_cast<char>(0xC0 | (codePoint >> 6)));
            ch.push_back(static_cast<char>(0x80 | (codePoint & 0x3F)));
        }
        vocab[ch] = b;
    }
    const nlohmann::json byteLevel = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
                                      {"use_regex", true}};
    const nlohmann::json tokenizer = {
        {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", nlohmann::json::array()},
        {"normalizer", nullptr}, {"pre_tokenizer", byteLevel}, {"post_processor", nullptr}, {"decoder", byteLevel},
        {"model",
         {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
          {"merges", nlohmann::json::array()}}}};
    test::writeText(dir / "tokenizer.json", tokenizer.dump());
}

} // namespace

// The quantised fixtures through the CLI at their default (bf16) compute:
// info names the format and memory; forward, generate and record run, and
// forward with --dtype fp32 reproduces the reference.
TEST(ModelCli, QuantisedCheckpointsInfoForwardGenerateRecord)
{
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"gpt_oss-mxfp4", "MXFP4 experts, bf16 elsewhere"},
        {"deepseek_v3-fp8", "FP8 e4m3, 32\u00d732 blocks"},
        {"qwen3_moe-fp8", "FP8 e4m3, 128\u00d7128 blocks"}};
    for (const auto &[fixture, format] : cases) {
        SCOPED_TRACE(fixture);
        test::TempDir tmp;
        const auto dir = tmp.str("model");
        std::filesystem::create_directories(dir);
        for (const auto *name : {"config.json", "generation_config.json", "model.safetensors"})
            std::filesystem::copy_file(fixtureDir(fixture) + "/" + name, dir + "/" + name);
        writeByteTokenizer(dir);
        const auto refPath = fixtureDir(fixture) + "/reference.safetensors";

        const auto info = run("info " + quoted(dir), tmp);
        ASSERT_EQ(info.exitCode, 0) << info.err;
        EXPECT_NE(info.out.find("format:       " + format), std::string::npos) << info.out;
        EXPECT_NE(info.out.find("memory:       ~"), std::string::npos) << info.out;

        const auto out = tmp.str("out.safetensors");
        const auto fwd = run("forward --model " + quoted(dir) + " --ids " + quoted(refPath) + " --out " + quoted(out), tmp);
        ASSERT_EQ(fwd.exitCode, 0) << fwd.err;
        const auto ref = SafetensorsFile::open(refPath);
        const auto logits = readTensor(*SafetensorsFile::open(out), "logits");
        EXPECT_TRUE(logits.isfinite().all().item<bool>());
        const auto refLogits = readTensor(*ref, "logits");
        EXPECT_LE((logits - refLogits).abs().mean().item<double>(), 0.1 * refLogits.std().item<double>());

        const auto exact = tmp.str("fp32.safetensors");
        const auto fp32 = run("forward --model " + quoted(dir) + " --ids " + quoted(refPath) + " --out "
                                  + quoted(exact) + " --dtype fp32",
                              tmp);
        ASSERT_EQ(fp32.exitCode, 0) << fp32.err;
        EXPECT_LE(maxAbsDiff(readTensor(*SafetensorsFile::open(exact), "logits"), readTensor(*ref, "logits")), 1e-4);

        const auto gen = run("generate --model " + quoted(dir) + " --ids " + quoted(refPath)
                                 + " --max-new-tokens 4 --no-stop --print-ids",
                             tmp);
        ASSERT_EQ(gen.exitCode, 0) << gen.err;
        std::istringstream words(gen.out);
        int count = 0;
        for (std::int64_t id; words >> id; ++count)
            EXPECT_TRUE(id >= 0 && id < 512) << id;
        EXPECT_EQ(count, 4 * readTensor(*ref, "input_ids").size(0));

        const auto trace = tmp.str("trace.h5");
        const auto rec = run("record --model " + quoted(dir) + " --corpus 'udhr:en?articles=1-2' --max-length 64 --out " + quoted(trace),
                             tmp);
        ASSERT_EQ(rec.exitCode, 0) << rec.err;
        EXPECT_GT(std::filesystem::file_size(trace), 0u);
    }
}
