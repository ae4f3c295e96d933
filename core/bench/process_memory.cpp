#include "core/bench/process_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace moescope::bench {

MemoryUsage currentMemoryUsage()
{
    MemoryUsage usage;
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        std::istringstream fields(line);
        std::string key;
        std::uint64_t kib = 0;
        fields >> key >> kib;
        const std::uint64_t bytes = kib * 1024;
        if (key == "VmHWM:")
            usage.peakRss = bytes;
        else if (key == "VmRSS:")
            usage.rss = bytes;
        else if (key == "RssAnon:")
            usage.rssAnon = bytes;
        else if (key == "RssFile:")
            usage.rssFile = bytes;
    }
    return usage;
}

bool resetPeakRss()
{
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    return static_cast<bool>(clear);
}

bool evictFromPageCache(const std::vector<std::string> &paths)
{
    bool all = true;
    for (const auto &path : paths) {
        const int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0) {
            all = false;
            continue;
        }
        ::fdatasync(fd);
        all = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 && all;
        ::close(fd);
    }
    return all;
}

} // namespace moescope::bench
