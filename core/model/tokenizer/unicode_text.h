#pragma once

// UTF-8 and Unicode helpers the tokenizer pipeline shares. Normalization and
// character properties come from ICU so they follow the Unicode tables, not a
// hand-made subset.

#include "core/common/utf8.h" // sanitizeUtf8, appendUtf8, toUtf8 (moescope::)

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moescope::tokenizer {

// Decodes the code point starting at pos (input must be valid UTF-8) and
// advances pos past it.
char32_t nextCodePoint(std::string_view text, std::size_t &pos);

bool isWhitespace(char32_t c);     // Unicode White_Space (Rust char::is_whitespace)
bool isAlphanumeric(char32_t c);   // Rust char::is_alphanumeric
bool isNumeric(char32_t c);        // Rust char::is_numeric (Nd, Nl, No)
bool isPunctuation(char32_t c);    // ASCII punctuation or a Unicode P* category

// Every non-overlapping occurrence of `from`, left to right.
std::string replaceAll(std::string_view text, std::string_view from, std::string_view to);

enum class NormalizationForm { NFC, NFD, NFKC, NFKD };
std::string normalizeUnicode(std::string_view text, NormalizationForm form);
std::string lowercase(std::string_view text);
std::string removeNonSpacingMarks(std::string_view text);

// GPT-2's byte-level alphabet (bytes_to_unicode in openai/gpt-2 encoder.py):
// printable Latin-1 bytes stand for themselves, the others are shifted to
// U+0100 and up so that every byte is a visible, non-space character.
const std::array<std::string, 256> &byteLevelAlphabet();
std::optional<std::uint8_t> byteForByteLevelChar(char32_t c);

} // namespace moescope::tokenizer
