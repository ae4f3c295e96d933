// Small hand-made tokenizer.json files, one feature each, with expectations
// worked out by hand from the tokenizers library's documented behaviour.
#include "core/common/error.h"
#include "core/model/tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using moescope::Tokenizer;
using nlohmann::json;
using Ids = std::vector<std::int32_t>;

namespace {

namespace fs = std::filesystem;

fs::path freshDir()
{
    static int counter = 0;
    const fs::path dir = fs::temp_directory_path()
        / ("moescope-tokenizer-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void writeText(const fs::path &path, const std::string &text)
{
    std::ofstream(path, std::ios::binary) << text;
}

json bpeSpec(json vocab, json merges)
{
    return {{"version", "1.0"},         {"added_tokens", json::array()},
            {"normalizer", nullptr},    {"pre_tokenizer", nullptr},
            {"post_processor", nullptr}, {"decoder", nullptr},
            {"model", {{"type", "BPE"}, {"vocab", std::move(vocab)}, {"merges", std::move(merges)}}}};
}

json addedToken(int id, const std::string &content, bool special = false)
{
    return {{"id", id},           {"content", content}, {"special", special},
            {"lstrip", false},    {"rstrip", false},    {"normalized", false},
            {"single_word", false}};
}

Tokenizer load(const json &spec, const json &config = nullptr)
{
    const fs::path dir = freshDir();
    writeText(dir / "tokenizer.json", spec.dump());
    if (!config.is_null())
        writeText(dir / "tokenizer_config.json", config.dump());
    return Tokenizer::load(dir.string());
}

std::string loadError(const json &spec)
{
    try {
        load(spec);
    } catch (const moescope::Error &e) {
        return e.what();
    }
    return "(no error)";
}

TEST(BpeModel, AcceptsBothMergeSpellings)
{
    const json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"abc", 4}};
    const auto asStrings = load(bpeSpec(vocab, {"a b", "ab c"}));
    const auto asArrays = load(bpeSpec(vocab, json::array({json::array({"a", "b"}), json::array({"ab", "c"})})));
    for (const auto *tok : {&asStrings, &asArrays}) {
        EXPECT_EQ(tok->encode("abc"), (Ids{4}));
        EXPECT_EQ(tok->encode("cab"), (Ids{2, 3}));
        EXPECT_EQ(tok->encode("abcab"), (Ids{4, 3}));
    }
}

TEST(BpeModel, AppliesLowerRankedMergesFirst)
{
    const json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}};
    EXPECT_EQ(load(bpeSpec(vocab, {"b c", "a b"})).encode("abc"), (Ids{0, 4}));
    EXPECT_EQ(load(bpeSpec(vocab, {"a b", "b c"})).encode("abc"), (Ids{3, 2}));
    // Equal pairs merge left to right.
    const json aaVocab = {{"a", 0}, {"aa", 1}};
    EXPECT_EQ(load(bpeSpec(aaVocab, {"a a"})).encode("aaa"), (Ids{1, 0}));
}

TEST(BpeModel, IgnoreMergesTakesWholeWordsFromTheVocabulary)
{
    const json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"bc", 3}, {"abc", 4}};
    auto spec = bpeSpec(vocab, {"b c"});
    EXPECT_EQ(load(spec).encode("abc"), (Ids{0, 3}));
    spec["model"]["ignore_merges"] = true;
    EXPECT_EQ(load(spec).encode("abc"), (Ids{4}));
}

TEST(BpeModel, UnknownCharactersBecomeUnkFusedOrNot)
{
    auto spec = bpeSpec({{"<unk>", 0}, {"a", 1}}, json::array());
    spec["model"]["unk_token"] = "<unk>";
    spec["model"]["fuse_unk"] = true;
    EXPECT_EQ(load(spec).encode("xya"), (Ids{0, 1}));
    spec["model"]["fuse_unk"] = false;
    EXPECT_EQ(load(spec).encode("xya"), (Ids{0, 0, 1}));
    spec["model"]["unk_token"] = nullptr;
    EXPECT_EQ(load(spec).encode("xya"), (Ids{1})); // no unk: dropped, as tokenizers does
}

TEST(BpeModel, ByteFallbackAndItsDecoder)
{
    auto spec = bpeSpec({{"<unk>", 0}, {"<0xC3>", 1}, {"<0xA9>", 2}, {"a", 3}}, json::array());
    spec["model"]["unk_token"] = "<unk>";
    spec["model"]["byte_fallback"] = true;
    spec["decoder"] = {{"type", "Sequence"},
                       {"decoders", {{{"type", "ByteFallback"}}, {{"type", "Fuse"}}}}};
    const auto tok = load(spec);
    EXPECT_EQ(tok.encode("a\u00e9"), (Ids{3, 1, 2}));
    EXPECT_EQ(tok.encode("a\u00e8"), (Ids{3, 0})); // <0xA8> is missing: the whole char is unk
    EXPECT_EQ(tok.decode({3, 1, 2}), "a\u00e9");
    EXPECT_EQ(tok.decode({1, 3}), "\uFFFDa"); // a lone lead byte is not UTF-8
}

json charTokenizerWithAddedTokens()
{
    auto spec = bpeSpec({{" ", 0}, {"a", 1}, {"b", 2}, {"h", 3}, {"i", 4}}, json::array());
    auto lstrip = addedToken(10, "<x>");
    lstrip["lstrip"] = true;
    auto rstrip = addedToken(11, "<y>");
    rstrip["rstrip"] = true;
    auto word = addedToken(12, "hi");
    word["single_word"] = true;
    spec["added_tokens"] = {lstrip, rstrip, word, addedToken(13, "<z>"), addedToken(16, "<w"),
                            addedToken(17, "<w>")};
    return spec;
}

TEST(AddedTokens, HonourLstripRstripAndSingleWord)
{
    const auto tok = load(charTokenizerWithAddedTokens());
    EXPECT_EQ(tok.encode("a <x> b"), (Ids{1, 10, 0, 2}));
    EXPECT_EQ(tok.encode("a <y> b"), (Ids{1, 0, 11, 2}));
    EXPECT_EQ(tok.encode("a <z> b"), (Ids{1, 0, 13, 0, 2}));
    EXPECT_EQ(tok.encode("hi ahi hia"), (Ids{12, 0, 1, 3, 4, 0, 3, 4, 1}));
    EXPECT_EQ(tok.encode("<w>"), (Ids{17})); // longest match wins
}

TEST(AddedTokens, NormalizedTokensMatchAfterNormalization)
{
    auto spec = bpeSpec({{"u", 0}, {"p", 1}, {"U", 2}, {"P", 3}}, json::array());
    spec["normalizer"] = {{"type", "Lowercase"}};
    auto normalized = addedToken(20, "up");
    normalized["normalized"] = true;
    spec["added_tokens"] = {normalized};
    EXPECT_EQ(load(spec).encode("UP"), (Ids{20}));
    spec["added_tokens"][0]["normalized"] = false;
    EXPECT_EQ(load(spec).encode("UP"), (Ids{0, 1})); // raw text "UP" is not "up"
}

TEST(AddedTokens, SplitSpecialTokensConfigTurnsMatchingOff)
{
    auto spec = bpeSpec({{"<", 0}, {"s", 1}, {">", 2}}, json::array());
    spec["added_tokens"] = {addedToken(5, "<s>", true)};
    EXPECT_EQ(load(spec).encode("<s>"), (Ids{5}));
    EXPECT_EQ(load(spec, {{"split_special_tokens", true}}).encode("<s>"), (Ids{0, 1, 2}));
}

json metaspaceSpec(const std::string &scheme)
{
    auto spec = bpeSpec({{"\u2581a", 0}, {"\u2581b", 1}, {"\u2581", 2}, {"a", 3}, {"b", 4}, {"<s>", 5}},
                        {"\u2581 a", "\u2581 b"});
    spec["added_tokens"] = {addedToken(5, "<s>", true)};
    spec["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\u2581"},
                             {"prepend_scheme", scheme}, {"split", true}};
    spec["decoder"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", scheme}};
    return spec;
}

TEST(PreTokenizers, MetaspacePrependSchemes)
{
    const auto first = load(metaspaceSpec("first"));
    EXPECT_EQ(first.encode("a b"), (Ids{0, 1}));
    EXPECT_EQ(first.encode("<s>a b"), (Ids{5, 3, 1})); // not at the start of the input
    EXPECT_EQ(first.decode({0, 1}), "a b");
    const auto always = load(metaspaceSpec("always"));
    EXPECT_EQ(always.encode("<s>a b"), (Ids{5, 0, 1}));
    const auto never = load(metaspaceSpec("never"));
    EXPECT_EQ(never.encode("a b"), (Ids{3, 1}));
    EXPECT_EQ(never.decode({0, 1}), " a b");
}

Ids splitWith(const std::string &behavior, const std::string &text, bool invert = false)
{
    auto spec = bpeSpec({{"a", 0}, {"-", 1}, {"b", 2}, {"a-", 3}, {"-b", 4}, {"--", 6}},
                        {"a -", "- b", "- -"});
    spec["pre_tokenizer"] = {{"type", "Split"},
                             {"pattern", {{"String", "-"}}},
                             {"behavior", behavior},
                             {"invert", invert}};
    return load(spec).encode(text);
}

TEST(PreTokenizers, SplitBehaviours)
{
    EXPECT_EQ(splitWith("Isolated", "a-b"), (Ids{0, 1, 2}));
    EXPECT_EQ(splitWith("Removed", "a-b"), (Ids{0, 2}));
    EXPECT_EQ(splitWith("MergedWithPrevious", "a-b"), (Ids{3, 2}));
    EXPECT_EQ(splitWith("MergedWithNext", "a-b"), (Ids{0, 4}));
    EXPECT_EQ(splitWith("Isolated", "a--b"), (Ids{0, 1, 1, 2}));
    EXPECT_EQ(splitWith("Contiguous", "a--b"), (Ids{0, 6, 2}));
    EXPECT_EQ(splitWith("Removed", "a-b", true), (Ids{1})); // inverted: keep only the matches
}

TEST(PreTokenizers, RegexSplitUsesUnicodeClasses)
{
    auto spec = bpeSpec({{"1", 0}, {"2", 1}, {"12", 2}, {"\u0663", 3}, {"x", 4}}, {"1 2"});
    spec["pre_tokenizer"] = {{"type", "Split"},
                             {"pattern", {{"Regex", "\\p{N}"}}},
                             {"behavior", "Isolated"},
                             {"invert", false}};
    EXPECT_EQ(load(spec).encode("x12\u0663"), (Ids{4, 0, 1, 3})); // Arabic-Indic three is \p{N}
    spec["pre_tokenizer"]["pattern"]["Regex"] = "\\u0031\\u0032"; // Oniguruma-style escapes
    EXPECT_EQ(load(spec).encode("x12"), (Ids{4, 2}));
}

TEST(PreTokenizers, DigitsIndividuallyOrGrouped)
{
    auto spec = bpeSpec({{"1", 0}, {"2", 1}, {"12", 2}}, {"1 2"});
    spec["pre_tokenizer"] = {{"type", "Digits"}, {"individual_digits", false}};
    EXPECT_EQ(load(spec).encode("12"), (Ids{2}));
    spec["pre_tokenizer"]["individual_digits"] = true;
    EXPECT_EQ(load(spec).encode("12"), (Ids{0, 1}));
}

TEST(PreTokenizers, ByteLevelWithItsOwnRegexAndPrefixSpace)
{
    // "Ġ" is the byte-level form of a space.
    auto spec = bpeSpec({{"\u0120", 0}, {"a", 1}, {"b", 2}, {"\u0120a", 3}, {"ab", 4}},
                        {"\u0120 a", "a b"});
    spec["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
    spec["decoder"] = {{"type", "ByteLevel"}};
    const auto tok = load(spec);
    // " ab" is one regex word: Ġ a b -> (Ġa) b since "Ġ a" ranks first.
    EXPECT_EQ(tok.encode("ab"), (Ids{3, 2}));
    EXPECT_EQ(tok.encode("b a"), (Ids{0, 2, 3}));
    EXPECT_EQ(tok.decode({3, 2}), " ab");
}

TEST(Normalizers, UnicodeFormsCaseAndAccents)
{
    auto spec = bpeSpec({{"f", 0}, {"i", 1}, {"e", 2}, {"\u00e9", 3}}, json::array());
    spec["normalizer"] = {{"type", "NFKC"}};
    EXPECT_EQ(load(spec).encode("\uFB01"), (Ids{0, 1})); // the fi ligature
    spec["normalizer"] = {{"type", "NFC"}};
    EXPECT_EQ(load(spec).encode("e\u0301"), (Ids{3}));
    spec["normalizer"] = {{"type", "Sequence"},
                          {"normalizers", {{{"type", "NFD"}}, {{"type", "StripAccents"}}}}};
    EXPECT_EQ(load(spec).encode("\u00e9"), (Ids{2}));
    spec["normalizer"] = {{"type", "Lowercase"}};
    EXPECT_EQ(load(spec).encode("FI"), (Ids{0, 1}));
}

TEST(Normalizers, ReplaceStripAndPrepend)
{
    auto spec = bpeSpec({{"a", 0}, {" ", 1}, {"_", 2}}, json::array());
    spec["normalizer"] = {{"type", "Sequence"},
                          {"normalizers",
                           {{{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
                            {{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}},
                            {{"type", "Prepend"}, {"prepend", "_"}}}}};
    const auto tok = load(spec);
    EXPECT_EQ(tok.encode("  a    a \t"), (Ids{2, 0, 1, 0}));
    EXPECT_EQ(tok.encode(""), Ids{}); // Prepend leaves empty text empty
}

TEST(PostProcessing, TemplateGivesBosAndEosWithoutConfig)
{
    auto spec = bpeSpec({{"<s>", 0}, {"</s>", 1}, {"a", 2}}, json::array());
    spec["added_tokens"] = {addedToken(0, "<s>", true), addedToken(1, "</s>", true)};
    spec["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
          {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}}},
        {"pair", json::array()},
        {"special_tokens",
         {{"<s>", {{"id", "<s>"}, {"ids", {0}}, {"tokens", {"<s>"}}}},
          {"</s>", {{"id", "</s>"}, {"ids", {1}}, {"tokens", {"</s>"}}}}}}};
    const auto tok = load(spec);
    EXPECT_EQ(tok.encode("aa", false), (Ids{2, 2}));
    EXPECT_EQ(tok.encode("aa", true), (Ids{0, 2, 2, 1}));
    EXPECT_EQ(tok.bosId(), 0);
    EXPECT_EQ(tok.eosId(), 1);
    EXPECT_EQ(tok.decode({0, 2, 1}, false), "<s> a </s>"); // no decoder: joined by spaces
    EXPECT_EQ(tok.decode({0, 2, 1}, true), "a");
}

TEST(PostProcessing, LlamaClassConfigOverridesThePostProcessor)
{
    auto spec = bpeSpec({{"<s>", 0}, {"</s>", 1}, {"a", 2}}, json::array());
    spec["added_tokens"] = {addedToken(0, "<s>", true), addedToken(1, "</s>", true)};
    spec["post_processor"] = {{"type", "ByteLevel"}, {"trim_offsets", false}};
    const json config = {{"tokenizer_class", "LlamaTokenizerFast"},
                         {"bos_token", {{"__type", "AddedToken"}, {"content", "<s>"}}},
                         {"eos_token", "</s>"},
                         {"add_eos_token", true}};
    EXPECT_EQ(load(spec, config).encode("a", true), (Ids{0, 2, 1}));
    EXPECT_EQ(load(spec).encode("a", true), (Ids{2})); // without the config: ByteLevel adds nothing
}

TEST(Decoders, StripAndReplace)
{
    auto spec = bpeSpec({{"\u2581a", 0}, {"b", 1}}, json::array());
    spec["decoder"] = {{"type", "Sequence"},
                       {"decoders",
                        {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                         {{"type", "Fuse"}},
                         {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
    const auto tok = load(spec);
    EXPECT_EQ(tok.decode({0, 1, 0}), "ab a");
    EXPECT_EQ(tok.decode({1, 0}), "b a");
    EXPECT_EQ(tok.decode({0, 12345}), "a"); // unknown ids are dropped
}

TEST(Loading, RejectsUnsupportedFeaturesWithOneLine)
{
    auto unigram = bpeSpec({{"a", 0}}, json::array());
    unigram["model"] = {{"type", "Unigram"}, {"unk_id", 0},
                        {"vocab", json::array({json::array({"a", 0.0})})}};
    EXPECT_NE(loadError(unigram).find("unsupported tokenizer feature: model type Unigram"),
              std::string::npos);
    auto precompiled = bpeSpec({{"a", 0}}, json::array());
    precompiled["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", "AAAA"}};
    EXPECT_NE(loadError(precompiled).find("unsupported tokenizer feature: normalizer Precompiled"),
              std::string::npos);
    auto scripts = bpeSpec({{"a", 0}}, json::array());
    scripts["pre_tokenizer"] = {{"type", "UnicodeScripts"}};
    EXPECT_NE(loadError(scripts).find("unsupported tokenizer feature: pre_tokenizer UnicodeScripts"),
              std::string::npos);
    auto wordpiece = bpeSpec({{"a", 0}}, json::array());
    wordpiece["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}};
    EXPECT_NE(loadError(wordpiece).find("unsupported tokenizer feature: decoder WordPiece"),
              std::string::npos);
    for (const auto &message : {loadError(unigram), loadError(wordpiece)})
        EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(Loading, RejectsBrokenFiles)
{
    const fs::path dir = freshDir();
    EXPECT_THROW(Tokenizer::load((dir / "absent").string()), moescope::Error);
    EXPECT_THROW(Tokenizer::load(dir.string()), moescope::Error); // folder without tokenizer.json
    writeText(dir / "tokenizer.json", "{\"model\": ");
    try {
        Tokenizer::load(dir.string());
        ADD_FAILURE() << "malformed JSON was accepted";
    } catch (const moescope::Error &e) {
        EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos);
        EXPECT_EQ(e.file(), (dir / "tokenizer.json").string());
    }
    // A merge whose parts are not in the vocabulary.
    EXPECT_NE(loadError(bpeSpec({{"a", 0}}, {"a z"})).find("merge 1"), std::string::npos);
    // A file path works as well as a folder.
    writeText(dir / "tokenizer.json", bpeSpec({{"a", 0}}, json::array()).dump());
    EXPECT_EQ(Tokenizer::load((dir / "tokenizer.json").string()).encode("aa"), (Ids{0, 0}));
}

} // namespace
