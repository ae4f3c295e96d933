#include "trace_test_support.h"

#include "core/common/atomic_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace moescope::test {

TempDir::TempDir(const std::string &name)
    : m_path(fs::temp_directory_path()
             / ("moescope-trace-test-" + name + "-" + std::to_string(getpid())))
{
    fs::remove_all(m_path);
    fs::create_directories(m_path);
}

TempDir::~TempDir()
{
    std::error_code ec;
    fs::remove_all(m_path, ec);
}

std::vector<std::string> TempDir::entries() const
{
    std::vector<std::string> out;
    for (const auto &e : fs::directory_iterator(m_path))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

RoutingTrace makeTrace(const std::vector<std::string> &labels, unsigned seed, int numLayers,
                       int numExperts, int topK, std::vector<int> moeLayers)
{
    RoutingTrace t;
    t.model.modelId = "test/tiny-moe";
    t.model.modelType = "tiny_moe";
    t.model.numLayers = numLayers;
    t.model.numExperts = numExperts;
    t.model.topK = topK;
    t.model.moeLayers = moeLayers;
    t.created = "2026-01-14T09:30:00Z";
    t.provenance = R"({"source":"test","seed":)" + std::to_string(seed) + "}";
    std::mt19937 rng(seed);
    const std::size_t L = static_cast<std::size_t>(numLayers);
    const std::size_t E = static_cast<std::size_t>(numExperts);
    for (const auto &label : labels) {
        LanguageRouting lang;
        lang.label = label;
        lang.corpus = "corpus-" + label;
        lang.documents = rng() % 100;
        lang.tokenScope = "prompt";
        lang.templateName = "chat";
        lang.counts.assign(L * E, 0);
        lang.gateSum.assign(L * E, 0.0);
        lang.tokens.assign(L, 0);
        for (int l : moeLayers) {
            const std::size_t row = static_cast<std::size_t>(l);
            const std::uint64_t tokens = 20 + rng() % 200;
            lang.tokens[row] = tokens;
            for (std::size_t e = 0; e < E; ++e) {
                const std::uint64_t c = (rng() % 4 == 0) ? 0 : rng() % (tokens + 1);
                lang.counts[row * E + e] = c;
                // Irrational-looking doubles exercise full-precision storage.
                lang.gateSum[row * E + e] = c == 0 ? 0.0 : c * (0.1 + (rng() % 1000) / 1234.567);
            }
        }
        t.languages.push_back(std::move(lang));
    }
    return t;
}

void expectSameTrace(const RoutingTrace &a, const RoutingTrace &b)
{
    EXPECT_EQ(a.model.modelId, b.model.modelId);
    EXPECT_EQ(a.model.modelType, b.model.modelType);
    EXPECT_EQ(a.model.numLayers, b.model.numLayers);
    EXPECT_EQ(a.model.numExperts, b.model.numExperts);
    EXPECT_EQ(a.model.topK, b.model.topK);
    EXPECT_EQ(a.model.moeLayers, b.model.moeLayers);
    ASSERT_EQ(a.languages.size(), b.languages.size());
    for (std::size_t i = 0; i < a.languages.size(); ++i) {
        const auto &x = a.languages[i], &y = b.languages[i];
        EXPECT_EQ(x.label, y.label);
        EXPECT_EQ(x.counts, y.counts) << x.label;
        EXPECT_EQ(x.gateSum, y.gateSum) << x.label; // bit-exact, not approximately
        EXPECT_EQ(x.tokens, y.tokens) << x.label;
        EXPECT_EQ(x.corpus, y.corpus) << x.label;
        EXPECT_EQ(x.documents, y.documents) << x.label;
        EXPECT_EQ(x.tokenScope, y.tokenScope) << x.label;
        EXPECT_EQ(x.templateName, y.templateName) << x.label;
    }
}

std::string bundledStudyDir()
{
    return std::string(MOESCOPE_SOURCE_DIR) + "/resources/data/qwen3-30b-a3b-mgsm";
}

std::string testData(const std::string &relative)
{
    return std::string(MOESCOPE_TEST_DATA) + "/trace/" + relative;
}

CommandResult runMoescope(const std::string &arguments)
{
    static int counter = 0;
    const std::string base = (fs::temp_directory_path()
                              / ("moescope-cli-" + std::to_string(getpid()) + "-"
                                 + std::to_string(counter++)))
                                 .string();
    const std::string command = std::string("'") + MOESCOPE_BINARY + "' " + arguments + " >'"
        + base + ".out' 2>'" + base + ".err'";
    const int status = std::system(command.c_str());
    CommandResult r;
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = readFile(base + ".out");
    r.err = readFile(base + ".err");
    fs::remove(base + ".out");
    fs::remove(base + ".err");
    return r;
}

} // namespace moescope::test
