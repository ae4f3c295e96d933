#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/trace/study_json.h"
#include "core/trace/trace_store.h"
#include "core/trace/trace_validation.h"
#include "trace_test_support.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

namespace fs = std::filesystem;
using namespace moescope;
using namespace moescope::test;

namespace {

// Expects fn to throw moescope::Error whose reason contains `needle` and
// whose file is `file`.
void expectError(const std::function<void()> &fn, const std::string &file,
                 const std::string &needle)
{
    try {
        fn();
        ADD_FAILURE() << "expected an error containing '" << needle << "'";
    } catch (const Error &e) {
        EXPECT_EQ(e.file(), file);
        EXPECT_NE(e.reason().find(needle), std::string::npos) << e.reason();
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line";
    }
}

// Opens an HDF5 file read-write with the C API to damage it on purpose.
struct RawFile
{
    explicit RawFile(const std::string &path)
    {
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        id = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        EXPECT_GE(id, 0);
    }
    ~RawFile() { H5Fclose(id); }
    hid_t id;
};

void writeStringAttr(hid_t loc, const char *name, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    hid_t space = H5Screate(H5S_SCALAR);
    if (H5Aexists(loc, name) > 0)
        H5Adelete(loc, name);
    hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, type, &value);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
}

} // namespace

TEST(TraceStore, RoundTripKeepsOddLabelsOrderAndExactValues)
{
    TempDir dir("roundtrip");
    // Not alphabetical, with the characters condition labels use, and UTF-8.
    RoutingTrace trace = makeTrace({"zh+mask(en,0-4)", "en", "ja-JP (kanji), ünï", "a.b", "..x"});
    trace.languages[1].tokenScope = "generated";
    trace.languages[2].tokenScope = "all";
    trace.languages[2].templateName = "";
    trace.languages[0].gateSum[6 + 1] = trace.languages[0].counts[6 + 1] ? 1.0 / 3.0 : 0.0;
    const std::string path = dir.file("odd.h5");
    writeTrace(trace, path);
    const RoutingTrace back = readTrace(path);
    expectSameTrace(trace, back);
    EXPECT_EQ(back.created, trace.created);
    EXPECT_EQ(back.provenance, trace.provenance);
    EXPECT_EQ(back.toolVersion, MOESCOPE_VERSION);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"odd.h5"}) << "no temp files left";

    // Rewriting over an existing file replaces it.
    RoutingTrace smaller = makeTrace({"en"}, 7);
    writeTrace(smaller, path);
    expectSameTrace(smaller, readTrace(path));
}

TEST(TraceStore, EmptyCreatedIsFilledWithNow)
{
    TempDir dir("created");
    RoutingTrace trace = makeTrace({"en"});
    trace.created.clear();
    writeTrace(trace, dir.file("t.h5"));
    const std::string created = readTrace(dir.file("t.h5")).created;
    ASSERT_EQ(created.size(), 20u) << created;
    EXPECT_EQ(created[4], '-');
    EXPECT_EQ(created[10], 'T');
    EXPECT_EQ(created.back(), 'Z');
}

TEST(TraceStore, RefusesSlashInLabelAndLeavesNothing)
{
    TempDir dir("slash");
    RoutingTrace trace = makeTrace({"en", "zh/hans"});
    const std::string path = dir.file("t.h5");
    expectError([&] { writeTrace(trace, path); }, path, "contains '/'");
    EXPECT_TRUE(dir.entries().empty());
}

TEST(TraceStore, RefusesInconsistentTracesOnWrite)
{
    TempDir dir("invalid");
    const std::string path = dir.file("t.h5");
    auto broken = [&](const std::function<void(RoutingTrace &)> &edit, const std::string &needle) {
        RoutingTrace t = makeTrace({"en", "de"});
        edit(t);
        expectError([&] { writeTrace(t, path); }, path, needle);
        EXPECT_TRUE(dir.entries().empty()) << needle;
    };
    const int E = 6;
    broken([&](RoutingTrace &t) { t.languages[1].tokens[2] = 0; }, "tokens is 0");
    broken([&](RoutingTrace &t) { t.languages[0].counts[E * 2] = t.languages[0].tokens[2] + 1; },
           "routed only");
    broken([&](RoutingTrace &t) { t.languages[0].tokens[0] = 5; }, "dense layer 0");
    broken([&](RoutingTrace &t) { t.languages[0].counts[0] = 1; }, "tokens is 0");
    broken(
        [&](RoutingTrace &t) {
            t.languages[0].counts[E * 3] = 0;
            t.languages[0].gateSum[E * 3] = 0.5;
        },
        "never selected");
    broken(
        [&](RoutingTrace &t) {
            t.languages[0].counts[E * 3] = 1;
            t.languages[0].gateSum[E * 3] = -0.5;
        },
        "not negative");
    broken(
        [&](RoutingTrace &t) {
            t.languages[0].counts[E * 3] = 1;
            t.languages[0].gateSum[E * 3] = std::nan("");
        },
        "finite");
    broken([&](RoutingTrace &t) { t.languages[1].tokenScope = "decode"; }, "token_scope");
    broken([&](RoutingTrace &t) { t.languages[1].label = "en"; }, "duplicate");
    broken([&](RoutingTrace &t) { t.languages[1].label = ""; }, "empty language label");
    broken([&](RoutingTrace &t) { t.languages[1].counts.pop_back(); }, "counts has");
    broken([&](RoutingTrace &t) { t.languages[1].tokens.push_back(0); }, "tokens has");
    broken([&](RoutingTrace &t) { t.model.topK = 7; }, "top_k");
    broken([&](RoutingTrace &t) { t.model.moeLayers = {2, 1, 3}; }, "ascending");
    broken([&](RoutingTrace &t) { t.model.moeLayers = {1, 2, 4}; }, "outside");
}

TEST(TraceStore, MissingDirectoryAndNonHdf5Files)
{
    TempDir dir("nothdf5");
    expectError([&] { readTrace(dir.file("nope.h5")); }, dir.file("nope.h5"), "no such file");
    expectError([&] { readTrace(dir.path().string()); }, dir.path().string(), "is a directory");
    std::ofstream(dir.file("text.h5")) << "just some text, not HDF5\n";
    expectError([&] { readTrace(dir.file("text.h5")); }, dir.file("text.h5"), "not an HDF5 file");
    std::ofstream(dir.file("empty.h5")).close();
    expectError([&] { readTrace(dir.file("empty.h5")); }, dir.file("empty.h5"), "not an HDF5");
    // Into a folder that does not exist: nothing is created anywhere.
    expectError([&] { writeTrace(makeTrace({"en"}), dir.file("missing/t.h5")); },
                dir.file("missing/t.h5"), "directory does not exist");
}

TEST(TraceStore, OtherHdf5FormatsAndVersions)
{
    TempDir dir("foreign");
    const std::string path = dir.file("foreign.h5");
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    {
        // A plain HDF5 file like any other tool would write.
        hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        hsize_t dims[1] = {3};
        hid_t space = H5Screate_simple(1, dims, nullptr);
        hid_t ds = H5Dcreate2(f, "data", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                              H5P_DEFAULT);
        H5Dclose(ds);
        H5Sclose(space);
        H5Fclose(f);
    }
    expectError([&] { readTrace(path); }, path, "not a moescope trace (no 'format'");
    {
        RawFile f(path);
        writeStringAttr(f.id, "format", "other-tool");
    }
    expectError([&] { readTrace(path); }, path, "format is 'other-tool'");

    const std::string v2 = dir.file("v2.h5");
    writeTrace(makeTrace({"en"}), v2);
    {
        RawFile f(v2);
        hid_t attr = H5Aopen(f.id, "version", H5P_DEFAULT);
        const std::int64_t two = 2;
        H5Awrite(attr, H5T_NATIVE_INT64, &two);
        H5Aclose(attr);
    }
    expectError([&] { readTrace(v2); }, v2, "version 2 is not supported");
}

TEST(TraceStore, DamagedStructureIsReportedPrecisely)
{
    TempDir dir("damaged");
    const RoutingTrace trace = makeTrace({"en", "de"});
    auto damaged = [&](const std::string &name, const std::function<void(hid_t)> &edit,
                       const std::string &needle) {
        const std::string path = dir.file(name);
        writeTrace(trace, path);
        {
            RawFile f(path);
            edit(f.id);
        }
        expectError([&] { readTrace(path); }, path, needle);
    };
    damaged("no-counts.h5", [](hid_t f) { H5Ldelete(f, "languages/de/counts", H5P_DEFAULT); },
            "language 'de': counts is missing");
    damaged("no-group.h5", [](hid_t f) { H5Ldelete(f, "languages/en", H5P_DEFAULT); },
            "/languages has 1 groups");
    damaged("no-attr.h5", [](hid_t f) { H5Adelete(f, "num_experts"); }, "num_experts");
    damaged(
        "no-scope.h5",
        [](hid_t f) {
            hid_t g = H5Gopen2(f, "languages/en", H5P_DEFAULT);
            H5Adelete(g, "token_scope");
            H5Gclose(g);
        },
        "token_scope attribute is missing");
    damaged(
        "extra-group.h5",
        [](hid_t f) {
            hid_t g = H5Gcreate2(f, "languages/fr", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            H5Gclose(g);
        },
        "/languages has 3 groups");
    damaged(
        "shape.h5",
        [](hid_t f) {
            H5Ldelete(f, "languages/en/tokens", H5P_DEFAULT);
            hsize_t dims[1] = {3};
            hid_t space = H5Screate_simple(1, dims, nullptr);
            hid_t ds = H5Dcreate2(f, "languages/en/tokens", H5T_STD_U64LE, space, H5P_DEFAULT,
                                  H5P_DEFAULT, H5P_DEFAULT);
            H5Dclose(ds);
            H5Sclose(space);
        },
        "language 'en': tokens has shape [3], expected [4]");
    damaged(
        "zero-tokens.h5",
        [](hid_t f) {
            hid_t ds = H5Dopen2(f, "languages/de/tokens", H5P_DEFAULT);
            const std::uint64_t zeros[4] = {0, 0, 0, 0};
            H5Dwrite(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros);
            H5Dclose(ds);
        },
        "tokens is 0");
    damaged(
        "bad-provenance.h5", [](hid_t f) { writeStringAttr(f, "provenance", "{not json"); },
        "provenance");
}

TEST(TraceStore, TruncatedCopiesOfARealTraceFailCleanly)
{
    TempDir dir("truncated");
    const std::string full = dir.file("full.h5");
    writeTrace(importStudyJson({bundledStudyDir() + "/mgsm_en.json",
                                bundledStudyDir() + "/mgsm_zh.json"}),
               full);
    const std::string bytes = readFile(full);
    ASSERT_GT(bytes.size(), 100000u);
    for (std::size_t keep : {std::size_t{0}, std::size_t{8}, std::size_t{100}, bytes.size() / 3,
                             bytes.size() / 2, bytes.size() - 1}) {
        const std::string path = dir.file("cut-" + std::to_string(keep) + ".h5");
        std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(keep));
        try {
            readTrace(path);
            ADD_FAILURE() << "a copy cut at " << keep << " bytes was accepted";
        } catch (const Error &e) {
            EXPECT_EQ(e.file(), path);
            EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
        }
    }
}
