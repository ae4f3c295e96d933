#pragma once

#include "ui/live/live_data.h"
#include "ui/study/study_snapshot.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTextEdit;

namespace moescope::ui {

class FigureView;
class LiveJobTracker;
class PlanDocument;
class TokenRoutingModel;
class TokenRoutingRenderer;

// Type (or pick from the bundled UDHR) a prompt, generate with the current
// plan, watch the text stream in and the token × layer routing grid fill.
// Requests go through LiveJobTracker on the "playground" channel, so a new
// Generate supersedes a running one.
class PlaygroundPanel : public QWidget
{
    Q_OBJECT
public:
    PlaygroundPanel(LiveJobTracker *jobs, PlanDocument *plan, QWidget *parent = nullptr);

    static QString channel() { return QStringLiteral("playground"); }

    // Source of the language shares the grid can be coloured by.
    void setSnapshot(StudySnapshotPtr snapshot);
    // Sets the prompt to the first paragraph of UDHR article 1 in language.
    void useUdhrSentence(const QString &language);

    // What the Generate button does: returns the request's tag, or 0 (and
    // emits errorOccurred) when there is no model or no prompt.
    quint64 generate();
    void stop();

    TokenRoutingModel *routingModel() const { return m_routing; }
    TokenRoutingRenderer *routingFigure() const { return m_figure; }
    QPlainTextEdit *promptEdit() const { return m_prompt; }
    QSpinBox *maxTokensBox() const { return m_maxTokens; }
    QCheckBox *applyPlanBox() const { return m_applyPlan; }
    QCheckBox *stopAtEosBox() const { return m_stopAtEos; }
    QComboBox *colouringBox() const { return m_colouring; }
    QComboBox *udhrLanguageBox() const { return m_udhrLanguage; }
    QPushButton *generateButton() const { return m_generate; }
    QPushButton *stopButton() const { return m_stop; }
    QString generatedText() const;
    QString statusText() const;

Q_SIGNALS:
    void errorOccurred(const QString &message);

private:
    void onModelLoaded(ModelFactsPtr facts);
    void onGeneration(quint64 tag, const QString &channel, GenerationOutcomePtr outcome);
    void onFailed(quint64 tag, const QString &channel, const QString &message);
    void onCancelled(quint64 tag, const QString &channel);
    void showOutcome(const GenerationOutcomePtr &outcome);
    void setRunning(bool running);
    void rebuildColouringChoices();
    void updatePlanLabel();

    LiveJobTracker *m_jobs;
    PlanDocument *m_plan;
    TokenRoutingModel *m_routing;
    TokenRoutingRenderer *m_figure;
    QPlainTextEdit *m_prompt;
    QComboBox *m_udhrLanguage;
    QSpinBox *m_maxTokens;
    QCheckBox *m_stopAtEos;
    QCheckBox *m_applyPlan;
    QPushButton *m_generate;
    QPushButton *m_stop;
    QTextEdit *m_output;
    QLabel *m_status;
    QComboBox *m_colouring;
    FigureView *m_view;
    quint64 m_tag = 0;
    QString m_promptText;
    QString m_generatedText;
};

} // namespace moescope::ui
