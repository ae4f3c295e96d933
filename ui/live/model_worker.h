#pragma once

// The loaded model and the jobs that use it (docs/architecture.md
// "Threading"). LiveJobTracker runs every call on the model thread through
// JobTracker, one after another; nothing here is called from the GUI thread.
// Each job's work is a core function (core/experiments); what stays here is
// the GUI's side of it: the facts the model panel shows, streamed partial
// generations with per-token routing, the trace re-read between commits,
// and the CLI line that repeats a GUI run.

#include "ui/live/live_data.h"

#include <QCoreApplication>

#include <functional>
#include <memory>

namespace moescope::ui {

class JobRun;

class ModelWorker
{
    Q_DECLARE_TR_FUNCTIONS(moescope::ui::ModelWorker)
public:
    ModelWorker();
    ~ModelWorker();

    // Replaces the loaded model only when the new one loads; a failure keeps
    // the previous model.
    ModelFactsPtr loadModel(JobRun &run, const QString &directory);
    // stream gets the partial outcomes (complete == false) while generating.
    GenerationOutcomePtr generate(JobRun &run, const GenerationRequest &request,
        const std::function<void(GenerationOutcomePtr)> &stream);
    // `moescope record` into request.outputPath: onCommit after every
    // committed batch (with the re-read trace now and then). Cancelling
    // leaves every committed batch in a valid trace (core recordRouting).
    RecordingOutcomePtr record(JobRun &run, const RecordingRequest &request,
        const std::function<void(const RecordingCommit &)> &onCommit);
    // `moescope ablate` / `moescope steer` over the request's trace.
    GridOutcomePtr runGrid(JobRun &run, const GridRequest &request);

private:
    struct Loaded;
    // The loaded model and its tokenizer, or Error saying what is missing.
    const Loaded &requireTokenizer() const;
    std::unique_ptr<Loaded> m_loaded;
};

} // namespace moescope::ui
