#include "ui/live/live_job_tracker.h"

#include "ui/live/model_worker.h"

#include <QFileInfo>

namespace moescope::ui {

LiveJobTracker::LiveJobTracker(QObject *parent)
    : QObject(parent)
    , m_jobs(new JobTracker(this))
    , m_worker(std::make_unique<ModelWorker>())
{
    qRegisterMetaType<moescope::ui::ModelFactsPtr>();
    qRegisterMetaType<moescope::ui::GenerationOutcomePtr>();
    qRegisterMetaType<moescope::ui::RecordingCommit>();
    qRegisterMetaType<moescope::ui::RecordingOutcomePtr>();
    qRegisterMetaType<moescope::ui::GridOutcomePtr>();
    connect(m_jobs, &JobTracker::jobCancelled, this, &LiveJobTracker::jobCancelled);
    connect(m_jobs, &JobTracker::busyChanged, this, &LiveJobTracker::busyChanged);
}

LiveJobTracker::~LiveJobTracker()
{
    // The model thread has finished after this, so the worker (and the
    // model) can go with the tracker.
    m_jobs->shutdown();
}

template <typename Work, typename OnResult>
quint64 LiveJobTracker::startModelJob(const QString &channel, const QString &title, Work work,
    OnResult onResult, void (LiveJobTracker::*failed)(quint64, const QString &, const QString &))
{
    return m_jobs->startJob(
        channel, title, JobThread::Model,
        [worker = m_worker.get(), work = std::move(work)](JobRun &run) { return work(*worker, run); },
        std::move(onResult),
        [this, channel, failed](quint64 tag, const QString &message) {
            (this->*failed)(tag, channel, message);
        });
}

quint64 LiveJobTracker::loadModel(const QString &directory)
{
    m_jobs->cancelAll();
    return startModelJob(
        modelChannel(), tr("Load model %1").arg(QFileInfo(directory).fileName()),
        [this, directory](ModelWorker &worker, JobRun &run) {
            auto facts = worker.loadModel(run, directory);
            // The worker has switched models even if this request is
            // superseded by a newer load (which then replaces it again), so
            // the facts always follow.
            run.post([this, facts] { m_model = facts; });
            return facts;
        },
        [this](quint64 tag, ModelFactsPtr facts) { Q_EMIT modelLoaded(tag, std::move(facts)); },
        &LiveJobTracker::failedModel);
}

quint64 LiveJobTracker::generate(const QString &channel, const GenerationRequest &request)
{
    const QString title
        = request.title.isEmpty() ? tr("Generate (%1)").arg(channel) : request.title;
    return startModelJob(
        channel, title,
        [this, channel, request](ModelWorker &worker, JobRun &run) {
            return worker.generate(run, request, [&](GenerationOutcomePtr partial) {
                run.deliver([this, tag = run.tag(), channel, partial] {
                    Q_EMIT generationUpdated(tag, channel, partial);
                });
            });
        },
        [this, channel](quint64 tag, GenerationOutcomePtr outcome) {
            Q_EMIT generationUpdated(tag, channel, std::move(outcome));
        },
        &LiveJobTracker::failedGeneration);
}

quint64 LiveJobTracker::record(const QString &channel, const RecordingRequest &request)
{
    const QString title = request.title.isEmpty()
        ? tr("Record %1").arg(QFileInfo(QString::fromStdString(request.outputPath)).fileName())
        : request.title;
    return startModelJob(
        channel, title,
        [this, channel, request](ModelWorker &worker, JobRun &run) {
            return worker.record(run, request, [&](const RecordingCommit &commit) {
                run.deliver([this, tag = run.tag(), channel, commit] {
                    Q_EMIT recordingCommitted(tag, channel, commit);
                });
            });
        },
        [this, channel](quint64 tag, RecordingOutcomePtr outcome) {
            Q_EMIT recordingFinished(tag, channel, std::move(outcome));
        },
        &LiveJobTracker::failedTask);
}

quint64 LiveJobTracker::runGrid(const QString &channel, const GridRequest &request)
{
    const QString title = request.title.isEmpty() ? tr("Grid (%1)").arg(channel) : request.title;
    return startModelJob(
        channel, title,
        [request](ModelWorker &worker, JobRun &run) { return worker.runGrid(run, request); },
        [this, channel](quint64 tag, GridOutcomePtr outcome) {
            Q_EMIT gridFinished(tag, channel, std::move(outcome));
        },
        &LiveJobTracker::failedTask);
}

} // namespace moescope::ui
