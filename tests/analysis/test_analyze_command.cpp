// End-to-end: the `moescope analyze` binary on the bundled MGSM data.
#include "core/cli/command.h"
#include "core/common/atomic_file.h"
#include "core/trace/study_json.h"
#include "core/trace/trace_store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kBundledMgsm = MOESCOPE_SOURCE_DIR "/resources/data/qwen3-30b-a3b-mgsm";

class AnalyzeCommand : public ::testing::Test
{
protected:
    void SetUp() override
    {
        m_dir = fs::temp_directory_path()
            / ("moescope-analyze-" + std::to_string(::getpid()) + "-"
                + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    // Runs `moescope analyze ARGS`; returns the exit code, stderr in m_stderr.
    int analyze(const std::string &args)
    {
        const std::string errFile = (m_dir / "stderr.txt").string();
        const std::string cmd = std::string("'") + MOESCOPE_BINARY + "' analyze " + args
            + " >/dev/null 2>'" + errFile + "'";
        const int status = std::system(cmd.c_str());
        m_stderr = moescope::readFile(errFile);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    // The same command in this process: starting the real binary costs about
    // two seconds (libtorch, Qt), too much for every bad-parameter case.
    int analyzeInProcess(const std::vector<std::string> &args)
    {
        const auto commands = moescope::cli::analysisCommands();
        const auto it = std::find_if(commands.begin(), commands.end(),
            [](const moescope::cli::Command &c) { return c.name == "analyze"; });
        EXPECT_NE(it, commands.end());
        ::testing::internal::CaptureStderr();
        const int code = moescope::cli::runCommand(*it, args);
        m_stderr = ::testing::internal::GetCapturedStderr();
        return code;
    }
    std::string path(const std::string &name) const { return (m_dir / name).string(); }

    fs::path m_dir;
    std::string m_stderr;
};

} // namespace

TEST_F(AnalyzeCommand, AnalysesAFolderOfStudyJson)
{
    const std::string out = path("a.json");
    ASSERT_EQ(analyze("'" + kBundledMgsm + "' --out '" + out + "' --steer en,zh --quiet"), 0)
        << m_stderr;
    const json j = json::parse(moescope::readFile(out));
    EXPECT_EQ(j.at("languages").size(), 8u);
    EXPECT_EQ(j.at("linkage").at("merges").at(0).at("members"), json({ "es", "fr" }));
    EXPECT_EQ(j.at("parameters").at("k"), 15);
    EXPECT_EQ(j.at("parameters").at("linkage"), "average");
    const json ref
        = json::parse(moescope::readFile(MOESCOPE_TEST_DATA "/analysis/mgsm_reference.json"));
    EXPECT_EQ(j.at("experts").at("exclusive_counts"), ref.at("experts").at("exclusive_counts"));
    EXPECT_EQ(j.at("linkage").at("leaf_order"), ref.at("linkage").at("average").at("leaf_order"));
    EXPECT_EQ(j.at("steering").at("experts").size(), ref.at("steering").at("experts").size());
}

TEST_F(AnalyzeCommand, AnalysesAnHdf5TraceLikeTheJsonItCameFrom)
{
    const std::string h5 = path("mgsm.h5"), fromH5 = path("h5.json"), fromJson = path("json.json");
    moescope::writeTrace(moescope::importStudyJson({ kBundledMgsm }), h5);
    ASSERT_EQ(
        analyzeInProcess({ h5, "--out", fromH5, "--linkage", "ward", "--k", "10", "--quiet" }), 0)
        << m_stderr;
    ASSERT_EQ(analyzeInProcess(
                  { kBundledMgsm, "--out", fromJson, "--linkage", "ward", "--k", "10", "--quiet" }),
        0)
        << m_stderr;
    const json a = json::parse(moescope::readFile(fromH5));
    const json b = json::parse(moescope::readFile(fromJson));
    EXPECT_EQ(a.at("similarity"), b.at("similarity"));
    EXPECT_EQ(a.at("linkage"), b.at("linkage"));
    EXPECT_EQ(a.at("experts"), b.at("experts"));
    EXPECT_EQ(a.at("linkage").at("method"), "ward");
    EXPECT_EQ(a.at("parameters").at("k"), 10);
}

TEST_F(AnalyzeCommand, BadParametersAreUsageErrorsOnOneLine)
{
    const std::string out = path("bad.json");
    // In-process, on a small trace (4 experts, 3 layers); runCommand is what
    // maps errors to exit codes for the binary too.
    moescope::RoutingTrace small;
    small.model = { "small", "test", 3, 4, 1, { 0, 1, 2 } };
    for (const char *label : { "en", "zh" }) {
        moescope::LanguageRouting lang;
        lang.label = label;
        lang.counts = { 1, 2, 3, 4, 4, 3, 2, 1, 1, 1, 1, 7 };
        lang.gateSum.assign(lang.counts.size(), 0.0);
        lang.tokens = { 10, 10, 10 };
        small.languages.push_back(lang);
    }
    const std::string h5 = path("small.h5");
    moescope::writeTrace(small, h5);
    const std::vector<std::string> base { h5, "--out", out, "--quiet" };
    auto with = [&](std::vector<std::string> extra) {
        extra.insert(extra.begin(), base.begin(), base.end());
        return extra;
    };
    ASSERT_EQ(analyzeInProcess(with(
                  { "--k", "4", "--steer", "en,zh", "--steer-k", "2", "--steer-layers", "0-2" })),
        0)
        << m_stderr;
    fs::remove(out);

    const std::vector<std::vector<std::string>> bad {
        { "--k", "0" },
        { "--k", "5" },
        { "--k", "x" },
        { "--threshold", "0" },
        { "--threshold", "1" },
        { "--linkage", "centroid" },
        { "--steer", "en,xx", "--steer-k", "2" },
        { "--steer", "en", "--steer-k", "2" },
        { "--steer", "en,en", "--steer-k", "2" },
        { "--steer", "en,zh", "--steer-k", "2", "--steer-layers", "1-3" },
        { "--steer", "en,zh", "--steer-k", "2", "--steer-threshold", "0.5" },
        { "--steer", "en,zh", "--steer-k", "5" },
        { "--steer-k", "2" },
    };
    for (const auto &args : bad) {
        std::string joined;
        for (const auto &a : args)
            joined += a + " ";
        SCOPED_TRACE(joined);
        EXPECT_EQ(analyzeInProcess(with(args)), 2);
        EXPECT_EQ(std::count(m_stderr.begin(), m_stderr.end(), '\n'), 1) << m_stderr;
        EXPECT_FALSE(fs::exists(out));
    }
    EXPECT_EQ(analyzeInProcess({ h5, "--quiet" }), 2); // no --out
}

TEST_F(AnalyzeCommand, MissingInputFailsWithoutWriting)
{
    const std::string out = path("x.json");
    EXPECT_EQ(analyzeInProcess({ path("missing.h5"), "--out", out }), 1);
    EXPECT_EQ(std::count(m_stderr.begin(), m_stderr.end(), '\n'), 1) << m_stderr;
    EXPECT_FALSE(fs::exists(out));
}
