#include "ui/jobs/study_job_tracker.h"

#include "core/common/error.h"

#include <QCoreApplication>

#include <algorithm>
#include <QThreadPool>
#include <QtConcurrent/QtConcurrentRun>

namespace moescope::ui {

StudyJobTracker::StudyJobTracker(QObject *parent) : QObject(parent)
{
    qRegisterMetaType<moescope::ui::StudySnapshotPtr>();
}

// Jobs own copies of everything they read, and a continuation whose context
// object is gone is cancelled, so nothing waits for running jobs here.
StudyJobTracker::~StudyJobTracker() = default;

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
    const quint64 tag = ++m_latestTag;
    const bool wasBusy = isBusy();
    ++m_running;
    const AnalysisParams params = m_params;
    auto job = [tag, source, trace, params]() {
        Outcome outcome;
        outcome.tag = tag;
        outcome.source = source;
        try {
            auto loaded = trace ? trace : loadStudy(source);
            // A small model (the demo model, a test fixture) has fewer experts
            // than the study's default k; its own expert count is then the k.
            AnalysisParams fitted = params;
            if (loaded->model.numExperts > 0)
                fitted.k = std::min(fitted.k, loaded->model.numExperts);
            outcome.snapshot = analyzeStudy(std::move(loaded), fitted, source.displayName(),
                                            source.detail());
        } catch (const Error &e) {
            outcome.error = QString::fromStdString(e.what());
        } catch (const std::exception &e) {
            outcome.error = QString::fromStdString(e.what());
        } catch (...) {
            outcome.error = QStringLiteral("%1: unexpected error").arg(source.displayName());
        }
        return outcome;
    };
    // A continuation attached to an already finished future runs at once;
    // queue the delivery so that results always arrive through the event
    // loop, after the request (and any newer one made in the same turn).
    QtConcurrent::run(QThreadPool::globalInstance(), job).then(this, [this](const Outcome &o) {
        QMetaObject::invokeMethod(this, [this, o] { finish(o); }, Qt::QueuedConnection);
    });
    if (!wasBusy)
        Q_EMIT busyChanged(true);
    return tag;
}

void StudyJobTracker::finish(const Outcome &outcome)
{
    --m_running;
    if (outcome.tag != m_latestTag) {
        // Superseded. Keep a trace it loaded if it belongs to the newest
        // source, so that a re-analysis need not read the file again.
        if (outcome.snapshot && !m_pendingTrace && outcome.source.path == m_pendingSource.path)
            m_pendingTrace = outcome.snapshot->trace;
        return;
    }
    m_deliveredTag = outcome.tag;
    if (outcome.snapshot) {
        m_pendingTrace = outcome.snapshot->trace;
        m_current = outcome.snapshot;
        m_currentSource = outcome.source;
        Q_EMIT snapshotReady(outcome.tag, outcome.snapshot);
    } else {
        // Keep showing what was there; the next parameter change applies to
        // the study that is on screen, not to the file that failed.
        m_pendingSource = m_currentSource;
        m_pendingTrace = m_current ? m_current->trace : nullptr;
        Q_EMIT failed(outcome.tag, outcome.error);
    }
    Q_EMIT busyChanged(false);
}

void StudyJobTracker::waitForIdle()
{
    while (m_running > 0) {
        QThreadPool::globalInstance()->waitForDone(50);
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    }
}

} // namespace moescope::ui
