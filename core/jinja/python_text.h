#pragma once

// Python's string and number semantics where Jinja defers to Python: code
// points, str.strip, slice bounds, float and string repr, json.dumps strings.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace moescope::jinja::detail {

using Json = nlohmann::ordered_json;

std::u32string toU32(const std::string &s);

std::string toU8(const std::u32string &s);

bool isPySpace(char32_t c);

std::string pyStrip(const std::string &s, const std::optional<std::string> &chars, bool left, bool right);

void sliceIndices(std::int64_t len, std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                  std::int64_t step, std::int64_t &b, std::int64_t &e);

std::string pyFloatRepr(double v);

std::string pyStringRepr(const std::string &s);

std::string jsonStringLiteral(const std::string &s);

} // namespace moescope::jinja::detail
