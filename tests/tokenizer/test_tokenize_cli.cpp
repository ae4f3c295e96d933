// `moescope tokenize` end to end through the built binary.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

const std::string kDataDir = std::string(MOESCOPE_TEST_DATA) + "/tokenizers";

struct RunResult
{
    int exitCode = -1;
    std::string out;
    std::string err;
};

std::string quote(const std::string &arg)
{
    std::string q = "'";
    for (char c : arg)
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

RunResult run(const std::vector<std::string> &args)
{
    const fs::path errFile = fs::temp_directory_path()
        / ("moescope-tokenize-cli-" + std::to_string(::getpid()) + ".err");
    std::string command = quote(MOESCOPE_BINARY) + " tokenize";
    // Appending piecewise sidesteps GCC 12's false -Wrestrict on "literal" + string&&.
    for (const auto &a : args) {
        command += ' ';
        command += quote(a);
    }
    command += " 2>";
    command += quote(errFile.string());
    RunResult result;
    FILE *pipe = ::popen(command.c_str(), "r");
    if (!pipe)
        return result;
    std::array<char, 4096> buffer;
    std::size_t n;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        result.out.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream err(errFile);
    result.err.assign(std::istreambuf_iterator<char>(err), {});
    fs::remove(errFile);
    return result;
}

const nlohmann::json &expected()
{
    static const nlohmann::json data = [] {
        std::ifstream in(kDataDir + "/expected_ids.json");
        return nlohmann::json::parse(in);
    }();
    return data;
}

class TokenizeCli : public ::testing::Test
{
protected:
    void SetUp() override
    {
        if (std::string(MOESCOPE_BINARY).empty() || !fs::exists(MOESCOPE_BINARY))
            GTEST_SKIP() << "moescope binary not built";
    }
    int countLines(const std::string &text)
    {
        return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    }
};

TEST_F(TokenizeCli, TextPrintsOneJsonArray)
{
    const auto &inputs = expected()["inputs"];
    const auto r = run({"--model", kDataDir + "/mistral", "--text", inputs[0].get<std::string>()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, expected()["tokenizers"]["mistral"]["encode"][0].dump() + "\n");

    const auto file = run({"--model", kDataDir + "/mistral/tokenizer.json", "--text",
                           inputs[0].get<std::string>()});
    EXPECT_EQ(file.out, r.out);
}

TEST_F(TokenizeCli, SpecialAddsBos)
{
    const std::string text = expected()["inputs"][1].get<std::string>();
    const auto special = run({"--model", kDataDir + "/mistral", "--text", text, "--special"});
    ASSERT_EQ(special.exitCode, 0) << special.err;
    EXPECT_EQ(special.out, expected()["tokenizers"]["mistral"]["encode_special"][1].dump() + "\n");
}

TEST_F(TokenizeCli, JsonlPrintsOneArrayPerLine)
{
    const fs::path input = fs::temp_directory_path()
        / ("moescope-tokenize-" + std::to_string(::getpid()) + ".jsonl");
    const auto &inputs = expected()["inputs"];
    {
        std::ofstream out(input);
        for (std::size_t i = 0; i < inputs.size(); ++i)
            out << inputs[i].dump() << "\n";
    }
    const auto r = run({"--model", kDataDir + "/deepseek_v3", "--jsonl", input.string()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::string want;
    for (const auto &ids : expected()["tokenizers"]["deepseek_v3"]["encode"])
        want += ids.dump() + "\n";
    EXPECT_EQ(r.out, want);

    {
        std::ofstream out(input);
        out << "\"fine\"\n{\"text\": \"not a string\"}\n";
    }
    const auto bad = run({"--model", kDataDir + "/deepseek_v3", "--jsonl", input.string()});
    EXPECT_NE(bad.exitCode, 0);
    EXPECT_NE(bad.err.find("line 2"), std::string::npos) << bad.err;
    EXPECT_EQ(countLines(bad.err), 1) << bad.err;
    fs::remove(input);
}

TEST_F(TokenizeCli, DecodeTurnsIdsBackIntoText)
{
    const auto r = run({"--model", kDataDir + "/qwen3", "--decode", "[151644,872,198,6023,151645]",
                        "--skip-special"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "\"user\\nhi\"\n");
}

TEST_F(TokenizeCli, BadInputsFailWithOneLine)
{
    const fs::path dir = fs::temp_directory_path()
        / ("moescope-tokenize-bad-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "tokenizer.json") << "{\"model\": [";
    const fs::path unigram = dir / "unigram";
    fs::create_directories(unigram);
    std::ofstream(unigram / "tokenizer.json")
        << R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}, "added_tokens": []})";

    // Each run starts the full binary (libtorch and all), so keep the list short.
    const std::vector<std::vector<std::string>> cases = {
        {"--model", (dir / "missing").string(), "--text", "x"},
        {"--model", dir.string(), "--text", "x"},
        {"--model", unigram.string(), "--text", "x"},
        {"--model", kDataDir + "/mistral"},                                // no input
        {"--model", kDataDir + "/mistral", "--text", "x", "--jsonl", "f"}, // two inputs
        {"--model", kDataDir + "/mistral", "--decode", "[1, -2]"},
    };
    std::vector<RunResult> results;
    for (const auto &args : cases) {
        results.push_back(run(args));
        const auto &r = results.back();
        EXPECT_NE(r.exitCode, 0) << args[1];
        EXPECT_EQ(countLines(r.err), 1) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
    EXPECT_NE(results[1].err.find("malformed JSON"), std::string::npos) << results[1].err;
    EXPECT_NE(results[2].err.find("unsupported tokenizer feature: model type Unigram"),
              std::string::npos) << results[2].err;
    EXPECT_EQ(results[3].exitCode, 2); // usage errors
    EXPECT_EQ(results[4].exitCode, 2);
    fs::remove_all(dir);
}

} // namespace
