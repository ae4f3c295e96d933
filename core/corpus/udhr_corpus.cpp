#include "core/corpus/udhr_corpus.h"

#include "core/corpus/language_codes.h"
#include "core/corpus/udhr_data.h"

#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace moescope {
namespace {

const char *kResourceName = "bundled UDHR";

std::string resourcePath(const std::string &label)
{
    return std::string("resources/corpus/udhr/") + label + ".json";
}

} // namespace

std::vector<std::string> bundledUdhrLanguages()
{
    std::vector<std::string> labels;
    for (std::size_t i = 0; i < udhr_data::kFileCount; ++i)
        labels.emplace_back(udhr_data::kFiles[i].language);
    std::sort(labels.begin(), labels.end());
    return labels;
}

UdhrDeclaration bundledUdhr(const std::string &language)
{
    const std::string label = normaliseLanguage(language);
    const udhr_data::EmbeddedFile *file = nullptr;
    for (std::size_t i = 0; i < udhr_data::kFileCount; ++i)
        if (label == udhr_data::kFiles[i].language)
            file = &udhr_data::kFiles[i];
    if (!file)
        throw Error(kResourceName, "language '" + label
                                       + "' is not bundled (moescope corpus --list shows "
                                         "the bundled languages)");

    // The data is ours and checked by the tests, but a parse failure should
    // still say which file is broken rather than abort.
    const std::string path = resourcePath(label);
    UdhrDeclaration d;
    try {
        const auto root = nlohmann::json::parse(file->json, file->json + file->size);
        d.language = root.at("language").get<std::string>();
        d.name = root.at("name").get<std::string>();
        d.udhrCode = root.at("udhr_code").get<std::string>();
        d.title = root.value("title", std::string());
        d.direction = root.value("direction", std::string("ltr"));
        d.source = root.value("source", std::string());
        for (const auto &a : root.at("articles")) {
            UdhrArticle article;
            article.number = a.at("number").get<int>();
            article.title = a.value("title", std::string());
            article.paragraphs = a.at("paragraphs").get<std::vector<std::string>>();
            d.articles.push_back(std::move(article));
        }
    } catch (const nlohmann::json::exception &e) {
        throw Error(path, std::string("malformed bundled data: ") + e.what());
    }
    if (d.language != label)
        throw Error(path, "declares language '" + d.language + "'");
    std::sort(d.articles.begin(), d.articles.end(),
              [](const auto &a, const auto &b) { return a.number < b.number; });
    return d;
}

std::vector<Document> udhrDocuments(const UdhrDeclaration &declaration, UdhrUnit unit,
                                    const std::vector<std::pair<int, int>> &articleRanges)
{
    auto wanted = [&](int number) {
        if (articleRanges.empty())
            return true;
        return std::any_of(articleRanges.begin(), articleRanges.end(),
                           [&](const auto &r) { return number >= r.first && number <= r.second; });
    };
    std::vector<Document> docs;
    for (const auto &article : declaration.articles) {
        if (!wanted(article.number))
            continue;
        const std::string id = "article-" + std::to_string(article.number);
        auto make = [&](std::string idText, std::string text) {
            Document doc;
            doc.language = declaration.language;
            doc.id = std::move(idText);
            doc.text = std::move(text);
            doc.article = article.number;
            if (!article.title.empty())
                doc.fields["title"] = article.title;
            docs.push_back(std::move(doc));
        };
        if (unit == UdhrUnit::Articles) {
            std::string text;
            for (const auto &p : article.paragraphs)
                text += (text.empty() ? "" : "\n") + p;
            if (!text.empty())
                make(id, text);
        } else {
            for (std::size_t p = 0; p < article.paragraphs.size(); ++p)
                if (!article.paragraphs[p].empty())
                    make(id + "." + std::to_string(p + 1), article.paragraphs[p]);
        }
    }
    return docs;
}

} // namespace moescope
