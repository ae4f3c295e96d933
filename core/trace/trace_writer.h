#pragma once

// Incremental writing of a trace while a recording runs (issue "Record
// routing"): batches are summed in memory and commit() writes them and
// flushes the file, so a process killed with -9 leaves a readable trace that
// holds every committed batch (docs/trace-format.md, "Crash safety").

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
    // Closes the file without committing pending batches: during unwinding
    // (error, cancellation) they are incomplete and must not be written.
    ~TraceWriter();
    TraceWriter(const TraceWriter &) = delete;
    TraceWriter &operator=(const TraceWriter &) = delete;

    // Adds one batch of a language's statistics to its totals (counts,
    // gateSum, tokens and documents are summed). The label is created on first
    // use; corpus, tokenScope and templateName must then stay the same.
    void add(const LanguageRouting &batch);
    // Appends token-level records of whole documents for label.
    void addTokens(const std::string &label, const TokenBatch &batch);

    // Validates the totals, writes what was added since the last commit and
    // flushes (H5Fflush). On failure the writer refuses further use; the file
    // keeps the previous commit.
    void commit();
    // commit() and close the file.
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
