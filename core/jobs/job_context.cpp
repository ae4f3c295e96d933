#include "core/jobs/job_context.h"

#include "core/common/error.h"

namespace moescope {

JobContext::JobContext() : JobContext(ProgressFn{}) {}

JobContext::JobContext(ProgressFn onProgress)
    : m_onProgress(std::move(onProgress)),
      m_cancel(std::make_shared<std::atomic<bool>>(false)),
      m_start(std::chrono::steady_clock::now())
{
}

void JobContext::checkCancelled() const
{
    if (m_cancel->load())
        throw Cancelled();
}

void JobContext::report(std::size_t done, std::size_t total, const std::string &unit,
                        const std::string &message) const
{
    if (!m_onProgress)
        return;
    ProgressUpdate u;
    u.done = done;
    u.total = total;
    u.unit = unit;
    u.message = message;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    if (elapsed > 0 && done > 0) {
        u.ratePerSecond = static_cast<double>(done) / elapsed;
        if (total >= done)
            u.etaSeconds = static_cast<double>(total - done) / u.ratePerSecond;
    }
    m_onProgress(u);
}

} // namespace moescope
