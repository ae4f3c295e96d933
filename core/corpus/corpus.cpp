#include "core/corpus/corpus.h"

namespace moescope {

std::size_t Corpus::documentCount() const
{
    std::size_t n = 0;
    for (const auto &l : languages)
        n += l.documents.size();
    return n;
}

std::vector<std::string> Corpus::labels() const
{
    std::vector<std::string> out;
    out.reserve(languages.size());
    for (const auto &l : languages)
        out.push_back(l.language);
    return out;
}

const LanguageCorpus *Corpus::find(const std::string &label) const
{
    for (const auto &l : languages)
        if (l.language == label)
            return &l;
    return nullptr;
}

} // namespace moescope
