#pragma once

// The main window only wires things together: the job tracker loads and
// analyses studies, StudyFigures holds the models and figures, panels show
// them, and the menus open files and export figures.

#include "ui/figures/figure_export.h"
#include "ui/study/study_snapshot.h"
#include "ui/study/study_source.h"

#include <QMainWindow>

class QLabel;
class QMenu;
class QProgressBar;
class QTabWidget;
class QTableView;

namespace moescope::ui {

class AnalysisParamsBar;
class FigurePanel;
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
    // What File → Export figure does after its dialogs; returns false (and
    // shows the reason in the message bar) on failure.
    bool exportCurrentFigure(const QString &path, const FigureExportOptions &options);

    StudyJobTracker *jobs() const { return m_jobs; }
    StudyFigures *figures() const { return m_figures; }
    QTabWidget *tabs() const { return m_tabs; }
    MessageBar *messageBar() const { return m_messageBar; }
    AnalysisParamsBar *paramsBar() const { return m_params; }
    FigurePanel *currentPanel() const;

public Q_SLOTS:
    void openFileDialog();
    void openFolderDialog();
    void openBundled();
    void exportFigureDialog();
    void showAbout();

private:
    void createActions();
    void createDocks();
    void onSnapshot(StudySnapshotPtr snapshot);
    void onFailed(const QString &message);
    void onBusy(bool busy);
    QString lastDirectory() const;
    void rememberDirectory(const QString &path);
    void closeEvent(QCloseEvent *event) override;

    StudyJobTracker *m_jobs;
    StudyFigures *m_figures;
    QTabWidget *m_tabs;
    MessageBar *m_messageBar;
    AnalysisParamsBar *m_params;
    QTableView *m_languages = nullptr;
    QLabel *m_summary = nullptr;
    QMenu *m_viewMenu = nullptr;
    QLabel *m_sourceLabel;
    QLabel *m_busyLabel;
    QProgressBar *m_busyBar;
};

} // namespace moescope::ui
