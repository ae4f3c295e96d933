#pragma once

// The HDF5 layout of a moescope trace (docs/trace-format.md) in one place:
// which groups, datasets and attributes exist, their types and shapes. Used by
// readTrace/writeTrace, TraceWriter and the token-level reader; private to
// core/trace (it includes hdf5.h).
//
// Files are only ever written whole (create ... close, into a temporary file
// that the caller renames over the trace). The one exception, a recording's
// in-place commits, bypasses HDF5: TraceWriter writes raw bytes at the
// offsets inPlaceLayout() reports, and readers apply its commit record.

#include "core/trace/commit_record.h"
#include "core/trace/failure_latching_driver.h"
#include "core/trace/hdf5_objects.h"
#include "core/trace/routing_trace.h"
#include "core/trace/token_trace.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace moescope {

inline constexpr const char *kTraceFormat = "moescope-trace";
inline constexpr int kTraceVersion = 1;

// Where a recording in progress writes in place: file offsets of the
// contiguous, preallocated token datasets and of the commit journal.
struct InPlaceLayout
{
    struct TokenTrace
    {
        std::string label;
        std::uint64_t tokenIdsAt = 0, topkIdxAt = 0, topkWeightsAt = 0, docOffsetsAt = 0;
        std::uint64_t rowCapacity = 0; // token rows the datasets hold
        std::uint64_t offsetCapacity = 0; // doc_offsets entries (documents + 1)
    };
    std::uint64_t journalAt = 0;
    std::uint64_t slotBytes = 0; // the journal holds two slots
    std::vector<TokenTrace> tokenTraces; // sorted by label
    const TokenTrace *find(const std::string &label) const;
};

class TraceFile
{
public:
    // How a token trace is stored. Growing: contiguous datasets with spare
    // rows, written in place by a recording in progress. Final: exactly sized,
    // chunked, extendible and gzip-compressed, as docs/architecture.md describes.
    enum class TokenStorage { Growing, Final };

    // Creates a new file at path with the root attributes and an empty
    // /languages group. displayName is the path errors mention (the final
    // name when path is a temporary file). Write failures (a full disk) are
    // reported by the write methods and close() as Error naming displayName.
    static TraceFile create(
        const std::string &path, const std::string &displayName, const RoutingTrace &header);
    // Opens an existing trace read-only and checks format, version, model
    // attributes and the commit journal, if any.
    static TraceFile open(const std::string &path);

    TraceFile(TraceFile &&) = default;
    // No move assignment: the file must close before its write status goes.
    TraceFile &operator=(TraceFile &&) = delete;

    // Root attributes and the language list; languages hold labels only.
    const RoutingTrace &header() const { return m_header; }
    std::vector<std::string> languageOrder() const;
    // A language's statistics as committed (the commit record applied).
    LanguageRouting readLanguage(const std::string &label) const;
    // Everything under /languages, in the stored order (not validated).
    RoutingTrace readAll() const;

    bool hasTokenTrace(const std::string &label) const;
    std::vector<std::string> tokenLabels() const;
    TokenTrace readTokens(const std::string &label) const;
    // Committed documents and tokens of label's token trace ({0, 0} if none).
    std::pair<std::uint64_t, std::uint64_t> tokenExtent(const std::string &label) const;
    // Token rows [first, first + count) (documentLengths left empty) and
    // doc_offsets entries [first, first + count), for copying.
    TokenBatch readTokenRows(
        const std::string &label, std::uint64_t first, std::uint64_t count) const;
    std::vector<std::int64_t> readDocOffsets(
        const std::string &label, std::uint64_t first, std::uint64_t count) const;

    // The commit record readers apply, if the file has a valid one.
    std::optional<CommitRecord> commitRecord() const { return m_record; }
    // Which journal slot holds it (-1: none).
    int commitRecordSlot() const { return m_recordSlot; }
    // Offsets for in-place commits; nothing when the file has no commit
    // journal or its token datasets are not contiguous.
    std::optional<InPlaceLayout> inPlaceLayout() const;

    // Writing, for files made by create().
    // Creates /languages/<label> (datasets and attributes) and appends the
    // label to the root `languages` list.
    void writeLanguage(const LanguageRouting &lang);
    // Creates /tokens/<label> with room for rowCapacity token rows and
    // offsetCapacity doc_offsets entries (Final: exactly that many).
    void createTokenTrace(const std::string &label, TokenStorage storage, std::uint64_t rowCapacity,
        std::uint64_t offsetCapacity);
    void writeTokenRows(const std::string &label, std::uint64_t first, const TokenBatch &rows);
    void writeDocOffsets(
        const std::string &label, std::uint64_t first, const std::vector<std::int64_t> &offsets);
    // The committed document count of a token trace (attribute `documents`).
    void setTokenDocuments(const std::string &label, std::uint64_t documents);
    // /commit_journal: two zeroed (empty) slots of slotBytes each.
    void createCommitJournal(std::uint64_t slotBytes);
    // Closes the file; throws if anything could not be written.
    void close();

    const std::string &name() const { return m_name; }

private:
    TraceFile() = default;
    void readHeader();
    void readCommitJournal();
    h5::Handle tokenGroup(const std::string &label) const;
    void throwIfWriteFailed() const;
    template <class F> void writing(F &&work);

    std::string m_name;
    // Declared before m_file so that the file closes while it still exists.
    std::unique_ptr<h5::WriteStatus> m_status;
    h5::Handle m_file;
    RoutingTrace m_header;
    std::optional<CommitRecord> m_record;
    int m_recordSlot = -1;
};

} // namespace moescope
