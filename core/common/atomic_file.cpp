#include "core/common/atomic_file.h"

#include "core/common/error.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <fcntl.h>
#include <unistd.h>

namespace moescope {

namespace fs = std::filesystem;

AtomicFile::AtomicFile(std::string target) : m_target(std::move(target))
{
    const fs::path t(m_target);
    const fs::path dir = t.has_parent_path() ? t.parent_path() : fs::path(".");
    if (!fs::is_directory(dir))
        throw Error(m_target, "output directory does not exist");
    if (access(dir.c_str(), W_OK) != 0)
        throw Error(m_target, "output directory is not writable");
    std::random_device rd;
    // Built step by step: GCC 12 warns (-Wrestrict, falsely) on "." + string&&.
    std::string name = ".";
    name += t.filename().string();
    name += ".tmp" + std::to_string(getpid()) + "-" + std::to_string(rd() % 100000);
    m_temp = (dir / name).string();
}

AtomicFile::~AtomicFile()
{
    if (!m_committed) {
        std::error_code ec;
        fs::remove(m_temp, ec);
    }
}

void AtomicFile::commit()
{
    std::error_code ec;
    fs::rename(m_temp, m_target, ec);
    if (ec)
        throw Error(m_target, "cannot replace file: " + ec.message());
    m_committed = true;
}

void writeFileAtomically(const std::string &path, const std::string &contents)
{
    AtomicFile file(path);
    {
        std::ofstream out(file.tempPath(), std::ios::binary);
        if (!out)
            throw Error(path, std::string("cannot write: ") + std::strerror(errno));
        out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
        out.flush();
        if (!out)
            throw Error(path, "write failed (disk full?)");
    }
    file.commit();
}

std::string readFile(const std::string &path)
{
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw Error(path, "no such file");
    if (fs::is_directory(path, ec))
        throw Error(path, "is a directory, expected a file");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path, std::string("cannot read: ") + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

namespace {

// Whether a file can be created in dir: tried rather than asked (access()
// says yes to root on read-only folders and knows nothing of read-only mounts).
bool canCreateFileIn(const fs::path &dir)
{
    auto probe = (dir / (".moescope-write-test-" + std::to_string(::getpid()))).string();
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return false;
    ::close(fd);
    ::unlink(probe.c_str());
    return true;
}

} // namespace

void requireWritableFile(const std::string &path)
{
    const fs::path target(path);
    std::error_code ec;
    if (fs::is_directory(target, ec))
        throw Error(path, "is a directory, not a file");
    const auto dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    if (!fs::is_directory(dir, ec))
        throw Error(path, "the folder " + dir.string() + " does not exist");
    if (!canCreateFileIn(dir))
        throw Error(path, "the folder " + dir.string() + " is not writable");
}

void requireWritableDirectory(const std::string &path)
{
    std::error_code ec;
    if (fs::exists(path, ec) && !fs::is_directory(path, ec))
        throw Error(path, "exists and is not a folder");
    if (!fs::exists(path, ec)) {
        fs::create_directories(path, ec);
        if (ec)
            throw Error(path, "cannot create the folder: " + ec.message());
    }
    if (!canCreateFileIn(path))
        throw Error(path, "the folder is not writable");
}

} // namespace moescope
