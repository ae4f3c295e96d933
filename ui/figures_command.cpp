#include "ui/figures_command.h"

#include "core/cli/common_options.h"
#include "core/common/error.h"
#include "core/trace/study_json.h"
#include "ui/figures/figure_export.h"
#include "ui/figures/figure_renderer.h"
#include "ui/figures/intervention_results.h"
#include "ui/figures/paper_figures.h"
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
    char *argv[2] = { name, nullptr };
    std::unique_ptr<QApplication> app;
};

namespace {

QtMessageHandler previousMessageHandler = nullptr;

// Headless runs commonly lack XDG_RUNTIME_DIR (containers, CI, ssh); Qt's
// warning about it says nothing about the figures, so keep stderr for
// real errors.
void filterHeadlessMessages(
    QtMsgType type, const QMessageLogContext &context, const QString &message)
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

// --results: each a results.json (or the folder holding it) of ablate or
// steer; at most one of each.
void loadResults(const std::string &list, PaperFigureSet &inputs)
{
    for (const auto &item : cli::splitList(list)) {
        auto results = loadInterventionResults(QString::fromStdString(item));
        auto &slot = results->kind == InterventionResults::Kind::Ablation ? inputs.ablation
                                                                          : inputs.steering;
        if (slot)
            throw cli::UsageError("--results: two "
                + std::string(slot == inputs.ablation ? "ablation" : "steering") + " tables ("
                + slot->source.toStdString() + ", " + item + "); give one of each");
        slot = std::move(results);
    }
}

int runFigures(const std::vector<std::string> &args)
{
    cli::ArgParser parser("figures",
        "[TRACE.h5 | JSON_DIR | FILE.json...] [--results RESULTS.json,...] [--paper] --out DIR",
        "Exports figures as SVG, PDF and/or PNG, headless:\n"
        "  a study (TRACE.h5, the study's JSON): every routing figure of the GUI's views;\n"
        "    without an input, the bundled Qwen3-30B-A3B MGSM study data;\n"
        "  --results: the ablation grid (one heatmap per layer block, the metric and its\n"
        "    change from the baseline) and/or the steering comparison, from the\n"
        "    results.json of moescope ablate / steer (or their output folders);\n"
        "  --paper: the study's whole figure set in one go: the study's figures (the\n"
        "    bundled study without an input) plus the --results figures.");
    parser.positional("INPUT", "HDF5 trace, folder of the study's JSON, or JSON files", 0, -1)
        .option("out", "DIR", "output folder (created if missing)")
        .option("results", "FILE,...",
            "results.json of moescope ablate and/or steer (or their folders)")
        .flag("paper", "the whole figure set: study figures plus --results figures")
        .option("metric", "NAME", "metric of the results figures (default: the task's main metric)")
        .option("format", "LIST", "comma-separated: svg, png, pdf", "svg,png,pdf")
        .option("dpi", "N", "PNG resolution in dots per inch", "150")
        .option("language", "LABEL", "language of the usage heatmap (default: en, else the first)")
        .option("compare", "LABEL", "second language of the difference heatmap (default: zh)");
    cli::declareAnalysisOptions(parser);
    if (!cli::parseCommon(parser, args))
        return 0;
    if (!parser.has("out"))
        throw cli::UsageError("missing --out DIR (see moescope figures --help)");

    QList<FigureFormat> formats;
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
    const AnalysisParams params = cli::analysisParams(parser);

    PaperFigureSet inputs;
    if (parser.has("results"))
        loadResults(parser.get("results"), inputs);
    inputs.metric = QString::fromStdString(parser.get("metric"));
    for (const auto &results : { inputs.ablation, inputs.steering })
        if (results && !inputs.metric.isEmpty() && !results->hasMetric(inputs.metric))
            throw cli::UsageError("--metric: " + results->source.toStdString() + " has no metric '"
                + inputs.metric.toStdString() + "' (have: "
                + results->plottableMetrics().join(QLatin1String(", ")).toStdString() + ")");

    // The study's figures: always for a given input, from the bundled data
    // when nothing else is asked for or with --paper.
    const auto &studyInputs = parser.positionals();
    const bool drawStudy
        = !studyInputs.empty() || !parser.has("results") || parser.flagSet("paper");
    StudySource source;
    std::shared_ptr<const RoutingTrace> trace;
    if (drawStudy) {
        if (studyInputs.size() > 1) {
            // Several JSON files: one study, one language per file.
            for (const auto &p : studyInputs)
                if (!QFileInfo::exists(QString::fromStdString(p)))
                    throw Error(p, "no such file or folder");
            trace = std::make_shared<const RoutingTrace>(importStudyJson(studyInputs));
            source = StudySource::fromPath(QString::fromStdString(studyInputs.front()));
        } else {
            source = studyInputs.empty()
                ? StudySource::bundled()
                : StudySource::fromPath(QString::fromStdString(studyInputs[0]));
            trace = loadStudy(source);
        }
        cli::requireAnalysisParams(params, *trace);
    }

    const QString outDir = QString::fromStdString(parser.get("out"));
    if (!QDir().mkpath(outDir))
        throw Error(parser.get("out"), "cannot create output folder");

    HeadlessApplication app;
    if (trace)
        inputs.study = analyzeStudy(trace, params, source.displayName(), source.detail());
    inputs.language = QString::fromStdString(parser.get("language"));
    inputs.compareLanguage = QString::fromStdString(parser.get("compare"));
    FigureExportOptions options;
    options.dpi = dpi;
    const QStringList written = exportPaperFigures(inputs, outDir, formats, options);
    if (!parser.flagSet("quiet"))
        for (const QString &path : written)
            std::printf("%s\n", QDir::toNativeSeparators(path).toLocal8Bit().constData());
    return 0;
}

} // namespace

cli::Command figuresCommand()
{
    return { "figures",
        "export a study's figures and ablate/steer results as SVG/PDF/PNG (headless)", runFigures };
}

} // namespace moescope::ui
