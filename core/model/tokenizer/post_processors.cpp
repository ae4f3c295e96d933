#include "core/model/tokenizer/post_processors.h"

#include "core/common/error.h"
#include "core/model/tokenizer/tokenizer_json.h"

#include <nlohmann/json.hpp>

namespace moescope::tokenizer {

namespace {

class AffixProcessor final : public PostProcessor
{
public:
    AffixProcessor(std::vector<std::int32_t> prefix, std::vector<std::int32_t> suffix)
        : m_prefix(std::move(prefix)), m_suffix(std::move(suffix))
    {
    }
    std::vector<std::int32_t> apply(std::vector<std::int32_t> ids) const override
    {
        std::vector<std::int32_t> out;
        out.reserve(m_prefix.size() + ids.size() + m_suffix.size());
        out.insert(out.end(), m_prefix.begin(), m_prefix.end());
        out.insert(out.end(), ids.begin(), ids.end());
        out.insert(out.end(), m_suffix.begin(), m_suffix.end());
        return out;
    }

private:
    std::vector<std::int32_t> m_prefix, m_suffix;
};

class IdentityProcessor final : public PostProcessor
{
public:
    std::vector<std::int32_t> apply(std::vector<std::int32_t> ids) const override { return ids; }
};

class SequenceProcessor final : public PostProcessor
{
public:
    explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> steps)
        : m_steps(std::move(steps))
    {
    }
    std::vector<std::int32_t> apply(std::vector<std::int32_t> ids) const override
    {
        for (const auto &step : m_steps)
            ids = step->apply(std::move(ids));
        return ids;
    }

private:
    std::vector<std::unique_ptr<PostProcessor>> m_steps;
};

// tokenizers/src/processors/template.rs, "single" template only: the list
// of SpecialToken / Sequence "A" items becomes a prefix and a suffix.
std::unique_ptr<PostProcessor> parseTemplate(const nlohmann::json &spec, const std::string &file)
{
    const auto &single = requireArray(spec, "single", file, "TemplateProcessing");
    const nlohmann::json specialTokens = spec.value("special_tokens", nlohmann::json::object());
    std::vector<std::int32_t> prefix, suffix;
    bool seenSequence = false;
    for (const auto &item : single) {
        if (item.contains("Sequence")) {
            const std::string id = item["Sequence"].value("id", "A");
            if (id != "A" || seenSequence)
                throw Error(file, "unsupported tokenizer feature: TemplateProcessing single "
                                  "template with sequence " + id);
            seenSequence = true;
            continue;
        }
        if (!item.contains("SpecialToken"))
            throw Error(file, "TemplateProcessing: template items must be SpecialToken or Sequence");
        const std::string name = requireString(item["SpecialToken"], "id", file, "TemplateProcessing");
        if (!specialTokens.contains(name))
            throw Error(file, "TemplateProcessing: special token '" + name
                                  + "' is missing from special_tokens");
        const auto &ids = requireArray(specialTokens[name], "ids", file, "TemplateProcessing");
        for (const auto &id : ids) {
            if (!id.is_number_integer())
                throw Error(file, "TemplateProcessing: bad id for '" + name + "'");
            (seenSequence ? suffix : prefix).push_back(id.get<std::int32_t>());
        }
    }
    if (!seenSequence)
        throw Error(file, "TemplateProcessing: single template has no $A sequence");
    return makeAffixProcessor(std::move(prefix), std::move(suffix));
}

std::int32_t tokenIdOfPair(const nlohmann::json &spec, const char *key, const std::string &file,
                           const std::string &section)
{
    // "cls": ["<s>", 0]
    if (!spec.contains(key) || !spec[key].is_array() || spec[key].size() != 2
        || !spec[key][1].is_number_integer())
        throw Error(file, section + ": missing [token, id] pair '" + key + "'");
    return spec[key][1].get<std::int32_t>();
}

} // namespace

std::unique_ptr<PostProcessor> makeAffixProcessor(std::vector<std::int32_t> prefix,
                                                  std::vector<std::int32_t> suffix)
{
    return std::make_unique<AffixProcessor>(std::move(prefix), std::move(suffix));
}

std::unique_ptr<PostProcessor> parsePostProcessor(const nlohmann::json &spec,
                                                  const std::string &file)
{
    if (spec.is_null())
        return nullptr;
    const std::string type = requireString(spec, "type", file, "post_processor");
    if (type == "TemplateProcessing")
        return parseTemplate(spec, file);
    if (type == "ByteLevel")
        return std::make_unique<IdentityProcessor>(); // only trims offsets, which we do not keep
    if (type == "RobertaProcessing" || type == "BertProcessing")
        return makeAffixProcessor({tokenIdOfPair(spec, "cls", file, type)},
                                  {tokenIdOfPair(spec, "sep", file, type)});
    if (type == "Sequence") {
        std::vector<std::unique_ptr<PostProcessor>> steps;
        for (const auto &item : requireArray(spec, "processors", file, type))
            if (auto step = parsePostProcessor(item, file))
                steps.push_back(std::move(step));
        return std::make_unique<SequenceProcessor>(std::move(steps));
    }
    throw Error(file, "unsupported tokenizer feature: post_processor " + type);
}

} // namespace moescope::tokenizer
