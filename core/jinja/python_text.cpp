#include "core/jinja/python_text.h"

#include "core/common/error.h"
#include "core/common/utf8.h"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <ctime>
#include <functional>
#include <limits>
#include <map>
#include <optional>

namespace moescope::jinja::detail {

std::u32string toU32(const std::string &s)
{
    return decodeUtf8(s);
}

std::string toU8(const std::u32string &s)
{
    return encodeUtf8(s);
}

bool isPySpace(char32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0x1C || c == 0x1D
        || c == 0x1E || c == 0x1F || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A)
        || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// str.strip/lstrip/rstrip: whitespace, or any of `chars` when given.
std::string pyStrip(const std::string &s, const std::optional<std::string> &chars, bool left, bool right)
{
    const auto u = toU32(s);
    const auto set = chars ? toU32(*chars) : std::u32string();
    const auto strip = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : isPySpace(c); };
    std::size_t b = 0, e = u.size();
    while (left && b < e && strip(u[b]))
        ++b;
    while (right && e > b && strip(u[e - 1]))
        --e;
    return toU8(u.substr(b, e - b));
}

// CPython's slice.indices().
void sliceIndices(std::int64_t len, std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                  std::int64_t step, std::int64_t &b, std::int64_t &e)
{
    const auto clamp = [&](std::optional<std::int64_t> v, std::int64_t deflt) {
        if (!v)
            return deflt;
        std::int64_t x = *v;
        if (x < 0) {
            x += len;
            if (x < 0)
                x = step < 0 ? -1 : 0;
        } else if (x >= len) {
            x = step < 0 ? len - 1 : len;
        }
        return x;
    };
    b = clamp(start, step < 0 ? len - 1 : 0);
    e = clamp(stop, step < 0 ? -1 : len);
}

std::string pyFloatRepr(double v)
{
    if (std::isnan(v))
        return "nan";
    if (std::isinf(v))
        return v < 0 ? "-inf" : "inf";
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    const auto ePos = sci.find('e');
    std::string mant = sci.substr(0, ePos);
    const int exp = std::stoi(sci.substr(ePos + 1));
    const bool neg = mant[0] == '-';
    if (neg)
        mant.erase(0, 1);
    std::string digits;
    for (const char c : mant)
        if (c != '.')
            digits += c;
    std::string out;
    if (exp >= -4 && exp < 16) { // repr uses fixed notation for 1e-4 <= |v| < 1e16
        if (exp < 0) {
            out = "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
        } else {
            if (digits.size() <= static_cast<std::size_t>(exp) + 1) {
                out = digits + std::string(static_cast<std::size_t>(exp) + 1 - digits.size(), '0') + ".0";
            } else {
                out = digits.substr(0, static_cast<std::size_t>(exp) + 1) + "."
                    + digits.substr(static_cast<std::size_t>(exp) + 1);
            }
        }
    } else {
        out = digits.substr(0, 1);
        if (digits.size() > 1) {
            // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on "." + string&&.
            out += '.';
            out += digits.substr(1);
        }
        char e[16];
        std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
        out += e;
    }
    return neg ? "-" + out : out;
}

std::string pyStringRepr(const std::string &s)
{
    const bool useDouble = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
    const char q = useDouble ? '"' : '\'';
    std::string out(1, q);
    for (const char32_t c : toU32(s)) {
        if (c == static_cast<char32_t>(q) || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7F) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", static_cast<unsigned>(c));
            out += b;
        } else {
            out += toU8(std::u32string(1, c));
        }
    }
    return out + q;
}

std::string jsonStringLiteral(const std::string &s)
{
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", c);
                out += b;
            } else {
                out += ch;
            }
        }
    }
    return out + "\"";
}

} // namespace moescope::jinja::detail
