#pragma once

// tokenizer.json "post_processor" section (tokenizers/src/processors):
// TemplateProcessing (single sequences), RobertaProcessing, BertProcessing,
// ByteLevel and Sequence. Applied only when special tokens are requested.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moescope::tokenizer {

class PostProcessor
{
public:
    virtual ~PostProcessor() = default;
    virtual std::vector<std::int32_t> apply(std::vector<std::int32_t> ids) const = 0;
};

// Returns nullptr for a JSON null.
std::unique_ptr<PostProcessor> parsePostProcessor(const nlohmann::json &spec,
                                                  const std::string &file);

// prefix + ids + suffix: what transformers installs for Llama-style
// tokenizers from add_bos_token/add_eos_token.
std::unique_ptr<PostProcessor> makeAffixProcessor(std::vector<std::int32_t> prefix,
                                                  std::vector<std::int32_t> suffix);

} // namespace moescope::tokenizer
