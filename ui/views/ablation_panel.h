#pragma once

#include "ui/live/live_data.h"
#include "ui/study/study_snapshot.h"

#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTextEdit;
class QTimer;

namespace moescope::ui {

class LiveJobTracker;
class PlanDocument;

// Mask one language's exclusive experts (from the loaded study, with k and
// threshold) over a layer range, and compare the model's baseline and
// ablated continuations side by side. Any change of the controls re-runs
// both after a short pause (debounced); newer runs supersede older ones.
class AblationPanel : public QWidget
{
    Q_OBJECT
public:
    AblationPanel(LiveJobTracker *jobs, PlanDocument *plan, QWidget *parent = nullptr);

    static QString baselineChannel() { return QStringLiteral("ablation:baseline"); }
    static QString ablatedChannel() { return QStringLiteral("ablation:ablated"); }
    static constexpr int kDebounceMs = 400;

    void setSnapshot(StudySnapshotPtr snapshot);

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
    QString baselineText() const;
    QString ablatedText() const;
    QString summaryText() const;

public Q_SLOTS:
    // Starts the debounce timer (what every control change does).
    void scheduleUpdate();
    // Runs both generations now.
    void runNow();

Q_SIGNALS:
    void errorOccurred(const QString &message);

private:
    void onModelLoaded(ModelFactsPtr facts);
    void onGeneration(quint64 tag, const QString &channel, GenerationOutcomePtr outcome);
    void onFailed(quint64 tag, const QString &channel, const QString &message);
    void updateSummary();

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
};

} // namespace moescope::ui
