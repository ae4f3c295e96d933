#pragma once

// Prompt templates: how a Document becomes the text a model sees
// (docs/corpora.md, "Prompt templates"). A template is a body with
// {placeholders}; "{{" and "}}" stand for literal braces. When
// useChatTemplate is set, the rendered text is the single user message that
// the model's own chat template wraps (add_generation_prompt=True,
// enable_thinking=False, as in the study); applying that chat template is the
// tokenizer's job, not this module's.
//
// Placeholders:
//   {text} {question} {passage} {answer} {choices}   from the Document
//       ({choices} = "A. ...\nB. ...", one per line)
//   {language} {language_name}                       the document's language
//   {target_language} {target_language_name}         the language asked for (translate)
//   {math_instruction}          the study's "put the final answer in \boxed{}" line,
//                               in the document's language (PolyMath's instruction set)
//   {direct_answer_instruction} the study's "output the answer directly" line (XQuAD)

#include "core/corpus/corpus.h"

#include <string>
#include <vector>

namespace moescope {

struct PromptTemplate
{
    std::string name;
    std::string body;
    bool useChatTemplate = false;
    std::string description;

    // Placeholder names the body uses, in order of first use.
    std::vector<std::string> placeholders() const;

    // Fills the placeholders. Throws moescope::Error naming the template and
    // the document when a placeholder has no value (e.g. {question} on plain
    // text, {target_language} without a target).
    std::string render(const Document &doc, const std::string &targetLanguage = {}) const;
};

// raw, chat, question, math, translate, qa, multiple-choice.
std::vector<PromptTemplate> builtinPromptTemplates();

// A built-in template by name, or a custom one from a file: a .json file
// {"name": ..., "template": ..., "chat": true|false, "description": ...},
// any other file is the template body itself (chat off). Unknown
// placeholders are rejected here. Throws moescope::Error.
PromptTemplate promptTemplate(const std::string &nameOrPath);
PromptTemplate promptTemplateFromFile(const std::string &path);

// The study's per-language instruction lines; languages without one get the
// English line (check hasLocalisedInstructions when that matters).
std::string mathInstruction(const std::string &language);
std::string directAnswerInstruction(const std::string &language);
bool hasLocalisedMathInstruction(const std::string &language);
bool hasLocalisedDirectAnswerInstruction(const std::string &language);

} // namespace moescope
