#pragma once

// The model's chat template, as far as MoEScope applies it. The study sent
// every prompt through tokenizer.apply_chat_template(add_generation_prompt=
// True, enable_thinking=False). Running the Jinja template itself is out of
// scope; instead the ChatML layout that Qwen models' templates produce for a
// single user message is recognised and written directly:
//
//   [<|im_start|>system\n{default system prompt}<|im_end|>\n]   (Qwen2/2.5 templates)
//   <|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n
//   [<think>\n\n</think>\n\n]                                  (templates with enable_thinking)
//
// Other templates (Mixtral's [INST], OLMoE's <|user|>, ...) are reported as
// unsupported, never approximated.

#include <string>

namespace moescope::experiments {

struct ChatFormat
{
    bool supported = false;
    std::string unsupportedReason; // why not, when !supported
    std::string defaultSystemPrompt; // what the template inserts without a system message
    bool emptyThinkingBlock = false; // enable_thinking=False adds an empty <think> block
    std::string endOfTurn = "<|im_end|>"; // generation stops here

    // The text of one user turn with the generation prompt. Throws Error when
    // !supported.
    std::string wrapUserMessage(const std::string &text) const;
};

// Reads chat_template from modelDir/tokenizer_config.json (a string or the
// list-of-named-templates form, "default" first) or modelDir/chat_template.jinja.
// Never throws for a missing template: the result then says why it is unsupported.
ChatFormat chatFormatOf(const std::string &modelDir);

// The same from a template text (for tests and other sources).
ChatFormat chatFormatFromTemplate(const std::string &chatTemplate);

} // namespace moescope::experiments
