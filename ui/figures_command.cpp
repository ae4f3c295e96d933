#include "ui/figures_command.h"

#include "core/common/error.h"
#include "core/trace/study_json.h"
#include "ui/figures/figure_export.h"
#include "ui/figures/figure_renderer.h"
#include "ui/figures/study_figures.h"
#include "ui/study/study_snapshot.h"
#include "ui/study/study_source.h"

#include <QApplication>
#include <QDir>
#include <QFileInfo>

#include <cstdio>
#include <memory>

namespace moescope::ui {

struct HeadlessApplication::Private
{
    int argc = 1;
    char name[16] = "moescope";
    char *argv[2] = {name, nullptr};
    std::unique_ptr<QApplication> app;
};

namespace {

QtMessageHandler previousMessageHandler = nullptr;

// Headless runs commonly lack XDG_RUNTIME_DIR (containers, CI, ssh); Qt's
// warning about it says nothing about the figures, so keep stderr for
// real errors.
void filterHeadlessMessages(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (message.startsWith(QLatin1String("QStandardPaths: XDG_RUNTIME_DIR")))
        return;
    if (previousMessageHandler)
        previousMessageHandler(type, context, message);
    else
        std::fprintf(stderr, "%s\n", qPrintable(qFormatLogMessage(type, context, message)));
}

} // namespace

HeadlessApplication::HeadlessApplication()
{
    if (QCoreApplication::instance())
        return;
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    previousMessageHandler = qInstallMessageHandler(filterHeadlessMessages);
    d = new Private;
    // QChart is a QGraphicsWidget, which needs a QApplication (not just a
    // QGuiApplication).
    d->app = std::make_unique<QApplication>(d->argc, d->argv);
}

HeadlessApplication::~HeadlessApplication()
{
    delete d;
}

namespace {

int runFigures(const std::vector<std::string> &args)
{
    cli::ArgParser parser("figures", "[TRACE.h5 | JSON_DIR | FILE.json...] --out DIR",
                          "Exports every figure of a study (the GUI's views) as SVG, PDF and/or "
                          "PNG, headless. Without an input, uses the bundled Qwen3-30B-A3B MGSM "
                          "study data.");
    parser.positional("INPUT", "HDF5 trace, folder of the study's JSON, or JSON files", 0, -1)
        .option("out", "DIR", "output folder (created if missing)")
        .option("format", "LIST", "comma-separated: svg, png, pdf", "svg,png,pdf")
        .option("dpi", "N", "PNG resolution in dots per inch", "150")
        .option("k", "N", "experts kept per language and layer", "15")
        .option("threshold", "X", "share above which an expert is exclusive", "0.4")
        .option("linkage", "NAME", "average | single | complete | ward", "average")
        .option("language", "LABEL", "language of the usage heatmap (default: en, else the first)")
        .option("compare", "LABEL", "second language of the difference heatmap (default: zh)");
    if (!cli::parseCommon(parser, args))
        return 0;
    if (!parser.has("out"))
        throw cli::UsageError("missing --out DIR (see moescope figures --help)");

    std::vector<FigureFormat> formats;
    for (const auto &name : cli::splitList(parser.get("format"))) {
        try {
            formats.push_back(parseFigureFormat(QString::fromStdString(name)));
        } catch (const Error &e) {
            throw cli::UsageError(std::string("--format: ") + e.what());
        }
    }
    if (formats.empty())
        throw cli::UsageError("--format: give at least one of svg, png, pdf");
    const int dpi = parser.getInt("dpi");
    if (dpi < 24 || dpi > 1200)
        throw cli::UsageError("--dpi must be between 24 and 1200");
    AnalysisParams params;
    params.k = parser.getInt("k");
    params.threshold = parser.getDouble("threshold");
    if (params.k < 1)
        throw cli::UsageError("--k must be at least 1");
    if (!(params.threshold > 0 && params.threshold <= 1))
        throw cli::UsageError("--threshold must be in (0, 1]");
    try {
        params.linkage = parseLinkage(parser.get("linkage"));
    } catch (const Error &e) {
        throw cli::UsageError(std::string("--linkage: ") + e.what());
    }

    const auto &inputs = parser.positionals();
    StudySource source;
    std::shared_ptr<const RoutingTrace> trace;
    if (inputs.size() > 1) {
        // Several JSON files: one study, one language per file.
        for (const auto &p : inputs)
            if (!QFileInfo::exists(QString::fromStdString(p)))
                throw Error(p, "no such file or folder");
        trace = std::make_shared<const RoutingTrace>(importStudyJson(inputs));
        source = StudySource::fromPath(QString::fromStdString(inputs.front()));
    } else {
        source = inputs.empty() ? StudySource::bundled() : StudySource::fromPath(QString::fromStdString(inputs[0]));
        trace = loadStudy(source);
    }
    if (params.k > trace->model.numExperts)
        throw cli::UsageError("--k must be at most the number of experts ("
                              + std::to_string(trace->model.numExperts) + ")");

    const QString outDir = QString::fromStdString(parser.get("out"));
    if (!QDir().mkpath(outDir))
        throw Error(parser.get("out"), "cannot create output folder");

    HeadlessApplication app;
    const auto snapshot = analyzeStudy(trace, params, source.displayName(), source.detail());
    StudyFigures figures;
    figures.setSnapshot(snapshot);
    figures.selectLanguages(QString::fromStdString(parser.get("language")),
                            QString::fromStdString(parser.get("compare")));

    const bool quiet = parser.flagSet("quiet");
    for (FigureRenderer *figure : figures.figures()) {
        for (FigureFormat format : formats) {
            FigureExportOptions options;
            options.format = format;
            options.dpi = dpi;
            const QString path = QDir(outDir).filePath(figure->fileStem() + QLatin1Char('.')
                                                       + figureFormatSuffix(format));
            exportFigure(*figure, path, options);
            if (!quiet)
                std::printf("%s\n", QDir::toNativeSeparators(path).toLocal8Bit().constData());
        }
    }
    return 0;
}

} // namespace

cli::Command figuresCommand()
{
    return {"figures", "export every figure of a study as SVG/PDF/PNG (headless)", runFigures};
}

} // namespace moescope::ui
