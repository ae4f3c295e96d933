#include "ui/jobs/job_tracker.h"

#include "ui/models/job_list_model.h"

#include <QDeadlineTimer>
#include <QThread>
#include <QThreadPool>

namespace moescope::ui {

namespace {

// Progress is throttled so that a fast job cannot flood the GUI thread's
// event queue.
constexpr qint64 kProgressIntervalMs = 100;

} // namespace

// Workers reach the tracker through this; the tracker's destructor cuts the
// link, so a pool job that outlives it posts nowhere.
struct JobRun::Link
{
    std::mutex mutex;
    JobTracker *tracker = nullptr;

    void post(std::function<void()> fn)
    {
        std::lock_guard lock(mutex);
        if (tracker)
            QMetaObject::invokeMethod(tracker, std::move(fn), Qt::QueuedConnection);
    }
};

JobRun::JobRun(std::shared_ptr<Link> link, quint64 tag, const JobContext &job)
    : m_link(std::move(link))
    , m_tag(tag)
    , m_context(job) // shares the cancellation flag
{
    m_clock.start();
    m_context.setProgressCallback([this](const ProgressUpdate &u) {
        progress(u.done, u.total, QString::fromStdString(u.unit), QString::fromStdString(u.message));
    });
}

void JobRun::progress(std::uint64_t done, std::uint64_t total, const QString &unit,
    const QString &message, bool force)
{
    if (!force && m_lastReport.isValid() && m_lastReport.elapsed() < kProgressIntervalMs)
        return;
    m_lastReport.start();
    JobProgress p;
    p.done = done;
    p.total = total;
    p.unit = unit;
    p.message = message;
    const double elapsed = m_clock.elapsed() / 1000.0;
    if (done > 0 && total >= done && elapsed > 0)
        p.etaSeconds = elapsed / static_cast<double>(done) * static_cast<double>(total - done);
    const quint64 tag = m_tag;
    post([link = m_link, tag, p] {
        std::lock_guard lock(link->mutex);
        if (link->tracker)
            link->tracker->onProgress(tag, p);
    });
}

void JobRun::deliver(std::function<void()> fn) const
{
    const quint64 tag = m_tag;
    std::weak_ptr<Link> link = m_link;
    m_link->post([link, tag, fn = std::move(fn)] {
        // On the GUI thread, where the tracker lives: no lock is needed to
        // ask it, and it exists (the link would be cut otherwise).
        const auto alive = link.lock();
        if (alive && alive->tracker && alive->tracker->isCurrent(tag))
            fn();
    });
}

void JobRun::post(std::function<void()> fn) const
{
    m_link->post(std::move(fn));
}

JobTracker::JobTracker(QObject *parent)
    : QObject(parent)
    , m_link(std::make_shared<JobRun::Link>())
    , m_jobList(new JobListModel(this))
{
    qRegisterMetaType<moescope::ui::JobProgress>();
    m_link->tracker = this;
}

JobTracker::~JobTracker()
{
    shutdown();
    std::lock_guard lock(m_link->mutex);
    m_link->tracker = nullptr;
}

void JobTracker::shutdown()
{
    cancelAll();
    if (m_modelThread) {
        m_modelThread->quit();
        // Cancellation is checked per layer, so this returns quickly; a
        // model still loading (not cancellable inside core) is waited for.
        m_modelThread->wait();
        delete m_modelThreadContext;
        m_modelThreadContext = nullptr;
        delete m_modelThread;
        m_modelThread = nullptr;
    }
}

quint64 JobTracker::enqueue(
    const QString &kind, const QString &title, std::function<void(quint64, const QString &)> onFailed)
{
    const quint64 tag = ++m_nextTag;
    // Supersede: the older job of this kind stops, and whatever it still
    // reports is dropped by isCurrent().
    if (const quint64 older = m_latest.value(kind, 0)) {
        auto it = m_jobs.find(older);
        if (it != m_jobs.end())
            it->second.context.requestCancel();
    }
    m_latest.insert(kind, tag);
    const bool wasBusy = isBusy();
    m_jobs.emplace(tag, Job { kind, JobContext(), std::move(onFailed) });
    m_jobList->addJob(tag, title);
    if (!wasBusy)
        Q_EMIT busyChanged(true);
    return tag;
}

// Every job's frame on its thread: one cancelled while queued only ends;
// otherwise it starts, runs body (which delivers its result), and ends done,
// cancelled, or failed with a one-line message (HDF5's can carry a newline
// from ctime(); the message bar shows one line, as the CLI does).
void JobTracker::run(JobThread thread, quint64 tag, std::function<void(JobRun &)> body)
{
    auto link = m_link;
    const JobContext context = m_jobs.at(tag).context;
    auto frame = [link, tag, context, body = std::move(body)]() mutable {
        auto ended = [&](bool cancelled) {
            link->post([link, tag, cancelled] {
                if (link->tracker)
                    link->tracker->onEnded(tag, cancelled);
            });
        };
        auto failed = [&](const QString &message) {
            link->post([link, tag, message] {
                if (link->tracker)
                    link->tracker->onFailed(tag, message);
            });
        };
        if (context.isCancelled()) {
            ended(true);
            return;
        }
        link->post([link, tag] {
            if (link->tracker)
                link->tracker->onStarted(tag);
        });
        try {
            JobRun run(link, tag, context);
            body(run);
            ended(false);
        } catch (const Cancelled &) {
            ended(true);
        } catch (const std::exception &e) {
            QString message = QString::fromStdString(e.what());
            message.replace(QLatin1Char('\n'), QLatin1Char(' '));
            failed(message.trimmed());
            ended(false);
        } catch (...) {
            failed(QStringLiteral("unexpected error"));
            ended(false);
        }
    };
    if (thread == JobThread::Pool) {
        QThreadPool::globalInstance()->start(std::move(frame));
        return;
    }
    if (!m_modelThread) {
        m_modelThread = new QThread;
        m_modelThread->setObjectName(QStringLiteral("moescope-model-worker"));
        m_modelThreadContext = new QObject;
        m_modelThreadContext->moveToThread(m_modelThread);
        m_modelThread->start();
    }
    QMetaObject::invokeMethod(m_modelThreadContext, std::move(frame), Qt::QueuedConnection);
}

void JobTracker::cancel(quint64 tag)
{
    auto it = m_jobs.find(tag);
    if (it != m_jobs.end())
        it->second.context.requestCancel();
}

void JobTracker::cancelAll()
{
    for (auto &[tag, job] : m_jobs)
        job.context.requestCancel();
}

bool JobTracker::isCurrent(quint64 tag) const
{
    auto it = m_jobs.find(tag);
    return it != m_jobs.end() && !it->second.context.isCancelled()
        && m_latest.value(it->second.kind) == tag;
}

void JobTracker::onStarted(quint64 tag)
{
    m_jobList->setRunning(tag);
}

void JobTracker::onProgress(quint64 tag, const JobProgress &progress)
{
    m_jobList->setProgress(tag, progress);
}

void JobTracker::onFailed(quint64 tag, const QString &message)
{
    if (!isCurrent(tag))
        return;
    const Job &job = m_jobs.at(tag);
    if (job.onFailed)
        job.onFailed(tag, message);
}

void JobTracker::onEnded(quint64 tag, bool cancelled)
{
    auto it = m_jobs.find(tag);
    if (it == m_jobs.end())
        return;
    const QString kind = it->second.kind;
    m_jobs.erase(it);
    m_jobList->removeJob(tag);
    // Superseded jobs end silently; the newest one of its kind tells the
    // view it stopped (a user cancel, or a cancelAll).
    if (cancelled && m_latest.value(kind) == tag)
        Q_EMIT jobCancelled(tag, kind);
    if (m_jobs.empty())
        Q_EMIT busyChanged(false);
}

bool JobTracker::waitForIdle(int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (isBusy() && !deadline.hasExpired()) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        QThread::msleep(1);
    }
    return !isBusy();
}

} // namespace moescope::ui
