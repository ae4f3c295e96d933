#include "ui/live/live_workbench.h"

#include "ui/live/live_job_tracker.h"
#include "ui/live/plan_document.h"
#include "ui/views/ablation_panel.h"
#include "ui/views/jobs_panel.h"
#include "ui/views/model_panel.h"
#include "ui/views/playground_panel.h"
#include "ui/views/recording_panel.h"
#include "ui/views/steering_panel.h"

#include "core/common/error.h"

#include <QAction>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QSettings>

namespace moescope::ui {

namespace {
constexpr auto kModelDirectoryKey = "paths/lastModelDirectory";
constexpr auto kPlanDirectoryKey = "paths/lastPlanDirectory";

QString remembered(const char *key)
{
    return QSettings().value(QLatin1String(key), QDir::homePath()).toString();
}
} // namespace

LiveWorkbench::LiveWorkbench(QWidget *dialogParent)
    : QObject(dialogParent)
    , m_dialogParent(dialogParent)
    , m_jobs(new LiveJobTracker(this))
    , m_plan(new PlanDocument(this))
    , m_modelPanel(new ModelPanel)
    , m_jobsPanel(new JobsPanel(m_jobs->jobList()))
    , m_playground(new PlaygroundPanel(m_jobs, m_plan))
    , m_ablation(new AblationPanel(m_jobs, m_plan))
    , m_recording(new RecordingPanel(m_jobs))
    , m_steering(new SteeringPanel(m_jobs, m_plan))
    , m_openModel(new QAction(tr("Open &Model Folder…"), this))
    , m_openPlan(new QAction(tr("Open &Plan…"), this))
    , m_savePlan(new QAction(tr("&Save Plan As…"), this))
    , m_clearPlan(new QAction(tr("C&lear Plan"), this))
{
    m_openModel->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    connect(m_openModel, &QAction::triggered, this, &LiveWorkbench::openModelDialog);
    connect(m_openPlan, &QAction::triggered, this, &LiveWorkbench::openPlanDialog);
    connect(m_savePlan, &QAction::triggered, this, &LiveWorkbench::savePlanDialog);
    connect(m_clearPlan, &QAction::triggered, m_plan, &PlanDocument::clear);

    connect(m_modelPanel, &ModelPanel::openModelRequested, this, &LiveWorkbench::openModelDialog);
    connect(m_modelPanel, &ModelPanel::openPlanRequested, this, &LiveWorkbench::openPlanDialog);
    connect(m_modelPanel, &ModelPanel::savePlanRequested, this, &LiveWorkbench::savePlanDialog);
    connect(m_modelPanel, &ModelPanel::clearPlanRequested, m_plan, &PlanDocument::clear);
    connect(m_jobsPanel, &JobsPanel::cancelRequested, m_jobs, &LiveJobTracker::cancel);
    connect(m_playground, &PlaygroundPanel::errorOccurred, this, &LiveWorkbench::errorOccurred);
    connect(m_ablation, &AblationPanel::errorOccurred, this, &LiveWorkbench::errorOccurred);
    connect(m_recording, &RecordingPanel::errorOccurred, this, &LiveWorkbench::errorOccurred);
    connect(m_steering, &SteeringPanel::errorOccurred, this, &LiveWorkbench::errorOccurred);
    connect(m_plan, &PlanDocument::changed, this, &LiveWorkbench::updatePlanViews);

    connect(m_jobs, &LiveJobTracker::modelLoaded, this, [this](quint64, ModelFactsPtr facts) {
        m_modelPanel->setFacts(facts);
        Q_EMIT statusMessage(tr("Loaded model %1").arg(QDir::toNativeSeparators(facts->directory)));
    });
    connect(m_jobs, &LiveJobTracker::modelFailed, this, [this](quint64, const QString &message) {
        m_modelPanel->setFailed(m_jobs->model());
        Q_EMIT errorOccurred(tr("Could not load the model: %1").arg(message));
    });
    updatePlanViews();
}

// The tracker (a child) stops the worker thread.
LiveWorkbench::~LiveWorkbench()
{
    for (QWidget *panel :
        { static_cast<QWidget *>(m_playground), static_cast<QWidget *>(m_ablation),
            static_cast<QWidget *>(m_recording), static_cast<QWidget *>(m_steering),
            static_cast<QWidget *>(m_jobsPanel), static_cast<QWidget *>(m_modelPanel) })
        if (panel && !panel->parent())
            delete panel;
}

ModelPanel *LiveWorkbench::modelPanel() const
{
    return m_modelPanel;
}

JobsPanel *LiveWorkbench::jobsPanel() const
{
    return m_jobsPanel;
}

PlaygroundPanel *LiveWorkbench::playground() const
{
    return m_playground;
}

AblationPanel *LiveWorkbench::ablation() const
{
    return m_ablation;
}

RecordingPanel *LiveWorkbench::recording() const
{
    return m_recording;
}

SteeringPanel *LiveWorkbench::steering() const
{
    return m_steering;
}

bool LiveWorkbench::isModelFolder(const QString &path)
{
    const QFileInfo info(path);
    return info.isDir() && QFileInfo::exists(QDir(path).filePath(QStringLiteral("config.json")));
}

void LiveWorkbench::openModel(const QString &directory)
{
    m_modelPanel->setLoading(directory);
    m_jobs->loadModel(directory);
}

void LiveWorkbench::openModelDialog()
{
    const QString dir = QFileDialog::getExistingDirectory(
        m_dialogParent, tr("Open model folder"), remembered(kModelDirectoryKey));
    if (dir.isEmpty())
        return;
    QSettings().setValue(QLatin1String(kModelDirectoryKey), dir);
    openModel(dir);
}

bool LiveWorkbench::openPlan(const QString &path)
{
    try {
        m_plan->load(path);
        if (const auto facts = m_jobs->model())
            routing::validatePlan(m_plan->plan(), facts->planTarget, path.toStdString());
    } catch (const Error &e) {
        Q_EMIT errorOccurred(tr("Plan problem: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    Q_EMIT statusMessage(tr("Opened plan %1").arg(QDir::toNativeSeparators(path)));
    return true;
}

bool LiveWorkbench::savePlan(const QString &path)
{
    try {
        m_plan->save(path);
    } catch (const Error &e) {
        Q_EMIT errorOccurred(
            tr("Could not save the plan: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
    Q_EMIT statusMessage(tr("Saved plan %1").arg(QDir::toNativeSeparators(path)));
    return true;
}

void LiveWorkbench::openPlanDialog()
{
    const QString path = QFileDialog::getOpenFileName(m_dialogParent, tr("Open intervention plan"),
        remembered(kPlanDirectoryKey), tr("Plans (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    QSettings().setValue(QLatin1String(kPlanDirectoryKey), QFileInfo(path).absolutePath());
    openPlan(path);
}

void LiveWorkbench::savePlanDialog()
{
    QString path = QFileDialog::getSaveFileName(m_dialogParent, tr("Save intervention plan"),
        QDir(remembered(kPlanDirectoryKey)).filePath(QStringLiteral("plan.json")),
        tr("Plans (*.json)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QStringLiteral(".json");
    QSettings().setValue(QLatin1String(kPlanDirectoryKey), QFileInfo(path).absolutePath());
    savePlan(path);
}

void LiveWorkbench::setSnapshot(StudySnapshotPtr snapshot, const QString &tracePath)
{
    m_playground->setSnapshot(snapshot);
    m_ablation->setSnapshot(snapshot, tracePath);
    m_steering->setSnapshot(std::move(snapshot), tracePath);
}

void LiveWorkbench::updatePlanViews()
{
    m_modelPanel->setPlanSummary(m_plan->summary(), m_plan->path(), m_plan->isEmpty());
    m_savePlan->setEnabled(!m_plan->isEmpty());
    m_clearPlan->setEnabled(!m_plan->isEmpty());
}

} // namespace moescope::ui
