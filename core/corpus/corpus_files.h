#pragma once

// File handling shared by the corpus readers (internal to core/corpus):
// reading lines with their numbers, finding one file per language in a
// directory, and reading JSON fields with errors that name file and line.

#include "core/corpus/corpus.h"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace moescope::corpus_files {

// Lines of a UTF-8 text file without terminators ("\n" or "\r\n") and without
// a leading byte-order mark. Throws Error(path, "line N: not valid UTF-8").
std::vector<std::string> readLines(const std::string &path);

// Throws Error(path, ...) unless path is an existing directory / file.
void requireDirectory(const std::string &path);
void requireFile(const std::string &path);

// Names of the regular files directly in dir, sorted.
std::vector<std::string> fileNames(const std::string &dir);
// Names of the subdirectories directly in dir, sorted.
std::vector<std::string> directoryNames(const std::string &dir);

std::string joinPath(const std::string &dir, const std::string &name);

// One language's file(s) found in a directory.
struct LanguageFiles
{
    std::string language;
    std::vector<std::string> paths;
};

// Collects files per language while a reader scans a directory, then picks
// the languages asked for.
class LanguageFileIndex
{
public:
    explicit LanguageFileIndex(std::string dir, std::string layout);

    // Throws when another file already claimed the label and `allowSeveral`
    // is false (two names for one language, e.g. zho_Hans and cmn_Hans).
    void add(const std::string &language, const std::string &path, bool allowSeveral = false);
    bool empty() const { return m_files.empty(); }

    // The requested labels in order (each must have a file), or all labels
    // sorted when requested is empty. Throws Error(dir, ...) naming what was
    // missing and what was found.
    std::vector<LanguageFiles> select(const std::vector<std::string> &requested) const;

private:
    std::string m_dir, m_layout;
    std::vector<LanguageFiles> m_files;
};

// The directory layout with one file per language: `codeOf` gives the
// language code in a file name (nullopt: not a corpus file), `read` reads one
// selected language's file. Languages as LanguageFileIndex::select picks them.
std::vector<LanguageCorpus> readLanguageFiles(
    const std::string &dir, const std::string &layout, const std::vector<std::string> &languages,
    const std::function<std::optional<std::string>(const std::string &fileName)> &codeOf,
    const std::function<std::vector<Document>(const std::string &path, const std::string &language)> &read);

// Parses one JSON Lines record (must be an object).
nlohmann::json parseJsonLine(const std::string &path, std::size_t lineNo, const std::string &line);

// A string field of a record; numbers are converted to their decimal text.
// Missing (or null) fields give "" unless required, when they throw
// Error(path, "line N: missing field 'key'").
std::string stringField(const nlohmann::json &record, const std::string &key,
                        const std::string &path, std::size_t lineNo, bool required);

// "line N: reason", the form every reader uses for record errors.
std::string atLine(std::size_t lineNo, const std::string &reason);

} // namespace moescope::corpus_files
