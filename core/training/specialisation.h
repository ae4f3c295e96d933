#pragma once

// The demo model card's specialisation figures, measured with MoEScope's own
// analyses on held-out UDHR text (articles 25-30) through the inference
// engine (`moescope demo-report`, tests/training):
//  (a) each grouped language's nearest routing neighbour (routingSimilarity:
//      mean over MoE layers of 1 - JSD of the expert distributions) among all
//      measured languages is in its own group (Romance, Germanic, Slavic,
//      CJK, Indic);
//  (b) Romance vs Germanic: each of es pt it fr / en de nl has its nearest
//      neighbour among those seven in its own group;
//  (c) masking a language's exclusive experts (expertSpecialisation with
//      exclusiveK, exclusiveThreshold; maskExclusivePlan over every layer)
//      raises its held-out bits per byte; the rise is compared with the
//      median rise of the other languages under the same mask.
// Torch-free.

#include "core/training/demo_corpus.h"

#include <cstddef>
#include <string>
#include <vector>

namespace moescope {
class JobContext;
}
namespace moescope::model {
class MoeModel;
}

namespace moescope::training {

struct SpecialisationOptions
{
    std::vector<std::string> languages = demoLanguages();
    int heldOutBytes = 1536; // per language: the start of its held-out text, cut at a character boundary
    int context = 0;         // tokens per window; 0 = the model's max_position_embeddings
    // Exclusive experts, scaled from the study's 128-expert setting (k 15,
    // threshold 0.4) to 16 experts and 22 languages: a language's top 4
    // experts per layer, exclusive when its share of the expert's use
    // exceeds 0.3.
    int exclusiveK = 4;
    double exclusiveThreshold = 0.3;
    std::vector<std::string> maskedLanguages = {"zh", "ru", "hi"};
};

struct LanguageFigures
{
    std::string language, group;
    double bitsPerByte = 0;
    std::size_t bytes = 0;        // bytes scored
    std::string nearest;          // most similar routing among all measured languages
    double nearestSimilarity = 0;
    std::string nearestLatin;     // (b): among the seven, for those seven
};

struct MaskFigures
{
    std::string language;
    std::size_t maskedExperts = 0; // (layer, expert) pairs
    double rise = 0;               // the language's own bits per byte rise
    double medianOtherRise = 0;    // median rise of the other languages
};

struct SpecialisationFigures
{
    std::vector<LanguageFigures> languages;
    int groupLanguages = 0, groupHits = 0; // (a)
    int latinLanguages = 0, latinHits = 0; // (b)
    std::vector<MaskFigures> masks;        // (c)
    double meanBitsPerByte = 0;            // over languages
    double seconds = 0;

    double groupHitRate() const { return groupLanguages ? double(groupHits) / groupLanguages : 0.0; }
};

SpecialisationFigures measureSpecialisation(const model::MoeModel &model, const SpecialisationOptions &options,
                                            const JobContext *job = nullptr);

// Markdown: per-language table and the three figures, beside the control's
// when given.
std::string formatSpecialisation(const SpecialisationFigures &trained, const SpecialisationFigures *control);

} // namespace moescope::training
