#include "core/trace/trace_store.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/trace/trace_file.h"
#include "core/trace/trace_validation.h"

#include <chrono>
#include <ctime>

namespace moescope {

std::string isoTimestampNow()
{
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buffer;
}

RoutingTrace readTrace(const std::string &path)
{
    TraceFile file = TraceFile::open(path);
    RoutingTrace trace = file.readAll();
    validateTrace(trace, path);
    return trace;
}

void writeTrace(const RoutingTrace &trace, const std::string &path)
{
    validateTrace(trace, path);
    AtomicFile atomic(path);
    RoutingTrace header = trace;
    if (header.created.empty())
        header.created = isoTimestampNow();
    TraceFile file = TraceFile::create(atomic.tempPath(), path, header);
    for (const LanguageRouting &lang : trace.languages)
        file.writeLanguage(lang);
    file.close();
    atomic.commit();
}

} // namespace moescope
