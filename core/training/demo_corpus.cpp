#include "core/training/demo_corpus.h"

#include "core/corpus/udhr_corpus.h"

#include <map>

namespace moescope::training {

std::vector<std::string> demoLanguages()
{
    return {"es", "pt", "it", "fr", "en", "de", "nl", "ru", "uk", "pl", "cs",
            "zh", "ja", "ko", "hi", "mr", "bn", "ar", "fa", "tr", "fi", "el"};
}

std::string languageGroup(const std::string &language)
{
    static const std::map<std::string, std::string> groups = {
        {"es", "Romance"}, {"pt", "Romance"}, {"it", "Romance"}, {"fr", "Romance"}, {"ro", "Romance"},
        {"ca", "Romance"}, {"en", "Germanic"}, {"de", "Germanic"}, {"nl", "Germanic"}, {"sv", "Germanic"},
        {"da", "Germanic"}, {"nb", "Germanic"}, {"ru", "Slavic"}, {"uk", "Slavic"}, {"pl", "Slavic"},
        {"cs", "Slavic"}, {"sk", "Slavic"}, {"bg", "Slavic"}, {"sr", "Slavic"}, {"hr", "Slavic"},
        {"sl", "Slavic"}, {"zh", "CJK"}, {"zh-Hant", "CJK"}, {"yue", "CJK"}, {"ja", "CJK"},
        {"ko", "CJK"}, {"hi", "Indic"}, {"mr", "Indic"}, {"bn", "Indic"}, {"ne", "Indic"},
        {"gu", "Indic"}, {"pa", "Indic"}, {"ur", "Indic"}};
    const auto it = groups.find(language);
    return it == groups.end() ? std::string() : it->second;
}

std::vector<std::string> romanceGermanicLanguages()
{
    return {"es", "pt", "it", "fr", "en", "de", "nl"};
}

std::vector<LanguageText> demoCorpus(const std::vector<std::string> &languages)
{
    std::vector<LanguageText> out;
    for (const auto &language : languages) {
        const auto declaration = bundledUdhr(language);
        LanguageText text;
        text.language = language;
        for (const auto &article : declaration.articles) {
            std::string body;
            for (const auto &paragraph : article.paragraphs)
                body += paragraph + "\n";
            body += "\n";
            (article.number < kFirstHeldOutArticle ? text.train : text.heldOut) += body;
        }
        out.push_back(std::move(text));
    }
    return out;
}

} // namespace moescope::training
