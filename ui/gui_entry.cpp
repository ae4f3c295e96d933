#include "ui/gui_entry.h"

#include "core/common/logging.h"
#include "resources/bundled_resources.h"
#include "ui/figures_command.h"
#include "ui/jobs/study_job_tracker.h"
#include "ui/live/live_job_tracker.h"
#include "ui/live/live_workbench.h"
#include "ui/main_window.h"
#include "ui/views/playground_panel.h"
#include "ui/views/recording_panel.h"

#include <QApplication>
#include <QFileInfo>
#include <QIcon>
#include <QPlainTextEdit>
#include <QSpinBox>
#include <QTabWidget>
#include <QElapsedTimer>
#include <QTimer>

#include <cstdio>

namespace moescope::ui {

namespace {

constexpr const char *kGuiUsage =
    "usage: moescope [gui] [TRACE.h5 | JSON_DIR | FILE.json | MODEL_DIR] [options]\n\n"
    "Opens the MoEScope window on the given routing data, or on the bundled\n"
    "Qwen3-30B-A3B MGSM study data (arXiv 2601.14050) when none is given.\n"
    "A model folder (config.json, *.safetensors) is loaded for the live panels\n"
    "(record, playground, ablation, steering) next to the bundled study; without\n"
    "one, the bundled demo model is loaded when it is installed.\n\n"
    "  --session FILE         reopen a saved session (File → Save Session As…)\n"
    "  --panel NAME           start on a tab: record, playground, ablation,\n"
    "                         steering, or a figure (usage, difference, similarity,\n"
    "                         clusters, similarity-by-layer, entropy, counts)\n"
    "  --prompt TEXT          with a model or session: generate from TEXT in the\n"
    "                         playground\n"
    "  --max-new-tokens N     tokens to generate for --prompt (default 32)\n"
    "  --screenshot FILE.png  save an image of the window once the study is\n"
    "                         analysed, the model loaded and every job has\n"
    "                         finished, then quit (used for the documentation)\n"
    "  --verbose, --quiet     more or less logging on stderr; the full log is\n"
    "                         always in $XDG_STATE_HOME/moescope/moescope-gui.log\n";

// Tab order of MainWindow: the seven study figures, then the live panels.
int tabIndexForPanel(const QString &name)
{
    static const QStringList names{QStringLiteral("usage"), QStringLiteral("difference"),
                                   QStringLiteral("similarity"), QStringLiteral("clusters"),
                                   QStringLiteral("similarity-by-layer"), QStringLiteral("entropy"),
                                   QStringLiteral("counts"), QStringLiteral("record"),
                                   QStringLiteral("playground"), QStringLiteral("ablation"),
                                   QStringLiteral("steering")};
    return static_cast<int>(names.indexOf(name.toLower()));
}

bool haveDisplay()
{
    return !qEnvironmentVariableIsEmpty("DISPLAY") || !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")
        || !qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM");
}

} // namespace

int runGui(int argc, char **argv)
{
    // Arguments before QApplication so that --help and bad arguments never
    // need a display.
    QString path, screenshot, prompt, session, panel;
    int maxNewTokens = 32;
    Verbosity verbosity = Verbosity::Normal;
    int i = 1;
    if (i < argc && QLatin1String(argv[i]) == QLatin1String("gui"))
        ++i;
    for (; i < argc; ++i) {
        const QString arg = QString::fromLocal8Bit(argv[i]);
        if (arg == QLatin1String("--help") || arg == QLatin1String("-h")) {
            std::fputs(kGuiUsage, stdout);
            return 0;
        }
        if (arg == QLatin1String("--verbose")) {
            verbosity = Verbosity::Verbose;
        } else if (arg == QLatin1String("--quiet")) {
            verbosity = Verbosity::Quiet;
        } else if (arg == QLatin1String("--screenshot") && i + 1 < argc) {
            screenshot = QString::fromLocal8Bit(argv[++i]);
        } else if (arg == QLatin1String("--session") && i + 1 < argc) {
            session = QString::fromLocal8Bit(argv[++i]);
        } else if (arg == QLatin1String("--panel") && i + 1 < argc) {
            panel = QString::fromLocal8Bit(argv[++i]);
            if (tabIndexForPanel(panel) < 0) {
                std::fprintf(stderr, "moescope gui: error: unknown panel '%s' (see moescope gui --help)\n",
                             qPrintable(panel));
                return 2;
            }
        } else if (arg == QLatin1String("--prompt") && i + 1 < argc) {
            prompt = QString::fromLocal8Bit(argv[++i]);
        } else if (arg == QLatin1String("--max-new-tokens") && i + 1 < argc) {
            bool ok = false;
            maxNewTokens = QString::fromLocal8Bit(argv[++i]).toInt(&ok);
            if (!ok || maxNewTokens < 1) {
                std::fprintf(stderr, "moescope gui: error: --max-new-tokens needs a positive number\n");
                return 2;
            }
        } else if (arg.startsWith(QLatin1Char('-'))) {
            // Qt's own options (-platform, -style, ...) are left to QApplication.
            if (i + 1 < argc && !QString::fromLocal8Bit(argv[i + 1]).startsWith(QLatin1Char('-'))
                && (arg == QLatin1String("-platform") || arg == QLatin1String("-style")
                    || arg == QLatin1String("-display")))
                ++i;
            else if (!arg.startsWith(QLatin1String("-qml")) && arg != QLatin1String("-reverse")) {
                std::fprintf(stderr, "moescope gui: error: unknown option '%s' (see moescope gui --help)\n",
                             argv[i]);
                return 2;
            }
        } else if (path.isEmpty()) {
            path = arg;
        } else {
            std::fprintf(stderr, "moescope gui: error: give one trace file or folder\n");
            return 2;
        }
    }
    if (!haveDisplay()) {
        std::fprintf(stderr, "moescope gui: error: no display (DISPLAY and WAYLAND_DISPLAY are unset); "
                             "use a command such as `moescope figures` for headless use\n");
        return 1;
    }

    // The GUI's messages go to a bar on screen; the log file keeps the
    // details (and anything logged by core) for bug reports.
    setupLogging(verbosity, stateDirectory() + "/moescope-gui.log");

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("MoEScope"));
    QApplication::setOrganizationName(QStringLiteral("MoEScope"));
    QApplication::setApplicationVersion(QStringLiteral(MOESCOPE_VERSION));
    resources::registerBundledResources();
    QApplication::setWindowIcon(QIcon(QString::fromLatin1(resources::kAppIcon)));

    const bool modelFolder = LiveWorkbench::isModelFolder(path);
    if (!prompt.isEmpty() && !modelFolder && session.isEmpty()) {
        std::fprintf(stderr, "moescope gui: error: --prompt needs a model folder or a --session\n");
        return 2;
    }
    MainWindow window;
    window.show();
    PlaygroundPanel *playground = window.live()->playground();
    if (!session.isEmpty()) {
        if (!window.openSession(session)) {
            std::fprintf(stderr, "moescope gui: error: cannot open the session %s\n", qPrintable(session));
            if (!screenshot.isEmpty())
                return 1;
        }
    } else {
        window.openSource(path.isEmpty() || modelFolder ? StudySource::bundled() : StudySource::fromPath(path));
        if (modelFolder) {
            window.openModel(path);
        } else if (window.openDefaultModel() && path.isEmpty() && panel.isEmpty()) {
            // The bundled study is of another model: recording a trace of
            // the demo model is what makes the live panels work, so start there.
            window.tabs()->setCurrentWidget(window.live()->recording());
        }
    }
    if (!prompt.isEmpty()) {
        if (panel.isEmpty()) // and, like --panel, over a session's own tab
            panel = QStringLiteral("playground");
        playground->promptEdit()->setPlainText(prompt);
        playground->maxTokensBox()->setValue(maxNewTokens);
        QObject::connect(window.live()->jobs(), &LiveJobTracker::modelLoaded, playground,
                         [playground] { playground->generate(); }, Qt::SingleShotConnection);
    }
    if (!panel.isEmpty()) {
        // After a session's own tab (restored when its parts arrive).
        const int index = tabIndexForPanel(panel);
        window.tabs()->setCurrentIndex(index);
        QObject::connect(window.jobs(), &StudyJobTracker::snapshotReady, &window,
                         [&window, index] { window.tabs()->setCurrentIndex(index); }, Qt::QueuedConnection);
    }

    if (!screenshot.isEmpty()) {
        // Documentation images have the same size whatever was remembered.
        window.resize(1680, 1000);
        // Grab once nothing has run for a second: the study analysed, the
        // model loaded, and every generation (including debounced ones a
        // session starts) finished.
        auto *poll = new QTimer(&window);
        auto idleSince = std::make_shared<QElapsedTimer>();
        poll->setInterval(100);
        QObject::connect(poll, &QTimer::timeout, &window, [&window, poll, idleSince, screenshot] {
            const bool busy = window.jobs()->isBusy() || window.live()->jobs()->isBusy() || !window.jobs()->current();
            if (busy) {
                idleSince->invalidate();
                return;
            }
            if (!idleSince->isValid())
                idleSince->start();
            if (idleSince->elapsed() < 1200)
                return;
            poll->stop();
            const bool ok = window.grab().save(screenshot);
            if (!ok)
                std::fprintf(stderr, "moescope gui: error: cannot write %s\n", qPrintable(screenshot));
            QCoreApplication::exit(ok ? 0 : 1);
        });
        poll->start();
    }
    return app.exec();
}

std::vector<cli::Command> uiCommands()
{
    return {figuresCommand()};
}

} // namespace moescope::ui
