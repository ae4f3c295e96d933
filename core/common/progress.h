#pragma once

#include "core/jobs/job_context.h"

#include <chrono>
#include <mutex>

namespace moescope {

// The CLI's progress line on stderr: "label  42% 1234/2900 tokens 310/s ETA 5s".
// Silent when stderr is not a terminal or logging is quiet (CLI contract).
class ConsoleProgress
{
public:
    explicit ConsoleProgress(std::string label);
    ~ConsoleProgress();

    // Suitable as a JobContext progress callback.
    void update(const ProgressUpdate &u);
    JobContext::ProgressFn callback();
    void finish();

private:
    std::string m_label;
    bool m_enabled;
    bool m_drawn = false;
    std::mutex m_mutex;
    std::chrono::steady_clock::time_point m_lastDraw{};
};

} // namespace moescope
