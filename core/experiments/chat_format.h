#pragma once

// The model's chat template, applied as the study applied it:
// tokenizer.apply_chat_template([{"role": "user", "content": text}],
// add_generation_prompt=True, enable_thinking=False). The template is the
// model's own Jinja text, run by jinja::Template (core/jinja/jinja_template.h) with the
// tokenizer's special tokens (bos_token, eos_token, ...) as variables, so any
// family's layout (ChatML, [INST], <|user|>, DeepSeek, harmony, ...) comes
// out as transformers renders it.

#include <memory>
#include <string>
#include <vector>

namespace moescope::jinja {
class Template;
}

namespace moescope::experiments {

struct ChatFormat
{
    bool supported = false;
    std::string unsupportedReason; // why not, when !supported
    std::string source;            // the file the template came from
    // Token texts that end an assistant turn besides the model's EOS ids
    // (e.g. <|im_end|> for ChatML, <|end|> for Phi-3): generation stops there.
    std::vector<std::string> endOfTurn;

    // The text of one user turn plus the generation prompt. It already holds
    // whatever special tokens the template writes (e.g. a BOS), so encode it
    // without adding special tokens again. Throws Error when !supported or
    // when the template raises.
    std::string wrapUserMessage(const std::string &text) const;

    std::shared_ptr<const jinja::Template> tmpl;
    std::string variablesJson; // special tokens from tokenizer_config.json
};

// Reads chat_template from modelDir/tokenizer_config.json (a string or the
// list-of-named-templates form, "default" first), or modelDir/chat_template.jinja,
// or chat_template.json. Never throws for a missing or unparsable template:
// the result then says why it is unsupported.
ChatFormat chatFormatOf(const std::string &modelDir);

// The same from a template text and the special tokens' texts (for tests
// and other sources).
ChatFormat chatFormatFromTemplate(const std::string &chatTemplate, const std::string &bosToken = {},
                                  const std::string &eosToken = {});

} // namespace moescope::experiments
