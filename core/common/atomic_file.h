#pragma once

#include <string>

namespace moescope {

// Writes go to a temporary file next to the target and are renamed over it on
// commit(), so an interrupted write never leaves a half-written output behind.
// Without commit() the temporary file is removed in the destructor.
class AtomicFile
{
public:
    explicit AtomicFile(std::string target);
    ~AtomicFile();
    AtomicFile(const AtomicFile &) = delete;
    AtomicFile &operator=(const AtomicFile &) = delete;

    // Path to write to (same directory as the target, so rename is atomic).
    const std::string &tempPath() const { return m_temp; }
    const std::string &target() const { return m_target; }
    void commit();

private:
    std::string m_target;
    std::string m_temp;
    bool m_committed = false;
};

// Convenience: write a whole text file atomically. Throws Error on failure.
void writeFileAtomically(const std::string &path, const std::string &contents);

// Reads a whole file. Throws Error naming the file if it cannot be read.
std::string readFile(const std::string &path);

// Jobs write their outputs at the end of long runs; these refuse a path that
// cannot be written before any work starts. Throws Error(path, reason).
void requireWritableFile(const std::string &path);
// Creates the folder when missing.
void requireWritableDirectory(const std::string &path);

} // namespace moescope
