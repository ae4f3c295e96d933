#pragma once

#include "ui/live/live_data.h"
#include "ui/study/study_snapshot.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QGroupBox;
class QHBoxLayout;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTextEdit;
class QTimer;

namespace moescope::ui {

class FigureView;
class InterventionResultsRenderer;
class LiveJobTracker;
class PlanDocument;
class PlanMapRenderer;

// What the ablation and steering panels share. The controls (the
// subclass's own, then top-k, threshold and layer range) give a plan from
// the loaded study, drawn as a layer × expert map. A prompt is generated
// without and with the plan side by side; any change of the controls
// re-runs both after a short pause (debounced), newer runs superseding
// older ones. The experiment's grid (`moescope ablate` / `moescope steer`:
// core cells + runGrid over an evaluation corpus) runs as a job and its
// results folder is drawn as the second figure.
class InterventionPanel : public QWidget
{
    Q_OBJECT
public:
    static constexpr int kDebounceMs = 400;

    QString baselineChannel() const { return m_experiment.id + QStringLiteral(":baseline"); }
    QString intervenedChannel() const { return m_experiment.id + QStringLiteral(":intervened"); }
    QString gridChannel() const { return m_experiment.id + QStringLiteral(":grid"); }

    void setSnapshot(StudySnapshotPtr snapshot, const QString &tracePath = {});

    // The plan the controls describe; empty while unavailableReason() says why.
    virtual routing::InterventionPlan currentPlan() const = 0;
    // Why no plan can be built ("" when one can).
    virtual QString unavailableReason() const;
    // What the grid job sends; throws moescope::Error for unusable controls.
    virtual GridRequest gridRequest() const = 0;

    QSpinBox *kBox() const { return m_k; }
    QDoubleSpinBox *thresholdBox() const { return m_threshold; }
    QSpinBox *firstLayerBox() const { return m_firstLayer; }
    QSpinBox *lastLayerBox() const { return m_lastLayer; }
    QPlainTextEdit *promptEdit() const { return m_prompt; }
    QSpinBox *maxTokensBox() const { return m_maxTokens; }
    QPushButton *usePlanButton() const { return m_usePlan; }
    QLineEdit *evalSpecEdit() const { return m_evalSpec; }
    QComboBox *taskBox() const { return m_task; }
    // The grid's perplexity window (`--max-length`, 0 = the model's context)
    // and stride (`--stride`, 0 = half the window; enabled while the grid
    // measures perplexity).
    QSpinBox *windowBox() const { return m_window; }
    QSpinBox *strideBox() const { return m_stride; }
    QLineEdit *outputDirEdit() const { return m_outputDir; }
    QTabWidget *figureTabs() const { return m_figureTabs; }
    PlanMapRenderer *planFigure() const { return m_planFigure; }
    FigureView *planView() const { return m_planView; }
    InterventionResultsRenderer *resultsFigure() const { return m_resultsFigure; }
    GridOutcomePtr lastResults() const { return m_results; }
    QString baselineText() const;
    QString intervenedText() const;
    QString summaryText() const;

    // Shows the results an earlier run wrote into dir (results.json), e.g.
    // from a session or the CLI; errorOccurred and false when they cannot
    // be read or are of the other experiment.
    bool loadResults(const QString &dir);

public Q_SLOTS:
    // Redraws the plan and starts the debounce timer (what every control
    // change does).
    void scheduleUpdate();
    // Runs both generations now.
    void runNow();
    // Starts the grid job; its tag, or 0 (errorOccurred says why).
    quint64 runGrid();

Q_SIGNALS:
    void errorOccurred(const QString &message);
    void gridFinished(const QString &outputDir);

protected:
    // What the shared parts say of the experiment.
    struct Experiment
    {
        GridRequest::Kind kind;
        QString id; // "ablation": job channels, results folders
        QString title; // "Ablation": job titles, messages
        QString gridTitle; // "Ablation grid": the grid job's messages
    };
    // How the subclass describes its current (available) plan.
    struct PlanDescription
    {
        QString title; // over the plan map
        QString rule; // the caption's account of how the plan was chosen
        QString summary; // under the prompt
        QString generationTitle; // the job title of the run with the plan
    };

    // Takes ownership of both figures. Subclasses add their own controls
    // (form rows, summary buttons, grid rows), set the texts that name the
    // experiment, and end their constructor with orderFocus(...) and
    // setModel(jobs->model()): the hooks below cannot be called from here.
    InterventionPanel(Experiment experiment, PlanMapRenderer *planFigure,
        InterventionResultsRenderer *resultsFigure, LiveJobTracker *jobs, PlanDocument *plan,
        QWidget *parent);

    void setModel(ModelFactsPtr facts);
    // Keyboard focus in reading order: the subclass's controls, then ours
    // (creation order would put the subclass's, made after ours, last).
    void orderFocus(const QList<QWidget *> &controls, const QList<QWidget *> &gridControls);
    // Sets the layer boxes (signals blocked) and whatever else the subclass
    // derives from a model of numLayers.
    virtual void applyModelDefaults(int numLayers) = 0;
    // Fills the subclass's controls from m_snapshot (null when cleared).
    virtual void applySnapshot() = 0;
    virtual PlanDescription describe(const routing::InterventionPlan &plan) const = 0;
    // Sets the request's window and stride from their boxes; throws
    // The evaluation half of a grid request, from the shared widgets; throws
    // moescope::Error with core's reason when the perplexity window or stride
    // cannot be used (resolvePerplexityWindow), for gridRequest().
    void setEvaluation(GridRequest &request) const;

    LiveJobTracker *m_jobs;
    StudySnapshotPtr m_snapshot;
    QString m_tracePath;
    QSpinBox *m_k;
    QDoubleSpinBox *m_threshold;
    QSpinBox *m_firstLayer;
    QSpinBox *m_lastLayer;
    QPlainTextEdit *m_prompt;
    QSpinBox *m_maxTokens;
    QPushButton *m_usePlan;
    QLabel *m_intervenedHeader;
    QTextEdit *m_intervened;
    QFormLayout *m_controls; // top-k, layers, max new tokens; subclasses insert above
    QHBoxLayout *m_summaryRow; // the summary, then Use as Plan
    QGroupBox *m_gridBox;
    QFormLayout *m_gridForm; // corpus, measure, window and stride, results folder, run
    QPushButton *m_runGrid;
    QLineEdit *m_evalSpec;
    QComboBox *m_task;
    QSpinBox *m_window;
    QLabel *m_windowLabel;
    QSpinBox *m_stride;
    QLineEdit *m_outputDir;
    QTabWidget *m_figureTabs;
    PlanMapRenderer *m_planFigure;
    FigureView *m_planView;

private:
    void updatePlanView();
    // Whether the grid measures perplexity: the chosen measure, or the
    // corpus format's own (true while the corpus spec does not parse).
    bool measuresPerplexity() const;
    void onGeneration(quint64 tag, const QString &channel, GenerationOutcomePtr outcome);
    void onGrid(quint64 tag, const QString &channel, GridOutcomePtr outcome);
    void onFailed(quint64 tag, const QString &channel, const QString &message);
    // The grid job is over (done, failed or cancelled): status says how.
    void gridEnded(const QString &status);

    const Experiment m_experiment;
    PlanDocument *m_plan;
    QLabel *m_summary;
    QTextEdit *m_baseline;
    QLabel *m_gridStatus;
    InterventionResultsRenderer *m_resultsFigure;
    QTimer *m_debounce;
    quint64 m_gridTag = 0;
    GridOutcomePtr m_results;
};

} // namespace moescope::ui
