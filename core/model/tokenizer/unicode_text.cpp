#include "core/model/tokenizer/unicode_text.h"

#include "core/common/error.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <vector>

namespace moescope::tokenizer {

namespace {

constexpr char32_t kReplacementChar = 0xFFFD;

std::u16string toUtf16(std::string_view text)
{
    std::u16string out(text.size(), u'\0');
    int32_t length = 0;
    UErrorCode status = U_ZERO_ERROR;
    u_strFromUTF8WithSub(reinterpret_cast<UChar *>(out.data()), static_cast<int32_t>(out.size()),
                         &length, text.data(), static_cast<int32_t>(text.size()), kReplacementChar,
                         nullptr, &status);
    if (U_FAILURE(status))
        throw Error(std::string("UTF-8 to UTF-16 conversion failed: ") + u_errorName(status));
    out.resize(static_cast<std::size_t>(length));
    return out;
}

std::string fromUtf16(const std::u16string &text)
{
    std::string out(text.size() * 3, '\0');
    int32_t length = 0;
    UErrorCode status = U_ZERO_ERROR;
    u_strToUTF8WithSub(out.data(), static_cast<int32_t>(out.size()), &length,
                       reinterpret_cast<const UChar *>(text.data()),
                       static_cast<int32_t>(text.size()), kReplacementChar, nullptr, &status);
    if (U_FAILURE(status))
        throw Error(std::string("UTF-16 to UTF-8 conversion failed: ") + u_errorName(status));
    out.resize(static_cast<std::size_t>(length));
    return out;
}

bool isAscii(std::string_view text)
{
    for (char c : text)
        if (static_cast<unsigned char>(c) >= 0x80)
            return false;
    return true;
}

} // namespace

char32_t nextCodePoint(std::string_view text, std::size_t &pos)
{
    const auto b0 = static_cast<unsigned char>(text[pos]);
    const auto cont = [&](std::size_t k) {
        return static_cast<char32_t>(static_cast<unsigned char>(text[pos + k]) & 0x3F);
    };
    char32_t c;
    if (b0 < 0x80) {
        c = b0;
        pos += 1;
    } else if (b0 < 0xE0) {
        c = (static_cast<char32_t>(b0 & 0x1F) << 6) | cont(1);
        pos += 2;
    } else if (b0 < 0xF0) {
        c = (static_cast<char32_t>(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
        pos += 3;
    } else {
        c = (static_cast<char32_t>(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
        pos += 4;
    }
    return c;
}

bool isWhitespace(char32_t c)
{
    return u_isUWhiteSpace(static_cast<UChar32>(c));
}

bool isAlphanumeric(char32_t c)
{
    return u_isUAlphabetic(static_cast<UChar32>(c)) || isNumeric(c);
}

bool isNumeric(char32_t c)
{
    const auto type = u_charType(static_cast<UChar32>(c));
    return type == U_DECIMAL_DIGIT_NUMBER || type == U_LETTER_NUMBER || type == U_OTHER_NUMBER;
}

bool isPunctuation(char32_t c)
{
    if (c < 0x80)
        return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60)
            || (c >= 0x7B && c <= 0x7E);
    return u_ispunct(static_cast<UChar32>(c));
}

std::string replaceAll(std::string_view text, std::string_view from, std::string_view to)
{
    if (from.empty())
        return std::string(text);
    std::string out;
    out.reserve(text.size());
    std::size_t last = 0, pos;
    while ((pos = text.find(from, last)) != std::string_view::npos) {
        out.append(text.substr(last, pos - last));
        out.append(to);
        last = pos + from.size();
    }
    out.append(text.substr(last));
    return out;
}

std::string normalizeUnicode(std::string_view text, NormalizationForm form)
{
    if (isAscii(text))
        return std::string(text); // ASCII is invariant under all four forms
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2 *normalizer = nullptr;
    switch (form) {
    case NormalizationForm::NFC: normalizer = unorm2_getNFCInstance(&status); break;
    case NormalizationForm::NFD: normalizer = unorm2_getNFDInstance(&status); break;
    case NormalizationForm::NFKC: normalizer = unorm2_getNFKCInstance(&status); break;
    case NormalizationForm::NFKD: normalizer = unorm2_getNFKDInstance(&status); break;
    }
    if (U_FAILURE(status))
        throw Error(std::string("ICU normalizer unavailable: ") + u_errorName(status));
    const std::u16string source = toUtf16(text);
    // NFKC/NFKD can expand a code unit up to 18 times (U+FDFA); retry once
    // with the size ICU asks for instead of guessing the worst case.
    std::u16string result(source.size() * 2 + 16, u'\0');
    for (int attempt = 0; attempt < 2; ++attempt) {
        status = U_ZERO_ERROR;
        const int32_t length = unorm2_normalize(
            normalizer, reinterpret_cast<const UChar *>(source.data()),
            static_cast<int32_t>(source.size()), reinterpret_cast<UChar *>(result.data()),
            static_cast<int32_t>(result.size()), &status);
        if (status == U_BUFFER_OVERFLOW_ERROR) {
            result.assign(static_cast<std::size_t>(length), u'\0');
            continue;
        }
        if (U_FAILURE(status))
            throw Error(std::string("Unicode normalization failed: ") + u_errorName(status));
        result.resize(static_cast<std::size_t>(length));
        return fromUtf16(result);
    }
    throw Error("Unicode normalization failed: output size kept changing");
}

std::string lowercase(std::string_view text)
{
    if (isAscii(text)) {
        std::string out(text);
        for (char &c : out)
            if (c >= 'A' && c <= 'Z')
                c = static_cast<char>(c - 'A' + 'a');
        return out;
    }
    const std::u16string source = toUtf16(text);
    std::u16string result(source.size() + 16, u'\0');
    for (int attempt = 0; attempt < 2; ++attempt) {
        UErrorCode status = U_ZERO_ERROR;
        // The root locale gives the locale-independent full case mapping
        // Rust's str::to_lowercase uses (including final sigma).
        const int32_t length = u_strToLower(
            reinterpret_cast<UChar *>(result.data()), static_cast<int32_t>(result.size()),
            reinterpret_cast<const UChar *>(source.data()), static_cast<int32_t>(source.size()),
            "", &status);
        if (status == U_BUFFER_OVERFLOW_ERROR) {
            result.assign(static_cast<std::size_t>(length), u'\0');
            continue;
        }
        if (U_FAILURE(status))
            throw Error(std::string("lowercasing failed: ") + u_errorName(status));
        result.resize(static_cast<std::size_t>(length));
        return fromUtf16(result);
    }
    throw Error("lowercasing failed: output size kept changing");
}

std::string removeNonSpacingMarks(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t start = pos;
        const char32_t c = nextCodePoint(text, pos);
        if (u_charType(static_cast<UChar32>(c)) != U_NON_SPACING_MARK)
            out.append(text.substr(start, pos - start));
    }
    return out;
}

namespace {

struct ByteLevelTables
{
    std::array<std::string, 256> alphabet;
    std::array<int, 512> byteOf{}; // indexed by code point; -1 = not in the alphabet
};

const ByteLevelTables &byteLevelTables()
{
    static const ByteLevelTables tables = [] {
        ByteLevelTables t;
        t.byteOf.fill(-1);
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC)
                || (b >= 0xAE && b <= 0xFF);
            const char32_t c = printable ? static_cast<char32_t>(b) : next++;
            t.alphabet[static_cast<std::size_t>(b)] = toUtf8(c);
            t.byteOf[c] = b;
        }
        return t;
    }();
    return tables;
}

} // namespace

const std::array<std::string, 256> &byteLevelAlphabet()
{
    return byteLevelTables().alphabet;
}

std::optional<std::uint8_t> byteForByteLevelChar(char32_t c)
{
    if (c >= 512)
        return std::nullopt;
    const int b = byteLevelTables().byteOf[c];
    if (b < 0)
        return std::nullopt;
    return static_cast<std::uint8_t>(b);
}

} // namespace moescope::tokenizer
