#pragma once

// Study loading and analysis as jobs of kind "study" on the thread pool
// (ui/jobs/job_tracker.h): only the result of the newest request is
// delivered, so a slow load or analysis that was superseded (new file, new
// parameters) is dropped instead of drawn over newer results.

#include "ui/study/study_snapshot.h"
#include "ui/study/study_source.h"

#include <QObject>
#include <QString>

namespace moescope::ui {

class JobTracker;

class StudyJobTracker : public QObject
{
    Q_OBJECT
public:
    explicit StudyJobTracker(QObject *parent = nullptr);
    ~StudyJobTracker() override;

    // Load source and analyse it with the current parameters.
    quint64 requestLoad(const StudySource &source);
    // Analyse a trace already read (a recording's latest commit); source
    // names where it lives, for captions and later re-analyses.
    quint64 requestTrace(const StudySource &source, std::shared_ptr<const RoutingTrace> trace);
    // Re-analyse the current (or pending) source with new parameters.
    quint64 requestParams(const AnalysisParams &params);

    const AnalysisParams &params() const { return m_params; }
    StudySnapshotPtr current() const { return m_current; }
    const StudySource &currentSource() const { return m_currentSource; }
    bool isBusy() const;

    // Blocks until every started job has finished (tests, shutdown).
    void waitForIdle();

Q_SIGNALS:
    void snapshotReady(quint64 tag, moescope::ui::StudySnapshotPtr snapshot);
    void failed(quint64 tag, const QString &message);
    void busyChanged(bool busy);

private:
    quint64 start(const StudySource &source, std::shared_ptr<const RoutingTrace> trace);

    JobTracker *m_jobs;
    AnalysisParams m_params;
    StudySource m_pendingSource;                    // newest requested source
    std::shared_ptr<const RoutingTrace> m_pendingTrace; // loaded trace of it, if known
    StudySource m_currentSource;                    // source of m_current
    StudySnapshotPtr m_current;
};

} // namespace moescope::ui

Q_DECLARE_METATYPE(moescope::ui::StudySnapshotPtr)
