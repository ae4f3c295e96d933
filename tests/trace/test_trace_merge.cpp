#include "core/common/error.h"
#include "core/trace/trace_merge.h"
#include "core/trace/trace_store.h"
#include "trace_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace moescope;
using namespace moescope::test;

TEST(TraceMerge, SumsSharedLabelsAndKeepsFirstSeenOrder)
{
    const RoutingTrace a = makeTrace({"en", "zh+mask(en,0-4)"}, 1);
    const RoutingTrace b = makeTrace({"de", "en"}, 2);
    const RoutingTrace c = makeTrace({"en"}, 3);
    const RoutingTrace m = mergeTraces({a, b, c}, {"a.h5", "b.h5", "c.h5"});
    ASSERT_EQ(m.languages.size(), 3u);
    EXPECT_EQ(m.languages[0].label, "en");
    EXPECT_EQ(m.languages[1].label, "zh+mask(en,0-4)");
    EXPECT_EQ(m.languages[2].label, "de");
    const LanguageRouting &en = m.languages[0];
    const auto &ea = a.languages[0], &eb = b.languages[1], &ec = c.languages[0];
    for (std::size_t i = 0; i < en.counts.size(); ++i) {
        EXPECT_EQ(en.counts[i], ea.counts[i] + eb.counts[i] + ec.counts[i]);
        EXPECT_DOUBLE_EQ(en.gateSum[i], ea.gateSum[i] + eb.gateSum[i] + ec.gateSum[i]);
    }
    for (std::size_t l = 0; l < en.tokens.size(); ++l)
        EXPECT_EQ(en.tokens[l], ea.tokens[l] + eb.tokens[l] + ec.tokens[l]);
    EXPECT_EQ(en.documents, ea.documents + eb.documents + ec.documents);
    EXPECT_EQ(m.languages[2].counts, b.languages[0].counts) << "copied unchanged";
    EXPECT_EQ(en.corpus, "corpus-en");

    const auto provenance = nlohmann::json::parse(m.provenance);
    ASSERT_EQ(provenance["inputs"].size(), 3u);
    EXPECT_EQ(provenance["inputs"][1]["file"], "b.h5");
    EXPECT_EQ(provenance["inputs"][1]["provenance"]["seed"], 2);
}

TEST(TraceMerge, DifferentModelsOrMeasurementsAreRefused)
{
    const RoutingTrace a = makeTrace({"en"}, 1);
    auto refused = [&](RoutingTrace b, const std::string &needle) {
        try {
            mergeTraces({a, b}, {"a.h5", "b.h5"});
            ADD_FAILURE() << "merged; expected '" << needle << "'";
        } catch (const Error &e) {
            EXPECT_EQ(e.file(), "b.h5");
            EXPECT_NE(e.reason().find(needle), std::string::npos) << e.reason();
        }
    };
    RoutingTrace experts = makeTrace({"en"}, 2, 4, 8, 2);
    refused(experts, "8 experts");
    refused(makeTrace({"en"}, 2, 5, 6, 2, {1, 2, 3}), "5 layers");
    refused(makeTrace({"en"}, 2, 4, 6, 3), "top-3");
    refused(makeTrace({"en"}, 2, 4, 6, 2, {1, 2}), "MoE layers [1,2]");
    RoutingTrace id = makeTrace({"en"}, 2);
    id.model.modelId = "other/model";
    refused(id, "'other/model'");
    RoutingTrace scope = makeTrace({"en"}, 2);
    scope.languages[0].tokenScope = "generated";
    refused(scope, "token_scope");
    RoutingTrace tmpl = makeTrace({"en"}, 2);
    tmpl.languages[0].templateName = "raw";
    refused(tmpl, "template");
}

TEST(TraceMerge, FilesAreReadValidatedAndWrittenAtomically)
{
    TempDir dir("merge");
    writeTrace(makeTrace({"en", "de"}, 1), dir.file("a.h5"));
    writeTrace(makeTrace({"de"}, 2), dir.file("b.h5"));
    writeTrace(makeTrace({"en"}, 3, 4, 8, 2), dir.file("wide.h5"));
    const RoutingTrace m = mergeTraceFiles({dir.file("a.h5"), dir.file("b.h5")});
    EXPECT_EQ(m.languages[1].documents,
              readTrace(dir.file("a.h5")).languages[1].documents
                  + readTrace(dir.file("b.h5")).languages[0].documents);
    try {
        mergeTraceFiles({dir.file("a.h5"), dir.file("wide.h5")});
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.file(), dir.file("wide.h5"));
    }
    try {
        mergeTraceFiles({dir.file("a.h5"), dir.file("missing.h5")});
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.file(), dir.file("missing.h5"));
    }
}
