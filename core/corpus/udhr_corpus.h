#pragma once

// The Universal Declaration of Human Rights sample bundled with MoEScope
// (resources/corpus/udhr, README there for provenance and licence). It is
// compiled into the library, so it loads from any working directory without
// installed data files. Articles are aligned across languages by number;
// the preamble is article 0.

#include "core/corpus/corpus.h"

#include <string>
#include <utility>
#include <vector>

namespace moescope {

struct UdhrArticle
{
    int number = 0;    // 0 = preamble, 1..30
    std::string title; // heading in the language, e.g. "Article 1"
    std::vector<std::string> paragraphs;
};

struct UdhrDeclaration
{
    std::string language;  // label, e.g. "zh"
    std::string name;      // the udhr package's name, e.g. "Chinese, Mandarin (Simplified)"
    std::string udhrCode;  // the udhr package's translation code, e.g. "cmn_hans"
    std::string title;     // the declaration's title in the language
    std::string direction; // "ltr" | "rtl"
    std::string source;    // package file it was converted from
    std::vector<UdhrArticle> articles; // ascending by number
};

// Labels of the bundled languages, sorted.
std::vector<std::string> bundledUdhrLanguages();

// One bundled translation; the code may be in any form normaliseLanguage
// accepts. Throws moescope::Error when the language is not bundled.
UdhrDeclaration bundledUdhr(const std::string &language);

enum class UdhrUnit {
    Articles,   // one document per article (paragraphs joined by newlines)
    Paragraphs, // one document per paragraph
};

// Documents of one declaration. articleRanges are inclusive [first, last]
// article-number ranges to keep; empty keeps every article. Ids are
// "article-N" (or "article-N.P" for paragraph P, from 1), so they align
// across languages by article.
std::vector<Document> udhrDocuments(const UdhrDeclaration &declaration, UdhrUnit unit,
                                    const std::vector<std::pair<int, int>> &articleRanges = {});

} // namespace moescope
