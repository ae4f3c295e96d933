#pragma once

// tokenizer.json "normalizer" section (tokenizers/src/normalizers): NFC, NFD,
// NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend and Sequence.

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>

namespace moescope::tokenizer {

class Normalizer
{
public:
    virtual ~Normalizer() = default;
    virtual std::string normalize(std::string text) const = 0;
};

// Returns nullptr for a JSON null. Throws Error(file, "unsupported tokenizer
// feature: ...") for normalizers it does not implement.
std::unique_ptr<Normalizer> parseNormalizer(const nlohmann::json &spec, const std::string &file);

} // namespace moescope::tokenizer
