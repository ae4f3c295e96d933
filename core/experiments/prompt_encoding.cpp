#include "core/experiments/prompt_encoding.h"

#include "core/common/error.h"
#include "core/model/tokenizer/tokenizer.h"

#include <algorithm>
#include <numeric>

namespace moescope::experiments {

std::size_t promptTokenLimit(std::size_t requested, int contextLength, std::size_t reserved)
{
    const auto context = static_cast<std::size_t>(std::max(0, contextLength));
    if (context == 0)
        return requested;
    if (reserved >= context)
        throw Error("--max-new-tokens must stay below the model's " + std::to_string(context) + " positions");
    const auto limit = context - reserved;
    return requested == 0 || requested > limit ? limit : requested;
}

namespace {

bool usesTarget(const PromptTemplate &t)
{
    const auto names = t.placeholders();
    return std::any_of(names.begin(), names.end(), [](const std::string &n) {
        return n == "target_language" || n == "target_language_name";
    });
}

} // namespace

PromptEncoder::PromptEncoder(const Tokenizer &tokenizer, ChatFormat chat, PromptOptions options)
    : m_tokenizer(tokenizer), m_chat(std::move(chat)), m_options(std::move(options))
{
    m_wrapChat = m_options.tmpl.useChatTemplate && m_options.applyChat;
    if (m_wrapChat && !m_chat.supported)
        throw Error("template '" + m_options.tmpl.name + "' asks for the model's chat template, but "
                    + m_chat.unsupportedReason + "; pass --no-chat to send the template's text as is");
    const bool needsTargets = usesTarget(m_options.tmpl);
    if (needsTargets && m_options.targets.empty())
        throw Error("template '" + m_options.tmpl.name + "' needs target languages (--target)");
    if (!needsTargets && !m_options.targets.empty())
        throw Error("template '" + m_options.tmpl.name
                    + "' has no {target_language}; --target applies to templates such as 'translate'");
}

std::string PromptEncoder::render(const Document &doc, const std::string &target) const
{
    const auto text = m_options.tmpl.render(doc, target);
    return m_wrapChat ? m_chat.wrapUserMessage(text) : text;
}

std::vector<std::int64_t> PromptEncoder::encode(const std::string &text) const
{
    // A chat-wrapped prompt already holds the special tokens its template
    // writes; apply_chat_template tokenizes it without adding them again.
    const auto ids = m_tokenizer.encode(text, /*addSpecial=*/!m_wrapChat);
    return {ids.begin(), ids.end()};
}

std::vector<PromptItem> PromptEncoder::items(const LanguageCorpus &language) const
{
    std::vector<std::string> targets = m_options.targets;
    if (targets.empty())
        targets.push_back({});
    std::vector<PromptItem> out;
    out.reserve(language.documents.size() * targets.size());
    for (const auto &doc : language.documents) {
        for (const auto &target : targets) {
            PromptItem item;
            item.label = target.empty() ? doc.language : target;
            item.document = &doc;
            item.text = render(doc, target);
            item.ids = encode(item.text);
            const auto where = language.source.empty() ? language.language : language.source;
            if (item.ids.empty())
                throw Error(where, "document '" + doc.id + "' (" + doc.language + ") encodes to no tokens");
            if (m_options.maxTokens > 0 && item.ids.size() > m_options.maxTokens) {
                if (!m_options.truncate)
                    throw Error(where, "document '" + doc.id + "' (" + doc.language + ") has "
                                           + std::to_string(item.ids.size()) + " tokens, more than the "
                                           + std::to_string(m_options.maxTokens)
                                           + " allowed (--max-length N truncates)");
                item.ids.resize(m_options.maxTokens);
                item.truncated = true;
            }
            out.push_back(std::move(item));
        }
    }
    return out;
}

std::vector<PromptItem> PromptEncoder::items(const Corpus &corpus) const
{
    std::vector<PromptItem> all;
    for (const auto &language : corpus.languages) {
        auto part = items(language);
        std::move(part.begin(), part.end(), std::back_inserter(all));
    }
    return all;
}

std::vector<std::vector<std::size_t>> lengthSortedBatches(const std::vector<std::size_t> &lengths,
                                                          std::size_t batchSize, std::size_t maxBatchTokens)
{
    if (batchSize == 0)
        throw Error("batch size must be at least 1");
    std::vector<std::size_t> order(lengths.size());
    std::iota(order.begin(), order.end(), std::size_t {0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
    std::vector<std::vector<std::size_t>> batches;
    for (const auto index : order) {
        // Sorted ascending, so the newest row is the batch's longest.
        const bool full = batches.empty() || batches.back().size() >= batchSize
            || (maxBatchTokens > 0 && (batches.back().size() + 1) * lengths[index] > maxBatchTokens);
        if (full)
            batches.emplace_back();
        batches.back().push_back(index);
    }
    return batches;
}

} // namespace moescope::experiments
