#include "core/corpus/corpus_files.h"
#include "core/corpus/corpus_readers.h"
#include "core/corpus/language_codes.h"

#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace moescope {

std::vector<Document> readBelebeleFile(const std::string &path, const std::string &language)
{
    using namespace corpus_files;
    const std::string label = normaliseLanguage(language);
    const auto lines = readLines(path);
    std::vector<Document> docs;
    std::size_t number = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t lineNo = i + 1;
        if (lines[i].find_first_not_of(" \t") == std::string::npos)
            continue;
        const auto record = parseJsonLine(path, lineNo, lines[i]);
        Document d;
        d.language = label;
        // Belebele files list the same questions in the same order for every
        // language, so the position is the alignment key.
        d.id = "belebele-" + std::to_string(++number);
        d.passage = stringField(record, "flores_passage", path, lineNo, true);
        d.question = stringField(record, "question", path, lineNo, true);
        for (int k = 1; k <= 4; ++k)
            d.choices.push_back(
                stringField(record, "mc_answer" + std::to_string(k), path, lineNo, true));
        const std::string correct = stringField(record, "correct_answer_num", path, lineNo, true);
        if (correct.size() != 1 || correct[0] < '1' || correct[0] > '4')
            throw Error(path, atLine(lineNo, "correct_answer_num must be 1..4, not '" + correct
                                                 + "'"));
        d.correctChoice = correct[0] - '1';
        d.answers = {d.choices[static_cast<std::size_t>(*d.correctChoice)]};
        // The study's Belebele routing prompt (routing/infer_batch_belebele.py):
        // passage, question and the lettered options, one per line.
        // Python's str.strip() there trims the whole prompt; so do we.
        const std::string prompt = d.passage + "\n" + d.question + "\nA. " + d.choices[0]
            + "\nB. " + d.choices[1] + "\nC. " + d.choices[2] + "\nD. " + d.choices[3];
        const char *space = " \t\r\n\v\f";
        const auto first = prompt.find_first_not_of(space);
        d.text = first == std::string::npos
            ? std::string()
            : prompt.substr(first, prompt.find_last_not_of(space) - first + 1);
        for (const char *key : {"link", "question_number", "dialect"}) {
            const std::string v = stringField(record, key, path, lineNo, false);
            if (!v.empty())
                d.fields[key] = v;
        }
        docs.push_back(std::move(d));
    }
    return docs;
}

std::vector<LanguageCorpus> readBelebele(const std::string &dir,
                                         const std::vector<std::string> &languages)
{
    // The Hugging Face snapshot keeps the files in data/.
    std::string folder = dir;
    corpus_files::requireDirectory(dir);
    const std::string dataDir = corpus_files::joinPath(dir, "data");
    std::error_code ec;
    if (std::filesystem::is_directory(dataDir, ec))
        folder = dataDir;

    corpus_files::LanguageFileIndex index(folder, "Belebele <flores_code>.jsonl");
    for (const auto &name : corpus_files::fileNames(folder)) {
        const std::filesystem::path p(name);
        if (p.extension() != ".jsonl")
            continue;
        if (auto label = tryNormaliseLanguage(p.stem().string()))
            index.add(*label, corpus_files::joinPath(folder, name));
    }
    std::vector<LanguageCorpus> out;
    for (const auto &files : index.select(languages)) {
        LanguageCorpus lc;
        lc.language = files.language;
        lc.source = files.paths.front();
        lc.documents = readBelebeleFile(lc.source, lc.language);
        out.push_back(std::move(lc));
    }
    return out;
}

} // namespace moescope
