#include "core/model/tokenizer/decoders.h"

#include "core/common/error.h"
#include "core/model/tokenizer/tokenizer_json.h"
#include "core/model/tokenizer/unicode_text.h"

#include <nlohmann/json.hpp>

namespace moescope::tokenizer {

namespace {

// Byte-level characters back to bytes; a token holding any character outside
// the alphabet (e.g. an added token like "<｜end▁of▁sentence｜>") keeps its
// own UTF-8 bytes, as tokenizers' ByteLevel decoder does.
class ByteLevelDecoder final : public Decoder
{
public:
    void decodeChain(std::vector<std::string> &tokens) const override
    {
        std::string bytes;
        std::string tokenBytes;
        for (const auto &token : tokens) {
            tokenBytes.clear();
            bool allMapped = true;
            std::size_t pos = 0;
            while (pos < token.size()) {
                const auto byte = byteForByteLevelChar(nextCodePoint(token, pos));
                if (!byte) {
                    allMapped = false;
                    break;
                }
                tokenBytes.push_back(static_cast<char>(*byte));
            }
            bytes += allMapped ? tokenBytes : token;
        }
        tokens.assign(1, sanitizeUtf8(bytes));
    }
};

class ReplaceDecoder final : public Decoder
{
public:
    ReplaceDecoder(TextPattern pattern, std::string content)
        : m_pattern(std::move(pattern)), m_content(std::move(content))
    {
    }
    void decodeChain(std::vector<std::string> &tokens) const override
    {
        for (auto &token : tokens) {
            const auto matches = m_pattern.findAll(token);
            if (matches.empty())
                continue;
            std::string out;
            std::size_t last = 0;
            for (const auto &m : matches) {
                out.append(token, last, m.begin - last);
                out += m_content;
                last = m.end;
            }
            out.append(token, last, std::string::npos);
            token = std::move(out);
        }
    }

private:
    TextPattern m_pattern;
    std::string m_content;
};

// Runs of <0xXX> tokens become the UTF-8 text they spell, or one U+FFFD per
// byte when they are not valid UTF-8 (tokenizers/src/decoders/byte_fallback.rs).
class ByteFallbackDecoder final : public Decoder
{
public:
    void decodeChain(std::vector<std::string> &tokens) const override
    {
        std::vector<std::string> out;
        out.reserve(tokens.size());
        std::string pending;
        const auto flush = [&] {
            if (pending.empty())
                return;
            if (isValidUtf8(pending)) {
                out.push_back(pending);
            } else {
                for (std::size_t i = 0; i < pending.size(); ++i)
                    out.push_back("\xEF\xBF\xBD");
            }
            pending.clear();
        };
        for (auto &token : tokens) {
            if (auto byte = parseByteToken(token)) {
                pending.push_back(static_cast<char>(*byte));
                continue;
            }
            flush();
            out.push_back(std::move(token));
        }
        flush();
        tokens = std::move(out);
    }

private:
    static std::optional<unsigned char> parseByteToken(const std::string &token)
    {
        if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>')
            return std::nullopt;
        const auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9')
                return c - '0';
            if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
            if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
            return -1;
        };
        const int hi = hex(token[3]), lo = hex(token[4]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        return static_cast<unsigned char>(hi * 16 + lo);
    }
};

class FuseDecoder final : public Decoder
{
public:
    void decodeChain(std::vector<std::string> &tokens) const override
    {
        std::string joined;
        for (const auto &t : tokens)
            joined += t;
        tokens.assign(1, std::move(joined));
    }
};

// Removes up to `start` leading and `stop` trailing copies of one character
// from every token (tokenizers/src/decoders/strip.rs).
class StripDecoder final : public Decoder
{
public:
    StripDecoder(std::string content, std::size_t start, std::size_t stop)
        : m_content(std::move(content)), m_start(start), m_stop(stop)
    {
    }
    void decodeChain(std::vector<std::string> &tokens) const override
    {
        if (m_content.empty())
            return;
        for (auto &token : tokens) {
            std::size_t begin = 0, end = token.size();
            for (std::size_t i = 0; i < m_start && token.compare(begin, m_content.size(), m_content) == 0
                 && begin + m_content.size() <= end;
                 ++i)
                begin += m_content.size();
            for (std::size_t i = 0; i < m_stop && end >= begin + m_content.size()
                 && token.compare(end - m_content.size(), m_content.size(), m_content) == 0;
                 ++i)
                end -= m_content.size();
            token = token.substr(begin, end - begin);
        }
    }

private:
    std::string m_content;
    std::size_t m_start, m_stop;
};

// The replacement character becomes a space, except in the first token where
// it is dropped unless the prepend scheme is "never"
// (tokenizers/src/pre_tokenizers/metaspace.rs, `impl Decoder`).
class MetaspaceDecoder final : public Decoder
{
public:
    MetaspaceDecoder(std::string replacement, bool stripFirst)
        : m_replacement(std::move(replacement)), m_stripFirst(stripFirst)
    {
    }
    void decodeChain(std::vector<std::string> &tokens) const override
    {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            tokens[i] = replaceAll(tokens[i], m_replacement, (i == 0 && m_stripFirst) ? "" : " ");
        }
    }

private:
    std::string m_replacement;
    bool m_stripFirst;
};

// End-of-word suffixes become spaces, the last one disappears
// (tokenizers/src/decoders/bpe.rs).
class BpeSuffixDecoder final : public Decoder
{
public:
    explicit BpeSuffixDecoder(std::string suffix) : m_suffix(std::move(suffix)) {}
    void decodeChain(std::vector<std::string> &tokens) const override
    {
        if (m_suffix.empty())
            return;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            tokens[i] = replaceAll(tokens[i], m_suffix, i + 1 == tokens.size() ? "" : " ");
        }
    }

private:
    std::string m_suffix;
};

class SequenceDecoder final : public Decoder
{
public:
    explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
        : m_steps(std::move(steps))
    {
    }
    void decodeChain(std::vector<std::string> &tokens) const override
    {
        for (const auto &step : m_steps)
            step->decodeChain(tokens);
    }

private:
    std::vector<std::unique_ptr<Decoder>> m_steps;
};

std::size_t nonNegative(const nlohmann::json &spec, const char *key)
{
    if (!spec.contains(key) || !spec[key].is_number_integer() || spec[key].get<long long>() < 0)
        return 0;
    return static_cast<std::size_t>(spec[key].get<long long>());
}

} // namespace

std::unique_ptr<Decoder> parseDecoder(const nlohmann::json &spec, const std::string &file)
{
    if (spec.is_null())
        return nullptr;
    const std::string type = requireString(spec, "type", file, "decoder");
    if (type == "ByteLevel")
        return std::make_unique<ByteLevelDecoder>();
    if (type == "Replace")
        return std::make_unique<ReplaceDecoder>(
            parseTextPattern(spec.value("pattern", nlohmann::json()), file, type),
            requireString(spec, "content", file, type));
    if (type == "ByteFallback")
        return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse")
        return std::make_unique<FuseDecoder>();
    if (type == "Strip")
        return std::make_unique<StripDecoder>(requireString(spec, "content", file, type),
                                              nonNegative(spec, "start"), nonNegative(spec, "stop"));
    if (type == "Metaspace") {
        const std::string replacement = optionalString(spec, "replacement").value_or("\u2581");
        bool stripFirst = optionalBool(spec, "add_prefix_space", true);
        if (auto scheme = optionalString(spec, "prepend_scheme"))
            stripFirst = *scheme != "never";
        return std::make_unique<MetaspaceDecoder>(replacement, stripFirst);
    }
    if (type == "BPEDecoder")
        return std::make_unique<BpeSuffixDecoder>(optionalString(spec, "suffix").value_or("</w>"));
    if (type == "Sequence") {
        std::vector<std::unique_ptr<Decoder>> steps;
        for (const auto &item : requireArray(spec, "decoders", file, type))
            if (auto step = parseDecoder(item, file))
                steps.push_back(std::move(step));
        return std::make_unique<SequenceDecoder>(std::move(steps));
    }
    throw Error(file, "unsupported tokenizer feature: decoder " + type);
}

} // namespace moescope::tokenizer
