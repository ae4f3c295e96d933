#include "core/bench/process_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

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

double pageCacheResidentFraction(const std::vector<std::string> &paths)
{
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    std::uint64_t total = 0, resident = 0;
    for (const auto &path : paths) {
        const int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0)
            return -1.0;
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            ::close(fd);
            return -1.0;
        }
        const auto size = static_cast<std::uint64_t>(st.st_size);
        if (size == 0) {
            ::close(fd);
            continue;
        }
        void *map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
        ::close(fd);
        if (map == MAP_FAILED)
            return -1.0;
        std::vector<unsigned char> pages((size + page - 1) / page);
        const bool ok = ::mincore(map, size, pages.data()) == 0;
        ::munmap(map, size);
        if (!ok)
            return -1.0;
        for (std::size_t i = 0; i < pages.size(); ++i)
            if (pages[i] & 1)
                resident += std::min(page, size - i * page);
        total += size;
    }
    return total ? static_cast<double>(resident) / static_cast<double>(total) : 1.0;
}

} // namespace moescope::bench
