#pragma once

// Reading pieces of tokenizer.json with errors that name the file and the
// section, shared by the normalizer/pre-tokenizer/model/decoder parsers.

#include "core/model/tokenizer/regex_pattern.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moescope::tokenizer {

// tokenizer.json split while parsing: the BPE vocabulary and merges (most of
// the file) go straight into flat vectors, the rest into a JSON tree. Building
// a JSON tree for 150k merges and a 150k-key std::map costs seconds; this way
// a Qwen-sized file loads in a fraction of that.
struct TokenizerJsonDocument
{
    nlohmann::json spec; // model.vocab (when an object) and model.merges left out
    std::optional<std::vector<std::pair<std::string, std::int64_t>>> vocab;
    std::optional<std::vector<std::pair<std::string, std::string>>> merges;
};

// Throws Error(file, "malformed JSON: ...") or Error(file, "BPE model: ...").
TokenizerJsonDocument parseTokenizerJson(const std::string &text, const std::string &file);

const std::string &requireString(const nlohmann::json &spec, const char *key,
                                 const std::string &file, const std::string &section);
const nlohmann::json &requireArray(const nlohmann::json &spec, const char *key,
                                   const std::string &file, const std::string &section);
bool optionalBool(const nlohmann::json &spec, const char *key, bool fallback);
// A string member, or nullopt when absent or null.
std::optional<std::string> optionalString(const nlohmann::json &spec, const char *key);

// {"String": "..."} or {"Regex": "..."}: the pattern of Split, Replace and
// friends. A String pattern matches literally.
class TextPattern
{
public:
    static TextPattern literal(std::string text);
    std::vector<ByteRange> findAll(std::string_view text) const;

private:
    friend TextPattern parseTextPattern(const nlohmann::json &, const std::string &,
                                        const std::string &);
    std::string m_literal;
    std::optional<RegexPattern> m_regex;
};

TextPattern parseTextPattern(const nlohmann::json &spec, const std::string &file,
                             const std::string &section);

} // namespace moescope::tokenizer
