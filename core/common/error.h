#pragma once

#include <stdexcept>
#include <string>

namespace moescope {

// The one exception type core code throws for bad input or failed I/O. It
// carries the file it is about, so the CLI and the GUI can show one line that
// names the file and the reason without parsing messages.
class Error : public std::runtime_error
{
public:
    explicit Error(std::string reason);
    Error(std::string file, std::string reason);

    const std::string &file() const { return m_file; }
    const std::string &reason() const { return m_reason; }

private:
    std::string m_file;
    std::string m_reason;
};

// Thrown when a long job stops because its cancellation token was set.
class Cancelled : public std::runtime_error
{
public:
    Cancelled() : std::runtime_error("cancelled") {}
};

} // namespace moescope
