#include "core/corpus/corpus_files.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/utf8.h"
#include "core/corpus/language_codes.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace fs = std::filesystem;

namespace moescope::corpus_files {
namespace {

std::vector<std::string> entries(const std::string &dir, bool wantDirectories)
{
    requireDirectory(dir);
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(dir, ec)) {
        std::error_code typeError;
        const bool isDir = entry.is_directory(typeError);
        const bool isFile = entry.is_regular_file(typeError);
        if ((wantDirectories && isDir) || (!wantDirectories && isFile))
            names.push_back(entry.path().filename().string());
    }
    if (ec)
        throw Error(dir, "cannot list directory: " + ec.message());
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace

std::string atLine(std::size_t lineNo, const std::string &reason)
{
    return "line " + std::to_string(lineNo) + ": " + reason;
}

std::vector<std::string> readLines(const std::string &path)
{
    requireFile(path);
    const std::string contents = readFile(path);
    std::vector<std::string> lines;
    std::size_t start = 0;
    if (contents.compare(0, 3, "\xEF\xBB\xBF") == 0)
        start = 3;
    while (start < contents.size()) {
        std::size_t end = contents.find('\n', start);
        if (end == std::string::npos)
            end = contents.size();
        std::string line = contents.substr(start, end - start);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (!isValidUtf8(line))
            throw Error(path, atLine(lines.size() + 1, "not valid UTF-8"));
        lines.push_back(std::move(line));
        start = end + 1;
    }
    return lines;
}

void requireDirectory(const std::string &path)
{
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw Error(path, "no such directory");
    if (!fs::is_directory(path, ec))
        throw Error(path, "not a directory");
}

void requireFile(const std::string &path)
{
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw Error(path, "no such file");
    if (fs::is_directory(path, ec))
        throw Error(path, "is a directory, expected a file");
}

std::vector<std::string> fileNames(const std::string &dir)
{
    return entries(dir, false);
}

std::vector<std::string> directoryNames(const std::string &dir)
{
    return entries(dir, true);
}

std::string joinPath(const std::string &dir, const std::string &name)
{
    return (fs::path(dir) / name).string();
}

LanguageFileIndex::LanguageFileIndex(std::string dir, std::string layout)
    : m_dir(std::move(dir)), m_layout(std::move(layout))
{
}

void LanguageFileIndex::add(const std::string &language, const std::string &path,
                            bool allowSeveral)
{
    for (auto &f : m_files) {
        if (f.language != language)
            continue;
        if (!allowSeveral)
            throw Error(m_dir, "two files for language '" + language + "': "
                                   + fs::path(f.paths.front()).filename().string() + " and "
                                   + fs::path(path).filename().string());
        f.paths.push_back(path);
        return;
    }
    m_files.push_back({language, {path}});
}

std::vector<LanguageFiles> LanguageFileIndex::select(const std::vector<std::string> &requested) const
{
    if (m_files.empty())
        throw Error(m_dir, "no " + m_layout + " files found");
    std::vector<LanguageFiles> sorted = m_files;
    std::sort(sorted.begin(), sorted.end(),
              [](const auto &a, const auto &b) { return a.language < b.language; });
    if (requested.empty())
        return sorted;

    std::vector<LanguageFiles> chosen;
    for (const auto &code : requested) {
        std::string label;
        try {
            label = normaliseLanguage(code);
        } catch (const Error &e) {
            throw Error(m_dir, e.reason());
        }
        auto it = std::find_if(sorted.begin(), sorted.end(),
                               [&](const auto &f) { return f.language == label; });
        if (it == sorted.end()) {
            std::string found;
            for (const auto &f : sorted)
                found += (found.empty() ? "" : ",") + f.language;
            throw Error(m_dir, "no " + m_layout + " file for language '" + label
                                   + "' (found: " + found + ")");
        }
        chosen.push_back(*it);
    }
    return chosen;
}

std::vector<LanguageCorpus> readLanguageFiles(
    const std::string &dir, const std::string &layout, const std::vector<std::string> &languages,
    const std::function<std::optional<std::string>(const std::string &fileName)> &codeOf,
    const std::function<std::vector<Document>(const std::string &path, const std::string &language)> &read)
{
    LanguageFileIndex index(dir, layout);
    for (const auto &name : fileNames(dir))
        if (const auto code = codeOf(name))
            if (auto label = tryNormaliseLanguage(*code))
                index.add(*label, joinPath(dir, name));
    std::vector<LanguageCorpus> out;
    for (const auto &files : index.select(languages)) {
        LanguageCorpus lc;
        lc.language = files.language;
        lc.source = files.paths.front();
        lc.documents = read(lc.source, lc.language);
        out.push_back(std::move(lc));
    }
    return out;
}

nlohmann::json parseJsonLine(const std::string &path, std::size_t lineNo, const std::string &line)
{
    nlohmann::json record;
    try {
        record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error &e) {
        // e.what() repeats the exception id; the byte position is the useful part.
        throw Error(path, atLine(lineNo, "malformed JSON at byte " + std::to_string(e.byte)));
    }
    if (!record.is_object())
        throw Error(path, atLine(lineNo, "expected a JSON object"));
    return record;
}

std::string stringField(const nlohmann::json &record, const std::string &key,
                        const std::string &path, std::size_t lineNo, bool required)
{
    auto it = record.find(key);
    if (it == record.end() || it->is_null()) {
        if (required)
            throw Error(path, atLine(lineNo, "missing field '" + key + "'"));
        return {};
    }
    if (it->is_string())
        return it->get<std::string>();
    if (it->is_number_integer())
        return std::to_string(it->get<long long>());
    if (it->is_number())
        return it->dump();
    throw Error(path, atLine(lineNo, "field '" + key + "' is not a string"));
}

} // namespace moescope::corpus_files
