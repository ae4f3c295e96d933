#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace moescope {

struct ProgressUpdate
{
    std::size_t done = 0;
    std::size_t total = 0;     // 0 when unknown
    std::string unit;          // "tokens", "documents", ...
    std::string message;       // what is happening now
    double ratePerSecond = 0;  // done units per second since start
    double etaSeconds = -1;    // -1 when unknown
};

// What every long core function takes: a way to report progress and a
// cancellation flag. Core code calls checkCancelled() at least once per
// layer-batch so that cancel answers within a second (docs/architecture.md).
// Copies share the cancellation flag, so the GUI can keep one and cancel.
class JobContext
{
public:
    using ProgressFn = std::function<void(const ProgressUpdate &)>;

    JobContext();
    explicit JobContext(ProgressFn onProgress);

    void setProgressCallback(ProgressFn onProgress) { m_onProgress = std::move(onProgress); }
    void requestCancel() const { m_cancel->store(true); }
    bool isCancelled() const { return m_cancel->load(); }
    // Throws moescope::Cancelled when cancellation was requested.
    void checkCancelled() const;

    // Reports progress, computing rate and ETA from the job's start time.
    void report(std::size_t done, std::size_t total, const std::string &unit,
                const std::string &message = {}) const;

private:
    ProgressFn m_onProgress;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    std::chrono::steady_clock::time_point m_start;
};

} // namespace moescope
