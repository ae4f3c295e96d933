#include "ui/gui_entry.h"

#include "resources/bundled_resources.h"
#include "ui/figures_command.h"
#include "ui/jobs/study_job_tracker.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QFileInfo>
#include <QIcon>
#include <QTimer>

#include <cstdio>

namespace moescope::ui {

namespace {

constexpr const char *kGuiUsage =
    "usage: moescope [gui] [TRACE.h5 | JSON_DIR | FILE.json] [--screenshot FILE.png]\n\n"
    "Opens the MoEScope window on the given routing data, or on the bundled\n"
    "Qwen3-30B-A3B MGSM study data (arXiv 2601.14050) when none is given.\n\n"
    "  --screenshot FILE.png  save an image of the window once the study is\n"
    "                         analysed, then quit (used for the documentation)\n";

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
    QString path, screenshot;
    int i = 1;
    if (i < argc && QLatin1String(argv[i]) == QLatin1String("gui"))
        ++i;
    for (; i < argc; ++i) {
        const QString arg = QString::fromLocal8Bit(argv[i]);
        if (arg == QLatin1String("--help") || arg == QLatin1String("-h")) {
            std::fputs(kGuiUsage, stdout);
            return 0;
        }
        if (arg == QLatin1String("--screenshot") && i + 1 < argc) {
            screenshot = QString::fromLocal8Bit(argv[++i]);
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

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("MoEScope"));
    QApplication::setOrganizationName(QStringLiteral("MoEScope"));
    QApplication::setApplicationVersion(QStringLiteral(MOESCOPE_VERSION));
    resources::registerBundledResources();
    QApplication::setWindowIcon(QIcon(QString::fromLatin1(resources::kAppIcon)));

    MainWindow window;
    window.show();
    window.openSource(path.isEmpty() ? StudySource::bundled() : StudySource::fromPath(path));

    if (!screenshot.isEmpty()) {
        auto grab = [&window, screenshot] {
            // Let the layout settle before grabbing.
            QTimer::singleShot(300, &window, [&window, screenshot] {
                const bool ok = window.grab().save(screenshot);
                if (!ok)
                    std::fprintf(stderr, "moescope gui: error: cannot write %s\n", qPrintable(screenshot));
                QCoreApplication::exit(ok ? 0 : 1);
            });
        };
        QObject::connect(window.jobs(), &StudyJobTracker::snapshotReady, &window, grab);
        QObject::connect(window.jobs(), &StudyJobTracker::failed, &window, grab);
    }
    return app.exec();
}

std::vector<cli::Command> uiCommands()
{
    return {figuresCommand()};
}

} // namespace moescope::ui
