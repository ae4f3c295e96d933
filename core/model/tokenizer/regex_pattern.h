#pragma once

// A compiled PCRE2 pattern with full Unicode semantics (PCRE2_UTF|PCRE2_UCP),
// standing in for the Oniguruma regexes tokenizer.json files are written for
// (\p{L}, \p{N}, (?i:...), look-ahead such as \s+(?!\S)).

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moescope::tokenizer {

struct ByteRange
{
    std::size_t begin = 0;
    std::size_t end = 0;
};

class RegexPattern
{
public:
    // Throws Error(file, ...) if the pattern does not compile.
    RegexPattern(const std::string &pattern, const std::string &file);
    RegexPattern(RegexPattern &&) noexcept;
    RegexPattern &operator=(RegexPattern &&) noexcept;
    ~RegexPattern();

    // All non-overlapping matches, left to right, in valid UTF-8 text. After
    // an empty match the search resumes one character later (as Oniguruma's
    // find_iter does), so empty matches never loop.
    std::vector<ByteRange> findAll(std::string_view text) const;

private:
    struct Compiled;
    std::unique_ptr<Compiled> m_compiled;
};

} // namespace moescope::tokenizer
