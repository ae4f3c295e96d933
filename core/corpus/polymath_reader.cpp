#include "core/corpus/corpus_files.h"
#include "core/corpus/corpus_readers.h"
#include "core/corpus/language_codes.h"

#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <optional>

namespace moescope {
namespace {

// PolyMath's difficulty levels, easiest first; "all" keeps this order.
constexpr std::array<const char *, 4> kLevels = {"low", "medium", "high", "top"};

int levelRank(const std::string &level)
{
    for (std::size_t i = 0; i < kLevels.size(); ++i)
        if (level == kLevels[i])
            return static_cast<int>(i);
    return -1;
}

std::vector<std::string> nameTokens(const std::string &stem)
{
    std::vector<std::string> tokens;
    std::string current;
    for (char c : stem) {
        if (c == '_' || c == '-' || c == '.') {
            if (!current.empty())
                tokens.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    if (!current.empty())
        tokens.push_back(current);
    return tokens;
}

std::string levelFromTokens(const std::vector<std::string> &tokens)
{
    for (const auto &t : tokens)
        if (levelRank(t) >= 0)
            return t;
    return {};
}

// The last token that is a language code ("polymath_zh_low" -> zh), trying a
// following script subtag too ("flores_zho_Hant" -> zh-Hant).
std::optional<std::string> languageFromTokens(const std::vector<std::string> &tokens)
{
    std::optional<std::string> found;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (levelRank(tokens[i]) >= 0 || tokens[i].size() > 3)
            continue;
        if (i + 1 < tokens.size() && tokens[i + 1].size() == 4 && levelRank(tokens[i + 1]) < 0) {
            if (auto withScript = tryNormaliseLanguage(tokens[i] + "_" + tokens[i + 1])) {
                found = withScript;
                continue;
            }
        }
        if (auto label = tryNormaliseLanguage(tokens[i]))
            found = label;
    }
    return found;
}

} // namespace

std::vector<Document> readPolyMathFile(const std::string &path, const std::string &language,
                                       const std::string &levelFromFileName)
{
    using namespace corpus_files;
    const std::string label = normaliseLanguage(language);
    const auto lines = readLines(path);
    std::vector<Document> docs;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t lineNo = i + 1;
        if (lines[i].find_first_not_of(" \t") == std::string::npos)
            continue;
        const auto record = parseJsonLine(path, lineNo, lines[i]);
        Document d;
        d.language = label;
        d.question = stringField(record, "question", path, lineNo, true);
        d.text = d.question;
        d.answers = {stringField(record, "answer", path, lineNo, true)};
        d.id = stringField(record, "id", path, lineNo, false);

        // Level: the file name, else a "level" field, else the id's prefix
        // (PolyMath ids look like "low-en-0").
        d.level = levelFromFileName;
        if (d.level.empty())
            d.level = stringField(record, "level", path, lineNo, false);
        if (d.level.empty() && !d.id.empty()) {
            const std::string prefix = d.id.substr(0, d.id.find('-'));
            if (levelRank(prefix) >= 0)
                d.level = prefix;
        }
        if (!d.level.empty() && levelRank(d.level) < 0)
            throw Error(path, atLine(lineNo, "unknown PolyMath level '" + d.level
                                                 + "' (expected low, medium, high or top)"));
        if (d.id.empty())
            d.id = (d.level.empty() ? std::string("polymath") : d.level) + "-" + label + "-line"
                + std::to_string(lineNo);
        if (d.question.find_first_not_of(" \t\r\n") == std::string::npos)
            throw Error(path, atLine(lineNo, "empty question"));
        docs.push_back(std::move(d));
    }
    return docs;
}

std::vector<LanguageCorpus> readPolyMath(const std::string &dir,
                                         const std::vector<std::string> &languages,
                                         const std::string &level)
{
    if (level != "all" && levelRank(level) < 0)
        throw Error(dir, "PolyMath level must be low, medium, high, top or all, not '" + level
                             + "'");
    namespace fs = std::filesystem;
    corpus_files::LanguageFileIndex index(dir, "PolyMath JSON Lines");
    for (const auto &name : corpus_files::fileNames(dir)) {
        const fs::path p(name);
        if (p.extension() != ".jsonl")
            continue;
        if (auto label = languageFromTokens(nameTokens(p.stem().string())))
            index.add(*label, corpus_files::joinPath(dir, name), true);
    }
    for (const auto &sub : corpus_files::directoryNames(dir)) {
        auto label = tryNormaliseLanguage(sub);
        if (!label)
            continue;
        const std::string subdir = corpus_files::joinPath(dir, sub);
        for (const auto &name : corpus_files::fileNames(subdir))
            if (fs::path(name).extension() == ".jsonl")
                index.add(*label, corpus_files::joinPath(subdir, name), true);
    }

    std::vector<LanguageCorpus> out;
    for (const auto &files : index.select(languages)) {
        LanguageCorpus lc;
        lc.language = files.language;
        for (const auto &path : files.paths) {
            const std::string fileLevel =
                levelFromTokens(nameTokens(fs::path(path).stem().string()));
            if (level != "all" && !fileLevel.empty() && fileLevel != level)
                continue;
            auto docs = readPolyMathFile(path, lc.language, fileLevel);
            for (auto &d : docs) {
                if (level != "all" && d.level.empty())
                    throw Error(path, "cannot tell the PolyMath level of its records (none in "
                                      "the file name, a 'level' field or the ids)");
                if (level == "all" || d.level == level)
                    lc.documents.push_back(std::move(d));
            }
            lc.source += (lc.source.empty() ? "" : ",") + path;
        }
        std::stable_sort(lc.documents.begin(), lc.documents.end(),
                         [](const Document &a, const Document &b) {
                             return levelRank(a.level) < levelRank(b.level);
                         });
        out.push_back(std::move(lc));
    }
    return out;
}

} // namespace moescope
