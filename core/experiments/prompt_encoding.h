#pragma once

// From corpus documents to token ids, the same way for recording and for
// evaluation: prompt template -> (the model's chat format) -> tokenizer ->
// optional truncation; then batches of similar length.

#include "core/corpus/corpus.h"
#include "core/corpus/prompt_template.h"
#include "core/experiments/chat_format.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace moescope {
class Tokenizer;
}

namespace moescope::experiments {

struct PromptOptions
{
    PromptTemplate tmpl = promptTemplate("raw");
    // Templates marked chat are wrapped in the model's chat format unless
    // this is off (then their text goes to the model as is).
    bool applyChat = true;
    // Templates that use {target_language}: one prompt per document and
    // target, labelled with the target. Must be empty for other templates.
    std::vector<std::string> targets;
    std::size_t maxTokens = 0; // 0 = no limit
    bool truncate = false;     // longer prompts: keep the first maxTokens (else an error)
};

// The prompt length limit a job uses: `requested` tokens (0 = as many as
// fit), at most the model's context less the `reserved` tokens generation
// will add. contextLength 0 (the model declares none) leaves `requested`.
// Throws Error when reserved leaves no room ("--max-new-tokens must stay
// below the model's N positions").
std::size_t promptTokenLimit(std::size_t requested, int contextLength, std::size_t reserved);

// One prompt: a document rendered for one target language.
struct PromptItem
{
    std::string label;    // the row it counts under: the document's language or the target
    const Document *document = nullptr; // into the Corpus the items were made from
    std::string text;     // what the tokenizer saw
    std::vector<std::int64_t> ids;
    bool truncated = false;
};

class PromptEncoder
{
public:
    // Throws Error when the template is a chat template, applyChat is on and
    // the model's chat format is unsupported; or when targets and the
    // template's use of {target_language} disagree.
    PromptEncoder(const Tokenizer &tokenizer, ChatFormat chat, PromptOptions options);

    const PromptOptions &options() const { return m_options; }
    bool wrapsChat() const { return m_wrapChat; }
    const ChatFormat &chat() const { return m_chat; }

    // Template (with target when given) and chat format applied.
    std::string render(const Document &doc, const std::string &target = {}) const;
    // Token ids with the tokenizer's special tokens (add_special_tokens=True,
    // as transformers' tokenizer(text) does).
    std::vector<std::int64_t> encode(const std::string &text) const;

    // The prompts of one language, in document order (documents x targets).
    // Throws Error naming the document for one that encodes to no tokens or
    // exceeds maxTokens without truncate.
    std::vector<PromptItem> items(const LanguageCorpus &language) const;
    std::vector<PromptItem> items(const Corpus &corpus) const;

private:
    const Tokenizer &m_tokenizer;
    ChatFormat m_chat;
    PromptOptions m_options;
    bool m_wrapChat = false;
};

// Batches of indices into `lengths`: sorted by length (ties by index, so the
// result depends on nothing else), cut into runs of at most batchSize rows
// whose padded size (rows x longest) stays within maxBatchTokens (0 = no
// limit; a single longer row still gets its own batch).
std::vector<std::vector<std::size_t>> lengthSortedBatches(const std::vector<std::size_t> &lengths,
                                                          std::size_t batchSize,
                                                          std::size_t maxBatchTokens = 0);

} // namespace moescope::experiments
