#include "core/common/progress.h"

#include "core/common/logging.h"

#include <cstdio>
#include <unistd.h>

namespace moescope {

ConsoleProgress::ConsoleProgress(std::string label)
    : m_label(std::move(label)),
      m_enabled(isatty(fileno(stderr)) && verbosity() != Verbosity::Quiet)
{
}

ConsoleProgress::~ConsoleProgress()
{
    finish();
}

JobContext::ProgressFn ConsoleProgress::callback()
{
    return [this](const ProgressUpdate &u) { update(u); };
}

void ConsoleProgress::update(const ProgressUpdate &u)
{
    if (!m_enabled)
        return;
    std::lock_guard lock(m_mutex);
    const auto now = std::chrono::steady_clock::now();
    // Redrawing more than ~10 times a second only costs time.
    if (m_drawn && u.done != u.total && now - m_lastDraw < std::chrono::milliseconds(100))
        return;
    m_lastDraw = now;
    std::string line = "\r" + m_label;
    char buf[160];
    if (u.total > 0) {
        std::snprintf(buf, sizeof buf, " %3d%% %zu/%zu %s",
                      static_cast<int>(100.0 * u.done / u.total), u.done, u.total, u.unit.c_str());
        line += buf;
    } else {
        std::snprintf(buf, sizeof buf, " %zu %s", u.done, u.unit.c_str());
        line += buf;
    }
    if (u.ratePerSecond > 0) {
        std::snprintf(buf, sizeof buf, " %.1f/s", u.ratePerSecond);
        line += buf;
    }
    if (u.etaSeconds >= 0) {
        std::snprintf(buf, sizeof buf, " ETA %.0fs", u.etaSeconds);
        line += buf;
    }
    if (!u.message.empty())
        line += " " + u.message;
    line += "\033[K";
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
    m_drawn = true;
}

void ConsoleProgress::finish()
{
    std::lock_guard lock(m_mutex);
    if (m_enabled && m_drawn) {
        std::fputs("\n", stderr);
        m_drawn = false;
    }
}

} // namespace moescope
