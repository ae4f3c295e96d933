#include "core/trace/token_trace.h"

#include "core/trace/trace_file.h"

namespace moescope {

std::vector<std::string> tokenTraceLabels(const std::string &path)
{
    return TraceFile::open(path).tokenLabels();
}

TokenTraceSize tokenTraceSize(const std::string &path, const std::string &label)
{
    const auto [documents, tokens] = TraceFile::open(path).tokenExtent(label);
    return {documents, tokens};
}

TokenTrace readTokenTrace(const std::string &path, const std::string &label)
{
    return TraceFile::open(path).readTokens(label);
}

} // namespace moescope
