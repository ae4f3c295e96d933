#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/trace/study_json.h"
#include "core/trace/trace_store.h"
#include "trace_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>

namespace fs = std::filesystem;
using namespace moescope;
using namespace moescope::test;
using nlohmann::json;

namespace {

const char *kLanguages[] = {"bn", "de", "en", "es", "fr", "ja", "sw", "zh"};

void expectImportError(const std::vector<StudyJsonDocument> &docs, const std::string &file,
                       const std::string &needle, const StudyJsonOptions &options = {})
{
    try {
        importStudyJsonDocuments(docs, options);
        ADD_FAILURE() << "accepted; expected '" << needle << "'";
    } catch (const Error &e) {
        EXPECT_EQ(e.file(), file) << e.what();
        EXPECT_NE(e.reason().find(needle), std::string::npos) << e.reason();
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
}

json tinyEnglish()
{
    return json::parse(readFile(testData("study/tiny_en.json")));
}

} // namespace

TEST(StudyJson, BundledDataImportsWithTheDocumentedShape)
{
    const RoutingTrace t = importStudyJson({bundledStudyDir()});
    ASSERT_EQ(t.languages.size(), 8u);
    EXPECT_EQ(t.model.numLayers, 48);
    EXPECT_EQ(t.model.numExperts, 128);
    EXPECT_EQ(t.model.topK, 8);
    EXPECT_EQ(t.model.moeLayers.size(), 48u);
    EXPECT_EQ(t.model.modelId, "unknown");
    for (std::size_t i = 0; i < 8; ++i) {
        const LanguageRouting &lang = t.languages[i];
        EXPECT_EQ(lang.label, kLanguages[i]);
        EXPECT_EQ(lang.corpus, "mgsm");
        EXPECT_EQ(lang.tokenScope, "prompt");
        // Against an independent reading of the same file.
        const json raw = json::parse(
            readFile(bundledStudyDir() + "/mgsm_" + std::string(kLanguages[i]) + ".json"));
        for (int l : {0, 17, 47}) {
            const json &layer = raw[std::to_string(l)];
            EXPECT_EQ(lang.tokens[static_cast<std::size_t>(l)], layer["total_tokens"].get<std::uint64_t>());
            for (int e : {0, 63, 127}) {
                const std::size_t c = static_cast<std::size_t>(l) * 128 + static_cast<std::size_t>(e);
                EXPECT_EQ(lang.counts[c], layer[std::to_string(e)]["activation_tokens"].get<std::uint64_t>());
                EXPECT_EQ(lang.gateSum[c], layer[std::to_string(e)]["gate_values_sum"].get<double>());
            }
        }
    }
    const json provenance = json::parse(t.provenance);
    EXPECT_EQ(provenance["files"].size(), 8u);
    EXPECT_EQ(provenance["files"][2], "mgsm_en.json");
}

TEST(StudyJson, ExportReproducesTheBundledFilesAndReimportsExactly)
{
    TempDir dir("studyroundtrip");
    StudyJsonOptions options;
    options.modelId = "Qwen/Qwen3-30B-A3B";
    options.modelType = "qwen3_moe";
    const RoutingTrace imported = importStudyJson({bundledStudyDir()}, options);
    // Through the HDF5 file as the CLI does.
    writeTrace(imported, dir.file("mgsm.h5"));
    const RoutingTrace stored = readTrace(dir.file("mgsm.h5"));
    expectSameTrace(imported, stored);
    exportStudyJson(stored, dir.file("out"), "mgsm_");
    for (const char *lang : kLanguages) {
        const std::string name = std::string("mgsm_") + lang + ".json";
        const std::string original = readFile(bundledStudyDir() + "/" + name);
        const std::string exported = readFile(dir.file("out/" + name));
        // Semantically equal: same keys, same integers, same doubles.
        EXPECT_EQ(json::parse(exported), json::parse(original)) << name;
        // And in fact byte-identical to what Python's json.dump wrote.
        EXPECT_EQ(exported, original) << name;
    }
    const RoutingTrace again = importStudyJson({dir.file("out")}, options);
    expectSameTrace(imported, again);
}

TEST(StudyJson, SmallFixturesGiveLabelsCorpusTopKAndDenseLayers)
{
    const RoutingTrace t = importStudyJson({testData("study/tiny_en.json"), testData("study/tiny_de.json")});
    ASSERT_EQ(t.languages.size(), 2u);
    EXPECT_EQ(t.languages[0].label, "en"); // given order, not sorted
    EXPECT_EQ(t.languages[1].label, "de");
    EXPECT_EQ(t.languages[0].corpus, "tiny");
    EXPECT_EQ(t.model.topK, 2);
    EXPECT_EQ(t.model.moeLayers, (std::vector<int>{1, 2})) << "layer 0 routed nothing anywhere";
    EXPECT_EQ(t.languages[1].counts[2 * 4 + 3], 5u);
    EXPECT_EQ(t.languages[1].gateSum[2 * 4 + 2], 0.125);

    StudyJsonOptions options;
    options.labels = {"english", "zh+mask(en,0-4)"};
    options.corpus = "shard-1";
    options.topK = 3;
    const RoutingTrace relabelled =
        importStudyJson({testData("study/tiny_en.json"), testData("study/tiny_de.json")}, options);
    EXPECT_EQ(relabelled.languages[1].label, "zh+mask(en,0-4)");
    EXPECT_EQ(relabelled.languages[0].corpus, "shard-1");
    EXPECT_EQ(relabelled.model.topK, 3);

    // A dense layer survives export + import.
    TempDir dir("dense");
    exportStudyJson(t, dir.file("x"), "tiny_");
    expectSameTrace(t, importStudyJson({dir.file("x/tiny_en.json"), dir.file("x/tiny_de.json")}));
}

TEST(StudyJson, BadFilesNameTheFileAndTheProblem)
{
    const std::string dir = testData("study-bad/");
    auto expectFileError = [](const std::vector<std::string> &paths, const std::string &file,
                              const std::string &needle) {
        try {
            importStudyJson(paths);
            ADD_FAILURE() << "accepted; expected '" << needle << "'";
        } catch (const Error &e) {
            EXPECT_EQ(e.file(), file);
            EXPECT_NE(e.reason().find(needle), std::string::npos) << e.reason();
        }
    };
    expectFileError({dir + "truncated_en.json"}, dir + "truncated_en.json", "invalid JSON");
    expectFileError({dir + "fractional_en.json"}, dir + "fractional_en.json",
                    "layer 1: expert 2: activation_tokens must be an integer, got 7.5");
    expectFileError({testData("study/tiny_en.json"), dir + "threeexperts_fr.json"},
                    dir + "threeexperts_fr.json", "mixed model shapes");
    expectFileError({dir + "missing.json"}, dir + "missing.json", "no such file");

    TempDir empty("emptyfolder");
    expectFileError({empty.path().string()}, empty.path().string(), "no .json files");
    EXPECT_THROW(importStudyJson({}), Error);
}

TEST(StudyJson, EveryKindOfMalformedContentIsRejected)
{
    auto mutated = [](const std::function<void(json &)> &edit) {
        json j = tinyEnglish();
        edit(j);
        return StudyJsonDocument{"x_en.json", j.dump()};
    };
    auto check = [&](const std::function<void(json &)> &edit, const std::string &needle) {
        expectImportError({mutated(edit)}, "x_en.json", needle);
    };
    expectImportError({{"x_en.json", "[1, 2]"}}, "x_en.json", "expected a JSON object");
    expectImportError({{"x_en.json", "{}"}}, "x_en.json", "no layers");
    expectImportError({{"x_en.json", "{\"0\": {\"0\": "}}, "x_en.json", "invalid JSON");
    check([](json &j) { j.erase("1"); }, "layer 1 is missing");
    check([](json &j) { j["foo"] = j["0"]; }, "unexpected key 'foo'");
    check([](json &j) { j["01"] = j["0"]; }, "unexpected key '01'");
    check([](json &j) { j["2"].erase("total_tokens"); }, "layer 2: total_tokens is missing");
    check([](json &j) { j["2"].erase("3"); }, "layer 2: has 3 experts but layer 0 has 4");
    check([](json &j) { j["1"].erase("1"); }, "expert 1 is missing");
    check([](json &j) { j["1"]["0"]["note"] = 1; }, "unknown key 'note'");
    check([](json &j) { j["1"]["0"].erase("activation_tokens"); }, "activation_tokens is missing");
    check([](json &j) { j["1"]["0"].erase("gate_values_sum"); }, "gate_values_sum is missing");
    check([](json &j) { j["1"]["0"]["activation_tokens"] = -3; }, "is negative");
    check([](json &j) { j["1"]["0"]["activation_tokens"] = "7"; }, "must be a number");
    check([](json &j) { j["1"]["0"]["activation_tokens"] = 7.0; }, "must be an integer");
    check([](json &j) { j["1"]["total_tokens"] = 2.5; }, "total_tokens must be an integer");
    check([](json &j) { j["1"]["0"]["gate_values_sum"] = -0.5; }, "gate_values_sum is negative");
    check([](json &j) { j["1"]["0"]["gate_values_sum"] = nullptr; }, "must be a number");
    check([](json &j) { j["1"]["0"]["activation_tokens"] = 11; }, "routed only 10");
    check([](json &j) { j["1"]["3"]["gate_values_sum"] = 0.5; }, "never selected");
    check([](json &j) { j["1"] = 5; }, "layer 1: expected an object");
    check(
        [](json &j) {
            for (auto &[k, layer] : j.items())
                layer["total_tokens"] = 0;
        },
        "nothing was routed");
    // Counts in a layer whose total_tokens is 0 while another file routes it.
    {
        json other = tinyEnglish();
        other["1"]["total_tokens"] = 0;
        expectImportError({mutated([](json &) {}), {"y_de.json", other.dump()}}, "y_de.json",
                          "tokens is 0");
    }
}

TEST(StudyJson, LabelsMustBeUniqueAndMatchTheFiles)
{
    const std::string text = tinyEnglish().dump();
    expectImportError({{"a/mgsm_en.json", text}, {"b/flores_en.json", text}}, "b/flores_en.json",
                      "duplicate label 'en'");
    StudyJsonOptions two;
    two.labels = {"x", "y"};
    EXPECT_THROW(importStudyJsonDocuments({{"a_en.json", text}}, two), Error);
    StudyJsonOptions slash;
    slash.labels = {"zh/hans"};
    expectImportError({{"a_en.json", text}}, "a_en.json", "contains '/'", slash);
    // No underscore: the whole stem is the label and the corpus stays empty.
    const RoutingTrace t = importStudyJsonDocuments({{"dir/english.json", text}});
    EXPECT_EQ(t.languages[0].label, "english");
    EXPECT_EQ(t.languages[0].corpus, "");
}

TEST(StudyJson, FailedExportLeavesNoFiles)
{
    TempDir dir("exportfail");
    RoutingTrace t = importStudyJson({testData("study/tiny_en.json"), testData("study/tiny_de.json")});
    // The second file's name is too long for the file system, so writing it
    // fails after the first one was written to its temporary.
    t.languages[1].label = std::string(250, 'x');
    EXPECT_THROW(exportStudyJson(t, dir.file("out")), Error);
    ASSERT_TRUE(fs::is_directory(dir.file("out")));
    EXPECT_TRUE(fs::is_empty(dir.file("out"))) << "no en.json and no temporaries";
    EXPECT_THROW(exportStudyJson(t, dir.file("out"), "a/b"), Error);
}
