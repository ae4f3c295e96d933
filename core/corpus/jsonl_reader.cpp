#include "core/corpus/corpus_files.h"
#include "core/corpus/corpus_readers.h"
#include "core/corpus/language_codes.h"

#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace moescope {

std::vector<LanguageCorpus> readJsonlFile(const std::string &path, const JsonlOptions &options)
{
    using namespace corpus_files;
    if (options.language.empty() == options.languageField.empty())
        throw Error(path, "JSON Lines needs exactly one of a language or a language field");
    const std::string fixedLabel =
        options.language.empty() ? std::string() : normaliseLanguage(options.language);

    const auto lines = readLines(path);
    std::vector<LanguageCorpus> groups;
    auto groupFor = [&](const std::string &label) -> LanguageCorpus & {
        for (auto &g : groups)
            if (g.language == label)
                return g;
        groups.push_back({label, {}, path, 0});
        return groups.back();
    };
    if (!fixedLabel.empty())
        groupFor(fixedLabel);

    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t lineNo = i + 1;
        if (lines[i].find_first_not_of(" \t") == std::string::npos)
            continue;
        const auto record = parseJsonLine(path, lineNo, lines[i]);

        std::string label = fixedLabel;
        if (label.empty()) {
            const std::string code = stringField(record, options.languageField, path, lineNo, true);
            auto normalised = tryNormaliseLanguage(code);
            if (!normalised)
                throw Error(path, atLine(lineNo, "unknown language code '" + code + "' in field '"
                                                     + options.languageField + "'"));
            label = *normalised;
        }
        LanguageCorpus &group = groupFor(label);

        Document d;
        d.language = label;
        d.text = stringField(record, options.textField, path, lineNo, true);
        if (d.text.find_first_not_of(" \t\r\n") == std::string::npos) {
            ++group.skippedEmpty;
            continue;
        }
        const std::string idField = options.idField.empty() ? "id" : options.idField;
        d.id = stringField(record, idField, path, lineNo, !options.idField.empty());
        if (d.id.empty())
            d.id = "line-" + std::to_string(lineNo);
        for (const auto &[key, value] : record.items()) {
            if (key == options.textField || key == idField || key == options.languageField)
                continue;
            if (value.is_string())
                d.fields[key] = value.get<std::string>();
            else if (value.is_number() || value.is_boolean())
                d.fields[key] = value.dump();
        }
        group.documents.push_back(std::move(d));
    }
    return groups;
}

std::vector<LanguageCorpus> readJsonlDirectory(const std::string &dir,
                                               const std::vector<std::string> &languages,
                                               const JsonlOptions &options)
{
    corpus_files::LanguageFileIndex index(dir, "<lang>.jsonl");
    for (const auto &name : corpus_files::fileNames(dir)) {
        const std::filesystem::path p(name);
        if (p.extension() != ".jsonl")
            continue;
        if (auto label = tryNormaliseLanguage(p.stem().string()))
            index.add(*label, corpus_files::joinPath(dir, name));
    }
    std::vector<LanguageCorpus> out;
    for (const auto &files : index.select(languages)) {
        JsonlOptions perFile = options;
        perFile.language = files.language;
        perFile.languageField.clear();
        auto groups = readJsonlFile(files.paths.front(), perFile);
        out.push_back(std::move(groups.front()));
    }
    return out;
}

} // namespace moescope
