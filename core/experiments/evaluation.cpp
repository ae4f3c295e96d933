#include "core/experiments/evaluation.h"

#include "core/common/error.h"
#include "core/eval/math_answer.h"
#include "core/eval/metric_table.h"
#include "core/eval/multiple_choice.h"
#include "core/eval/perplexity.h"
#include "core/eval/span_answer.h"
#include "core/experiments/text_generation.h"
#include "core/jobs/job_context.h"
#include "core/model/moe_model.h"
#include "core/model/tokenizer/tokenizer.h"

#include <algorithm>
#include <cmath>

namespace moescope::experiments {

EvalTask parseEvalTask(const std::string &name)
{
    if (name == "perplexity")
        return EvalTask::Perplexity;
    if (name == "consistency")
        return EvalTask::LanguageConsistency;
    if (name == "math")
        return EvalTask::Math;
    if (name == "qa")
        return EvalTask::QuestionAnswering;
    if (name == "multiple-choice")
        return EvalTask::MultipleChoice;
    throw Error("unknown evaluation task '" + name + "' (perplexity, consistency, math, qa, multiple-choice)");
}

std::string evalTaskName(EvalTask task)
{
    switch (task) {
    case EvalTask::Perplexity:
        return "perplexity";
    case EvalTask::LanguageConsistency:
        return "consistency";
    case EvalTask::Math:
        return "math";
    case EvalTask::QuestionAnswering:
        return "qa";
    case EvalTask::MultipleChoice:
        return "multiple-choice";
    }
    return "perplexity";
}

EvalTask defaultEvalTask(const std::string &format)
{
    if (format == "mgsm" || format == "polymath")
        return EvalTask::Math;
    if (format == "xquad")
        return EvalTask::QuestionAnswering;
    if (format == "belebele")
        return EvalTask::MultipleChoice;
    return EvalTask::Perplexity;
}

PromptTemplate defaultEvalTemplate(EvalTask task)
{
    switch (task) {
    case EvalTask::Math:
        return promptTemplate("math");
    case EvalTask::QuestionAnswering:
        return promptTemplate("qa");
    case EvalTask::MultipleChoice: {
        PromptTemplate t;
        t.name = "answer-likelihood";
        t.body = "{passage}\n{question}\nAnswer:";
        t.description = "Belebele prompt whose continuation ' <answer>' is scored";
        return t;
    }
    case EvalTask::Perplexity:
    case EvalTask::LanguageConsistency:
        break;
    }
    return promptTemplate("raw");
}

bool taskGenerates(EvalTask task)
{
    return task != EvalTask::Perplexity && task != EvalTask::MultipleChoice;
}

PerplexityWindowing resolvePerplexityWindow(std::size_t maxLength, std::optional<std::size_t> stride,
                                            int contextLength)
{
    PerplexityWindowing w;
    w.length = promptTokenLimit(maxLength, contextLength, 0);
    if (w.length == 1)
        throw Error("--max-length must be at least 2 for perplexity (a window's first token is context only)");
    if (stride && *stride == 0)
        throw Error("--stride must be at least 1");
    if (stride && w.length == 0)
        throw Error("--stride needs a window: the model declares no context length; give --max-length");
    if (stride && *stride > w.length)
        throw Error("--stride " + std::to_string(*stride) + " is longer than the window of "
                    + std::to_string(w.length) + " tokens (--max-length, or the model's context)");
    w.stride = stride ? *stride : w.length / 2; // length >= 2, so at least 1
    return w;
}

namespace {

// A sequence that tokenLogProbs scores: tokens [scoredFrom, ids.size()) count.
// Perplexity: one window of item's document; multiple-choice: one answer.
struct ScoredSequence
{
    std::size_t item = 0;
    std::size_t choice = 0;
    std::vector<std::int64_t> ids;
    std::size_t scoredFrom = 1;
};

std::size_t commonPrefix(const std::vector<std::int64_t> &a, const std::vector<std::int64_t> &b)
{
    std::size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n])
        ++n;
    return n;
}

} // namespace

struct Evaluation::Impl
{
    const model::MoeModel &model;
    const Tokenizer &tokenizer;
    EvaluationOptions options;
    std::unique_ptr<PromptEncoder> encoder;
    std::vector<PromptItem> items;
    std::vector<std::string> labels;
    // perplexity: bytes of text the scored tokens cover, per item
    std::vector<std::size_t> scoredBytes;
    // perplexity: the windows of every item, in item and window order;
    // multiple-choice: one sequence per item and choice
    std::vector<ScoredSequence> sequences;
    model::GenerationOptions generation;

    Impl(const model::MoeModel &m, const Tokenizer &t, EvaluationOptions o)
        : model(m), tokenizer(t), options(std::move(o))
    {
    }

    void rebuildDerived();
    std::size_t workTokens() const;
    std::vector<std::vector<std::size_t>> batchesOf(const std::vector<std::size_t> &lengths) const
    {
        return lengthSortedBatches(lengths, options.batchSize, options.maxBatchTokens);
    }
};

void Evaluation::Impl::rebuildDerived()
{
    labels.clear();
    for (const auto &item : items)
        if (std::find(labels.begin(), labels.end(), item.label) == labels.end())
            labels.push_back(item.label);
    scoredBytes.clear();
    sequences.clear();
    if (options.task == EvalTask::Perplexity) {
        for (const auto &item : items) {
            if (item.ids.size() < 2)
                throw Error("document '" + item.document->id + "' (" + item.label
                            + ") has a single token; perplexity needs two");
            const std::vector<std::int32_t> all(item.ids.begin(), item.ids.end());
            const std::vector<std::int32_t> first(item.ids.begin(), item.ids.begin() + 1);
            const auto whole = tokenizer.decode(all, true).size();
            const auto head = tokenizer.decode(first, true).size();
            // Every token after the first is scored once, whatever the
            // windows, so the bytes are those of the whole text minus the first
            // token's: no window's overlap is counted twice.
            scoredBytes.push_back(whole > head ? whole - head : 0);
        }
        const std::size_t window = options.prompt.maxTokens;
        for (std::size_t i = 0; i < items.size(); ++i) {
            const auto &ids = items[i].ids;
            if (window == 0 || ids.size() <= window) {
                sequences.push_back({i, 0, ids, 1});
                continue;
            }
            for (const auto &w : perplexityWindows(ids.size(), window, *options.stride)) {
                const auto from = ids.begin() + static_cast<std::ptrdiff_t>(w.begin);
                const auto to = ids.begin() + static_cast<std::ptrdiff_t>(w.end);
                sequences.push_back({i, 0, {from, to}, w.scoredFrom - w.begin});
            }
        }
    }
    if (options.task == EvalTask::MultipleChoice) {
        for (std::size_t i = 0; i < items.size(); ++i) {
            const auto &doc = *items[i].document;
            for (std::size_t c = 0; c < doc.choices.size(); ++c) {
                ScoredSequence s;
                s.item = i;
                s.choice = c;
                s.ids = encoder->encode(items[i].text + " " + doc.choices[c]);
                s.scoredFrom = std::max<std::size_t>(1, commonPrefix(items[i].ids, s.ids));
                if (s.scoredFrom >= s.ids.size())
                    throw Error("document '" + doc.id + "' (" + items[i].label + "): answer "
                                + std::to_string(c + 1) + " adds no tokens to the prompt");
                sequences.push_back(std::move(s));
            }
        }
    }
}

std::size_t Evaluation::Impl::workTokens() const
{
    std::size_t n = 0;
    if (options.task == EvalTask::MultipleChoice || options.task == EvalTask::Perplexity) {
        for (const auto &s : sequences)
            n += s.ids.size();
        return n;
    }
    for (const auto &item : items)
        n += item.ids.size() + static_cast<std::size_t>(options.maxNewTokens);
    return n;
}

Evaluation::Evaluation(const model::MoeModel &model, const Tokenizer &tokenizer, const Corpus &corpus,
                       EvaluationOptions options)
    : m(std::make_unique<Impl>(model, tokenizer, std::move(options)))
{
    auto &o = m->options;
    if (o.batchSize == 0)
        throw Error("--batch-size must be at least 1");
    const bool generates = taskGenerates(o.task);
    if (generates && o.maxNewTokens < 1)
        throw Error("--max-new-tokens must be at least 1 for task " + evalTaskName(o.task));
    const std::size_t budget = generates ? static_cast<std::size_t>(o.maxNewTokens) : 0;
    o.prompt.maxTokens = promptTokenLimit(o.prompt.maxTokens, model.spec().maxPositions, budget);
    PromptOptions encoding = o.prompt;
    if (o.task == EvalTask::Perplexity) {
        // The length limit is the sliding window's, not a cut: documents are
        // encoded whole and scored window by window (rebuildDerived).
        const auto window = resolvePerplexityWindow(o.prompt.maxTokens, o.stride, model.spec().maxPositions);
        o.prompt.maxTokens = window.length;
        o.stride = window.length > 0 ? std::optional<std::size_t>(window.stride) : std::nullopt;
        o.prompt.truncate = false;
        encoding.maxTokens = 0;
        encoding.truncate = false;
    } else if (o.stride) {
        throw Error("--stride applies to task perplexity only, not " + evalTaskName(o.task));
    }
    m->encoder = std::make_unique<PromptEncoder>(tokenizer, chatFormatOf(model.directory()), encoding);
    m->items = m->encoder->items(corpus);
    if (m->items.empty())
        throw Error(corpus.spec, "the corpus has no documents to evaluate");
    for (const auto &item : m->items) {
        const auto &doc = *item.document;
        const auto where = "document '" + doc.id + "' (" + doc.language + ")";
        if ((o.task == EvalTask::Math || o.task == EvalTask::QuestionAnswering) && doc.answers.empty())
            throw Error(corpus.spec, where + " has no reference answer; task " + evalTaskName(o.task)
                                         + " needs one (use --task perplexity or consistency)");
        if (o.task == EvalTask::MultipleChoice && (doc.choices.size() < 2 || !doc.correctChoice))
            throw Error(corpus.spec, where + " has no answer choices; task multiple-choice needs them");
    }
    m->generation.maxNewTokens = o.maxNewTokens;
    auto stops = defaultStopTokens(model, &tokenizer);
    if (m->encoder->wrapsChat())
        for (const auto &text : m->encoder->chat().endOfTurn)
            if (const auto id = tokenizer.tokenId(text))
                stops.push_back(*id);
    m->generation.stopTokens = stops;
    m->rebuildDerived();
}

Evaluation::~Evaluation() = default;

EvalTask Evaluation::task() const
{
    return m->options.task;
}

const EvaluationOptions &Evaluation::options() const
{
    return m->options;
}

bool Evaluation::wrapsChat() const
{
    return m->encoder->wrapsChat();
}

const std::vector<std::string> &Evaluation::labels() const
{
    return m->labels;
}

std::size_t Evaluation::promptCount() const
{
    return m->items.size();
}

void Evaluation::keepLabels(const std::vector<std::string> &keep)
{
    for (const auto &label : keep)
        if (std::find(m->labels.begin(), m->labels.end(), label) == m->labels.end())
            throw Error("the evaluation corpus has no language '" + label + "'");
    std::vector<PromptItem> kept;
    for (auto &item : m->items)
        if (std::find(keep.begin(), keep.end(), item.label) != keep.end())
            kept.push_back(std::move(item));
    m->items = std::move(kept);
    m->rebuildDerived();
}

std::string Evaluation::primaryMetric() const
{
    switch (m->options.task) {
    case EvalTask::Perplexity:
        return "bits_per_byte";
    case EvalTask::LanguageConsistency:
        return "consistency";
    case EvalTask::QuestionAnswering:
        return "f1";
    case EvalTask::Math:
    case EvalTask::MultipleChoice:
        break;
    }
    return "accuracy";
}

bool Evaluation::higherIsBetter() const
{
    return m->options.task != EvalTask::Perplexity;
}

std::size_t Evaluation::workTokens() const
{
    return m->workTokens();
}

void Evaluation::run(routing::RouterHook *hook, const std::vector<std::string> &keyPrefix, MetricTable &table,
                     const JobContext &job, const std::function<void(std::size_t)> &onTokens,
                     std::vector<EvaluationOutput> *outputs) const
{
    const auto &o = m->options;
    const auto &items = m->items;
    JobContext quiet = job; // shares cancellation, not the engine's own progress reports
    quiet.setProgressCallback({});
    if (outputs)
        outputs->clear();
    auto record = [&](const PromptItem &item, std::string text, double score) {
        if (outputs)
            outputs->push_back({item.label, item.document->id, std::move(text), score});
    };

    // Log-likelihood of each sequence's scored tokens, batched by length.
    const auto scoreSequences = [&] {
        const auto &seqs = m->sequences;
        std::vector<double> scores(seqs.size(), 0.0);
        std::vector<std::size_t> lengths;
        for (const auto &s : seqs)
            lengths.push_back(s.ids.size());
        for (const auto &batch : m->batchesOf(lengths)) {
            job.checkCancelled();
            std::vector<std::vector<std::int64_t>> rows;
            std::size_t tokens = 0;
            for (const auto index : batch) {
                rows.push_back(seqs[index].ids);
                tokens += seqs[index].ids.size();
            }
            const auto logProbs = m->model.tokenLogProbs(rows, hook, &quiet);
            for (std::size_t r = 0; r < batch.size(); ++r) {
                const auto &s = seqs[batch[r]];
                double sum = 0;
                // logProbs[r][p - 1] is log p(token p | tokens before it).
                for (auto p = s.scoredFrom; p < s.ids.size(); ++p)
                    sum += logProbs[r][p - 1];
                scores[batch[r]] = sum;
            }
            if (onTokens)
                onTokens(tokens);
        }
        return scores;
    };

    if (o.task == EvalTask::Perplexity) {
        const auto &seqs = m->sequences;
        const auto logLikelihoods = scoreSequences();
        std::vector<double> nll(items.size(), 0.0);
        std::vector<std::size_t> scored(items.size(), 0);
        // Windows summed in document order, whatever the batch order was.
        for (std::size_t s = 0; s < seqs.size(); ++s) {
            nll[seqs[s].item] -= logLikelihoods[s];
            scored[seqs[s].item] += seqs[s].ids.size() - seqs[s].scoredFrom;
        }
        PerplexityByLabel perplexity;
        for (std::size_t i = 0; i < items.size(); ++i) {
            perplexity.add(items[i].label, nll[i], scored[i], m->scoredBytes[i]);
            record(items[i], {}, nll[i]);
        }
        perplexity.appendTo(table, keyPrefix);
        return;
    }

    if (o.task == EvalTask::MultipleChoice) {
        const auto scores = scoreSequences();
        MultipleChoiceAccuracy accuracy;
        std::size_t next = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            const auto &doc = *items[i].document;
            std::vector<double> ll, bytes;
            for (std::size_t c = 0; c < doc.choices.size(); ++c, ++next) {
                ll.push_back(scores[next]);
                bytes.push_back(static_cast<double>(std::max<std::size_t>(1, doc.choices[c].size())));
            }
            const auto picked = accuracy.add(items[i].label, ll, static_cast<std::size_t>(*doc.correctChoice), bytes);
            record(items[i], doc.choices[picked], picked == static_cast<std::size_t>(*doc.correctChoice) ? 1.0 : 0.0);
        }
        accuracy.appendTo(table, keyPrefix);
        return;
    }

    // Generation tasks.
    std::vector<std::string> generated(items.size());
    std::vector<std::size_t> lengths;
    for (const auto &item : items)
        lengths.push_back(item.ids.size());
    for (const auto &batch : m->batchesOf(lengths)) {
        job.checkCancelled();
        std::vector<std::vector<std::int64_t>> rows;
        std::size_t tokens = 0;
        for (const auto index : batch) {
            rows.push_back(items[index].ids);
            tokens += items[index].ids.size();
        }
        const auto result = m->model.generate(rows, m->generation, hook, {}, &quiet);
        for (std::size_t r = 0; r < batch.size(); ++r) {
            const std::vector<std::int32_t> ids(result.tokens[r].begin(), result.tokens[r].end());
            generated[batch[r]] = m->tokenizer.decode(ids, /*skipSpecial=*/true);
            tokens += result.tokens[r].size();
        }
        if (onTokens)
            onTokens(tokens);
    }
    LanguageConsistency consistency(o.unreliableLanguage);
    MathAccuracy math;
    SpanScores spans;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto &item = items[i];
        const auto detection = consistency.add(item.label, generated[i]);
        double score = baseLanguage(detection.language) == baseLanguage(item.label) ? 1.0 : 0.0;
        if (o.task == EvalTask::Math)
            score = math.add(item.label, generated[i], item.document->answers.front(), item.label).correct ? 1.0 : 0.0;
        else if (o.task == EvalTask::QuestionAnswering)
            score = spans.add(item.label, generated[i], item.document->answers, item.label).f1;
        record(item, generated[i], score);
    }
    if (o.task == EvalTask::Math)
        math.appendTo(table, keyPrefix);
    if (o.task == EvalTask::QuestionAnswering)
        spans.appendTo(table, keyPrefix);
    consistency.appendTo(table, keyPrefix, o.task == EvalTask::LanguageConsistency ? "" : "language_");
}

} // namespace moescope::experiments
