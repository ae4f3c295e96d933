#pragma once

// Everything the live (model-backed) side of the window needs, wired
// together so that MainWindow only places it: the job tracker and its
// worker thread, the current plan, the model / jobs / playground panels,
// and the File-menu actions that open models and plans.

#include "ui/study/study_snapshot.h"

#include <QObject>
#include <QPointer>

class QAction;
class QWidget;

namespace moescope::ui {

class AblationPanel;
class JobsPanel;
class LiveJobTracker;
class ModelPanel;
class PlanDocument;
class PlaygroundPanel;
class RecordingPanel;
class SteeringPanel;

class LiveWorkbench : public QObject
{
    Q_OBJECT
public:
    // dialogParent: parent of the file dialogs.
    explicit LiveWorkbench(QWidget *dialogParent);
    ~LiveWorkbench() override;

    LiveJobTracker *jobs() const { return m_jobs; }
    PlanDocument *plan() const { return m_plan; }
    ModelPanel *modelPanel() const;
    JobsPanel *jobsPanel() const;
    PlaygroundPanel *playground() const;
    AblationPanel *ablation() const;
    RecordingPanel *recording() const;
    SteeringPanel *steering() const;

    QAction *openModelAction() const { return m_openModel; }
    QAction *openPlanAction() const { return m_openPlan; }
    QAction *savePlanAction() const { return m_savePlan; }
    QAction *clearPlanAction() const { return m_clearPlan; }

    // What the actions do after their dialogs; errors go to errorOccurred.
    void openModel(const QString &directory);
    bool openPlan(const QString &path);
    bool savePlan(const QString &path);
    // tracePath: the file the study came from ("" for the bundled one).
    void setSnapshot(StudySnapshotPtr snapshot, const QString &tracePath = {});

    // A folder that looks like a model (has config.json), as opposed to a
    // folder of study JSON files.
    static bool isModelFolder(const QString &path);

public Q_SLOTS:
    void openModelDialog();
    void openPlanDialog();
    void savePlanDialog();

Q_SIGNALS:
    void errorOccurred(const QString &message);
    void statusMessage(const QString &message);

private:
    void updatePlanViews();

    QWidget *m_dialogParent;
    LiveJobTracker *m_jobs;
    PlanDocument *m_plan;
    // Owned by the dock or tab they are put in (deleted here if never put
    // anywhere).
    QPointer<ModelPanel> m_modelPanel;
    QPointer<JobsPanel> m_jobsPanel;
    QPointer<PlaygroundPanel> m_playground;
    QPointer<AblationPanel> m_ablation;
    QPointer<RecordingPanel> m_recording;
    QPointer<SteeringPanel> m_steering;
    QAction *m_openModel;
    QAction *m_openPlan;
    QAction *m_savePlan;
    QAction *m_clearPlan;
};

} // namespace moescope::ui
