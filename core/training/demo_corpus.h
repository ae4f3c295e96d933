#pragma once

// The text the demo model learns from: the bundled UDHR sample
// (core/corpus/udhr_corpus.h; MIT, see resources/corpus/README.md), one byte
// stream per language. Articles 0-24 (the preamble is 0) are training text,
// articles 25-30 are held out for early stopping and for every figure in the
// model card. Torch-free.

#include <string>
#include <vector>

namespace moescope::training {

// The languages the shipped model was trained on: four Romance, three
// Germanic, four Slavic (two scripts), three CJK, three Indic (two scripts)
// and five others (Arabic, Persian, Turkish, Finnish, Greek) that are in no
// group, so a language's nearest neighbour can also land outside its group.
std::vector<std::string> demoLanguages();

// "Romance", "Germanic", "Slavic", "CJK", "Indic", or "" for a language in
// no group.
std::string languageGroup(const std::string &language);

// The seven Latin-script languages of the Romance vs Germanic test.
std::vector<std::string> romanceGermanicLanguages();

inline constexpr int kFirstHeldOutArticle = 25;

struct LanguageText
{
    std::string language;
    std::string train;   // articles 0-24, each followed by a blank line
    std::string heldOut; // articles 25-30, same layout
};

// Throws moescope::Error for a language that is not bundled.
std::vector<LanguageText> demoCorpus(const std::vector<std::string> &languages);

} // namespace moescope::training
