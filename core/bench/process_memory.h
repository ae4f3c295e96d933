#pragma once

// Resident memory of this process from /proc/self/status: the peak the
// benchmark reports against the weight bytes, and the split between
// anonymous memory (copies, activations) and file-backed pages (the mapped
// checkpoint). Torch-free.

#include <cstdint>
#include <string>
#include <vector>

namespace moescope::bench {

struct MemoryUsage
{
    std::uint64_t peakRss = 0; // VmHWM
    std::uint64_t rss = 0; // VmRSS
    std::uint64_t rssAnon = 0; // RssAnon
    std::uint64_t rssFile = 0; // RssFile
};

// Zeros when /proc is not available.
MemoryUsage currentMemoryUsage();

// Resets VmHWM to the current RSS (writing 5 to /proc/self/clear_refs), so a
// peak can be attributed to one phase; false where the kernel refuses.
bool resetPeakRss();

// Asks the kernel to drop the cached pages of these files (posix_fadvise
// DONTNEED), so the next load reads them from disk. Pages still mapped by a
// process stay; returns false if a file could not be opened.
bool evictFromPageCache(const std::vector<std::string> &paths);

// The share (0..1) of these files' bytes in the page cache now (mincore over
// a read-only mapping); -1 when a file cannot be opened or mapped. Whether a
// load is "warm" is measured, not assumed: other work evicts pages.
double pageCacheResidentFraction(const std::vector<std::string> &paths);

} // namespace moescope::bench
