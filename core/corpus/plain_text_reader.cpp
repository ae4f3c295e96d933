#include "core/corpus/corpus_files.h"
#include "core/corpus/corpus_readers.h"
#include "core/corpus/language_codes.h"

#include "core/common/error.h"

#include <filesystem>

namespace moescope {
namespace {

bool isBlank(const std::string &line)
{
    return line.find_first_not_of(" \t\v\f\r") == std::string::npos;
}

std::string trimmed(const std::string &s)
{
    const auto first = s.find_first_not_of(" \t\v\f\r\n");
    if (first == std::string::npos)
        return {};
    const auto last = s.find_last_not_of(" \t\v\f\r\n");
    return s.substr(first, last - first + 1);
}

} // namespace

std::vector<Document> readPlainTextFile(const std::string &path, const std::string &language,
                                        TextSplit split)
{
    const std::string label = normaliseLanguage(language);
    const auto lines = corpus_files::readLines(path);
    std::vector<Document> docs;

    auto add = [&](std::string text, std::size_t firstLine) {
        Document d;
        d.language = label;
        // Ids are the 1-based line where the document starts, so they stay
        // meaningful to someone opening the file.
        d.id = "line-" + std::to_string(firstLine);
        d.text = std::move(text);
        docs.push_back(std::move(d));
    };

    if (split == TextSplit::Lines) {
        for (std::size_t i = 0; i < lines.size(); ++i)
            if (!isBlank(lines[i]))
                add(trimmed(lines[i]), i + 1);
        return docs;
    }

    std::string paragraph;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= lines.size(); ++i) {
        const bool end = i == lines.size() || isBlank(lines[i]);
        if (end) {
            if (!paragraph.empty())
                add(paragraph, start);
            paragraph.clear();
            continue;
        }
        if (paragraph.empty())
            start = i + 1;
        else
            paragraph += '\n';
        paragraph += trimmed(lines[i]);
    }
    return docs;
}

std::vector<LanguageCorpus> readPlainTextDirectory(const std::string &dir,
                                                   const std::vector<std::string> &languages,
                                                   TextSplit split)
{
    return corpus_files::readLanguageFiles(
        dir, "<lang>.txt", languages,
        [](const std::string &name) -> std::optional<std::string> {
            const std::filesystem::path p(name);
            return p.extension() == ".txt" ? std::optional(p.stem().string()) : std::nullopt;
        },
        [split](const std::string &path, const std::string &language) {
            return readPlainTextFile(path, language, split);
        });
}

} // namespace moescope
