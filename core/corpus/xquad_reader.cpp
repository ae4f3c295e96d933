#include "core/corpus/corpus_files.h"
#include "core/corpus/corpus_readers.h"
#include "core/corpus/language_codes.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <regex>

namespace moescope {
namespace {

using nlohmann::json;

const json &member(const json &object, const char *key, const std::string &where,
                   const std::string &path, json::value_t type)
{
    auto it = object.find(key);
    if (it == object.end() || it->type() != type)
        throw Error(path, where + ": missing or mistyped '" + key + "'");
    return *it;
}

std::vector<Document> readXquadRecords(const std::string &path, const std::string &label)
{
    corpus_files::requireFile(path);
    json root;
    try {
        root = json::parse(readFile(path));
    } catch (const json::parse_error &e) {
        throw Error(path, "malformed JSON at byte " + std::to_string(e.byte));
    }
    if (!root.is_object())
        throw Error(path, "expected a SQuAD-format object with a 'data' array");
    const json &data = member(root, "data", "top level", path, json::value_t::array);

    std::vector<Document> docs;
    for (std::size_t a = 0; a < data.size(); ++a) {
        const std::string articleWhere = "data[" + std::to_string(a) + "]";
        if (!data[a].is_object())
            throw Error(path, articleWhere + ": expected an object");
        const std::string title = data[a].value("title", std::string());
        const json &paragraphs =
            member(data[a], "paragraphs", articleWhere, path, json::value_t::array);
        for (std::size_t p = 0; p < paragraphs.size(); ++p) {
            const std::string where = articleWhere + ".paragraphs[" + std::to_string(p) + "]";
            if (!paragraphs[p].is_object())
                throw Error(path, where + ": expected an object");
            const std::string context =
                member(paragraphs[p], "context", where, path, json::value_t::string)
                    .get<std::string>();
            const json &qas = member(paragraphs[p], "qas", where, path, json::value_t::array);
            for (std::size_t q = 0; q < qas.size(); ++q) {
                const std::string qWhere = where + ".qas[" + std::to_string(q) + "]";
                if (!qas[q].is_object())
                    throw Error(path, qWhere + ": expected an object");
                Document d;
                d.language = label;
                // XQuAD keeps SQuAD's question ids, identical across languages.
                d.id = member(qas[q], "id", qWhere, path, json::value_t::string)
                           .get<std::string>();
                d.question = member(qas[q], "question", qWhere, path, json::value_t::string)
                                 .get<std::string>();
                d.passage = context;
                d.text = context + "\n" + d.question;
                auto answers = qas[q].find("answers");
                if (answers != qas[q].end() && answers->is_array())
                    for (const auto &ans : *answers)
                        if (ans.is_object() && ans.contains("text") && ans["text"].is_string())
                            d.answers.push_back(ans["text"].get<std::string>());
                if (!title.empty())
                    d.fields["title"] = title;
                docs.push_back(std::move(d));
            }
        }
    }
    return docs;
}

} // namespace

std::vector<Document> readXquadFile(const std::string &path, const std::string &language)
{
    try {
        return readXquadRecords(path, normaliseLanguage(language));
    } catch (const json::exception &e) {
        // A field of an unexpected type deep inside the file.
        throw Error(path, std::string("unexpected SQuAD structure: ") + e.what());
    }
}

std::vector<LanguageCorpus> readXquad(const std::string &dir, const std::vector<std::string> &languages)
{
    static const std::regex pattern(R"(^xquad\.([A-Za-z_-]+)\.json$)");
    return corpus_files::readLanguageFiles(
        dir, "xquad.<lang>.json", languages,
        [](const std::string &name) -> std::optional<std::string> {
            std::smatch m;
            return std::regex_match(name, m, pattern) ? std::optional(m[1].str()) : std::nullopt;
        },
        readXquadFile);
}

} // namespace moescope
