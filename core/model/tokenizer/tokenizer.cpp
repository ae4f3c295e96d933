#include "core/model/tokenizer/tokenizer.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/model/tokenizer/added_vocabulary.h"
#include "core/model/tokenizer/bpe_model.h"
#include "core/model/tokenizer/decoders.h"
#include "core/model/tokenizer/normalizers.h"
#include "core/model/tokenizer/post_processors.h"
#include "core/model/tokenizer/pre_tokenizers.h"
#include "core/model/tokenizer/tokenizer_json.h"
#include "core/model/tokenizer/unicode_text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <unordered_set>

namespace moescope {

using namespace moescope::tokenizer;

namespace {

nlohmann::json readJson(const std::string &path)
{
    const std::string text = readFile(path);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception &e) {
        throw Error(path, std::string("malformed JSON: ") + e.what());
    }
}

// bos_token etc. in tokenizer_config.json: a string, or an AddedToken object
// {"__type": "AddedToken", "content": ...}.
std::optional<std::string> configTokenContent(const nlohmann::json &config, const char *key)
{
    if (!config.is_object() || !config.contains(key))
        return std::nullopt;
    const auto &value = config[key];
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_object() && value.contains("content") && value["content"].is_string())
        return value["content"].get<std::string>();
    return std::nullopt;
}

// transformers.py (4.x) rebuilds the post-processor of these fast tokenizers
// from add_bos_token/add_eos_token (e.g. LlamaTokenizerFast.update_post_processor),
// overriding tokenizer.json. Defaults are each class's constructor defaults.
struct AffixDefaults
{
    bool bos;
    bool eos;
};
std::optional<AffixDefaults> affixDefaultsForClass(const std::string &tokenizerClass)
{
    static const std::vector<std::pair<std::string, AffixDefaults>> classes = {
        {"LlamaTokenizer", {true, false}},     {"LlamaTokenizerFast", {true, false}},
        {"CodeLlamaTokenizer", {true, false}}, {"CodeLlamaTokenizerFast", {true, false}},
        {"GemmaTokenizer", {true, false}},     {"GemmaTokenizerFast", {true, false}},
        {"GPTNeoXTokenizer", {false, false}},  {"GPTNeoXTokenizerFast", {false, false}},
    };
    for (const auto &[name, defaults] : classes)
        if (name == tokenizerClass)
            return defaults;
    return std::nullopt;
}

// transformers' clean_up_tokenization (tokenization_utils_base.py).
std::string cleanUpTokenizationSpaces(std::string text)
{
    static const std::pair<const char *, const char *> replacements[] = {
        {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    for (const auto &[from, to] : replacements)
        text = replaceAll(text, from, to);
    return text;
}

} // namespace

struct Tokenizer::Impl
{
    std::string file;
    std::unique_ptr<Normalizer> normalizer;
    std::unique_ptr<PreTokenizer> preTokenizer;
    std::optional<BpeModel> model;
    std::unique_ptr<PostProcessor> postProcessor;
    std::unique_ptr<Decoder> decoder;
    AddedVocabulary added;
    std::unordered_set<std::int32_t> specialIds;
    std::optional<std::int32_t> bos, eos, pad;
    bool cleanUpSpaces = false;

    std::optional<std::int32_t> idOf(std::string_view token) const
    {
        if (const auto *t = added.byContent(token))
            return t->id;
        return model->tokenToId(token);
    }
    const std::string *textOf(std::int32_t id) const
    {
        if (const auto *t = added.byId(id))
            return &t->content;
        return model->idToToken(id);
    }
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer &&) noexcept = default;
Tokenizer &Tokenizer::operator=(Tokenizer &&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::string &path)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    std::string jsonPath = path;
    if (fs::is_directory(path, ec))
        jsonPath = (fs::path(path) / "tokenizer.json").string();
    if (!fs::is_regular_file(jsonPath, ec))
        throw Error(jsonPath, "no tokenizer.json here");
    const fs::path configPath = fs::path(jsonPath).parent_path() / "tokenizer_config.json";

    auto impl = std::make_unique<Impl>();
    impl->file = jsonPath;
    const std::string &file = impl->file;
    TokenizerJsonDocument document = parseTokenizerJson(readFile(jsonPath), file);
    const nlohmann::json &spec = document.spec;
    if (!spec.is_object())
        throw Error(file, "tokenizer.json must hold a JSON object");
    nlohmann::json config = nlohmann::json::object();
    if (fs::is_regular_file(configPath, ec)) {
        config = readJson(configPath.string());
        if (!config.is_object())
            throw Error(configPath.string(), "tokenizer_config.json must hold a JSON object");
    }

    static const nlohmann::json absent;
    const auto section = [&spec](const char *key) -> const nlohmann::json & {
        return spec.contains(key) ? spec[key] : absent;
    };
    impl->model.emplace(section("model"), std::move(document.vocab), std::move(document.merges),
                        file);
    impl->normalizer = parseNormalizer(section("normalizer"), file);
    impl->preTokenizer = parsePreTokenizer(section("pre_tokenizer"), file);
    impl->postProcessor = parsePostProcessor(section("post_processor"), file);
    impl->decoder = parseDecoder(section("decoder"), file);

    if (spec.contains("added_tokens") && !spec["added_tokens"].is_null()) {
        if (!spec["added_tokens"].is_array())
            throw Error(file, "\"added_tokens\" must be an array");
        for (const auto &item : spec["added_tokens"]) {
            if (!item.is_object() || !item.contains("id") || !item["id"].is_number_integer()
                || item["id"].get<std::int64_t>() < 0 || !item.contains("content")
                || !item["content"].is_string())
                throw Error(file, "added_tokens: each entry needs an id and a content");
            AddedToken token;
            token.id = item["id"].get<std::int32_t>();
            token.content = item["content"].get<std::string>();
            token.special = optionalBool(item, "special", false);
            token.lstrip = optionalBool(item, "lstrip", false);
            token.rstrip = optionalBool(item, "rstrip", false);
            token.normalized = optionalBool(item, "normalized", !token.special);
            token.singleWord = optionalBool(item, "single_word", false);
            if (token.special)
                impl->specialIds.insert(token.id);
            impl->added.add(std::move(token));
        }
    }

    // Special tokens named by tokenizer_config.json count as special too
    // (transformers registers them with the Rust tokenizer).
    for (const char *key : {"bos_token", "eos_token", "pad_token", "unk_token"})
        if (auto content = configTokenContent(config, key))
            if (auto id = impl->idOf(*content))
                impl->specialIds.insert(*id);
    if (config.contains("additional_special_tokens") && config["additional_special_tokens"].is_array())
        for (const auto &item : config["additional_special_tokens"]) {
            std::optional<std::string> content;
            if (item.is_string())
                content = item.get<std::string>();
            else if (item.is_object() && item.contains("content") && item["content"].is_string())
                content = item["content"].get<std::string>();
            if (content)
                if (auto id = impl->idOf(*content))
                    impl->specialIds.insert(*id);
        }
    impl->added.setMatchSpecialTokens(!optionalBool(config, "split_special_tokens", false));
    impl->cleanUpSpaces = optionalBool(config, "clean_up_tokenization_spaces", false);

    const auto resolve = [&](const char *key) -> std::optional<std::int32_t> {
        if (auto content = configTokenContent(config, key))
            return impl->idOf(*content);
        return std::nullopt;
    };
    impl->bos = resolve("bos_token");
    impl->eos = resolve("eos_token");
    impl->pad = resolve("pad_token");

    if (auto defaults = affixDefaultsForClass(optionalString(config, "tokenizer_class").value_or(""))) {
        const bool addBos = optionalBool(config, "add_bos_token", defaults->bos);
        const bool addEos = optionalBool(config, "add_eos_token", defaults->eos);
        if ((!addBos || impl->bos) && (!addEos || impl->eos)) {
            std::vector<std::int32_t> prefix, suffix;
            if (addBos)
                prefix.push_back(*impl->bos);
            if (addEos)
                suffix.push_back(*impl->eos);
            impl->postProcessor = makeAffixProcessor(std::move(prefix), std::move(suffix));
        }
    }

    // Without tokenizer_config.json, BOS/EOS are what the post-processor puts
    // around a sequence, or a conventionally named added token.
    if ((!impl->bos || !impl->eos) && impl->postProcessor) {
        constexpr std::int32_t kSentinel = -1;
        const auto wrapped = impl->postProcessor->apply({kSentinel});
        const auto at = std::find(wrapped.begin(), wrapped.end(), kSentinel);
        if (!impl->bos && at != wrapped.begin() && at != wrapped.end())
            impl->bos = wrapped.front();
        if (!impl->eos && at != wrapped.end() && at + 1 != wrapped.end())
            impl->eos = wrapped.back();
    }
    const auto firstKnown = [&](std::initializer_list<const char *> names) -> std::optional<std::int32_t> {
        for (const char *name : names)
            if (const auto *t = impl->added.byContent(name))
                return t->id;
        return std::nullopt;
    };
    if (!impl->bos)
        impl->bos = firstKnown({"<s>", "<|begin_of_text|>", "<｜begin▁of▁sentence｜>", "<bos>",
                                "<|startoftext|>"});
    if (!impl->eos)
        impl->eos = firstKnown({"</s>", "<|end_of_text|>", "<｜end▁of▁sentence｜>", "<eos>",
                                "<|endoftext|>"});
    return Tokenizer(std::move(impl));
}

std::vector<std::int32_t> Tokenizer::encode(const std::string &text, bool addSpecial) const
{
    const auto &d = *m_impl;
    const std::string input = isValidUtf8(text) ? text : sanitizeUtf8(text);
    const auto normalize = [&d](std::string s) {
        return d.normalizer ? d.normalizer->normalize(std::move(s)) : s;
    };
    std::vector<std::int32_t> ids;
    ids.reserve(input.size() / 3 + 4);
    std::vector<TextPiece> pieces;
    for (auto &section : d.added.split(input, normalize)) {
        if (section.tokenId) {
            ids.push_back(*section.tokenId);
            continue;
        }
        if (section.text.empty())
            continue;
        pieces.clear();
        pieces.push_back({std::move(section.text), section.atTextStart});
        if (d.preTokenizer)
            d.preTokenizer->apply(pieces);
        for (const auto &piece : pieces)
            d.model->tokenize(piece.text, ids);
    }
    if (addSpecial && d.postProcessor)
        ids = d.postProcessor->apply(std::move(ids));
    return ids;
}

std::string Tokenizer::decode(const std::vector<std::int32_t> &ids, bool skipSpecial) const
{
    const auto &d = *m_impl;
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (auto id : ids) {
        if (skipSpecial && d.specialIds.count(id))
            continue;
        // Unknown ids are dropped, as tokenizers' decode does.
        if (const auto *text = d.textOf(id))
            tokens.push_back(*text);
    }
    std::string result;
    if (d.decoder) {
        d.decoder->decodeChain(tokens);
        for (const auto &t : tokens)
            result += t;
    } else {
        for (std::size_t i = 0; i < tokens.size(); ++i)
            result += (i ? " " : "") + tokens[i];
    }
    return d.cleanUpSpaces ? cleanUpTokenizationSpaces(std::move(result)) : result;
}

std::string Tokenizer::tokenText(std::int32_t id) const
{
    if (const auto *text = m_impl->textOf(id))
        return *text;
    throw Error(m_impl->file, "token id " + std::to_string(id) + " is not in the vocabulary");
}

std::size_t Tokenizer::vocabSize() const
{
    std::int32_t maxId = m_impl->model->maxId();
    for (const auto &t : m_impl->added.tokens())
        maxId = std::max(maxId, t.id);
    return static_cast<std::size_t>(maxId + 1);
}

std::optional<std::int32_t> Tokenizer::tokenId(const std::string &token) const
{
    return m_impl->idOf(token);
}

std::optional<std::int32_t> Tokenizer::bosId() const
{
    return m_impl->bos;
}

std::optional<std::int32_t> Tokenizer::eosId() const
{
    return m_impl->eos;
}

std::optional<std::int32_t> Tokenizer::padId() const
{
    return m_impl->pad;
}

bool Tokenizer::isSpecial(std::int32_t id) const
{
    return m_impl->specialIds.count(id) > 0;
}

} // namespace moescope
