#pragma once

// The metric accumulators keep one row per label (language or condition) in
// the order labels first appear; these find or add a row by its label.

#include <algorithm>
#include <string>
#include <vector>

namespace moescope {

template <typename Row> Row &rowWithLabel(std::vector<Row> &rows, const std::string &label)
{
    auto it = std::find_if(
        rows.begin(), rows.end(), [&](const Row &row) { return row.label == label; });
    if (it != rows.end())
        return *it;
    rows.push_back(Row {});
    rows.back().label = label;
    return rows.back();
}

template <typename Row>
const Row *findRowWithLabel(const std::vector<Row> &rows, const std::string &label)
{
    auto it = std::find_if(
        rows.begin(), rows.end(), [&](const Row &row) { return row.label == label; });
    return it == rows.end() ? nullptr : &*it;
}

inline std::vector<std::string> withLabel(
    std::vector<std::string> keyPrefix, const std::string &label)
{
    keyPrefix.push_back(label);
    return keyPrefix;
}

} // namespace moescope
