// Prompt rendering, the ChatML chat format, and length-sorted batches.
#include "experiment_test_support.h"

#include "core/common/error.h"
#include "core/corpus/corpus_spec.h"
#include "core/experiments/chat_format.h"
#include "core/experiments/prompt_encoding.h"
#include "core/model/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace moescope::test {
namespace {

using experiments::chatFormatFromTemplate;
using experiments::chatFormatOf;
using experiments::lengthSortedBatches;

const std::string kTokenizers = std::string(MOESCOPE_TEST_DATA) + "/tokenizers/";

TEST(ChatFormat, Qwen3TemplateGetsChatMlWithAnEmptyThinkingBlock)
{
    const auto f = chatFormatOf(kTokenizers + "qwen3");
    ASSERT_TRUE(f.supported) << f.unsupportedReason;
    // What transformers' apply_chat_template(add_generation_prompt=True,
    // enable_thinking=False) renders for [{"role": "user", "content": "Hi"}].
    EXPECT_EQ(f.wrapUserMessage("Hi"),
              "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    EXPECT_NE(std::find(f.endOfTurn.begin(), f.endOfTurn.end(), "<|im_end|>"), f.endOfTurn.end());
}

TEST(ChatFormat, Qwen2TemplateKeepsItsDefaultSystemPrompt)
{
    // The Qwen2 / Qwen1.5-MoE template.
    const std::string tmpl =
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
        "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    const auto f = chatFormatFromTemplate(tmpl);
    ASSERT_TRUE(f.supported);
    EXPECT_EQ(f.wrapUserMessage("Hi"), "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                                       "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatFormat, OtherFamiliesTemplatesRunWithTheirSpecialTokens)
{
    // DeepSeek-V3 writes its BOS (an AddedToken object in tokenizer_config.json).
    const auto deepseek = chatFormatOf(kTokenizers + "deepseek_v3");
    ASSERT_TRUE(deepseek.supported) << deepseek.unsupportedReason;
    EXPECT_EQ(deepseek.wrapUserMessage("Hi"), "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>Hi<\uff5cAssistant\uff5c>");
    // Mixtral's [INST] layout.
    const auto mixtral = chatFormatFromTemplate(
        "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
        "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}{% endfor %}", "<s>", "</s>");
    EXPECT_EQ(mixtral.wrapUserMessage("Hi"), "<s>[INST] Hi [/INST]");
    EXPECT_EQ(mixtral.endOfTurn, std::vector<std::string>({"</s>"}));

    const auto none = chatFormatOf(kTokenizers + "mistral"); // no chat_template at all
    EXPECT_FALSE(none.supported);
    EXPECT_NE(none.unsupportedReason.find("no chat template"), std::string::npos) << none.unsupportedReason;
    EXPECT_THROW(none.wrapUserMessage("Hi"), Error);
    // A template that does not parse is reported with its line, not guessed at.
    const auto broken = chatFormatFromTemplate("{% for m in messages %}{{ m.content }}");
    EXPECT_FALSE(broken.supported);
    EXPECT_NE(broken.unsupportedReason.find("line 1"), std::string::npos) << broken.unsupportedReason;
}

TEST(PromptEncoder, ChatTemplatesNeedASupportedChatFormatUnlessTurnedOff)
{
    TempFolder tmp;
    writeByteTokenizer(tmp.path());
    const auto tokenizer = Tokenizer::load(tmp.str());
    experiments::PromptOptions options;
    options.tmpl = promptTemplate("chat");
    try {
        experiments::PromptEncoder(tokenizer, chatFormatOf(tmp.str()), options);
        ADD_FAILURE() << "a chat template was accepted without a chat format";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("--no-chat"), std::string::npos) << e.what();
    }
    options.applyChat = false;
    const experiments::PromptEncoder plain(tokenizer, chatFormatOf(tmp.str()), options);
    EXPECT_EQ(plain.render(loadCorpus("udhr:en?articles=1").languages[0].documents[0]).substr(0, 4), "All ");

    // With a ChatML template the special tokens become single ids.
    TempFolder chat;
    writeByteTokenizer(chat.path(),
                       "{% for message in messages %}{{ '<|im_start|>' + message.role + '\\n' + message.content + "
                       "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
                       "{% if enable_thinking is defined and not enable_thinking %}{{ '<think>\\n\\n</think>\\n\\n' }}"
                       "{% endif %}{% endif %}");
    const auto chatTokenizer = Tokenizer::load(chat.str());
    options.applyChat = true;
    const experiments::PromptEncoder wrapped(chatTokenizer, chatFormatOf(chat.str()), options);
    Document doc;
    doc.language = "en";
    doc.text = "Hi";
    const auto text = wrapped.render(doc);
    EXPECT_EQ(text, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    const auto ids = wrapped.encode(text);
    EXPECT_EQ(ids.front(), 257); // <|im_start|>
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 258), 1); // <|im_end|>
}

TEST(PromptEncoder, TargetsMakeOnePromptPerDocumentAndTargetAndLimitsApply)
{
    TempFolder tmp;
    writeByteTokenizer(tmp.path());
    const auto tokenizer = Tokenizer::load(tmp.str());
    const auto corpus = loadCorpus("udhr:en?articles=1-3");
    experiments::PromptOptions options;
    options.tmpl = promptTemplate("translate");
    options.applyChat = false;
    EXPECT_THROW(experiments::PromptEncoder(tokenizer, {}, options), Error); // no --target
    options.targets = {"de", "sw"};
    const experiments::PromptEncoder encoder(tokenizer, {}, options);
    const auto items = encoder.items(corpus);
    ASSERT_EQ(items.size(), 6u);
    EXPECT_EQ(items[0].label, "de");
    EXPECT_EQ(items[1].label, "sw");
    EXPECT_NE(items[1].text.find("Swahili"), std::string::npos);
    EXPECT_EQ(items[0].ids.size(), items[0].text.size()); // one id per byte

    options.tmpl = promptTemplate("raw");
    options.targets.clear();
    options.maxTokens = 20;
    EXPECT_THROW(experiments::PromptEncoder(tokenizer, {}, options).items(corpus), Error);
    options.truncate = true;
    const auto cut = experiments::PromptEncoder(tokenizer, {}, options).items(corpus);
    for (const auto &item : cut) {
        EXPECT_EQ(item.ids.size(), 20u);
        EXPECT_TRUE(item.truncated);
    }
}

TEST(LengthSortedBatches, SortStablyAndRespectBothLimits)
{
    const std::vector<std::size_t> lengths = {5, 3, 9, 3, 7, 1, 9, 2};
    const auto batches = lengthSortedBatches(lengths, 3);
    const std::vector<std::vector<std::size_t>> expected = {{5, 7, 1}, {3, 0, 4}, {2, 6}};
    EXPECT_EQ(batches, expected);
    EXPECT_EQ(lengthSortedBatches(lengths, 3), batches); // the same every time

    // At most 12 padded tokens: rows x the batch's longest.
    const auto capped = lengthSortedBatches(lengths, 8, 12);
    std::set<std::size_t> seen;
    for (const auto &batch : capped) {
        std::size_t longest = 0;
        for (const auto i : batch) {
            longest = std::max(longest, lengths[i]);
            EXPECT_TRUE(seen.insert(i).second);
        }
        EXPECT_TRUE(batch.size() == 1 || batch.size() * longest <= 12);
    }
    EXPECT_EQ(seen.size(), lengths.size());
    EXPECT_THROW(lengthSortedBatches(lengths, 0), Error);
}

} // namespace
} // namespace moescope::test
