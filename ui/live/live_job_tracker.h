#pragma once

// The GUI side of the worker thread. Owns the QThread and the ModelWorker
// (which owns the model), tags every request, and delivers only results of
// the newest request per channel ("model", "playground", "ablation:baseline"
// ...): a newer request cancels the older one (it stops within a layer) and
// anything the older one still reports is dropped, never drawn. Loading a
// model cancels every other job, since their results would belong to the
// previous model. All signals arrive on the GUI thread.

#include "ui/live/live_data.h"

#include "core/jobs/job_context.h"

#include <QHash>
#include <QObject>
#include <QString>

#include <map>

class QThread;

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

    void cancel(quint64 tag);
    void cancelAll();

    ModelFactsPtr model() const { return m_model; }
    bool hasModel() const { return m_model != nullptr; }
    JobListModel *jobList() const { return m_jobList; }
    bool isBusy() const { return !m_jobs.empty(); }
    // Newest request of channel (0: none yet).
    quint64 latest(const QString &channel) const { return m_latest.value(channel, 0); }

    // Processes events until no job is left or timeoutMs passed (tests,
    // shutdown); returns whether the worker is idle.
    bool waitForIdle(int timeoutMs);

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
    enum class Kind { Model, Generation, Task };
    struct Job
    {
        QString channel;
        JobContext context;
        Kind kind = Kind::Generation;
    };

    quint64 enqueue(const QString &channel, const QString &title, Kind kind);
    template <typename Argument>
    quint64 dispatch(const QString &channel, const QString &title, Kind kind,
        void (ModelWorker::*method)(quint64, const JobContext &, const Argument &),
        const Argument &argument);
    bool isCurrent(quint64 tag) const;
    void onStarted(quint64 tag);
    void onProgress(quint64 tag, const JobProgress &progress);
    void onModelLoaded(quint64 tag, ModelFactsPtr facts);
    void onGeneration(quint64 tag, GenerationOutcomePtr outcome);
    void onCommitted(quint64 tag, const RecordingCommit &commit);
    void onRecorded(quint64 tag, RecordingOutcomePtr outcome);
    void onGrid(quint64 tag, GridOutcomePtr outcome);
    void onFailed(quint64 tag, const QString &message);
    void onEnded(quint64 tag, bool cancelled);

    QThread *m_thread;
    ModelWorker *m_worker;
    JobListModel *m_jobList;
    ModelFactsPtr m_model;
    std::map<quint64, Job> m_jobs; // queued or running
    QHash<QString, quint64> m_latest;
    quint64 m_nextTag = 0;
};

} // namespace moescope::ui
