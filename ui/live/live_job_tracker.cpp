#include "ui/live/live_job_tracker.h"

#include "ui/live/model_worker.h"
#include "ui/models/job_list_model.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QFileInfo>
#include <QThread>

namespace moescope::ui {

LiveJobTracker::LiveJobTracker(QObject *parent)
    : QObject(parent)
    , m_thread(new QThread(this))
    , m_worker(new ModelWorker)
    , m_jobList(new JobListModel(this))
{
    qRegisterMetaType<moescope::ui::ModelFactsPtr>();
    qRegisterMetaType<moescope::ui::GenerationOutcomePtr>();
    qRegisterMetaType<moescope::ui::JobProgress>();
    qRegisterMetaType<moescope::ui::RecordingCommit>();
    qRegisterMetaType<moescope::ui::RecordingOutcomePtr>();
    qRegisterMetaType<moescope::ui::GridOutcomePtr>();
    m_thread->setObjectName(QStringLiteral("moescope-model-worker"));
    m_worker->moveToThread(m_thread);
    // The worker lives in another thread, so these are queued connections.
    connect(m_worker, &ModelWorker::jobStarted, this, &LiveJobTracker::onStarted);
    connect(m_worker, &ModelWorker::jobProgress, this, &LiveJobTracker::onProgress);
    connect(m_worker, &ModelWorker::modelLoaded, this, &LiveJobTracker::onModelLoaded);
    connect(m_worker, &ModelWorker::generationUpdated, this, &LiveJobTracker::onGeneration);
    connect(m_worker, &ModelWorker::recordingCommitted, this, &LiveJobTracker::onCommitted);
    connect(m_worker, &ModelWorker::recordingFinished, this, &LiveJobTracker::onRecorded);
    connect(m_worker, &ModelWorker::gridFinished, this, &LiveJobTracker::onGrid);
    connect(m_worker, &ModelWorker::jobFailed, this, &LiveJobTracker::onFailed);
    connect(m_worker, &ModelWorker::jobEnded, this, &LiveJobTracker::onEnded);
    m_thread->start();
}

LiveJobTracker::~LiveJobTracker()
{
    cancelAll();
    m_thread->quit();
    // Cancellation is checked per layer, so this returns quickly; a model
    // still loading (not cancellable inside core) is waited for.
    m_thread->wait();
    // The thread has finished, so the worker (and the model) can go here.
    delete m_worker;
}

quint64 LiveJobTracker::enqueue(const QString &channel, const QString &title, Kind kind)
{
    const quint64 tag = ++m_nextTag;
    // Supersede: the older request of this channel stops, and whatever it
    // still reports is dropped by isCurrent().
    if (const quint64 older = m_latest.value(channel, 0)) {
        auto it = m_jobs.find(older);
        if (it != m_jobs.end())
            it->second.context.requestCancel();
    }
    m_latest.insert(channel, tag);
    const bool wasBusy = isBusy();
    m_jobs.emplace(tag, Job { channel, JobContext(), kind });
    m_jobList->addJob(tag, title);
    if (!wasBusy)
        Q_EMIT busyChanged(true);
    return tag;
}

// Queues method(tag, context, argument) on the worker thread for a new job.
template <typename Argument>
quint64 LiveJobTracker::dispatch(const QString &channel, const QString &title, Kind kind,
    void (ModelWorker::*method)(quint64, const JobContext &, const Argument &),
    const Argument &argument)
{
    const quint64 tag = enqueue(channel, title, kind);
    const JobContext context = m_jobs.at(tag).context;
    ModelWorker *worker = m_worker;
    QMetaObject::invokeMethod(
        worker,
        [worker, method, tag, context, argument] { (worker->*method)(tag, context, argument); },
        Qt::QueuedConnection);
    return tag;
}

quint64 LiveJobTracker::loadModel(const QString &directory)
{
    for (auto &[tag, job] : m_jobs)
        job.context.requestCancel();
    return dispatch(modelChannel(), tr("Load model %1").arg(QFileInfo(directory).fileName()),
        Kind::Model, &ModelWorker::loadModel, directory);
}

quint64 LiveJobTracker::generate(const QString &channel, const GenerationRequest &request)
{
    const QString title
        = request.title.isEmpty() ? tr("Generate (%1)").arg(channel) : request.title;
    return dispatch(channel, title, Kind::Generation, &ModelWorker::generate, request);
}

quint64 LiveJobTracker::record(const QString &channel, const RecordingRequest &request)
{
    const QString title = request.title.isEmpty()
        ? tr("Record %1").arg(QFileInfo(QString::fromStdString(request.outputPath)).fileName())
        : request.title;
    return dispatch(channel, title, Kind::Task, &ModelWorker::record, request);
}

quint64 LiveJobTracker::runGrid(const QString &channel, const GridRequest &request)
{
    const QString title = request.title.isEmpty() ? tr("Grid (%1)").arg(channel) : request.title;
    return dispatch(channel, title, Kind::Task, &ModelWorker::runGrid, request);
}

void LiveJobTracker::cancel(quint64 tag)
{
    auto it = m_jobs.find(tag);
    if (it == m_jobs.end())
        return;
    it->second.context.requestCancel();
}

void LiveJobTracker::cancelAll()
{
    for (auto &[tag, job] : m_jobs)
        job.context.requestCancel();
}

bool LiveJobTracker::isCurrent(quint64 tag) const
{
    auto it = m_jobs.find(tag);
    return it != m_jobs.end() && !it->second.context.isCancelled()
        && m_latest.value(it->second.channel) == tag;
}

void LiveJobTracker::onStarted(quint64 tag)
{
    m_jobList->setRunning(tag);
}

void LiveJobTracker::onProgress(quint64 tag, const JobProgress &progress)
{
    m_jobList->setProgress(tag, progress);
}

void LiveJobTracker::onModelLoaded(quint64 tag, ModelFactsPtr facts)
{
    // The worker has switched models even if this request was superseded by
    // a newer load (which then replaces it again), so the facts always follow.
    m_model = facts;
    if (isCurrent(tag))
        Q_EMIT modelLoaded(tag, facts);
}

void LiveJobTracker::onGeneration(quint64 tag, GenerationOutcomePtr outcome)
{
    if (isCurrent(tag))
        Q_EMIT generationUpdated(tag, m_jobs.at(tag).channel, std::move(outcome));
}

void LiveJobTracker::onCommitted(quint64 tag, const RecordingCommit &commit)
{
    if (isCurrent(tag))
        Q_EMIT recordingCommitted(tag, m_jobs.at(tag).channel, commit);
}

void LiveJobTracker::onRecorded(quint64 tag, RecordingOutcomePtr outcome)
{
    if (isCurrent(tag))
        Q_EMIT recordingFinished(tag, m_jobs.at(tag).channel, std::move(outcome));
}

void LiveJobTracker::onGrid(quint64 tag, GridOutcomePtr outcome)
{
    if (isCurrent(tag))
        Q_EMIT gridFinished(tag, m_jobs.at(tag).channel, std::move(outcome));
}

void LiveJobTracker::onFailed(quint64 tag, const QString &message)
{
    if (!isCurrent(tag))
        return;
    const Job &job = m_jobs.at(tag);
    switch (job.kind) {
    case Kind::Model:
        Q_EMIT modelFailed(tag, message);
        break;
    case Kind::Generation:
        Q_EMIT generationFailed(tag, job.channel, message);
        break;
    case Kind::Task:
        Q_EMIT taskFailed(tag, job.channel, message);
        break;
    }
}

void LiveJobTracker::onEnded(quint64 tag, bool cancelled)
{
    auto it = m_jobs.find(tag);
    if (it == m_jobs.end())
        return;
    const Job job = it->second;
    m_jobs.erase(it);
    m_jobList->removeJob(tag);
    // Superseded jobs end silently; the newest one of its channel tells the
    // view it stopped (a user cancel, or a model load that cancelled it).
    if (cancelled && m_latest.value(job.channel) == tag)
        Q_EMIT jobCancelled(tag, job.channel);
    if (m_jobs.empty())
        Q_EMIT busyChanged(false);
}

bool LiveJobTracker::waitForIdle(int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (isBusy() && !deadline.hasExpired()) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        QThread::msleep(1);
    }
    return !isBusy();
}

} // namespace moescope::ui
