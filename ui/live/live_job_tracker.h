#pragma once

// The model's jobs in the GUI: one JobTracker (ui/jobs/job_tracker.h) whose
// model thread holds the ModelWorker (which owns the loaded model). Each job
// is one registration line over a core function: its kind is the channel
// ("model", "playground", "ablation:baseline" ...), so a newer request of a
// channel supersedes the older one. Loading a model cancels every other job,
// since their results would belong to the previous model. All signals
// arrive on the GUI thread, for the newest job of their channel only.

#include "ui/jobs/job_tracker.h"
#include "ui/live/live_data.h"

#include <QObject>
#include <QString>

#include <memory>

namespace moescope::ui {

class JobListModel;
class ModelWorker;

class LiveJobTracker : public QObject
{
    Q_OBJECT
public:
    explicit LiveJobTracker(QObject *parent = nullptr);
    // Cancels every job and waits (at most about a second) for the worker.
    ~LiveJobTracker() override;

    quint64 loadModel(const QString &directory);
    quint64 generate(const QString &channel, const GenerationRequest &request);
    quint64 record(const QString &channel, const RecordingRequest &request);
    quint64 runGrid(const QString &channel, const GridRequest &request);

    void cancel(quint64 tag) { m_jobs->cancel(tag); }
    void cancelAll() { m_jobs->cancelAll(); }

    ModelFactsPtr model() const { return m_model; }
    bool hasModel() const { return m_model != nullptr; }
    JobListModel *jobList() const { return m_jobs->jobList(); }
    bool isBusy() const { return m_jobs->isBusy(); }
    // Newest request of channel (0: none yet).
    quint64 latest(const QString &channel) const { return m_jobs->latest(channel); }
    bool waitForIdle(int timeoutMs) { return m_jobs->waitForIdle(timeoutMs); }

    static QString modelChannel() { return QStringLiteral("model"); }

Q_SIGNALS:
    void modelLoaded(quint64 tag, moescope::ui::ModelFactsPtr facts);
    void modelFailed(quint64 tag, const QString &message);
    // Streaming (outcome->complete == false) and final results.
    void generationUpdated(
        quint64 tag, const QString &channel, moescope::ui::GenerationOutcomePtr outcome);
    void generationFailed(quint64 tag, const QString &channel, const QString &message);
    void recordingCommitted(
        quint64 tag, const QString &channel, const moescope::ui::RecordingCommit &commit);
    void recordingFinished(
        quint64 tag, const QString &channel, moescope::ui::RecordingOutcomePtr outcome);
    void gridFinished(quint64 tag, const QString &channel, moescope::ui::GridOutcomePtr outcome);
    // A recording or grid job failed (generations report generationFailed).
    void taskFailed(quint64 tag, const QString &channel, const QString &message);
    // The newest job of channel stopped before finishing (cancelled by the
    // user, or by a model load).
    void jobCancelled(quint64 tag, const QString &channel);
    void busyChanged(bool busy);

private:
    // A job on the model thread: work(worker, run) -> result, onResult
    // and failures reported as `failed` on the GUI thread.
    template <typename Work, typename OnResult>
    quint64 startModelJob(const QString &channel, const QString &title, Work work, OnResult onResult,
        void (LiveJobTracker::*failed)(quint64, const QString &, const QString &));
    void failedTask(quint64 tag, const QString &channel, const QString &message)
    {
        Q_EMIT taskFailed(tag, channel, message);
    }
    void failedGeneration(quint64 tag, const QString &channel, const QString &message)
    {
        Q_EMIT generationFailed(tag, channel, message);
    }
    void failedModel(quint64 tag, const QString &, const QString &message)
    {
        Q_EMIT modelFailed(tag, message);
    }

    JobTracker *m_jobs;
    std::unique_ptr<ModelWorker> m_worker; // used on the model thread only
    ModelFactsPtr m_model;
};

} // namespace moescope::ui
