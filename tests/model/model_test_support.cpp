#include "model_test_support.h"

#include <fstream>
#include <random>
#include <sstream>

namespace moescope::test {

std::string fixtureDir(const std::string &family)
{
    return std::string(MOESCOPE_TEST_DATA) + "/tiny-moe/" + family;
}

double maxAbsDiff(const at::Tensor &a, const at::Tensor &b)
{
    if (a.sizes() != b.sizes())
        return std::numeric_limits<double>::infinity();
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

TopkComparison compareTopk(const at::Tensor &idxA, const at::Tensor &wA, const at::Tensor &idxB,
                           const at::Tensor &wB)
{
    TopkComparison c;
    if (idxA.sizes() != idxB.sizes()) {
        c.mismatchedRows = -1;
        return c;
    }
    // Sort each row by expert id so that sets and weights line up.
    const auto [sa, oa] = idxA.sort(1);
    const auto [sb, ob] = idxB.sort(1);
    const auto alignedA = wA.to(at::kDouble).gather(1, oa);
    const auto alignedB = wB.to(at::kDouble).gather(1, ob);
    c.mismatchedRows = sa.ne(sb).any(1).sum().item<long>();
    c.maxWeightDiff = (alignedA - alignedB).abs().max().item<double>();
    return c;
}

TempDir::TempDir()
{
    std::random_device rd;
    m_path = std::filesystem::temp_directory_path() / ("moescope-test-" + std::to_string(rd()));
    std::filesystem::create_directories(m_path);
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
}

std::string TempDir::str(const std::string &child) const
{
    return child.empty() ? m_path.string() : (m_path / child).string();
}

void copyConfig(const std::string &fixture, const std::filesystem::path &dir)
{
    const std::filesystem::path from(fixture);
    std::filesystem::copy_file(from / "config.json", dir / "config.json");
    if (std::filesystem::exists(from / "generation_config.json"))
        std::filesystem::copy_file(from / "generation_config.json", dir / "generation_config.json");
}

void writeText(const std::filesystem::path &path, const std::string &text)
{
    std::ofstream out(path, std::ios::binary);
    out << text;
}

std::string readText(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace moescope::test
