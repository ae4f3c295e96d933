#pragma once

#include "ui/live/live_data.h"
#include "ui/study/study_snapshot.h"

#include <QWidget>

#include <set>
#include <utility>

class QComboBox;
class QLineEdit;
class QTabWidget;
class QDoubleSpinBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTextEdit;
class QTimer;

namespace moescope::ui {

class AblationGridRenderer;
class FigureView;
class LiveJobTracker;
class PlanDocument;
class PlanMapRenderer;

// Mask one language's exclusive experts (from the loaded study, with k and
// threshold) over a layer range, and compare the model's baseline and
// ablated continuations side by side. Any change of the controls re-runs
// both after a short pause (debounced); newer runs supersede older ones.
// The mask is drawn as a layer × expert map. "Run grid" runs the study's
// block × language grid (core ablationCells + runGrid, as `moescope
// ablate`) as a job and draws its heatmaps.
class AblationPanel : public QWidget
{
    Q_OBJECT
public:
    AblationPanel(LiveJobTracker *jobs, PlanDocument *plan, QWidget *parent = nullptr);

    static QString baselineChannel() { return QStringLiteral("ablation:baseline"); }
    static QString ablatedChannel() { return QStringLiteral("ablation:ablated"); }
    static QString gridChannel() { return QStringLiteral("ablation:grid"); }
    static constexpr int kDebounceMs = 400;

    void setSnapshot(StudySnapshotPtr snapshot, const QString &tracePath = {});

    // The mask the controls describe: the language's exclusive experts
    // (core expertSpecialisation with k and threshold) in layers
    // [first, last], one entry per layer. Empty without a usable study.
    routing::InterventionPlan currentPlan() const;
    // Why no plan can be built ("" when one can).
    QString unavailableReason() const;

    QComboBox *languageBox() const { return m_language; }
    QSpinBox *kBox() const { return m_k; }
    QDoubleSpinBox *thresholdBox() const { return m_threshold; }
    QSpinBox *firstLayerBox() const { return m_firstLayer; }
    QSpinBox *lastLayerBox() const { return m_lastLayer; }
    QPlainTextEdit *promptEdit() const { return m_prompt; }
    QSpinBox *maxTokensBox() const { return m_maxTokens; }
    QPushButton *usePlanButton() const { return m_usePlan; }
    FigureView *maskView() const { return m_maskView; }
    // Hand-picking on the mask map: a clicked cell of a routed layer flips
    // between masked and not masked, on top of the language's exclusive
    // experts; clearPicks() goes back to those alone.
    void toggleExpert(int layer, int expert);
    void clearPicks();
    int pickCount() const { return static_cast<int>(m_toggled.size()); }
    QString baselineText() const;
    QString ablatedText() const;
    QString summaryText() const;

    QLineEdit *gridLanguagesEdit() const { return m_gridLanguages; }
    QLineEdit *gridBlocksEdit() const { return m_gridBlocks; }
    QLineEdit *gridEvalEdit() const { return m_gridEval; }
    QComboBox *gridTaskBox() const { return m_gridTask; }
    QLineEdit *gridOutputEdit() const { return m_gridOutput; }
    PlanMapRenderer *maskFigure() const { return m_maskFigure; }
    AblationGridRenderer *gridFigure() const { return m_gridFigure; }
    QTabWidget *figureTabs() const { return m_figureTabs; }
    GridOutcomePtr lastGrid() const { return m_grid; }
    // What Run grid sends; throws moescope::Error for unusable controls.
    GridRequest gridRequest() const;
    // Default blocks for a model of numLayers: the study's three five-layer
    // blocks (start, middle, end of 48 layers) scaled to the model.
    static QString defaultBlocks(int numLayers);

    // Shows the results an earlier run wrote into dir (results.json), e.g.
    // from a session or `moescope ablate`; errorOccurred and false when
    // they cannot be read or are of the other experiment.
    bool loadResults(const QString &dir);

public Q_SLOTS:
    // Starts the debounce timer (what every control change does).
    void scheduleUpdate();
    // Runs both generations now.
    void runNow();
    // Starts the grid job; its tag, or 0 (errorOccurred says why).
    quint64 runGrid();

Q_SIGNALS:
    void errorOccurred(const QString &message);
    void gridFinished(const QString &outputDir);

private:
    void onModelLoaded(ModelFactsPtr facts);
    void onGeneration(quint64 tag, const QString &channel, GenerationOutcomePtr outcome);
    void onFailed(quint64 tag, const QString &channel, const QString &message);
    void updateSummary();
    void onGrid(quint64 tag, const QString &channel, GridOutcomePtr outcome);
    void onTaskFailed(quint64 tag, const QString &channel, const QString &message);

    LiveJobTracker *m_jobs;
    PlanDocument *m_plan;
    StudySnapshotPtr m_snapshot;
    QComboBox *m_language;
    QSpinBox *m_k;
    QDoubleSpinBox *m_threshold;
    QSpinBox *m_firstLayer;
    QSpinBox *m_lastLayer;
    QPlainTextEdit *m_prompt;
    QSpinBox *m_maxTokens;
    QPushButton *m_usePlan;
    QLabel *m_summary;
    QTextEdit *m_baseline;
    QTextEdit *m_ablated;
    QTimer *m_debounce;
    QString m_tracePath;
    QLineEdit *m_gridLanguages;
    QLineEdit *m_gridBlocks;
    QLineEdit *m_gridEval;
    QComboBox *m_gridTask;
    QLineEdit *m_gridOutput;
    QPushButton *m_runGrid;
    QLabel *m_gridStatus;
    QTabWidget *m_figureTabs;
    PlanMapRenderer *m_maskFigure;
    FigureView *m_maskView = nullptr;
    QPushButton *m_clearPicks = nullptr;
    std::set<std::pair<int, int>> m_toggled; // (layer, expert) flipped by hand
    AblationGridRenderer *m_gridFigure;
    quint64 m_gridTag = 0;
    GridOutcomePtr m_grid;
};

} // namespace moescope::ui
