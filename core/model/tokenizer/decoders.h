#pragma once

// tokenizer.json "decoder" section (tokenizers/src/decoders): ByteLevel,
// Replace, ByteFallback, Fuse, Strip, Metaspace, BPEDecoder and Sequence.
// Each step rewrites the list of token strings; the result is joined.

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace moescope::tokenizer {

class Decoder
{
public:
    virtual ~Decoder() = default;
    virtual void decodeChain(std::vector<std::string> &tokens) const = 0;
};

// Returns nullptr for a JSON null (tokens are then joined with spaces).
std::unique_ptr<Decoder> parseDecoder(const nlohmann::json &spec, const std::string &file);

} // namespace moescope::tokenizer
