#include "core/corpus/corpus_files.h"
#include "core/corpus/corpus_readers.h"
#include "core/corpus/language_codes.h"

#include "core/common/error.h"

#include <regex>

namespace moescope {
namespace {

// Splits one TSV record into fields the way pandas.read_csv(sep='\t') does
// for MGSM (the study's loader): a field that starts with '"' is quoted, may
// contain tabs and newlines, and writes a quote as "". A quoted field can run
// over several lines, so `line` advances past every line the record used.
std::vector<std::string> tsvRecord(const std::vector<std::string> &lines, std::size_t &line,
                                   const std::string &path)
{
    using corpus_files::atLine;
    const std::size_t firstLine = line + 1;
    std::string text = lines[line];
    std::vector<std::string> fields;
    std::size_t pos = 0;
    while (true) {
        std::string field;
        if (pos < text.size() && text[pos] == '"') {
            std::size_t j = pos + 1;
            while (true) {
                const std::size_t q = text.find('"', j);
                if (q == std::string::npos) {
                    field += text.substr(j);
                    if (++line >= lines.size())
                        throw Error(path, atLine(firstLine, "unterminated quoted field"));
                    field += '\n';
                    text = lines[line];
                    j = 0;
                    continue;
                }
                field += text.substr(j, q - j);
                if (q + 1 < text.size() && text[q + 1] == '"') {
                    field += '"';
                    j = q + 2;
                    continue;
                }
                pos = q + 1;
                break;
            }
            if (pos < text.size() && text[pos] != '\t')
                throw Error(path, atLine(line + 1, "unexpected text after a closing quote"));
        } else {
            const std::size_t tab = text.find('\t', pos);
            const std::size_t end = tab == std::string::npos ? text.size() : tab;
            field = text.substr(pos, end - pos);
            pos = end;
        }
        fields.push_back(std::move(field));
        if (pos >= text.size())
            break;
        ++pos; // the tab
    }
    ++line;
    return fields;
}

} // namespace

std::vector<Document> readMgsmFile(const std::string &path, const std::string &language)
{
    using corpus_files::atLine;
    const std::string label = normaliseLanguage(language);
    const auto lines = corpus_files::readLines(path);
    std::vector<Document> docs;
    std::size_t line = 0;
    std::size_t number = 0;
    while (line < lines.size()) {
        const std::size_t lineNo = line + 1;
        if (lines[line].find_first_not_of(" \t") == std::string::npos) {
            ++line;
            continue;
        }
        const auto fields = tsvRecord(lines, line, path);
        if (fields.size() != 2)
            throw Error(path, atLine(lineNo, "expected question<TAB>answer, found "
                                                 + std::to_string(fields.size()) + " field(s)"));
        Document d;
        d.language = label;
        // MGSM is parallel: the n-th question is the same problem in every language.
        d.id = "mgsm-" + std::to_string(++number);
        d.question = fields[0];
        d.text = fields[0];
        d.answers = {fields[1]};
        if (d.question.find_first_not_of(" \t\n") == std::string::npos)
            throw Error(path, atLine(lineNo, "empty question"));
        docs.push_back(std::move(d));
    }
    return docs;
}

std::vector<LanguageCorpus> readMgsm(const std::string &dir, const std::vector<std::string> &languages)
{
    static const std::regex pattern(R"(^mgsm_([A-Za-z_-]+)\.tsv$)");
    return corpus_files::readLanguageFiles(
        dir, "mgsm_<lang>.tsv", languages,
        [](const std::string &name) -> std::optional<std::string> {
            std::smatch m;
            return std::regex_match(name, m, pattern) ? std::optional(m[1].str()) : std::nullopt;
        },
        readMgsmFile);
}

} // namespace moescope
