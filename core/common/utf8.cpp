#include "core/common/utf8.h"

namespace moescope {

namespace {

constexpr char32_t kReplacementChar = 0xFFFD;

// Length of a well-formed sequence starting at text[pos], or 0 with
// `consumed` set to the length of the maximal ill-formed prefix (Unicode 15,
// table 3-7 "well-formed UTF-8 byte sequences"). Either way `consumed` bytes
// make up the next code point or replacement.
std::size_t wellFormedLength(std::string_view text, std::size_t pos, std::size_t &consumed)
{
    const auto byteAt = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byteAt(pos);
    if (lead < 0x80) {
        consumed = 1;
        return 1;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0)
            low = 0xA0;
        else if (lead == 0xED)
            high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0)
            low = 0x90;
        else if (lead == 0xF4)
            high = 0x8F;
    } else {
        consumed = 1;
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        if (pos + k >= text.size()) {
            consumed = k;
            return 0;
        }
        const unsigned char b = byteAt(pos + k);
        const unsigned char lo = k == 1 ? low : 0x80;
        const unsigned char hi = k == 1 ? high : 0xBF;
        if (b < lo || b > hi) {
            consumed = k;
            return 0;
        }
    }
    consumed = length;
    return length;
}

} // namespace

std::u32string decodeUtf8(std::string_view text)
{
    std::u32string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t consumed = 0;
        if (wellFormedLength(text, pos, consumed) == 0) {
            out.push_back(kReplacementChar);
        } else {
            const auto b = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(text[pos + k])); };
            switch (consumed) {
            case 1: out.push_back(b(0)); break;
            case 2: out.push_back(((b(0) & 0x1F) << 6) | (b(1) & 0x3F)); break;
            case 3: out.push_back(((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F)); break;
            default:
                out.push_back(((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F));
            }
        }
        pos += consumed;
    }
    return out;
}

void appendUtf8(std::string &out, char32_t c)
{
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

std::string encodeUtf8(std::u32string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (const char32_t c : text)
        appendUtf8(out, c);
    return out;
}

std::string toUtf8(char32_t codePoint)
{
    std::string s;
    appendUtf8(s, codePoint);
    return s;
}

std::string sanitizeUtf8(std::string_view bytes)
{
    std::string out;
    out.reserve(bytes.size());
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        std::size_t consumed = 0;
        if (wellFormedLength(bytes, pos, consumed) > 0)
            out.append(bytes.substr(pos, consumed));
        else
            appendUtf8(out, kReplacementChar);
        pos += consumed;
    }
    return out;
}

bool isValidUtf8(std::string_view bytes)
{
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        std::size_t consumed = 0;
        if (wellFormedLength(bytes, pos, consumed) == 0)
            return false;
        pos += consumed;
    }
    return true;
}

} // namespace moescope
