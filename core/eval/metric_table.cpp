#include "core/eval/metric_table.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace moescope {
namespace {

std::string formatDouble(double value)
{
    if (std::isnan(value))
        return "nan";
    if (std::isinf(value))
        return value > 0 ? "inf" : "-inf";
    std::array<char, 64> buffer {};
    const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return error == std::errc() ? std::string(buffer.data(), end) : std::string("nan");
}

std::string csvField(const std::string &field)
{
    const bool quote = field.find_first_of(",\"\r\n") != std::string::npos
        || (!field.empty() && (field.front() == ' ' || field.back() == ' '));
    if (!quote)
        return field;
    std::string out = "\"";
    for (char c : field) {
        if (c == '"')
            out += "\"\"";
        else
            out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string describeKey(const std::vector<std::string> &key)
{
    std::string out;
    for (const auto &part : key)
        out += (out.empty() ? "" : ", ") + part;
    return "(" + out + ")";
}

nlohmann::ordered_json jsonValue(const std::optional<MetricValue> &cell)
{
    if (!cell)
        return nullptr;
    if (const auto *text = std::get_if<std::string>(&*cell))
        return *text;
    const double value = std::get<double>(*cell);
    if (!std::isfinite(value))
        return nullptr;
    // Counts stay integers in JSON (12, not 12.0); 2^53 keeps them exact.
    if (value == std::trunc(value) && std::abs(value) < 9007199254740992.0)
        return static_cast<std::int64_t>(value);
    return value;
}

} // namespace

MetricTable::MetricTable(std::vector<std::string> keyColumns)
    : m_keyColumns(std::move(keyColumns))
{
    if (m_keyColumns.empty())
        throw Error("a metric table needs at least one key column");
    for (std::size_t i = 0; i < m_keyColumns.size(); ++i) {
        if (m_keyColumns[i].empty())
            throw Error("a metric table's key column has an empty name");
        if (std::find(m_keyColumns.begin(), m_keyColumns.begin() + static_cast<std::ptrdiff_t>(i),
                m_keyColumns[i])
            != m_keyColumns.begin() + static_cast<std::ptrdiff_t>(i))
            throw Error("metric table key column \"" + m_keyColumns[i] + "\" appears twice");
    }
}

std::vector<std::vector<std::string>> MetricTable::rowKeys() const
{
    std::vector<std::vector<std::string>> keys;
    keys.reserve(m_rows.size());
    for (const auto &r : m_rows)
        keys.push_back(r.key);
    return keys;
}

void MetricTable::addColumn(const std::string &column)
{
    columnIndex(column);
}

std::size_t MetricTable::columnIndex(const std::string &column)
{
    if (column.empty())
        throw Error("a metric column needs a name");
    if (std::find(m_keyColumns.begin(), m_keyColumns.end(), column) != m_keyColumns.end())
        throw Error("metric column \"" + column + "\" has the name of a key column");
    const auto it = std::find(m_columns.begin(), m_columns.end(), column);
    if (it != m_columns.end())
        return static_cast<std::size_t>(it - m_columns.begin());
    m_columns.push_back(column);
    return m_columns.size() - 1;
}

MetricTable::Row &MetricTable::row(const std::vector<std::string> &key)
{
    if (key.size() != m_keyColumns.size())
        throw Error("row key " + describeKey(key) + " has " + std::to_string(key.size())
            + " parts; the table's key has " + std::to_string(m_keyColumns.size()));
    if (const auto it = m_rowIndex.find(key); it != m_rowIndex.end())
        return m_rows[it->second];
    m_rowIndex.emplace(key, m_rows.size());
    m_rows.push_back(Row { key, {} });
    return m_rows.back();
}

const MetricTable::Row *MetricTable::findRow(const std::vector<std::string> &key) const
{
    const auto it = m_rowIndex.find(key);
    return it == m_rowIndex.end() ? nullptr : &m_rows[it->second];
}

void MetricTable::setCell(
    const std::vector<std::string> &key, const std::string &column, MetricValue value)
{
    const std::size_t index = columnIndex(column);
    Row &r = row(key);
    if (r.cells.size() <= index)
        r.cells.resize(index + 1);
    r.cells[index] = std::move(value);
}

void MetricTable::set(const std::vector<std::string> &key, const std::string &column, double value)
{
    setCell(key, column, value);
}

void MetricTable::set(
    const std::vector<std::string> &key, const std::string &column, std::string text)
{
    setCell(key, column, std::move(text));
}

std::optional<MetricValue> MetricTable::get(
    const std::vector<std::string> &key, const std::string &column) const
{
    const Row *r = findRow(key);
    const auto it = std::find(m_columns.begin(), m_columns.end(), column);
    if (!r || it == m_columns.end())
        return std::nullopt;
    const auto index = static_cast<std::size_t>(it - m_columns.begin());
    return index < r->cells.size() ? r->cells[index] : std::nullopt;
}

std::optional<double> MetricTable::number(
    const std::vector<std::string> &key, const std::string &column) const
{
    const auto cell = get(key, column);
    if (!cell || !std::holds_alternative<double>(*cell))
        return std::nullopt;
    return std::get<double>(*cell);
}

std::string MetricTable::toCsv() const
{
    std::string out;
    auto appendRow = [&out](const std::vector<std::string> &fields) {
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (i > 0)
                out.push_back(',');
            out += csvField(fields[i]);
        }
        out.push_back('\n');
    };
    std::vector<std::string> header = m_keyColumns;
    header.insert(header.end(), m_columns.begin(), m_columns.end());
    appendRow(header);
    for (const auto &r : m_rows) {
        std::vector<std::string> fields = r.key;
        for (std::size_t c = 0; c < m_columns.size(); ++c) {
            if (c >= r.cells.size() || !r.cells[c])
                fields.emplace_back();
            else if (const auto *text = std::get_if<std::string>(&*r.cells[c]))
                fields.push_back(*text);
            else
                fields.push_back(formatDouble(std::get<double>(*r.cells[c])));
        }
        appendRow(fields);
    }
    return out;
}

std::string MetricTable::toJson() const
{
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const auto &r : m_rows) {
        nlohmann::ordered_json object = nlohmann::ordered_json::object();
        for (std::size_t k = 0; k < m_keyColumns.size(); ++k)
            object[m_keyColumns[k]] = r.key[k];
        for (std::size_t c = 0; c < m_columns.size(); ++c)
            object[m_columns[c]] = jsonValue(c < r.cells.size() ? r.cells[c] : std::nullopt);
        rows.push_back(std::move(object));
    }
    nlohmann::ordered_json document;
    document["format"] = "moescope-metrics";
    document["version"] = 1;
    document["keys"] = m_keyColumns;
    document["columns"] = m_columns;
    document["rows"] = std::move(rows);
    // Replace invalid UTF-8 in labels instead of throwing half-way.
    return document.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

void MetricTable::writeCsv(const std::string &path) const
{
    writeFileAtomically(path, toCsv());
}

void MetricTable::writeJson(const std::string &path) const
{
    writeFileAtomically(path, toJson());
}

} // namespace moescope
