#pragma once

#include "ui/live/live_data.h"
#include "ui/study/study_snapshot.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTextEdit;
class QTimer;

namespace moescope::ui {

class LiveJobTracker;
class PlanDocument;
class PlanMapRenderer;
class SteeringResultsRenderer;

// The study's layerwise steering with controls: language pair, λ, k,
// threshold and layer range give the steering plan (core steeringPlan, as
// `moescope plan --steer`), drawn as a layer × expert map. A prompt is
// generated without and with the plan side by side (debounced, like the
// ablation panel), and Evaluate runs `moescope steer`'s evaluation (core
// steeringCells + runGrid: language consistency by CLD2, or the corpus
// task's accuracy) as a job, drawn as baseline-vs-steered bars.
class SteeringPanel : public QWidget
{
    Q_OBJECT
public:
    SteeringPanel(LiveJobTracker *jobs, PlanDocument *plan, QWidget *parent = nullptr);
    ~SteeringPanel() override;

    static QString baselineChannel() { return QStringLiteral("steering:baseline"); }
    static QString steeredChannel() { return QStringLiteral("steering:steered"); }
    static QString evaluationChannel() { return QStringLiteral("steering:evaluate"); }
    static constexpr int kDebounceMs = 400;

    void setSnapshot(StudySnapshotPtr snapshot, const QString &tracePath);

    routing::InterventionPlan currentPlan() const;
    QString unavailableReason() const;
    // What Evaluate sends (the controls' pair, λ, k, threshold, layers).
    GridRequest evaluationRequest() const;

    QComboBox *languageABox() const { return m_a; }
    QComboBox *languageBBox() const { return m_b; }
    QDoubleSpinBox *lambdaBox() const { return m_lambda; }
    QSpinBox *kBox() const { return m_k; }
    QDoubleSpinBox *thresholdBox() const { return m_threshold; }
    QSpinBox *firstLayerBox() const { return m_firstLayer; }
    QSpinBox *lastLayerBox() const { return m_lastLayer; }
    QPlainTextEdit *promptEdit() const { return m_prompt; }
    QSpinBox *maxTokensBox() const { return m_maxTokens; }
    QLineEdit *evalSpecEdit() const { return m_evalSpec; }
    QLineEdit *outputDirEdit() const { return m_outputDir; }
    PlanMapRenderer *planFigure() const { return m_planFigure; }
    SteeringResultsRenderer *resultsFigure() const { return m_resultsFigure; }
    QTabWidget *figureTabs() const { return m_figureTabs; }
    QString baselineText() const;
    QString steeredText() const;
    QString summaryText() const;
    GridOutcomePtr lastResults() const { return m_results; }

    // Shows the results an earlier run wrote into dir (results.json), e.g.
    // from a session or `moescope steer`; errorOccurred and false when
    // they cannot be read or are of the other experiment.
    bool loadResults(const QString &dir);

public Q_SLOTS:
    void scheduleUpdate();
    void runNow();
    // Starts the evaluation job; returns its tag (0 and errorOccurred when
    // it cannot run).
    quint64 evaluate();

Q_SIGNALS:
    void errorOccurred(const QString &message);
    void evaluationFinished(const QString &outputDir);

private:
    void onModelLoaded(ModelFactsPtr facts);
    void onGeneration(quint64 tag, const QString &channel, GenerationOutcomePtr outcome);
    void onGrid(quint64 tag, const QString &channel, GridOutcomePtr outcome);
    void onFailed(quint64 tag, const QString &channel, const QString &message);
    void updatePlanView();

    LiveJobTracker *m_jobs;
    PlanDocument *m_plan;
    StudySnapshotPtr m_snapshot;
    QString m_tracePath;
    QComboBox *m_a;
    QComboBox *m_b;
    QDoubleSpinBox *m_lambda;
    QSpinBox *m_k;
    QDoubleSpinBox *m_threshold;
    QSpinBox *m_firstLayer;
    QSpinBox *m_lastLayer;
    QPlainTextEdit *m_prompt;
    QSpinBox *m_maxTokens;
    QPushButton *m_usePlan;
    QLabel *m_summary;
    QTextEdit *m_baseline;
    QTextEdit *m_steered;
    QLineEdit *m_evalSpec;
    QComboBox *m_task;
    QLineEdit *m_outputDir;
    QPushButton *m_evaluate;
    QLabel *m_evalStatus;
    PlanMapRenderer *m_planFigure;
    SteeringResultsRenderer *m_resultsFigure;
    QTabWidget *m_figureTabs;
    QTimer *m_debounce;
    quint64 m_evalTag = 0;
    GridOutcomePtr m_results;
};

// A fresh results folder under the user's data folder, e.g.
// .../steering/2026-11-26T01-40-12 (the panels' default --out).
QString defaultResultsFolder(const QString &kind);

} // namespace moescope::ui
