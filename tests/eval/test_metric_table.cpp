#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/eval/metric_table.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <unistd.h>

using namespace moescope;

namespace {

// An RFC 4180 reader, independent of the writer, for round trips.
std::vector<std::vector<std::string>> parseCsv(const std::string &text)
{
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field.push_back('"');
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field.push_back(c);
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            row.push_back(field);
            field.clear();
        } else if (c == '\n') {
            row.push_back(field);
            field.clear();
            rows.push_back(row);
            row.clear();
        } else {
            field.push_back(c);
        }
    }
    EXPECT_FALSE(quoted) << "unterminated quoted field";
    EXPECT_TRUE(field.empty() && row.empty()) << "last line without newline";
    return rows;
}

MetricTable sampleTable()
{
    MetricTable table({ "condition", "language" });
    table.set({ "baseline", "en" }, "accuracy", 0.5);
    table.set({ "baseline", "en" }, "items", 250.0);
    table.set({ "zh+mask(en,0-4)", "zh" }, "accuracy", 1.0 / 3.0);
    table.set({ "zh+mask(en,0-4)", "zh" }, "note", "said \"hi\", then\nleft");
    table.set({ "baseline", "en" }, "perplexity", std::nan(""));
    table.set({ "x", " padded" }, "items", std::numeric_limits<double>::infinity());
    return table;
}

} // namespace

TEST(MetricTable, CsvQuotesWhatNeedsQuoting)
{
    const std::string expected
        = "condition,language,accuracy,items,note,perplexity\n"
          "baseline,en,0.5,250,,nan\n"
          "\"zh+mask(en,0-4)\",zh,0.3333333333333333,,\"said \"\"hi\"\", then\n"
          "left\",\n"
          "x,\" padded\",,inf,,\n";
    EXPECT_EQ(sampleTable().toCsv(), expected);
}

TEST(MetricTable, CsvRoundTripsThroughAnIndependentReader)
{
    MetricTable table({ "condition" });
    const std::vector<std::string> awkward = { "plain", "a,b", "quote\"inside", "\"", "line\nbreak",
        "cr\r\nlf", " lead", "trail ", "", "ünïcödé, 中文" };
    for (std::size_t i = 0; i < awkward.size(); ++i)
        table.set({ "row" + std::to_string(i) }, "text", awkward[i]);
    const auto rows = parseCsv(table.toCsv());
    ASSERT_EQ(rows.size(), awkward.size() + 1);
    EXPECT_EQ(rows[0], (std::vector<std::string> { "condition", "text" }));
    for (std::size_t i = 0; i < awkward.size(); ++i)
        EXPECT_EQ(
            rows[i + 1], (std::vector<std::string> { "row" + std::to_string(i), awkward[i] }));
}

TEST(MetricTable, NumbersRoundTrip)
{
    MetricTable table({ "k" });
    const std::vector<double> values = { 0.1, 1.0 / 3.0, 1e-300, -2.5e17, 123456789.0, 0.0 };
    for (std::size_t i = 0; i < values.size(); ++i) {
        std::string column = "c";
        column += std::to_string(i);
        table.set({ "r" }, column, values[i]);
    }
    const auto rows = parseCsv(table.toCsv());
    ASSERT_EQ(rows.size(), 2u);
    for (std::size_t i = 0; i < values.size(); ++i)
        EXPECT_EQ(std::stod(rows[1][i + 1]), values[i]) << rows[1][i + 1];
}

TEST(MetricTable, Json)
{
    const auto json = nlohmann::json::parse(sampleTable().toJson());
    EXPECT_EQ(json.at("format"), "moescope-metrics");
    EXPECT_EQ(json.at("version"), 1);
    EXPECT_EQ(json.at("keys"), (std::vector<std::string> { "condition", "language" }));
    EXPECT_EQ(json.at("columns"),
        (std::vector<std::string> { "accuracy", "items", "note", "perplexity" }));
    const auto &rows = json.at("rows");
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].at("condition"), "baseline");
    EXPECT_EQ(rows[0].at("accuracy"), 0.5);
    EXPECT_TRUE(rows[0].at("items").is_number_integer());
    EXPECT_EQ(rows[0].at("items"), 250);
    EXPECT_TRUE(rows[0].at("note").is_null()); // missing cell
    EXPECT_TRUE(rows[0].at("perplexity").is_null()); // NaN
    EXPECT_EQ(rows[1].at("note"), "said \"hi\", then\nleft");
    EXPECT_DOUBLE_EQ(rows[1].at("accuracy").get<double>(), 1.0 / 3.0);
    EXPECT_TRUE(rows[2].at("items").is_null()); // infinity
    EXPECT_EQ(rows[2].at("language"), " padded");
}

TEST(MetricTable, CellsAndOrder)
{
    MetricTable table({ "language" });
    table.addColumn("b");
    table.set({ "zh" }, "a", 1.0);
    table.set({ "en" }, "b", "text");
    table.set({ "zh" }, "a", 2.0); // overwrite, order unchanged
    EXPECT_EQ(table.columns(), (std::vector<std::string> { "b", "a" }));
    EXPECT_EQ(table.rowKeys(), (std::vector<std::vector<std::string>> { { "zh" }, { "en" } }));
    EXPECT_EQ(table.number({ "zh" }, "a"), 2.0);
    EXPECT_FALSE(table.number({ "en" }, "b").has_value()); // text, not a number
    EXPECT_EQ(std::get<std::string>(*table.get({ "en" }, "b")), "text");
    EXPECT_FALSE(table.get({ "fr" }, "a").has_value());
    EXPECT_FALSE(table.get({ "zh" }, "missing").has_value());
}

TEST(MetricTable, RejectsBadKeysAndColumns)
{
    EXPECT_THROW(MetricTable({}), Error);
    EXPECT_THROW(MetricTable({ "a", "a" }), Error);
    EXPECT_THROW(MetricTable({ "" }), Error);
    MetricTable table({ "condition", "language" });
    EXPECT_THROW(table.set({ "only-one" }, "x", 1.0), Error);
    EXPECT_THROW(table.set({ "a", "b", "c" }, "x", 1.0), Error);
    EXPECT_THROW(table.set({ "a", "b" }, "language", 1.0), Error);
    EXPECT_THROW(table.set({ "a", "b" }, "", 1.0), Error);
    EXPECT_EQ(table.rowCount(), 0u);
}

TEST(MetricTable, WritesFilesAtomically)
{
    const auto dir = std::filesystem::temp_directory_path()
        / ("moescope-metric-table-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const MetricTable table = sampleTable();
    table.writeCsv((dir / "metrics.csv").string());
    table.writeJson((dir / "metrics.json").string());
    EXPECT_EQ(readFile((dir / "metrics.csv").string()), table.toCsv());
    EXPECT_EQ(readFile((dir / "metrics.json").string()), table.toJson());
    // Only the two outputs: no temporary file left behind.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 2);
    EXPECT_THROW(table.writeCsv((dir / "no-such-dir" / "metrics.csv").string()), Error);
    std::filesystem::remove_all(dir);
}
