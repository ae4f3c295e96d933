#include "core/model/tokenizer/regex_pattern.h"

#include "core/common/error.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace moescope::tokenizer {

namespace {

bool isHexDigit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Oniguruma (and Python's re) accept \uHHHH; PCRE2 spells it \x{HHHH}.
std::string translateUnicodeEscapes(const std::string &pattern)
{
    std::string out;
    out.reserve(pattern.size());
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '\\' && i + 1 < pattern.size()) {
            if (pattern[i + 1] == 'u' && i + 5 < pattern.size() && isHexDigit(pattern[i + 2])
                && isHexDigit(pattern[i + 3]) && isHexDigit(pattern[i + 4])
                && isHexDigit(pattern[i + 5])) {
                out += "\\x{" + pattern.substr(i + 2, 4) + "}";
                i += 5;
                continue;
            }
            out += pattern.substr(i, 2); // keep any other escape pair intact
            ++i;
            continue;
        }
        out += pattern[i];
    }
    return out;
}

} // namespace

struct RegexPattern::Compiled
{
    pcre2_code *code = nullptr;
    ~Compiled()
    {
        if (code)
            pcre2_code_free(code);
    }
};

RegexPattern::RegexPattern(const std::string &pattern, const std::string &file)
    : m_compiled(std::make_unique<Compiled>())
{
    const std::string translated = translateUnicodeEscapes(pattern);
    int errorCode = 0;
    PCRE2_SIZE errorOffset = 0;
    m_compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()),
                                     translated.size(), PCRE2_UTF | PCRE2_UCP, &errorCode,
                                     &errorOffset, nullptr);
    if (!m_compiled->code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(errorCode, message, sizeof message);
        throw Error(file, "cannot compile regex '" + pattern + "' at offset "
                              + std::to_string(errorOffset) + ": "
                              + reinterpret_cast<const char *>(message));
    }
    // JIT is an optimisation only; the interpreter gives the same matches.
    pcre2_jit_compile(m_compiled->code, PCRE2_JIT_COMPLETE);
}

RegexPattern::RegexPattern(RegexPattern &&) noexcept = default;
RegexPattern &RegexPattern::operator=(RegexPattern &&) noexcept = default;
RegexPattern::~RegexPattern() = default;

std::vector<ByteRange> RegexPattern::findAll(std::string_view text) const
{
    std::vector<ByteRange> matches;
    if (text.empty())
        return matches;
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(m_compiled->code, nullptr), &pcre2_match_data_free);
    if (!data)
        throw std::bad_alloc();
    const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t start = 0;
    while (start <= text.size()) {
        // The caller guarantees valid UTF-8 (input is sanitised first).
        const int rc = pcre2_match(m_compiled->code, subject, text.size(), start,
                                   PCRE2_NO_UTF_CHECK, data.get(), nullptr);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof message);
            throw Error(std::string("regex match failed: ")
                        + reinterpret_cast<const char *>(message));
        }
        const PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(data.get());
        const std::size_t begin = ovector[0], end = ovector[1];
        matches.push_back({begin, end});
        if (end > begin) {
            start = end;
        } else {
            if (end >= text.size())
                break;
            // Step over one whole UTF-8 character.
            start = end + 1;
            while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
                ++start;
        }
    }
    return matches;
}

} // namespace moescope::tokenizer
