#pragma once

// `moescope evaluate` and every cell of the ablation / steering grids: run a
// model (optionally under a router hook such as a PlanHook) over a corpus and
// measure, per language, what the corpus is for:
//
//   perplexity        text corpora: perplexity and bits per byte of each
//                     document (MoeModel::tokenLogProbs); a document longer
//                     than the window (the model's context, or
//                     prompt.maxTokens) is scored in sliding windows
//                     (perplexityWindows in core/eval/perplexity.h)
//   consistency       generate a continuation (greedy, batched) and ask CLD2
//                     whether it is in the expected language
//   math              MGSM / PolyMath: generate, extract the final answer,
//                     compare with the reference (+ language consistency)
//   qa                XQuAD: generate, exact match / F1 against the answers
//                     (+ language consistency)
//   multiple-choice   Belebele: log-likelihood of each answer after the
//                     prompt; the most likely is the model's choice
//
// Prompts are rendered and tokenised once, when the Evaluation is built, so
// a grid that runs it under many plans pays for that only once.

#include "core/corpus/corpus.h"
#include "core/eval/language_consistency.h"
#include "core/experiments/prompt_encoding.h"

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace moescope {
class JobContext;
class MetricTable;
class Tokenizer;
namespace model {
class MoeModel;
}
namespace routing {
class RouterHook;
}
} // namespace moescope

namespace moescope::experiments {

enum class EvalTask { Perplexity, LanguageConsistency, Math, QuestionAnswering, MultipleChoice };

// "perplexity" | "consistency" | "math" | "qa" | "multiple-choice"; throws Error.
EvalTask parseEvalTask(const std::string &name);
std::string evalTaskName(EvalTask task);
// What a corpus format is for: mgsm/polymath -> math, xquad -> qa,
// belebele -> multiple-choice, every text format -> perplexity.
EvalTask defaultEvalTask(const std::string &corpusFormat);
// The prompt template a task uses unless told otherwise (the study's where
// it had one): raw, raw, math, qa, and for multiple-choice
// "{passage}\n{question}\nAnswer:" followed by " " + each answer.
PromptTemplate defaultEvalTemplate(EvalTask task);
// Whether the task generates continuations (consistency, math, qa) and so
// needs maxNewTokens of room within the model's context.
bool taskGenerates(EvalTask task);

// The sliding window perplexity is scored with: maxLength (0 = the model's
// context) capped at the context, and the stride it advances by (default:
// half the window, the guide's 1024 / 512). length 0: no window (the model
// declares no context and none was given), documents are scored whole.
// Throws Error for a window of 1 token, a stride of 0, a stride without a
// window or longer than it. Evaluation and the GUI's grid panel both use it.
struct PerplexityWindowing
{
    std::size_t length = 0;
    std::size_t stride = 0;
};
PerplexityWindowing resolvePerplexityWindow(std::size_t maxLength, std::optional<std::size_t> stride,
                                            int contextLength);

struct EvaluationOptions
{
    EvalTask task = EvalTask::Perplexity;
    // For perplexity, prompt.maxTokens is the sliding window's length (capped
    // at the model's context, which is also the default) and documents are
    // never truncated; for the other tasks it is the prompt limit.
    PromptOptions prompt;
    // Perplexity: tokens each window advances by (default: half the window,
    // the guide's 1024 / 512). Must be 1..window; other tasks take none.
    std::optional<std::size_t> stride;
    int maxNewTokens = 64;   // generation tasks
    std::size_t batchSize = 8;
    std::size_t maxBatchTokens = 0;
    UnreliableText unreliableLanguage = UnreliableText::Unknown;
};

// One model answer (generation tasks) or choice (multiple-choice).
struct EvaluationOutput
{
    std::string label;
    std::string documentId;
    std::string output; // generated text, or the chosen answer
    double score = 0;   // 1/0 correct (math, multiple-choice), F1 (qa), consistent (consistency),
                        // nats of the document (perplexity)
};

class Evaluation
{
public:
    // Renders and tokenises every prompt. Throws Error for documents the task
    // cannot use (no answer for math/qa, no choices for multiple-choice), for
    // a perplexity window below 2 tokens or a stride outside 1..window, a
    // stride given to another task, and as PromptEncoder.
    Evaluation(const model::MoeModel &model, const Tokenizer &tokenizer, const Corpus &corpus,
               EvaluationOptions options);
    ~Evaluation();
    Evaluation(const Evaluation &) = delete;
    Evaluation &operator=(const Evaluation &) = delete;

    EvalTask task() const;
    // As given, with the perplexity window and stride resolved
    // (prompt.maxTokens 0 = no window: the model declares no context).
    const EvaluationOptions &options() const;
    bool wrapsChat() const;
    // Row labels (languages, or targets), in corpus order.
    const std::vector<std::string> &labels() const;
    // Keeps only prompts whose label is listed; throws Error for a listed
    // label the corpus does not have.
    void keepLabels(const std::vector<std::string> &labels);
    std::size_t promptCount() const;

    // The column that summarises a row ("bits_per_byte", "consistency",
    // "accuracy", "f1") and which direction is better.
    std::string primaryMetric() const;
    bool higherIsBetter() const;
    // Tokens one run processes (prompts plus the generation budget; every
    // window, overlaps included, for perplexity): the progress total.
    std::size_t workTokens() const;

    // Runs every prompt with `hook` in the router (nullptr: the model as is)
    // and appends one row per label, key = keyPrefix + {label}, to table.
    // onTokens(n) after each batch with the tokens it processed. outputs, when
    // given, receives one entry per prompt.
    void run(routing::RouterHook *hook, const std::vector<std::string> &keyPrefix, MetricTable &table,
             const JobContext &job, const std::function<void(std::size_t)> &onTokens = {},
             std::vector<EvaluationOutput> *outputs = nullptr) const;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

} // namespace moescope::experiments
