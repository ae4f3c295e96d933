#pragma once

// tokenizer.json "pre_tokenizer" section (tokenizers/src/pre_tokenizers):
// ByteLevel, Split, Sequence, Metaspace, Digits, Punctuation, Whitespace and
// WhitespaceSplit. Each one refines a list of pieces; the BPE model then sees
// every piece on its own.

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace moescope::tokenizer {

struct TextPiece
{
    std::string text;
    // Starts at offset 0 of the original input (Metaspace's "first" scheme
    // prepends only there).
    bool atTextStart = false;
};

class PreTokenizer
{
public:
    virtual ~PreTokenizer() = default;
    virtual void apply(std::vector<TextPiece> &pieces) const = 0;
};

// Returns nullptr for a JSON null; throws Error(file, "unsupported tokenizer
// feature: ...") for pre-tokenizers it does not implement.
std::unique_ptr<PreTokenizer> parsePreTokenizer(const nlohmann::json &spec,
                                                const std::string &file);

} // namespace moescope::tokenizer
