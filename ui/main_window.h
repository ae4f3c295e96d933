#pragma once

// The main window only wires things together: the job tracker loads and
// analyses studies, StudyFigures holds the models and figures, panels show
// them, LiveWorkbench holds the model-backed side (worker thread, model,
// jobs, playground), and the menus open files and export figures.

#include "ui/figures/figure_export.h"
#include "ui/study/study_snapshot.h"
#include "ui/study/study_source.h"

#include <QMainWindow>

#include <memory>

class QLabel;
class QMenu;
class QProgressBar;
class QTabWidget;
class QTableView;

namespace moescope::ui {

class AnalysisParamsBar;
class FigurePanel;
class FigureRenderer;
class LiveWorkbench;
class MessageBar;
class StudyFigures;
class StudyJobTracker;

class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // What File → Open does after its dialog; errors go to the message bar.
    void openSource(const StudySource &source);
    // Loads a model folder on the worker thread (File → Open Model…).
    void openModel(const QString &directory);
    // The bundled demo model (core bundledModelDirectory()); false when
    // there is none (the model dock then says how to open one).
    bool openDefaultModel();
    // File → Save Session / Open Session after their dialogs; errors go to
    // the message bar as one line.
    bool saveSession(const QString &path);
    bool openSession(const QString &path);
    // File → Paper Figures: the study's figure set (and the last ablation
    // grid and steering evaluation, when run) into dir; the written paths.
    QStringList exportPaperFigures(const QString &dir, const QList<FigureFormat> &formats, int dpi);
    // What File → Export figure does after its dialogs; returns false (and
    // shows the reason in the message bar) on failure.
    bool exportCurrentFigure(const QString &path, const FigureExportOptions &options);

    StudyJobTracker *jobs() const { return m_jobs; }
    StudyFigures *figures() const { return m_figures; }
    QTabWidget *tabs() const { return m_tabs; }
    MessageBar *messageBar() const { return m_messageBar; }
    AnalysisParamsBar *paramsBar() const { return m_params; }
    FigurePanel *currentPanel() const;
    // The figure of the current tab (study figures and the token routing).
    FigureRenderer *currentFigure() const;
    LiveWorkbench *live() const { return m_live; }

public Q_SLOTS:
    void openFileDialog();
    void openFolderDialog();
    void openBundled();
    void exportFigureDialog();
    void saveSessionDialog();
    void openSessionDialog();
    void paperFiguresDialog();
    void showAbout();

private:
    void createActions();
    void createDocks();
    void createLiveDocks();
    void onSnapshot(StudySnapshotPtr snapshot);
    void onFailed(const QString &message);
    void onBusy(bool busy);
    // A session's control values wait until its model and study are there
    // (loading them resets layer ranges and language lists).
    void sessionPartArrived();
    QString lastDirectory() const;
    void rememberDirectory(const QString &path);
    void closeEvent(QCloseEvent *event) override;

    StudyJobTracker *m_jobs;
    StudyFigures *m_figures;
    LiveWorkbench *m_live;
    QTabWidget *m_tabs;
    MessageBar *m_messageBar;
    AnalysisParamsBar *m_params;
    QTableView *m_languages = nullptr;
    QLabel *m_summary = nullptr;
    QMenu *m_viewMenu = nullptr;
    QLabel *m_sourceLabel;
    QLabel *m_busyLabel;
    QProgressBar *m_busyBar;
    struct PendingSession;
    std::unique_ptr<PendingSession> m_pendingSession;
};

} // namespace moescope::ui
