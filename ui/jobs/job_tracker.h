#pragma once

// The one job tracker of the GUI (after hotspot's src/jobtracker.h): every
// job, model or study, starts with startJob(kind, title, thread, work,
// onResult). A job gets a tag; a newer job of the same kind supersedes the
// older one: the older is cancelled (it stops within a layer) and whatever
// it still reports is dropped, never drawn. The tracker lists running jobs
// (JobListModel), throttles their progress, and reports failures and
// cancellations of the newest job of a kind. Everything it calls back runs
// on the GUI thread.
//
// Jobs that use the loaded model run one after another on the model thread
// (the model is not shared between threads); the others on the thread pool.

#include "ui/live/live_data.h"

#include "core/common/error.h"
#include "core/jobs/job_context.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QString>

#include <functional>
#include <map>
#include <memory>
#include <mutex>

class QThread;

namespace moescope::ui {

class JobListModel;
class JobTracker;

enum class JobThread { Model, Pool };

// What a job's work gets on its thread.
class JobRun
{
public:
    // Cancellation, and progress of core functions (through progress()).
    const JobContext &context() const { return m_context; }
    // Reported to the jobs list at most every 100 ms unless forced.
    void progress(std::uint64_t done, std::uint64_t total, const QString &unit,
        const QString &message, bool force = false);
    // Runs fn on the GUI thread while this job is the newest of its kind
    // (streamed results: a partial generation, a committed batch).
    void deliver(std::function<void()> fn) const;
    // Runs fn on the GUI thread, superseded or not (state that follows the
    // worker, e.g. which model it holds).
    void post(std::function<void()> fn) const;
    qint64 elapsedMs() const { return m_clock.elapsed(); }
    quint64 tag() const { return m_tag; }

private:
    friend class JobTracker;
    struct Link; // the tracker, while it exists
    JobRun(std::shared_ptr<Link> link, quint64 tag, const JobContext &job);

    std::shared_ptr<Link> m_link;
    quint64 m_tag;
    JobContext m_context;
    QElapsedTimer m_clock;
    QElapsedTimer m_lastReport;
};

class JobTracker : public QObject
{
    Q_OBJECT
public:
    explicit JobTracker(QObject *parent = nullptr);
    // shutdown()
    ~JobTracker() override;

    // Starts work(JobRun &) -> Result on thread. onResult(tag, Result) and
    // onFailed(tag, message) run on the GUI thread, for the newest job of
    // kind only; a failure's message is one line.
    template <typename Work, typename OnResult>
    quint64 startJob(const QString &kind, const QString &title, JobThread thread, Work work,
        OnResult onResult, std::function<void(quint64, const QString &)> onFailed = {});

    void cancel(quint64 tag);
    void cancelAll();
    // Cancels every job and waits for the model thread (a model still
    // loading is waited for); pool jobs end on their own.
    void shutdown();

    bool isBusy() const { return !m_jobs.empty(); }
    // Newest job of kind (0: none yet).
    quint64 latest(const QString &kind) const { return m_latest.value(kind, 0); }
    bool isCurrent(quint64 tag) const;
    JobListModel *jobList() const { return m_jobList; }
    // Processes events until no job is left or timeoutMs passed (tests,
    // shutdown); returns whether the tracker is idle.
    bool waitForIdle(int timeoutMs);

Q_SIGNALS:
    // The newest job of kind stopped before finishing (cancel, or a
    // cancelAll such as a model load's).
    void jobCancelled(quint64 tag, const QString &kind);
    void busyChanged(bool busy);

private:
    friend class JobRun;
    struct Job
    {
        QString kind;
        JobContext context;
        std::function<void(quint64, const QString &)> onFailed;
    };

    quint64 enqueue(const QString &kind, const QString &title,
        std::function<void(quint64, const QString &)> onFailed);
    void run(JobThread thread, quint64 tag, std::function<void(JobRun &)> body);
    void onStarted(quint64 tag);
    void onProgress(quint64 tag, const JobProgress &progress);
    void onFailed(quint64 tag, const QString &message);
    void onEnded(quint64 tag, bool cancelled);

    std::shared_ptr<JobRun::Link> m_link;
    QThread *m_modelThread = nullptr; // started with the first model job
    QObject *m_modelThreadContext = nullptr;
    JobListModel *m_jobList;
    std::map<quint64, Job> m_jobs; // queued or running
    QHash<QString, quint64> m_latest;
    quint64 m_nextTag = 0;
};

template <typename Work, typename OnResult>
quint64 JobTracker::startJob(const QString &kind, const QString &title, JobThread thread, Work work,
    OnResult onResult, std::function<void(quint64, const QString &)> onFailed)
{
    const quint64 tag = enqueue(kind, title, std::move(onFailed));
    run(thread, tag,
        [work = std::move(work), onResult = std::move(onResult), tag](JobRun &job) mutable {
            auto result = work(job);
            job.deliver([onResult, tag, result = std::move(result)]() mutable {
                onResult(tag, std::move(result));
            });
        });
    return tag;
}

} // namespace moescope::ui
