#include "core/cli/command.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace moescope::cli {
// Declared in command.h once the command is registered; repeated here so the
// test also builds before that.
std::vector<Command> corpusCommands();
} // namespace moescope::cli

using namespace moescope::cli;

namespace {

struct Run
{
    int code;
    std::string out, err;
};

Run run(const std::vector<std::string> &args)
{
    const auto commands = corpusCommands();
    EXPECT_EQ(commands.size(), 1u);
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    const int code = runCommand(commands.at(0), args);
    std::fflush(stdout);
    Run r{code, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
    return r;
}

} // namespace

TEST(CorpusCommand, SummarisesASpec)
{
    const auto r = run({"udhr:en,zh?articles=1-10"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("udhr:en,zh?articles=1-10\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("2 languages, 20 documents"), std::string::npos) << r.out;
}

TEST(CorpusCommand, PrintsDocumentsWithRenderedPrompts)
{
    const std::string spec =
        std::string("mgsm:") + MOESCOPE_TEST_DATA + "/corpus/mgsm?langs=zh";
    const auto r = run({spec, "--print", "--template", "math", "--shard", "1/2"});
    ASSERT_EQ(r.code, 0) << r.err;
    std::istringstream lines(r.out);
    std::string line;
    std::vector<nlohmann::json> docs;
    while (std::getline(lines, line))
        docs.push_back(nlohmann::json::parse(line));
    ASSERT_EQ(docs.size(), 2u); // documents 1 and 3 of 3
    EXPECT_EQ(docs[0]["id"], "mgsm-1");
    EXPECT_EQ(docs[1]["id"], "mgsm-3");
    EXPECT_EQ(docs[0]["language"], "zh");
    EXPECT_EQ(docs[0]["answers"][0], "5");
    EXPECT_TRUE(docs[0]["chat"].get<bool>());
    const std::string prompt = docs[0]["prompt"];
    EXPECT_EQ(prompt.rfind(docs[0]["question"].get<std::string>() + "\n注意", 0), 0u) << prompt;
}

TEST(CorpusCommand, BadInputExitsNonZeroWithOneLine)
{
    auto r = run({"udhr:en,xx"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("unknown language code 'xx'"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
    r = run({"udhr:en", "--shard", "3/2"});
    EXPECT_EQ(r.code, 2);
    r = run({});
    EXPECT_EQ(r.code, 2);
    r = run({"--list"});
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("zh-Hant"), std::string::npos);
}
