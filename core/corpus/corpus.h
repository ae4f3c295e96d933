#pragma once

// Plain data for multilingual corpora: what the readers produce and what
// recording, ablation and evaluation consume (docs/corpora.md).

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace moescope {

// One prompt-able unit: a sentence, a paragraph, a question, an article.
// Optional parts are empty when the format has no such field.
struct Document
{
    std::string language; // normalised label (core/corpus/language_codes.h)
    std::string id;       // stable within the corpus; aligned ids across languages
                          // where the dataset is parallel (FLORES, XQuAD, UDHR, ...)
    std::string text;     // what is recorded when no prompt template is applied

    std::string question;             // MGSM, PolyMath, XQuAD, Belebele
    std::vector<std::string> answers; // reference answer(s), first is the canonical one
    std::string passage;              // XQuAD context, Belebele flores_passage
    std::vector<std::string> choices; // Belebele mc_answer1..4
    std::optional<int> correctChoice; // 0-based index into choices
    std::string level;                // PolyMath: low | medium | high | top
    std::optional<int> article;       // UDHR: article number, 0 = preamble
    std::map<std::string, std::string> fields; // anything else the source had (link, title, ...)
};

// The documents of one language, in the source's order.
struct LanguageCorpus
{
    std::string language;
    std::vector<Document> documents;
    std::string source;           // file (or bundled resource) they came from
    std::size_t skippedEmpty = 0; // records whose text was empty and were left out
};

// A corpus: languages in a stable order (the order the spec listed them, or
// sorted by label), each with its documents. Loading the same spec twice gives
// the same Corpus.
struct Corpus
{
    std::string spec; // canonical spec text it was loaded from
    std::vector<LanguageCorpus> languages;

    std::size_t documentCount() const;
    std::vector<std::string> labels() const;
    // nullptr when the language is not in the corpus.
    const LanguageCorpus *find(const std::string &label) const;
};

} // namespace moescope
