#pragma once

// `moescope record`: route a corpus through a model and write per-language
// expert counts, gate sums and token totals (optionally token-level traces)
// into an HDF5 trace, batch by batch, so that a killed recording resumes
// where it stopped and ends with exactly the counts of an uninterrupted run.
//
// Determinism is what makes resuming exact. The prompts of each label are
// batched by length (lengthSortedBatches: the order depends only on the
// corpus, the template and the tokenizer) and a batch is committed with the
// number of documents done. Resuming skips that many documents, which always
// ends on a batch boundary, so every remaining batch is the very batch the
// uninterrupted run would have routed; the recording settings are stored in
// the trace's provenance and a resume with other settings is refused.

#include "core/corpus/corpus.h"
#include "core/corpus/corpus_shard.h"
#include "core/experiments/prompt_encoding.h"
#include "core/experiments/routing_capture.h"
#include "core/routing/intervention_plan.h"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace moescope {
class JobContext;
class Tokenizer;
namespace model {
class MoeModel;
}
} // namespace moescope

namespace moescope::experiments {

struct RecordingSettings
{
    std::string corpusSpec;              // canonical spec the corpus was loaded from
    std::optional<CorpusShard> shard;    // the corpus given is already this shard
    PromptOptions prompt;                // template, chat, target, length limit
    TokenScope scope = TokenScope::Prompt;
    int maxNewTokens = 32;               // generated / all: greedy continuation length
    bool tokenRecords = false;           // also write /tokens/<label>
    std::size_t batchSize = 8;
    std::size_t maxBatchTokens = 0;      // padded rows x tokens per batch; 0 = no limit
    std::optional<routing::InterventionPlan> plan; // applied while recording
    std::string planSource;              // file the plan came from
    std::string command;                 // command line, for provenance
};

enum class OutputMode {
    CreateNew, // refuse to touch an existing file
    Overwrite, // replace an existing trace (atomically, when recording starts)
    Resume,    // continue an existing trace (or start one when there is none)
};

struct RecordingReport
{
    std::size_t documentsRecorded = 0; // in this run
    std::size_t documentsSkipped = 0;  // committed before (resume)
    std::size_t tokensRouted = 0;      // in this run, in scope
    std::size_t batches = 0;           // committed in this run
    std::size_t truncated = 0;         // prompts cut to the length limit
};

// After every commit: the label, its documents now in the file, and its total.
using CommitCallback = std::function<void(const std::string &label, std::size_t committed, std::size_t total)>;

// The provenance JSON's "settings" object: what must match for a resume.
std::string recordingSettingsJson(const RecordingSettings &settings, const model::MoeModel &model);

// Records `corpus` (already sharded when settings.shard is set) into path.
// Cancellation (job) abandons the batch under way; the file then holds every
// committed batch and stays valid. Throws Error(path, ...) for an existing
// file in CreateNew mode, a resume with other settings or another model, an
// interrupted commit found on resume, or a failed write (full disk, ...).
RecordingReport recordRouting(const model::MoeModel &model, const Tokenizer &tokenizer, const Corpus &corpus,
                              const RecordingSettings &settings, const std::string &path, OutputMode mode,
                              const JobContext &job, const CommitCallback &onCommit = {});

// `moescope record` and the GUI's Record tab: one request, filled from argv
// or from the tab's widgets; runRecording validates it, applies the defaults
// and records.
struct RecordingRequest
{
    std::string corpusSpec;         // e.g. "udhr:en,zh?articles=1-24" (core/corpus/corpus_spec.h)
    // Scope, continuation, batching, shard, plan, command. Its corpusSpec and
    // prompt's template, targets and length limit are set from the fields below.
    RecordingSettings settings;
    std::string templateName = "raw"; // a name or a template file
    std::string target;             // {target_language} templates ("" = none)
    // Prompts longer than this many tokens are cut to it when truncate is
    // set, else refused; 0 = the model's context (less the continuation).
    std::size_t maxLength = 0;
    bool truncate = false;
    std::string outputPath;
    OutputMode mode = OutputMode::CreateNew;
};

// Cheap checks, before a model loads: the output can be written (and does
// not exist in CreateNew mode), the spec parses, scope and maxNewTokens agree.
void checkRecordingRequest(const RecordingRequest &request);
// The settings recordRouting gets: the prompt options resolved against the
// model (what the trace's provenance records, and what a resume must match).
RecordingSettings recordingSettings(const model::MoeModel &model, const RecordingRequest &request);
// Loads (and shards) the corpus and records it.
RecordingReport runRecording(const model::MoeModel &model, const Tokenizer &tokenizer,
                             const RecordingRequest &request, const JobContext &job,
                             const CommitCallback &onCommit = {});

} // namespace moescope::experiments
