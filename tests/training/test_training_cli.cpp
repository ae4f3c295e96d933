// train-demo and the bundled-model default through the moescope binary:
// Ctrl-C saves a resumable state, and --model may be left out.
#include "core/common/atomic_file.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace fs = std::filesystem;

namespace {

fs::path tempDir(const std::string &name)
{
    const auto dir = fs::temp_directory_path() / ("moescope-test-cli-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    return dir;
}

std::vector<std::string> tinyTrainArgs(const fs::path &out)
{
    return {MOESCOPE_BINARY, "train-demo", "--out", out.string(), "--languages", "en,ru", "--layers", "1",
            "--hidden", "16", "--heads", "1", "--head-dim", "8", "--experts", "2", "--top-k", "1",
            "--expert-width", "8", "--context", "16", "--batch", "2", "--eval-every", "5",
            "--held-out-bytes", "32", "--threads", "1", "--quiet"};
}

pid_t spawn(const std::vector<std::string> &args)
{
    std::vector<char *> argv;
    for (const auto &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    return pid;
}

int exitCode(pid_t pid)
{
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string run(const std::string &command)
{
    std::string out;
    FILE *pipe = popen(command.c_str(), "r");
    char buffer[4096];
    while (pipe && fgets(buffer, sizeof buffer, pipe))
        out += buffer;
    const int status = pipe ? pclose(pipe) : -1;
    return std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "\n" + out;
}

} // namespace

TEST(TrainDemoCli, InterruptSavesAStateThatResumeContinues)
{
    const auto out = tempDir("interrupt");
    auto args = tinyTrainArgs(out);
    args.insert(args.end(), {"--steps", "1000000"});
    const pid_t pid = spawn(args);
    // Wait until training runs (its first checkpointed model is written).
    for (int i = 0; i < 300 && !fs::exists(out / "model.safetensors"); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    kill(pid, SIGINT);
    EXPECT_EQ(exitCode(pid), 130);
    ASSERT_TRUE(fs::exists(out / "training_state.json"));
    const auto state = nlohmann::json::parse(moescope::readFile((out / "training_state.json").string()));
    const int stopped = state.at("step").get<int>();
    EXPECT_GT(stopped, 0);

    // Resume with a time limit of ~0: it loads the state and stops at once,
    // keeping the step count.
    auto resume = tinyTrainArgs(out);
    resume.insert(resume.end(), {"--resume", "--minutes", "0.0001"});
    EXPECT_EQ(exitCode(spawn(resume)), 0);
    const auto after = nlohmann::json::parse(moescope::readFile((out / "training_state.json").string()));
    EXPECT_EQ(after.at("step").get<int>(), stopped);
    EXPECT_EQ(after.at("options").at("steps").get<int>(), 1000000);
    fs::remove_all(out);
}

TEST(TrainDemoCli, BadOptionsAreOneLineErrors)
{
    const auto r = run(std::string(MOESCOPE_BINARY) + " train-demo --out /tmp/x --experts 1 2>&1");
    EXPECT_EQ(r.substr(0, 2), "2\n") << r;
    EXPECT_NE(r.find("--experts"), std::string::npos) << r;
    const auto missing = run(std::string(MOESCOPE_BINARY) + " train-demo --resume --out "
                             + tempDir("none").string() + " 2>&1");
    EXPECT_EQ(missing.substr(0, 2), "1\n") << missing;
    EXPECT_NE(missing.find("no training state"), std::string::npos) << missing;
}

TEST(BundledModelDefault, CommandsUseItWhenNoModelIsGiven)
{
    const auto info = run(std::string(MOESCOPE_BINARY) + " info --json 2>&1");
    EXPECT_EQ(info.substr(0, 2), "0\n") << info;
    EXPECT_NE(info.find("using the bundled demo model"), std::string::npos) << info;
    EXPECT_NE(info.find("\"model_type\": \"qwen3_moe\""), std::string::npos) << info;
    const auto tokens = run(std::string(MOESCOPE_BINARY) + " tokenize --text 'Aé' 2>/dev/null");
    EXPECT_EQ(tokens, "0\n[65,195,169]\n");
    const auto missing = run("MOESCOPE_DEMO_MODEL=/nonexistent " + std::string(MOESCOPE_BINARY)
                             + " generate --prompt x --max-new-tokens 2 2>&1");
    // The environment only adds a candidate; the source tree's copy is still found.
    EXPECT_EQ(missing.substr(0, 2), "0\n") << missing;
}
