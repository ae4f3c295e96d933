#pragma once

// UTF-8 encoding and lossy decoding, shared by the tokenizer, the metrics and
// the chat-template renderer. Ill-formed input never throws: each maximal
// ill-formed subsequence becomes U+FFFD (Unicode 15 §3.9, as ICU's U8_NEXT,
// Rust's from_utf8_lossy and the WHATWG decoder do), so text cut in the middle
// of a character still decodes.

#include <string>
#include <string_view>

namespace moescope {

std::u32string decodeUtf8(std::string_view text);
std::string encodeUtf8(std::u32string_view text);
void appendUtf8(std::string &out, char32_t codePoint);
std::string toUtf8(char32_t codePoint);

// The same text with ill-formed subsequences replaced by U+FFFD.
std::string sanitizeUtf8(std::string_view bytes);
bool isValidUtf8(std::string_view bytes);

} // namespace moescope
