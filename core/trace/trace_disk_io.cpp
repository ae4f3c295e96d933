#include "core/trace/trace_disk_io.h"

#include "core/common/error.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace moescope {

namespace {

TraceWriteHook &hook()
{
    static TraceWriteHook h;
    return h;
}

} // namespace

void setTraceWriteHook(TraceWriteHook h)
{
    hook() = std::move(h);
}

void announceTraceWrite(const TraceDiskWrite &write)
{
    if (hook())
        hook()(write);
}

void writeAt(
    int fd, std::uint64_t offset, const void *data, std::size_t size, const std::string &file)
{
    announceTraceWrite({ fd, offset, data, size, false });
    const char *p = static_cast<const char *>(data);
    while (size > 0) {
        const ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw Error(file,
                std::string("cannot write: ") + (n < 0 ? std::strerror(errno) : "no progress")
                    + " (is the disk full?)");
        p += n;
        offset += static_cast<std::uint64_t>(n);
        size -= static_cast<std::size_t>(n);
    }
}

} // namespace moescope
