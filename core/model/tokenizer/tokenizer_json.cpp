#include "core/model/tokenizer/tokenizer_json.h"

#include "core/common/error.h"

#include <nlohmann/json.hpp>

namespace moescope::tokenizer {

const std::string &requireString(const nlohmann::json &spec, const char *key,
                                 const std::string &file, const std::string &section)
{
    if (!spec.is_object() || !spec.contains(key) || !spec[key].is_string())
        throw Error(file, section + ": missing string field '" + key + "'");
    return spec[key].get_ref<const std::string &>();
}

const nlohmann::json &requireArray(const nlohmann::json &spec, const char *key,
                                   const std::string &file, const std::string &section)
{
    if (!spec.is_object() || !spec.contains(key) || !spec[key].is_array())
        throw Error(file, section + ": missing array field '" + key + "'");
    return spec[key];
}

bool optionalBool(const nlohmann::json &spec, const char *key, bool fallback)
{
    if (!spec.is_object() || !spec.contains(key) || !spec[key].is_boolean())
        return fallback;
    return spec[key].get<bool>();
}

std::optional<std::string> optionalString(const nlohmann::json &spec, const char *key)
{
    if (!spec.is_object() || !spec.contains(key) || !spec[key].is_string())
        return std::nullopt;
    return spec[key].get<std::string>();
}

TextPattern TextPattern::literal(std::string text)
{
    TextPattern p;
    p.m_literal = std::move(text);
    return p;
}

std::vector<ByteRange> TextPattern::findAll(std::string_view text) const
{
    if (m_regex)
        return m_regex->findAll(text);
    std::vector<ByteRange> matches;
    if (m_literal.empty())
        return matches;
    std::size_t pos = 0;
    while ((pos = text.find(m_literal, pos)) != std::string_view::npos) {
        matches.push_back({pos, pos + m_literal.size()});
        pos += m_literal.size();
    }
    return matches;
}

TextPattern parseTextPattern(const nlohmann::json &spec, const std::string &file,
                             const std::string &section)
{
    if (spec.is_object() && spec.contains("String") && spec["String"].is_string())
        return TextPattern::literal(spec["String"].get<std::string>());
    if (spec.is_object() && spec.contains("Regex") && spec["Regex"].is_string()) {
        TextPattern p;
        p.m_regex.emplace(spec["Regex"].get<std::string>(), file);
        return p;
    }
    throw Error(file, section + ": pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

} // namespace moescope::tokenizer
