// End-to-end runs of the moescope binary: exit codes, one-line errors, and no
// half-written outputs.
#include "core/common/atomic_file.h"
#include "core/trace/trace_store.h"
#include "trace_test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

using namespace moescope;
using namespace moescope::test;

namespace {

int lines(const std::string &text)
{
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

std::string q(const std::string &path)
{
    return "'" + path + "'";
}

} // namespace

TEST(TraceCli, ImportExportMergeAndInfo)
{
    TempDir dir("cli");
    const std::string trace = dir.file("mgsm.h5");
    auto r = runMoescope("import-json " + q(testData("study/tiny_en.json")) + " "
                         + q(testData("study/tiny_de.json")) + " --out " + q(trace)
                         + " --model-id test/tiny --labels english,german --corpus fixture");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const RoutingTrace t = readTrace(trace);
    EXPECT_EQ(t.model.modelId, "test/tiny");
    EXPECT_EQ(t.languages[1].label, "german");
    EXPECT_EQ(t.languages[1].corpus, "fixture");

    r = runMoescope("export-json " + q(trace) + " --out " + q(dir.file("new/sub")) + " --prefix tiny_");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(readFile(dir.file("new/sub/tiny_english.json")),
              readFile(testData("study/tiny_en.json")));

    r = runMoescope("merge " + q(trace) + " " + q(trace) + " --out " + q(dir.file("double.h5")));
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const RoutingTrace doubled = readTrace(dir.file("double.h5"));
    EXPECT_EQ(doubled.languages[0].tokens[1], 2 * t.languages[0].tokens[1]);

    r = runMoescope("trace-info " + q(trace));
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("german"), std::string::npos) << r.out;

}

TEST(TraceCli, ErrorsAreOneLineWithoutHdf5NoiseAndWriteNothing)
{
    TempDir dir("clierr");
    const std::string out = dir.file("out.h5");

    // Bad JSON: exit 1, one line naming the file, no output file.
    auto r = runMoescope("import-json " + q(testData("study-bad/truncated_en.json")) + " --out "
                         + q(out));
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("truncated_en.json: invalid JSON"), std::string::npos) << r.err;
    EXPECT_EQ(dir.entries(), std::vector<std::string>{});

    // A truncated trace: HDF5 fails deep inside, yet only our line appears.
    writeTrace(makeTrace({"en"}), dir.file("full.h5"));
    const std::string bytes = readFile(dir.file("full.h5"));
    std::ofstream(dir.file("cut.h5"), std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
    r = runMoescope("export-json " + q(dir.file("cut.h5")) + " --out " + q(dir.file("json")));
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.find("HDF5-DIAG"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.rfind("moescope export-json: error: ", 0), 0u) << r.err;

    // Merge refusal leaves no output.
    writeTrace(makeTrace({"en"}, 2, 4, 8, 2), dir.file("wide.h5"));
    r = runMoescope("merge " + q(dir.file("full.h5")) + " " + q(dir.file("wide.h5")) + " --out "
                    + q(out));
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("wide.h5: model differs"), std::string::npos) << r.err;

    // Usage errors exit 2. (Each run costs ~2 s of libtorch start-up, so few.)
    r = runMoescope("merge " + q(dir.file("full.h5")));
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;

    std::vector<std::string> expected{"cut.h5", "full.h5", "wide.h5"};
    EXPECT_EQ(dir.entries(), expected) << "nothing half-written";
}
