#pragma once

// Hugging Face tokenizer.json (tokenizers library format): byte-level BPE
// (Qwen, OLMoE, GPT-OSS, DeepSeek) and SentencePiece-style BPE with byte
// fallback (Llama/Mixtral). Qt-free and torch-free.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace moescope {

class Tokenizer
{
public:
    // path: a tokenizer.json file, or a model folder holding tokenizer.json
    // (and optionally tokenizer_config.json for bos/eos/chat settings).
    static Tokenizer load(const std::string &path);
    Tokenizer(Tokenizer &&) noexcept;
    Tokenizer &operator=(Tokenizer &&) noexcept;
    ~Tokenizer();

    // addSpecial: apply the post-processor (e.g. BOS) as transformers does
    // with add_special_tokens=True.
    std::vector<std::int32_t> encode(const std::string &text, bool addSpecial = false) const;
    std::string decode(const std::vector<std::int32_t> &ids, bool skipSpecial = false) const;
    std::string tokenText(std::int32_t id) const; // raw vocabulary string

    std::size_t vocabSize() const;
    std::optional<std::int32_t> tokenId(const std::string &token) const;
    std::optional<std::int32_t> bosId() const;
    std::optional<std::int32_t> eosId() const;
    std::optional<std::int32_t> padId() const;
    bool isSpecial(std::int32_t id) const;

private:
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace moescope
