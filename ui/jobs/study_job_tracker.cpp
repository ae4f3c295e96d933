#include "ui/jobs/study_job_tracker.h"

#include "ui/jobs/job_tracker.h"

#include <algorithm>
#include <limits>

namespace moescope::ui {

StudyJobTracker::StudyJobTracker(QObject *parent)
    : QObject(parent)
    , m_jobs(new JobTracker(this))
{
    qRegisterMetaType<moescope::ui::StudySnapshotPtr>();
    connect(m_jobs, &JobTracker::busyChanged, this, &StudyJobTracker::busyChanged);
}

// Jobs own copies of everything they read, and the tracker drops what a job
// reports after it is gone, so nothing waits for running jobs here.
StudyJobTracker::~StudyJobTracker() = default;

bool StudyJobTracker::isBusy() const
{
    return m_jobs->isBusy();
}

quint64 StudyJobTracker::requestLoad(const StudySource &source)
{
    m_pendingSource = source;
    m_pendingTrace.reset();
    return start(source, nullptr);
}

quint64 StudyJobTracker::requestTrace(const StudySource &source, std::shared_ptr<const RoutingTrace> trace)
{
    m_pendingSource = source;
    m_pendingTrace = trace;
    return start(source, std::move(trace));
}

quint64 StudyJobTracker::requestParams(const AnalysisParams &params)
{
    m_params = params;
    return start(m_pendingSource, m_pendingTrace);
}

quint64 StudyJobTracker::start(const StudySource &source, std::shared_ptr<const RoutingTrace> trace)
{
    const AnalysisParams params = m_params;
    auto analyse = [source, trace, params](JobRun &) {
        auto loaded = trace ? trace : loadStudy(source);
        // A small model (the demo model, a test fixture) has fewer experts
        // than the study's default k; its own expert count is then the k.
        AnalysisParams fitted = params;
        if (loaded->model.numExperts > 0)
            fitted.k = std::min(fitted.k, loaded->model.numExperts);
        return analyzeStudy(std::move(loaded), fitted, source.displayName(), source.detail());
    };
    auto show = [this, source](quint64 tag, StudySnapshotPtr snapshot) {
        m_pendingTrace = snapshot->trace;
        m_current = snapshot;
        m_currentSource = source;
        Q_EMIT snapshotReady(tag, snapshot);
    };
    auto fail = [this](quint64 tag, const QString &message) {
        // Keep showing what was there; the next parameter change applies to
        // the study that is on screen, not to the file that failed.
        m_pendingSource = m_currentSource;
        m_pendingTrace = m_current ? m_current->trace : nullptr;
        Q_EMIT failed(tag, message);
    };
    return m_jobs->startJob(QStringLiteral("study"), source.displayName(), JobThread::Pool,
        std::move(analyse), std::move(show), std::move(fail));
}

void StudyJobTracker::waitForIdle()
{
    m_jobs->waitForIdle(std::numeric_limits<int>::max());
}

} // namespace moescope::ui
