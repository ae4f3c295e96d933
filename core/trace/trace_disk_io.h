#pragma once

// Every byte the trace writers put on disk passes through here: HDF5's own
// writes (through the driver in failure_latching_driver.h) and the in-place
// writes of a recording's commits (writeAt). That gives write failures one
// treatment and gives tests one seam to inject faults, e.g. kill the process
// between any two writes or in the middle of one.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace moescope {

// One write about to happen: `size` bytes at `offset` of the open file `fd`.
// The rename of a finished temporary file over a trace is reported as well,
// with isRename set (fd -1, size 0).
struct TraceDiskWrite
{
    int fd = -1;
    std::uint64_t offset = 0;
    const void *data = nullptr;
    std::size_t size = 0;
    bool isRename = false;
};

// Test seam: the hook runs before every write and rename (it may write part
// of the data itself and then kill the process). Not thread-safe; set it
// before writing starts. An empty function removes it.
using TraceWriteHook = std::function<void(const TraceDiskWrite &)>;
void setTraceWriteHook(TraceWriteHook hook);

// Runs the hook, if any (used by the driver and by renames).
void announceTraceWrite(const TraceDiskWrite &write);

// Writes all of data at offset (pwrite, retried on EINTR and short writes).
// Throws Error(file, one-line reason) on failure, e.g. a full disk.
void writeAt(
    int fd, std::uint64_t offset, const void *data, std::size_t size, const std::string &file);

} // namespace moescope
