#pragma once

#include "ui/live/live_data.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QRadioButton;
class QSpinBox;
class QVBoxLayout;

namespace moescope::ui {

class FigureRenderer;
class LiveJobTracker;

// `moescope record` with controls: a corpus (the bundled UDHR languages as a
// checklist, or a file in a supported format and its language), the token
// scope, the prompt template and the trace to write. The recording runs on
// the worker thread; every committed batch is reported, and the re-read
// trace (at most once a second) is handed on as traceUpdated so that the
// study views follow the recording.
class RecordingPanel : public QWidget
{
    Q_OBJECT
public:
    explicit RecordingPanel(LiveJobTracker *jobs, QWidget *parent = nullptr);

    static QString channel() { return QStringLiteral("record"); }

    // The corpus spec the controls describe (core/corpus/corpus_spec.h), or
    // "" with the reason in *why.
    QString corpusSpec(QString *why = nullptr) const;
    RecordingRequest request() const;

    // What the Record button does: the job's tag, or 0 (errorOccurred says
    // why) when the controls or the model do not allow a recording.
    quint64 record();
    // Shows figure (the study's expert-usage heatmap) under the controls,
    // so the recording can be watched filling it in.
    void setPreviewFigure(FigureRenderer *figure);
    void cancel();
    bool isRecording() const { return m_tag != 0; }

    QListWidget *udhrLanguages() const { return m_udhrLanguages; }
    // Checks exactly these UDHR languages (and selects the UDHR corpus).
    void setUdhrLanguages(const QStringList &languages);
    QSpinBox *firstArticleBox() const { return m_firstArticle; }
    QSpinBox *lastArticleBox() const { return m_lastArticle; }
    QLineEdit *outputEdit() const { return m_output; }
    QComboBox *scopeBox() const { return m_scope; }
    QComboBox *templateBox() const { return m_template; }
    QComboBox *modeBox() const { return m_mode; }
    QPushButton *recordButton() const { return m_record; }
    QString statusText() const;

Q_SIGNALS:
    // The trace on disk after a commit (throttled), and once at the end.
    void traceUpdated(const QString &path, std::shared_ptr<const moescope::RoutingTrace> trace);
    void recordingFinished(const QString &path);
    void errorOccurred(const QString &message);

private:
    void onModelLoaded(ModelFactsPtr facts);
    void onCommitted(quint64 tag, const QString &channel, const RecordingCommit &commit);
    void onFinished(quint64 tag, const QString &channel, RecordingOutcomePtr outcome);
    void onFailed(quint64 tag, const QString &channel, const QString &message);
    void onCancelled(quint64 tag, const QString &channel);
    void browseCorpus();
    void browseOutput();
    void updateControls();
    void setRunning(bool running);

    LiveJobTracker *m_jobs;
    QRadioButton *m_useUdhr;
    QRadioButton *m_useFile;
    QListWidget *m_udhrLanguages;
    QSpinBox *m_firstArticle;
    QSpinBox *m_lastArticle;
    QLineEdit *m_corpusPath;
    QComboBox *m_format;
    QLineEdit *m_fileLanguage;
    QSpinBox *m_limit;
    QComboBox *m_scope;
    QSpinBox *m_maxNewTokens;
    QComboBox *m_template;
    QLineEdit *m_target;
    QSpinBox *m_batchSize;
    QSpinBox *m_maxLength;
    QLineEdit *m_output;
    QComboBox *m_mode;
    QLabel *m_spec;
    QPushButton *m_record;
    QPushButton *m_cancel;
    QLabel *m_status;
    QVBoxLayout *m_settingsColumn = nullptr;
    quint64 m_tag = 0;
    QString m_path;
    std::size_t m_commits = 0;
};

} // namespace moescope::ui
