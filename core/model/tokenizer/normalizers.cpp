#include "core/model/tokenizer/normalizers.h"

#include "core/common/error.h"
#include "core/model/tokenizer/regex_pattern.h"
#include "core/model/tokenizer/tokenizer_json.h"
#include "core/model/tokenizer/unicode_text.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <vector>

namespace moescope::tokenizer {

namespace {

class UnicodeNormalizer final : public Normalizer
{
public:
    explicit UnicodeNormalizer(NormalizationForm form) : m_form(form) {}
    std::string normalize(std::string text) const override
    {
        return normalizeUnicode(text, m_form);
    }

private:
    NormalizationForm m_form;
};

class LowercaseNormalizer final : public Normalizer
{
public:
    std::string normalize(std::string text) const override { return lowercase(text); }
};

class StripAccentsNormalizer final : public Normalizer
{
public:
    std::string normalize(std::string text) const override
    {
        return removeNonSpacingMarks(text);
    }
};

class StripNormalizer final : public Normalizer
{
public:
    StripNormalizer(bool left, bool right) : m_left(left), m_right(right) {}
    std::string normalize(std::string text) const override
    {
        std::size_t begin = 0, end = text.size();
        if (m_left) {
            std::size_t pos = 0;
            while (pos < text.size()) {
                std::size_t next = pos;
                if (!isWhitespace(nextCodePoint(text, next)))
                    break;
                pos = next;
            }
            begin = pos;
        }
        if (m_right) {
            // Walk forward remembering where the trailing whitespace run starts.
            std::size_t pos = begin, runStart = text.size();
            bool inRun = false;
            while (pos < text.size()) {
                const std::size_t at = pos;
                const bool ws = isWhitespace(nextCodePoint(text, pos));
                if (ws && !inRun) {
                    runStart = at;
                    inRun = true;
                } else if (!ws) {
                    inRun = false;
                }
            }
            end = inRun ? runStart : text.size();
        }
        return text.substr(begin, end > begin ? end - begin : 0);
    }

private:
    bool m_left, m_right;
};

class PrependNormalizer final : public Normalizer
{
public:
    explicit PrependNormalizer(std::string prefix) : m_prefix(std::move(prefix)) {}
    std::string normalize(std::string text) const override
    {
        // tokenizers/src/normalizers/prepend.rs: empty input stays empty.
        return text.empty() ? text : m_prefix + text;
    }

private:
    std::string m_prefix;
};

class ReplaceNormalizer final : public Normalizer
{
public:
    ReplaceNormalizer(TextPattern pattern, std::string content)
        : m_pattern(std::move(pattern)), m_content(std::move(content))
    {
    }
    std::string normalize(std::string text) const override
    {
        const auto matches = m_pattern.findAll(text);
        if (matches.empty())
            return text;
        std::string out;
        out.reserve(text.size());
        std::size_t last = 0;
        for (const auto &m : matches) {
            out.append(text, last, m.begin - last);
            out += m_content;
            last = m.end;
        }
        out.append(text, last, std::string::npos);
        return out;
    }

private:
    TextPattern m_pattern;
    std::string m_content;
};

class SequenceNormalizer final : public Normalizer
{
public:
    explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
        : m_steps(std::move(steps))
    {
    }
    std::string normalize(std::string text) const override
    {
        for (const auto &step : m_steps)
            text = step->normalize(std::move(text));
        return text;
    }

private:
    std::vector<std::unique_ptr<Normalizer>> m_steps;
};

} // namespace

std::unique_ptr<Normalizer> parseNormalizer(const nlohmann::json &spec, const std::string &file)
{
    if (spec.is_null())
        return nullptr;
    const std::string type = requireString(spec, "type", file, "normalizer");
    if (type == "NFC")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFC);
    if (type == "NFD")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFD);
    if (type == "NFKC")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFKC);
    if (type == "NFKD")
        return std::make_unique<UnicodeNormalizer>(NormalizationForm::NFKD);
    if (type == "Lowercase")
        return std::make_unique<LowercaseNormalizer>();
    if (type == "StripAccents")
        return std::make_unique<StripAccentsNormalizer>();
    if (type == "Strip")
        return std::make_unique<StripNormalizer>(optionalBool(spec, "strip_left", true),
                                                 optionalBool(spec, "strip_right", true));
    if (type == "Prepend")
        return std::make_unique<PrependNormalizer>(requireString(spec, "prepend", file, type));
    if (type == "Replace")
        return std::make_unique<ReplaceNormalizer>(
            parseTextPattern(spec.value("pattern", nlohmann::json()), file, type),
            requireString(spec, "content", file, type));
    if (type == "Sequence") {
        std::vector<std::unique_ptr<Normalizer>> steps;
        for (const auto &item : requireArray(spec, "normalizers", file, type))
            if (auto step = parseNormalizer(item, file))
                steps.push_back(std::move(step));
        return std::make_unique<SequenceNormalizer>(std::move(steps));
    }
    throw Error(file, "unsupported tokenizer feature: normalizer " + type);
}

} // namespace moescope::tokenizer
