#pragma once

// Corpus SPEC strings, as given to `moescope record --corpus SPEC` and the
// GUI (docs/corpora.md):
//
//   udhr:en,zh,de                     bundled UDHR sample (udhr:all = every language)
//   udhr:en,zh?articles=1-24          a subset of articles (0 = preamble)
//   text:PATH?lang=en&split=lines     plain text, one document per line or paragraph
//   jsonl:PATH?field=text&lang=fr     JSON Lines, one document per record
//   flores:DIR?split=devtest&langs=eng_Latn,zho_Hans
//   mgsm:DIR?langs=en,zh
//   polymath:DIR?langs=en,zh&level=low
//   xquad:DIR?langs=en,de
//   belebele:DIR?langs=eng_Latn,zho_Hans
//
// Every format also takes limit=N (first N documents of each language).

#include "core/corpus/corpus.h"

#include <map>
#include <string>
#include <vector>

namespace moescope {

struct CorpusSpec
{
    std::string format;   // udhr | text | jsonl | flores | mgsm | polymath | xquad | belebele
    std::string location; // file or directory; for udhr the language list as written
    std::vector<std::string> languages;         // normalised labels, in the order given;
                                                // empty = every language found
    std::map<std::string, std::string> options; // the other key=value options

    // Canonical text: same spec, same string (stored in traces as provenance).
    std::string toString() const;
    // An option's value, or fallback when it was not given.
    std::string option(const std::string &key, const std::string &fallback = {}) const;
};

// Parses and validates a spec (format, option names and values, language
// codes). Throws moescope::Error naming the spec and the reason.
CorpusSpec parseCorpusSpec(const std::string &text);

// Reads the documents a spec names. Throws moescope::Error(file, reason) for
// missing files, malformed records (with their line number), unknown
// languages, and a language that ends up with no documents.
Corpus loadCorpus(const CorpusSpec &spec);
Corpus loadCorpus(const std::string &spec);

// Format names with a one-line description each, for --help texts.
std::vector<std::pair<std::string, std::string>> corpusFormats();

} // namespace moescope
