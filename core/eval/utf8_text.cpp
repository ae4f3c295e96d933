#include "core/eval/utf8_text.h"

#include "core/common/error.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>

#include <vector>

namespace moescope {

int decimalDigitValue(char32_t c)
{
    const auto cp = static_cast<UChar32>(c);
    return u_charType(cp) == U_DECIMAL_DIGIT_NUMBER ? u_charDigitValue(cp) : -1;
}

bool isUnicodePunctuation(char32_t c)
{
    return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_P_MASK) != 0;
}

bool isUnicodeWhitespace(char32_t c)
{
    return u_isUWhiteSpace(static_cast<UChar32>(c));
}

bool isUnicodeLetter(char32_t c)
{
    return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0;
}

bool isCombiningMark(char32_t c)
{
    return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_M_MASK) != 0;
}

bool isUnsegmentedScript(char32_t c)
{
    UErrorCode status = U_ZERO_ERROR;
    switch (uscript_getScript(static_cast<UChar32>(c), &status)) {
    case USCRIPT_HAN:
    case USCRIPT_HIRAGANA:
    case USCRIPT_KATAKANA:
    case USCRIPT_THAI:
    case USCRIPT_LAO:
    case USCRIPT_KHMER:
    case USCRIPT_MYANMAR:
        return U_SUCCESS(status);
    default:
        return false;
    }
}

namespace {

std::vector<UChar> toUtf16(std::u32string_view text)
{
    std::vector<UChar> utf16;
    utf16.reserve(text.size());
    for (char32_t c : text) {
        if (c >= 0x10000) {
            utf16.push_back(static_cast<UChar>(U16_LEAD(c)));
            utf16.push_back(static_cast<UChar>(U16_TRAIL(c)));
        } else {
            utf16.push_back(static_cast<UChar>(c));
        }
    }
    return utf16;
}

std::u32string fromUtf16(const UChar *text, int32_t length)
{
    std::u32string out;
    out.reserve(static_cast<std::size_t>(length));
    for (int32_t i = 0; i < length;) {
        UChar32 c;
        U16_NEXT(text, i, length, c);
        out.push_back(static_cast<char32_t>(c));
    }
    return out;
}

// Runs an ICU UTF-16 transformation that reports the needed size on overflow.
template <typename Transform>
std::u32string transformUtf16(std::u32string_view text, const char *what, Transform transform)
{
    const std::vector<UChar> input = toUtf16(text);
    std::vector<UChar> output(input.size() + 16);
    UErrorCode status = U_ZERO_ERROR;
    int32_t n = transform(output.data(), static_cast<int32_t>(output.size()), input.data(),
        static_cast<int32_t>(input.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
        output.resize(static_cast<std::size_t>(n));
        status = U_ZERO_ERROR;
        n = transform(output.data(), n, input.data(), static_cast<int32_t>(input.size()), &status);
    }
    if (U_FAILURE(status))
        throw Error(std::string("cannot ") + what + " text: " + u_errorName(status));
    return fromUtf16(output.data(), n);
}

} // namespace

std::u32string nfc(std::u32string_view text)
{
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2 *normalizer = unorm2_getNFCInstance(&status);
    if (U_FAILURE(status))
        throw Error(std::string("ICU has no NFC normalizer: ") + u_errorName(status));
    return transformUtf16(text, "normalise",
        [normalizer](
            UChar *out, int32_t capacity, const UChar *in, int32_t length, UErrorCode *st) {
            return unorm2_normalize(normalizer, in, length, out, capacity, st);
        });
}

std::u32string lowercase(std::u32string_view text)
{
    // Full (one-to-many) mapping in the root locale, like Python's str.lower().
    return transformUtf16(text, "lowercase",
        [](UChar *out, int32_t capacity, const UChar *in, int32_t length, UErrorCode *st) {
            return u_strToLower(out, capacity, in, length, "", st);
        });
}

} // namespace moescope
