#pragma once

// The HDF5 layout of a moescope trace (docs/trace-format.md) in one place:
// which groups, datasets and attributes exist, their types and shapes. Used by
// readTrace/writeTrace, TraceWriter and the token-level reader; private to
// core/trace (it includes hdf5.h).

#include "core/trace/hdf5_objects.h"
#include "core/trace/routing_trace.h"
#include "core/trace/token_trace.h"

#include <string>
#include <utility>
#include <vector>

namespace moescope {

inline constexpr const char *kTraceFormat = "moescope-trace";
inline constexpr int kTraceVersion = 1;

class TraceFile
{
public:
    // Creates a new file at path with the root attributes and an empty
    // /languages group. displayName is the path errors mention (the final
    // name when path is a temporary file).
    static TraceFile create(const std::string &path, const std::string &displayName,
                            const RoutingTrace &header);
    // Opens an existing trace and checks format, version and model attributes.
    static TraceFile open(const std::string &path, bool writable);

    TraceFile(TraceFile &&) = default;
    TraceFile &operator=(TraceFile &&) = default;

    // Root attributes and the language list; languages hold labels only.
    const RoutingTrace &header() const { return m_header; }
    std::vector<std::string> languageOrder() const;
    LanguageRouting readLanguage(const std::string &label) const;
    // Everything under /languages, in the stored order (not validated).
    RoutingTrace readAll() const;

    // Creates /languages/<label> on first use and (over)writes its datasets and
    // attributes in place; appends the label to the root `languages` list.
    void writeLanguage(const LanguageRouting &lang);

    // Token level. appendTokens writes the tokens after `committedTokens` and
    // the offsets after `committedDocs` (offsets last, so an interrupted write
    // leaves the previous offsets describing complete documents).
    bool hasTokenTrace(const std::string &label) const;
    std::vector<std::string> tokenLabels() const;
    TokenTrace readTokens(const std::string &label) const;
    void appendTokens(const std::string &label, const TokenBatch &batch,
                      std::uint64_t committedTokens, std::uint64_t committedDocs);
    // Committed documents and tokens of label's token trace ({0, 0} if none).
    std::pair<std::uint64_t, std::uint64_t> tokenExtent(const std::string &label) const;
    // Drops documents after the first `documents` (used when resuming).
    void truncateTokens(const std::string &label, std::uint64_t documents);

    // Writes HDF5's cached metadata and raw data to the file (H5Fflush).
    void flush();
    // Closes the file; throws if HDF5 cannot write its last metadata.
    void close();

    const std::string &name() const { return m_name; }

private:
    TraceFile() = default;
    void readHeader();

    std::string m_name;
    h5::Handle m_file;
    RoutingTrace m_header;
};

} // namespace moescope
