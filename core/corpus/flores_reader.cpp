#include "core/corpus/corpus_files.h"
#include "core/corpus/corpus_readers.h"
#include "core/corpus/language_codes.h"

#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <regex>

namespace moescope {
namespace {

// Sentences of one FLORES file. Ids are "<split>-<n>" with n the 1-based
// sentence number, which is what aligns the languages of FLORES.
LanguageCorpus readFloresFile(const std::string &path, const std::string &label,
                              const std::string &split)
{
    using namespace corpus_files;
    LanguageCorpus lc;
    lc.language = label;
    lc.source = path;
    const bool jsonl = std::filesystem::path(path).extension() == ".jsonl";
    const auto lines = readLines(path);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t lineNo = i + 1;
        Document d;
        d.language = label;
        d.id = split + "-" + std::to_string(lineNo);
        if (jsonl) {
            if (lines[i].find_first_not_of(" \t") == std::string::npos)
                continue;
            const auto record = parseJsonLine(path, lineNo, lines[i]);
            d.text = stringField(record, "text", path, lineNo, true);
            // FLORES+ records carry their own 1-based sentence id.
            const std::string id = stringField(record, "id", path, lineNo, false);
            if (!id.empty())
                d.id = split + "-" + id;
            for (const char *key : {"url", "domain", "topic"}) {
                const std::string v = stringField(record, key, path, lineNo, false);
                if (!v.empty())
                    d.fields[key] = v;
            }
        } else {
            d.text = lines[i];
        }
        if (d.text.find_first_not_of(" \t") == std::string::npos) {
            ++lc.skippedEmpty;
            continue;
        }
        lc.documents.push_back(std::move(d));
    }
    return lc;
}

} // namespace

std::vector<LanguageCorpus> readFlores(const std::string &dir, const std::string &split,
                                       const std::vector<std::string> &languages)
{
    if (split != "dev" && split != "devtest")
        throw Error(dir, "FLORES split must be dev or devtest, not '" + split + "'");
    corpus_files::requireDirectory(dir);

    // DIR may be the dataset root (with dev/ and devtest/) or the split folder.
    std::string folder = dir;
    const std::string splitDir = corpus_files::joinPath(dir, split);
    std::error_code ec;
    if (std::filesystem::is_directory(splitDir, ec))
        folder = splitDir;

    // eng_Latn.devtest (FLORES-200), devtest.eng_Latn (FLORES+),
    // eng_Latn.jsonl or devtest.eng_Latn.jsonl (FLORES+ exported from parquet).
    static const std::regex pattern(
        R"(^(?:(dev|devtest)\.)?([a-z]{3}_[A-Za-z]{4})(?:\.(dev|devtest))?(\.jsonl|\.txt)?$)");
    corpus_files::LanguageFileIndex index(folder, "FLORES " + split);
    bool sawParquet = false;
    for (const auto &name : corpus_files::fileNames(folder)) {
        if (name.ends_with(".parquet"))
            sawParquet = true;
        std::smatch m;
        if (!std::regex_match(name, m, pattern))
            continue;
        const std::string fileSplit = m[1].matched ? m[1].str() : m[3].str();
        if (!fileSplit.empty() && fileSplit != split)
            continue;
        auto label = tryNormaliseLanguage(m[2].str());
        if (!label)
            continue;
        index.add(*label, corpus_files::joinPath(folder, name));
    }
    if (index.empty() && sawParquet)
        throw Error(folder, "FLORES+ parquet files cannot be read; export each language to "
                            "JSON Lines (<code>.jsonl with a \"text\" field), see docs/corpora.md");

    std::vector<LanguageCorpus> out;
    for (const auto &files : index.select(languages))
        out.push_back(readFloresFile(files.paths.front(), files.language, split));
    return out;
}

} // namespace moescope
