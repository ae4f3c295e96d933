#pragma once

// Results of an evaluation as a table: one row per key (e.g. condition and
// language), one column per metric. The ablation/steering grid runner fills
// one and writes it as CSV and JSON (docs/evaluation.md, "Metric tables").

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace moescope {

// A cell holds a number or a text (a plan name, a note).
using MetricValue = std::variant<double, std::string>;

class MetricTable
{
public:
    // keyColumns name the parts of a row key, e.g. {"condition", "language"}.
    // Throws moescope::Error when there are none or a name repeats.
    explicit MetricTable(std::vector<std::string> keyColumns);

    const std::vector<std::string> &keyColumns() const { return m_keyColumns; }
    // Metric columns in the order they were first set or declared.
    const std::vector<std::string> &columns() const { return m_columns; }
    std::size_t rowCount() const { return m_rows.size(); }
    // Row keys in the order they were first set.
    std::vector<std::vector<std::string>> rowKeys() const;

    // Fixes a column's position before any value is set; no-op when present.
    void addColumn(const std::string &column);

    // Sets a cell, adding the row and the column when new. Throws
    // moescope::Error when the key has the wrong number of parts or the
    // column is named like a key column.
    void set(const std::vector<std::string> &key, const std::string &column, double value);
    void set(const std::vector<std::string> &key, const std::string &column, std::string text);
    void set(const std::vector<std::string> &key, const std::string &column, const char *text)
    {
        set(key, column, std::string(text));
    }

    // The cell, or nothing when the row or the column has no value.
    std::optional<MetricValue> get(
        const std::vector<std::string> &key, const std::string &column) const;
    std::optional<double> number(
        const std::vector<std::string> &key, const std::string &column) const;

    // RFC 4180 CSV: header row of key and metric columns, "\n" line ends,
    // fields with a comma, quote, CR, LF or edge space quoted ("" for a quote).
    // Numbers in shortest round-trip form; NaN and infinities as nan, inf,
    // -inf; missing cells empty.
    std::string toCsv() const;
    // {"format": "moescope-metrics", "version": 1, "keys": [...],
    //  "columns": [...], "rows": [{key and metric columns: value}, ...]};
    // missing cells, NaN and infinities are null.
    std::string toJson() const;

    // Atomic writes (core/common/atomic_file.h); throw moescope::Error.
    void writeCsv(const std::string &path) const;
    void writeJson(const std::string &path) const;

private:
    struct Row
    {
        std::vector<std::string> key;
        std::vector<std::optional<MetricValue>> cells; // parallel to m_columns (may be shorter)
    };

    Row &row(const std::vector<std::string> &key);
    const Row *findRow(const std::vector<std::string> &key) const;
    std::size_t columnIndex(const std::string &column);
    void setCell(const std::vector<std::string> &key, const std::string &column, MetricValue value);

    std::vector<std::string> m_keyColumns;
    std::vector<std::string> m_columns;
    std::vector<Row> m_rows;
    std::map<std::vector<std::string>, std::size_t> m_rowIndex;
};

} // namespace moescope
