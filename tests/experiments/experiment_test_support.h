#pragma once

// Models, tokenizers and corpora the experiment tests build in temporary
// folders (nothing binary is committed):
//
// - a byte-level tokenizer.json: one token per byte (id = byte value), no
//   merges, plus <|endoftext|> 256, <|im_start|> 257, <|im_end|> 258;
// - a "script-routed" mixtral checkpoint whose routing depends on the script
//   of the text: ASCII bytes select experts {0, 1}, bytes >= 0x80 (every byte
//   of Chinese, Cyrillic, ... in UTF-8) select {2, 3}. Experts 0/1 push the
//   hidden state towards predicting ASCII bytes, 2/3 towards bytes >= 0x80,
//   so masking English's exclusive experts sends English tokens to 2/3 and
//   makes English text much less likely while Chinese text barely changes.

#include "core/model/moe_model.h"
#include "core/model/tokenizer/tokenizer.h"

#include <filesystem>
#include <memory>
#include <string>

namespace moescope::test {

class TempFolder
{
public:
    TempFolder();
    ~TempFolder();
    TempFolder(const TempFolder &) = delete;
    TempFolder &operator=(const TempFolder &) = delete;
    const std::filesystem::path &path() const { return m_path; }
    std::string str(const std::string &child = {}) const;

private:
    std::filesystem::path m_path;
};

void writeTextFile(const std::filesystem::path &path, const std::string &text);
std::string readTextFile(const std::filesystem::path &path);

// tokenizer.json (and, with chatTemplate, tokenizer_config.json holding it).
void writeByteTokenizer(const std::filesystem::path &dir, const std::string &chatTemplate = {});

// The script-routed mixtral model with its tokenizer (see above).
void writeScriptRoutedModel(const std::filesystem::path &dir, int layers = 3);

// The script-routed model, written and loaded once per test binary.
struct ScriptModel
{
    std::string dir;
    std::unique_ptr<model::MoeModel> model;
    std::unique_ptr<Tokenizer> tokenizer;
};
const ScriptModel &scriptModel();

// A copy of tests/data/tiny-moe/<family> plus the byte-level tokenizer.
void copyFixtureWithTokenizer(const std::string &family, const std::filesystem::path &dir);

} // namespace moescope::test
