#pragma once

// The Unicode facts the answer metrics need (decoding, digit values,
// punctuation, case, scripts written without spaces). They come from ICU so
// they follow the Unicode tables rather than a hand-picked subset.

#include "core/common/utf8.h" // decodeUtf8, encodeUtf8, sanitizeUtf8

#include <string>
#include <string_view>

namespace moescope {

// Value 0-9 of a decimal digit of any script (general category Nd: ASCII,
// Bengali, Devanagari, Arabic-Indic, full-width, ...), -1 otherwise.
int decimalDigitValue(char32_t c);

// General category P* (what Python's unicodedata.category(c).startswith('P')
// accepts, the punctuation rule of the MLQA evaluation script).
bool isUnicodePunctuation(char32_t c);

bool isUnicodeWhitespace(char32_t c); // White_Space property (str.split())
bool isUnicodeLetter(char32_t c); // general category L*
bool isCombiningMark(char32_t c); // general category M*

// Characters of scripts written without spaces between words (Han,
// Hiragana, Katakana, Thai, Lao, Khmer, Myanmar): each is its own token when
// answers are compared token by token.
bool isUnsegmentedScript(char32_t c);

// Canonical composition (NFC), so "e" + combining acute equals "é".
std::u32string nfc(std::u32string_view text);

// Full Unicode lowercase mapping (root locale), like Python's str.lower().
std::u32string lowercase(std::u32string_view text);

} // namespace moescope
