#include "core/cli/args.h"

#include <gtest/gtest.h>

using namespace moescope::cli;

TEST(ArgParser, ParsesOptionsFlagsAndPositionals)
{
    ArgParser p("analyze", "TRACE.h5 --out FILE");
    p.positional("TRACE", "trace file").option("out", "FILE", "output").option("k", "N", "top k", "15")
        .flag("dry", "do nothing");
    ASSERT_TRUE(p.parse({"t.h5", "--out=a.json", "--dry"}));
    EXPECT_EQ(p.positionals().at(0), "t.h5");
    EXPECT_EQ(p.get("out"), "a.json");
    EXPECT_EQ(p.getInt("k"), 15);
    EXPECT_TRUE(p.flagSet("dry"));
}

TEST(ArgParser, RejectsUnknownOptionsAndMissingArguments)
{
    ArgParser p("x", "A");
    p.positional("A", "a").option("k", "N", "n");
    EXPECT_THROW(p.parse({"a", "--nope"}), UsageError);
    EXPECT_THROW(p.parse({}), UsageError);
    EXPECT_THROW(p.parse({"a", "b"}), UsageError);
    EXPECT_THROW(p.parse({"a", "--k"}), UsageError);
    ASSERT_TRUE(p.parse({"a", "--k", "x"}));
    EXPECT_THROW(p.getInt("k"), UsageError);
}

TEST(ParseRanges, AcceptsSinglesAndInclusiveRanges)
{
    auto r = parseRanges("0-4,22-26, 43", "--blocks");
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0], std::make_pair(0, 4));
    EXPECT_EQ(r[2], std::make_pair(43, 43));
    EXPECT_THROW(parseRanges("4-1", "--blocks"), UsageError);
    EXPECT_THROW(parseRanges("a-b", "--blocks"), UsageError);
}
