#pragma once

// The object that owns the loaded model and runs model jobs on the worker
// thread (ARCHITECTURE.md "Threading"). LiveJobTracker moves it to its
// QThread and queues calls into it; every call reports through queued
// signals: jobStarted, any number of jobProgress / generationUpdated, then
// modelLoaded or a final generationUpdated (complete) or jobFailed, and
// always jobEnded last. Never call it from the GUI thread.

#include "ui/live/live_data.h"

#include "core/jobs/job_context.h"

#include <QObject>

#include <memory>

namespace moescope::ui {

class ModelWorker : public QObject
{
    Q_OBJECT
public:
    explicit ModelWorker(QObject *parent = nullptr);
    ~ModelWorker() override;

    // Replaces the loaded model only when the new one loads; a failure keeps
    // the previous model.
    void loadModel(quint64 tag, const moescope::JobContext &job, const QString &directory);
    void generate(quint64 tag, const moescope::JobContext &job,
        const moescope::ui::GenerationRequest &request);
    // `moescope record` into request.outputPath: recordingCommitted after
    // every committed batch (with the re-read trace now and then), then
    // recordingFinished. Cancelling leaves every committed batch in a valid
    // trace (core recordRouting).
    void record(quint64 tag, const moescope::JobContext &job,
        const moescope::ui::RecordingRequest &request);
    // `moescope ablate` / `moescope steer`: core runGrid over the cells core
    // builds from the request's trace; gridFinished with the metric table.
    void runGrid(
        quint64 tag, const moescope::JobContext &job, const moescope::ui::GridRequest &request);

Q_SIGNALS:
    void jobStarted(quint64 tag);
    void jobProgress(quint64 tag, const moescope::ui::JobProgress &progress);
    void modelLoaded(quint64 tag, moescope::ui::ModelFactsPtr facts);
    // Streaming (complete == false) and final (complete == true) results.
    void generationUpdated(quint64 tag, moescope::ui::GenerationOutcomePtr outcome);
    void recordingCommitted(quint64 tag, const moescope::ui::RecordingCommit &commit);
    void recordingFinished(quint64 tag, moescope::ui::RecordingOutcomePtr outcome);
    void gridFinished(quint64 tag, moescope::ui::GridOutcomePtr outcome);
    void jobFailed(quint64 tag, const QString &message);
    void jobEnded(quint64 tag, bool cancelled);

private:
    struct Loaded;
    // The loaded model and its tokenizer, or Error saying what is missing.
    const Loaded &requireTokenizer() const;
    class Run;
    template <typename Body>
    void runJob(quint64 tag, const moescope::JobContext &job, Body &&body);
    std::unique_ptr<Loaded> m_loaded;
};

} // namespace moescope::ui
