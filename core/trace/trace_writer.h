#pragma once

// Incremental writing of a trace while a recording runs (issue "Record
// routing"): batches are summed in memory and commit() makes them part of
// the file all at once, so a process killed with -9 at any moment, or a full
// disk, leaves a readable trace holding exactly the completed commits
// (docs/trace-format.md, "Crash safety").

#include "core/trace/routing_trace.h"
#include "core/trace/token_trace.h"

#include <cstdint>
#include <memory>
#include <string>

namespace moescope {

class TraceWriter
{
public:
    enum class Mode {
        Create, // replace path (atomically) with an empty trace, then append
        Resume, // continue an existing trace recorded with the same model
    };

    // header supplies the model, created (default: now) and provenance; its
    // languages are ignored. Resume checks that the file's model has the same
    // id and shape as header.model and loads the committed totals.
    // Throws Error(path, reason).
    TraceWriter(const std::string &path, const RoutingTrace &header, Mode mode = Mode::Create);
    // Drops pending batches without writing them: during unwinding (error,
    // cancellation) they are incomplete. The file keeps the last commit.
    ~TraceWriter();
    TraceWriter(const TraceWriter &) = delete;
    TraceWriter &operator=(const TraceWriter &) = delete;

    // Adds one batch of a language's statistics to its totals (counts,
    // gateSum, tokens and documents are summed). The label is created on first
    // use; corpus, tokenScope and templateName must then stay the same.
    void add(const LanguageRouting &batch);
    // Appends token-level records of whole documents for label.
    void addTokens(const std::string &label, const TokenBatch &batch);

    // Validates the totals and writes what was added since the last commit,
    // all or nothing: a new file renamed over the trace, or (with token-level
    // data) token rows in place followed by a commit record. On failure
    // (Error naming the file, one line) the writer refuses further use; the
    // file keeps the previous commit.
    void commit();
    // commit(), then write the trace in its final form (token data exactly
    // sized and compressed, no commit journal) and release it.
    void close();

    const std::string &path() const;
    // Committed and pending totals; languages in first-added order.
    const RoutingTrace &totals() const;
    // Documents of label in the file as of the last commit (0 if unknown);
    // what `record --resume` skips.
    std::uint64_t committedDocuments(const std::string &label) const;

private:
    struct State;
    std::unique_ptr<State> m;
};

} // namespace moescope
