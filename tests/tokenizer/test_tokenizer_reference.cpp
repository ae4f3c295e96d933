// Real tokenizer.json files (Qwen3, Mistral/Mixtral, DeepSeek-V3) against ids made once
// with @lenml/tokenizers (a transformers.js port); see
// tests/data/tokenizers/README.md for how and where that reference departs
// from the Python libraries.
#include "core/common/error.h"
#include "core/model/tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

using moescope::Tokenizer;

namespace {

const std::string kDataDir = std::string(MOESCOPE_TEST_DATA) + "/tokenizers";

const nlohmann::json &expected()
{
    static const nlohmann::json data = [] {
        std::ifstream in(kDataDir + "/expected_ids.json");
        return nlohmann::json::parse(in);
    }();
    return data;
}

const Tokenizer &tokenizerNamed(const std::string &name)
{
    static std::map<std::string, Tokenizer> cache;
    auto it = cache.find(name);
    if (it == cache.end())
        it = cache.emplace(name, Tokenizer::load(kDataDir + "/" + name)).first;
    return it->second;
}

std::vector<std::int32_t> idsOf(const nlohmann::json &array)
{
    return array.get<std::vector<std::int32_t>>();
}

class ReferenceTokenizer : public ::testing::TestWithParam<std::string>
{
};

TEST_P(ReferenceTokenizer, EncodesLikeTheReference)
{
    const auto &tok = tokenizerNamed(GetParam());
    const auto &inputs = expected()["inputs"];
    const auto &ref = expected()["tokenizers"][GetParam()];
    ASSERT_EQ(inputs.size(), ref["encode"].size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const std::string text = inputs[i].get<std::string>();
        EXPECT_EQ(tok.encode(text, false), idsOf(ref["encode"][i])) << "input " << i << ": " << text;
        EXPECT_EQ(tok.encode(text, true), idsOf(ref["encode_special"][i]))
            << "with special tokens, input " << i << ": " << text;
    }
}

TEST_P(ReferenceTokenizer, DecodesLikeTheReference)
{
    const auto &tok = tokenizerNamed(GetParam());
    const auto &inputs = expected()["inputs"];
    const auto &ref = expected()["tokenizers"][GetParam()];
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        EXPECT_EQ(tok.decode(idsOf(ref["encode"][i]), false), ref["decode"][i].get<std::string>())
            << "input " << i;
        EXPECT_EQ(tok.decode(idsOf(ref["encode_special"][i]), true),
                  ref["decode_skip_special"][i].get<std::string>())
            << "skipping special tokens, input " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Files, ReferenceTokenizer,
                         ::testing::Values("qwen3", "mistral", "deepseek_v3"));

// Byte-level BPE loses nothing except what NFC changes (Qwen normalizes).
TEST(ReferenceTokenizer, ByteLevelRoundTripsText)
{
    for (const std::string name : {"qwen3", "deepseek_v3"}) {
        const auto &tok = tokenizerNamed(name);
        for (const auto &input : expected()["inputs"]) {
            const std::string text = input.get<std::string>();
            if (name == "qwen3" && text.find("(decomposed)") != std::string::npos)
                continue;
            EXPECT_EQ(tok.decode(tok.encode(text)), text) << name << ": " << text;
        }
    }
    const auto &qwen = tokenizerNamed("qwen3");
    EXPECT_EQ(qwen.decode(qwen.encode("Cafe\u0301 \u1100\u1161")), "Caf\u00e9 \uac00");
}

// The Llama-style decoder drops the space its normalizer prepended, so plain
// text round-trips; added-token text and a literal "▁" do not.
TEST(ReferenceTokenizer, SentencePieceStyleRoundTripsPlainText)
{
    const auto &tok = tokenizerNamed("mistral");
    for (const auto &input : expected()["inputs"]) {
        const std::string text = input.get<std::string>();
        if (text.find("<s>") != std::string::npos || text.find("</s>") != std::string::npos
            || text.find("\u2581") != std::string::npos)
            continue;
        EXPECT_EQ(tok.decode(tok.encode(text)), text) << text;
        EXPECT_EQ(tok.decode(tok.encode(text, true), true), text) << text;
    }
}

TEST(ReferenceTokenizer, SentencePieceStyleFallsBackToBytesForUnknownCharacters)
{
    const auto &tok = tokenizerNamed("mistral");
    const auto ids = tok.encode("\xF0\x9D\x94\x98"); // U+1D518 is not in Mistral's vocabulary
    ASSERT_EQ(ids.size(), 5u);                       // "▁" + four <0xXX> tokens
    EXPECT_EQ(tok.tokenText(ids[1]), "<0xF0>");
    EXPECT_EQ(tok.tokenText(ids[4]), "<0x98>");
}

TEST(ReferenceTokenizer, SpecialTokenIdsComeFromTheConfig)
{
    const auto &qwen = tokenizerNamed("qwen3");
    EXPECT_FALSE(qwen.bosId().has_value()); // bos_token is null for Qwen3
    EXPECT_EQ(qwen.eosId(), qwen.tokenId("<|im_end|>"));
    EXPECT_EQ(qwen.padId(), qwen.tokenId("<|endoftext|>"));
    EXPECT_EQ(qwen.tokenId("<|im_end|>"), 151645);
    EXPECT_TRUE(qwen.isSpecial(151645));
    EXPECT_FALSE(qwen.isSpecial(*qwen.tokenId("<think>"))); // added but not special
    EXPECT_FALSE(qwen.isSpecial(9707));
    EXPECT_EQ(qwen.vocabSize(), 151669u);
    EXPECT_EQ(qwen.tokenText(9707), "Hello");
    EXPECT_THROW(qwen.tokenText(999999), moescope::Error);

    const auto &mistral = tokenizerNamed("mistral");
    EXPECT_EQ(mistral.bosId(), 1);
    EXPECT_EQ(mistral.eosId(), 2);
    EXPECT_FALSE(mistral.padId().has_value());
    EXPECT_EQ(mistral.vocabSize(), 32000u);

    const auto &deepseek = tokenizerNamed("deepseek_v3");
    EXPECT_EQ(deepseek.bosId(), 0); // given as {"content": ...} objects
    EXPECT_EQ(deepseek.eosId(), 1);
    EXPECT_EQ(deepseek.padId(), 1);
}

TEST(ReferenceTokenizer, ReplacesInvalidUtf8LikePythonsErrorsReplace)
{
    const auto &qwen = tokenizerNamed("qwen3");
    EXPECT_EQ(qwen.encode("a\xFF" "b"), qwen.encode("a\uFFFD" "b"));
    EXPECT_EQ(qwen.encode("\xE4\xBD"), qwen.encode("\uFFFD")); // truncated sequence: one U+FFFD
}

TEST(ReferenceTokenizer, EncodesKilobytesInMilliseconds)
{
    const auto &tok = tokenizerNamed("qwen3");
    std::string text;
    for (const auto &input : expected()["inputs"])
        text += input.get<std::string>() + "\n";
    text += text; // ~8 KB of mixed scripts
    ASSERT_GT(text.size(), 6000u);
    std::vector<std::int32_t> ids;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i)
        ids = tok.encode(text + std::to_string(i));
    const double ms
        = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count()
        / 5;
    EXPECT_LT(ms, 50.0) << "encoding " << text.size() << " bytes took " << ms << " ms";
    EXPECT_GT(ids.size(), 1000u);
}

TEST(ReferenceTokenizer, EncodesConcurrentlyWithSameResults)
{
    const auto &tok = tokenizerNamed("deepseek_v3");
    std::vector<std::string> texts;
    for (const auto &input : expected()["inputs"])
        texts.push_back(input.get<std::string>() + " concurrent");
    std::vector<std::vector<std::int32_t>> a(texts.size()), b(texts.size());
    std::thread other([&] {
        for (std::size_t i = 0; i < texts.size(); ++i)
            b[i] = tok.encode(texts[i]);
    });
    for (std::size_t i = 0; i < texts.size(); ++i)
        a[i] = tok.encode(texts[i]);
    other.join();
    EXPECT_EQ(a, b);
}

} // namespace
