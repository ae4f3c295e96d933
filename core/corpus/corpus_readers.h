#pragma once

// Readers for the corpus formats a researcher already has on disk
// (docs/corpora.md describes each layout). loadCorpus() dispatches to these;
// they are public so tools can read a single file without a spec.
//
// Directory readers find one file per language, detect the language from the
// file name (FLORES codes or ISO codes, normalised by normaliseLanguage) and
// return the languages asked for in that order, or every language found,
// sorted by label, when `languages` is empty. All throw moescope::Error naming
// the file (and line) on bad input.

#include "core/corpus/corpus.h"

#include <string>
#include <vector>

namespace moescope {

enum class TextSplit {
    Lines,      // one document per non-empty line
    Paragraphs, // one document per block of lines separated by blank lines
};

// Plain UTF-8 text of one language. Empty lines (paragraphs) are dropped.
std::vector<Document> readPlainTextFile(const std::string &path, const std::string &language,
                                        TextSplit split);
// A directory of <lang>.txt files.
std::vector<LanguageCorpus> readPlainTextDirectory(const std::string &dir,
                                                   const std::vector<std::string> &languages,
                                                   TextSplit split);

struct JsonlOptions
{
    std::string textField = "text"; // string field holding the document text
    std::string language;           // label for every record (when no languageField)
    std::string languageField;      // per-record language code field
    std::string idField;            // record id field; default: "id" if present, else line number
};
// JSON Lines: one object per line; records with an empty text field are
// skipped and counted. Grouped by language (first appearance order when the
// language comes from a field).
std::vector<LanguageCorpus> readJsonlFile(const std::string &path, const JsonlOptions &options);
// A directory of <lang>.jsonl files (options.language and languageField unused).
std::vector<LanguageCorpus> readJsonlDirectory(const std::string &dir,
                                               const std::vector<std::string> &languages,
                                               const JsonlOptions &options);

// FLORES-200 (DIR/devtest/eng_Latn.devtest), FLORES+ (DIR/devtest/devtest.eng_Latn)
// and FLORES+ exported to JSON Lines (DIR/devtest/eng_Latn.jsonl, "text" field).
// Document ids are "<split>-<n>" (n from 1), aligned across languages.
std::vector<LanguageCorpus> readFlores(const std::string &dir, const std::string &split,
                                       const std::vector<std::string> &languages);

// MGSM: DIR/mgsm_<lang>.tsv, question<TAB>answer per line, no header.
std::vector<Document> readMgsmFile(const std::string &path, const std::string &language);
std::vector<LanguageCorpus> readMgsm(const std::string &dir,
                                     const std::vector<std::string> &languages);

// PolyMath exported to JSON Lines: records with "question", "answer" and
// optionally "id" / "level". Layouts: DIR/<lang>/<level>.jsonl,
// DIR/<lang>.jsonl, DIR/[prefix_]<lang>_<level>.jsonl. level: low | medium |
// high | top, or "all" (levels in that order).
std::vector<Document> readPolyMathFile(const std::string &path, const std::string &language,
                                       const std::string &levelFromFileName);
std::vector<LanguageCorpus> readPolyMath(const std::string &dir,
                                         const std::vector<std::string> &languages,
                                         const std::string &level);

// XQuAD: DIR/xquad.<lang>.json in SQuAD format; one document per question.
std::vector<Document> readXquadFile(const std::string &path, const std::string &language);
std::vector<LanguageCorpus> readXquad(const std::string &dir,
                                      const std::vector<std::string> &languages);

// Belebele: DIR/<flores_code>.jsonl (or DIR/data/...), one question per line.
std::vector<Document> readBelebeleFile(const std::string &path, const std::string &language);
std::vector<LanguageCorpus> readBelebele(const std::string &dir,
                                         const std::vector<std::string> &languages);

} // namespace moescope
