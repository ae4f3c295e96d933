#pragma once

// Language labels for corpora and traces (docs/corpora.md, "Language labels").
//
// A label is ISO 639-1 where the language has a code there ("en", "zh"), the
// ISO 639-3 code otherwise ("yue", "acm"), followed by a script subtag only
// when the text is not in the language's usual script ("zh-Hant", "ar-Latn")
// and a region subtag when the input named one ("pt-BR"). FLORES codes
// (eng_Latn, zho_Hans), ISO 639-3 codes of individual languages inside a
// macrolanguage (arb, cmn, swh, pes, zsm, ...) and ISO 639-2/B codes (ger,
// fre, chi, ...) map onto the same labels, so "eng_Latn", "eng" and "EN" all
// become "en".

#include <optional>
#include <string>
#include <vector>

namespace moescope {

struct LanguageInfo
{
    std::string label;       // normalised label, e.g. "zh-Hant"
    std::string iso639_1;    // "" when the language has no ISO 639-1 code
    std::string iso639_3;    // ISO 639-3 (or 639-2/T) code, e.g. "zho"
    std::string script;      // ISO 15924: the explicit one or the language's usual one
    std::string region;      // ISO 3166 / UN M49 region subtag, "" when none
    std::string englishName; // e.g. "Chinese (Traditional)", "Swahili"
};

// Normalises a language code to its label. Accepts ISO 639-1, ISO 639-3,
// ISO 639-2/B, FLORES-200/FLORES+ codes (xxx_Scrp) and BCP 47 style tags
// (xx-Scrp-RR, '-' or '_' as separator, any case).
// Throws moescope::Error naming the code when it is malformed or unknown.
std::string normaliseLanguage(const std::string &code);

// Like normaliseLanguage() but returns nothing instead of throwing; used when
// guessing a language from a file name.
std::optional<std::string> tryNormaliseLanguage(const std::string &code);

// Everything known about a code (any form normaliseLanguage accepts).
// Throws moescope::Error when the code is malformed or unknown.
LanguageInfo languageInfo(const std::string &code);

// English name of a language as the study's prompts spell it ("Chinese",
// "Swahili"); script and region are added in parentheses when present.
std::string languageEnglishName(const std::string &code);

// ISO 639-1 codes known to the table (for documentation and tests).
std::vector<std::string> knownIso639_1Codes();

} // namespace moescope
