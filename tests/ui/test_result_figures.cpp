// Figures of `moescope ablate` / `moescope steer` results: the results.json
// loader (good and bad files), the numbers the ablation grid and steering
// bars show (through toolTipAt, as a user hovering would read them), every
// export format, the paper figure set, and issue #6's chain record ->
// analyze -> plan -> ablate / steer -> figures through the CLI binary on the
// tiny mixtral fixture.
#include "live_test_model.h"

#include "core/common/error.h"
#include "ui/figures/ablation_grid_renderer.h"
#include "ui/figures/figure_export.h"
#include "ui/figures/intervention_results.h"
#include "ui/figures/paper_figures.h"
#include "ui/figures/steering_results_renderer.h"
#include "ui/figures_command.h"

#include <gtest/gtest.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QXmlStreamReader>

#include <cmath>
#include <functional>
#include <memory>

namespace moescope::ui {
namespace {

void ensureApplication()
{
    static HeadlessApplication app;
}

void writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly)) << path.toStdString();
    f.write(bytes);
}

QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QJsonObject runObject(const QString &command)
{
    return { { "command", command },
        { "model",
            QJsonObject { { "model_id", "tiny-mixtral" }, { "model_type", "mixtral" },
                { "num_layers", 3 }, { "num_experts", 8 }, { "top_k", 2 } } },
        { "task", "perplexity" }, { "primary_metric", "bits_per_byte" },
        { "higher_is_better", false }, { "eval_corpus", "udhr:en,zh?articles=7-8" },
        { "template", "raw" }, { "chat", false }, { "tool_version", "9.8.7" },
        { "created", "2026-11-26T01:00:00Z" } };
}

// An ablation table as `moescope ablate` writes it: blocks 0-1 and 2-2,
// masked en and zh, evaluated en and zh; bits_per_byte chosen so that every
// cell differs, "_delta" as runGrid computes it.
QByteArray ablationJson(const std::function<double(int, int, int)> &bpb)
{
    const QStringList blocks { "0-1", "2-2" }, languages { "en", "zh" };
    QJsonArray rows;
    auto row = [&](const QString &block, const QString &masked, int b, int m, int l) {
        const double v = bpb(b, m, l), base = bpb(-1, -1, l);
        QJsonObject r { { "block", block }, { "masked", masked }, { "language", languages[l] },
            { "bits_per_byte", v }, { "tokens", 100 + l }, { "experts", b < 0 ? 0 : 2 + b },
            { "bits_per_byte_delta", v - base } };
        rows.append(r);
    };
    for (int l = 0; l < 2; ++l)
        row("none", "none", -1, -1, l);
    for (int b = 0; b < 2; ++b)
        for (int m = 0; m < 2; ++m)
            for (int l = 0; l < 2; ++l)
                row(blocks[b], languages[m], b, m, l);
    QJsonObject run = runObject("moescope ablate --k 2");
    run["k"] = 2;
    run["threshold"] = 0.4;
    run["languages"] = QJsonArray { "en", "zh" };
    run["blocks"] = QJsonArray { QJsonArray { 0, 1 }, QJsonArray { 2, 2 } };
    const QJsonObject doc { { "format", "moescope-metrics" }, { "version", 1 },
        { "keys", QJsonArray { "block", "masked", "language" } },
        { "columns", QJsonArray { "bits_per_byte", "tokens", "experts", "bits_per_byte_delta" } },
        { "rows", rows }, { "run", run } };
    return QJsonDocument(doc).toJson();
}

double sampleBpb(int block, int masked, int language)
{
    if (block < 0)
        return 2.0 + 0.25 * language;
    // Masking a language's experts hurts that language most.
    return 2.0 + 0.25 * language + (masked == language ? 1.5 + block : 0.1 * (block + 1));
}

QByteArray steeringJson(
    const QStringList &conditions, const std::function<double(int, int)> &accuracy)
{
    const QStringList languages { "en", "zh", "de" };
    QJsonArray rows;
    for (int c = 0; c < conditions.size(); ++c)
        for (int l = 0; l < languages.size(); ++l)
            rows.append(QJsonObject { { "condition", conditions[c] }, { "language", languages[l] },
                { "accuracy", accuracy(c, l) }, { "note", "text cells are skipped" },
                { "accuracy_delta", accuracy(c, l) - accuracy(0, l) } });
    QJsonObject run = runObject("moescope steer");
    run["task"] = "math";
    run["primary_metric"] = "accuracy";
    run["higher_is_better"] = true;
    run["pair"] = QJsonArray { "en", "zh" };
    run["lambdas"] = QJsonArray { 0.022, 0.05 };
    run["layers"] = QJsonArray { 10, 39 };
    run["k"] = 20;
    run["threshold"] = 0.7;
    return QJsonDocument(QJsonObject { { "format", "moescope-metrics" }, { "version", 1 },
                             { "keys", QJsonArray { "condition", "language" } },
                             { "columns", QJsonArray { "accuracy", "note", "accuracy_delta" } },
                             { "rows", rows }, { "run", run } })
        .toJson();
}

const QStringList kSteerConditions { "baseline", "steer(en,zh,lambda=0.022)",
    "steer(en,zh,lambda=0.05)" };

double sampleAccuracy(int condition, int language)
{
    return 0.2 + 0.1 * language + 0.15 * condition;
}

std::string errorOf(const std::function<void()> &f)
{
    try {
        f();
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

QString exact(double v)
{
    return QString::number(v, 'g', 10);
}

TEST(InterventionResults, ReadsAnAblationTable)
{
    const auto r = parseInterventionResults(ablationJson(sampleBpb), "ablation/results.json");
    EXPECT_EQ(r->kind, InterventionResults::Kind::Ablation);
    EXPECT_EQ(r->blocks(), (QStringList { "0-1", "2-2" }));
    EXPECT_EQ(r->maskedLanguages(), (QStringList { "en", "zh" }));
    EXPECT_EQ(r->languages, (QStringList { "en", "zh" }));
    EXPECT_EQ(r->primaryMetric, "bits_per_byte");
    EXPECT_FALSE(r->higherIsBetter);
    EXPECT_EQ(r->plottableMetrics(), (QStringList { "bits_per_byte", "tokens" }));
    EXPECT_EQ(r->rows.size(), 10);
    EXPECT_DOUBLE_EQ(*r->value({ "2-2", "zh" }, "zh", "bits_per_byte"), sampleBpb(1, 1, 1));
    EXPECT_DOUBLE_EQ(*r->value({ "none", "none" }, "en", "bits_per_byte"), sampleBpb(-1, -1, 0));
    EXPECT_FALSE(r->value({ "2-2", "zh" }, "fr", "bits_per_byte"));
    const QString caption = r->caption();
    for (const char *needle : { "tiny-mixtral", "k = 2", "threshold = 0.4", "MoEScope 9.8.7",
             "template raw", "ablation/results.json" })
        EXPECT_TRUE(caption.contains(QString::fromUtf8(needle)))
            << caption.toStdString() << " lacks " << needle;
}

TEST(InterventionResults, ReadsASteeringTableAndAFolder)
{
    QTemporaryDir dir;
    writeFile(dir.filePath("results.json"), steeringJson(kSteerConditions, sampleAccuracy));
    const auto r = loadInterventionResults(dir.path()); // the folder steer wrote
    EXPECT_EQ(r->kind, InterventionResults::Kind::Steering);
    EXPECT_EQ(r->conditions(), kSteerConditions);
    EXPECT_EQ(r->metrics, (QStringList { "accuracy", "accuracy_delta" }));
    EXPECT_TRUE(r->higherIsBetter);
    EXPECT_TRUE(
        r->caption().contains(QString::fromUtf8("steer en→zh, λ = 0.022, 0.05, layers 10–39")))
        << r->caption().toStdString();
    EXPECT_EQ(conditionDisplayName("steer(en,zh,lambda=0.05)"), QString::fromUtf8("λ = 0.05"));
    EXPECT_EQ(blockDisplayName("0-4"), QString::fromUtf8("layers 0–4"));
    EXPECT_EQ(blockDisplayName("3-3"), "layer 3");
}

TEST(InterventionResults, BadFilesGetAnErrorNamingFileAndProblem)
{
    QTemporaryDir dir;
    const auto expectError = [&](const QByteArray &content, const char *needle) {
        const QString path = dir.filePath("bad.json");
        writeFile(path, content);
        const auto message = errorOf([&] { loadInterventionResults(path); });
        EXPECT_NE(message.find("bad.json"), std::string::npos) << message;
        EXPECT_NE(message.find(needle), std::string::npos) << message;
    };
    expectError("{\"format\": \"moescope-metrics\", ", "not JSON");
    expectError("[1, 2]", "not a JSON object");
    expectError(R"({"format": "moescope-trace", "version": 1})", "moescope-metrics");
    expectError(
        R"({"format": "moescope-metrics", "version": 2, "keys": ["condition", "language"]})",
        "version 2");
    expectError(
        R"({"format": "moescope-metrics", "version": 1, "keys": ["language"], "columns": [], "rows": []})",
        "neither an ablation grid");
    // evaluate's table: condition/language keys, but no baseline condition.
    expectError(R"({"format": "moescope-metrics", "version": 1, "keys": ["condition", "language"],
                    "columns": ["bits_per_byte"],
                    "rows": [{"condition": "plan:mask-en", "language": "en", "bits_per_byte": 3.5}]})",
        "no \"baseline\" condition");
    expectError(
        R"({"format": "moescope-metrics", "version": 1, "keys": ["block", "masked", "language"],
                    "columns": ["accuracy"], "rows": []})",
        "no rows");
    expectError(
        R"({"format": "moescope-metrics", "version": 1, "keys": ["block", "masked", "language"],
                    "columns": ["accuracy"], "rows": [{"block": "0-1", "masked": "en", "accuracy": 1}]})",
        "no \"language\"");
    const auto missing = errorOf([&] { loadInterventionResults(dir.filePath("nothing.json")); });
    EXPECT_NE(missing.find("no such file"), std::string::npos) << missing;
}

TEST(AblationGridFigure, CellsShowTheTableValuesAndBaselineChanges)
{
    ensureApplication();
    const auto results = parseInterventionResults(ablationJson(sampleBpb), "results.json");
    AblationGridRenderer figure(results);
    ASSERT_TRUE(figure.hasData());
    EXPECT_EQ(figure.panelCount(), 2);
    EXPECT_EQ(figure.rowLabels(), (QStringList { "baseline", "mask en", "mask zh" }));
    const QRectF rect(QPointF(0, 0), figure.defaultSize());
    const QStringList blocks { "0-1", "2-2" }, languages { "en", "zh" };
    for (bool delta : { false, true }) {
        figure.setShowDelta(delta);
        EXPECT_EQ(
            figure.fileStem(), delta ? "ablation-bits-per-byte-delta" : "ablation-bits-per-byte");
        for (int p = 0; p < 2; ++p)
            for (int row = 0; row < 3; ++row)
                for (int c = 0; c < 2; ++c) {
                    const double base = sampleBpb(-1, -1, c);
                    const double value = row == 0 ? base : sampleBpb(p, row - 1, c);
                    const auto shown = figure.cellValue(p, row, c);
                    ASSERT_TRUE(shown);
                    // Deltas are the table's bits_per_byte_delta column, recomputed.
                    const double expected = delta && row > 0 ? value - base : value;
                    EXPECT_DOUBLE_EQ(*shown, expected) << p << row << c;
                    if (delta && row > 0) {
                        EXPECT_DOUBLE_EQ(*shown,
                            *results->value({ blocks[p], languages[row - 1] }, languages[c],
                                "bits_per_byte_delta"));
                    }
                    const QRectF cell = figure.cellRect(rect, p, row, c);
                    ASSERT_FALSE(cell.isEmpty());
                    const QString tip = figure.toolTipAt(cell.center(), rect);
                    EXPECT_TRUE(tip.contains("bits_per_byte = " + exact(value)))
                        << tip.toStdString();
                    EXPECT_TRUE(tip.contains("evaluated " + languages[c])) << tip.toStdString();
                    EXPECT_TRUE(tip.contains(blockDisplayName(blocks[p]))) << tip.toStdString();
                    if (row > 0) {
                        EXPECT_TRUE(tip.contains("mask " + languages[row - 1]))
                            << tip.toStdString();
                        EXPECT_TRUE(tip.contains("change " + exact(value - base)))
                            << tip.toStdString();
                        EXPECT_TRUE(tip.contains(QString("experts masked: %1").arg(2 + p)))
                            << tip.toStdString();
                    }
                }
    }
    // Panels do not overlap and keep block order left to right.
    EXPECT_LT(figure.cellRect(rect, 0, 0, 1).right(), figure.cellRect(rect, 1, 0, 0).left() + 1e-9);

    figure.setMetric("tokens");
    EXPECT_EQ(figure.metric(), "tokens");
    EXPECT_DOUBLE_EQ(*figure.cellValue(0, 1, 1), 0.0); // tokens equal in every row: no change
    EXPECT_NE(errorOf([&] { figure.setMetric("accuracy"); }).find("no metric 'accuracy'"),
        std::string::npos);

    const auto steering
        = parseInterventionResults(steeringJson(kSteerConditions, sampleAccuracy), "s.json");
    EXPECT_NE(
        errorOf([&] { figure.setResults(steering); }).find("steering table"), std::string::npos);
}

TEST(SteeringFigure, BarsShowTheTableValues)
{
    ensureApplication();
    const auto results
        = parseInterventionResults(steeringJson(kSteerConditions, sampleAccuracy), "results.json");
    SteeringResultsRenderer figure(results);
    ASSERT_TRUE(figure.hasData());
    EXPECT_EQ(figure.fileStem(), "steering-accuracy");
    EXPECT_TRUE(figure.title().contains(QString::fromUtf8("en → zh")))
        << figure.title().toStdString();
    const QRectF rect(QPointF(0, 0), figure.defaultSize());
    const QStringList languages { "en", "zh", "de" };
    const QRectF reference = figure.barRect(rect, 0, 0);
    for (int c = 0; c < 3; ++c)
        for (int l = 0; l < 3; ++l) {
            const QRectF bar = figure.barRect(rect, c, l);
            ASSERT_FALSE(bar.isEmpty());
            // Bars start at zero, so heights are proportional to the values.
            EXPECT_NEAR(bar.height() / reference.height(),
                sampleAccuracy(c, l) / sampleAccuracy(0, 0), 1e-9);
            EXPECT_NEAR(bar.bottom(), reference.bottom(), 1e-9);
            const QString tip = figure.toolTipAt(bar.center(), rect);
            EXPECT_TRUE(tip.contains("accuracy = " + exact(sampleAccuracy(c, l))))
                << tip.toStdString();
            EXPECT_TRUE(tip.startsWith(languages[l] + QString::fromUtf8(" · ")
                + conditionDisplayName(kSteerConditions[c])))
                << tip.toStdString();
            if (c > 0) {
                EXPECT_TRUE(
                    tip.contains("change " + exact(sampleAccuracy(c, l) - sampleAccuracy(0, l))))
                    << tip.toStdString();
            }
        }
    // Groups by language, conditions left to right inside a group.
    EXPECT_LT(figure.barRect(rect, 2, 0).right(), figure.barRect(rect, 0, 1).left());
    EXPECT_LT(figure.barRect(rect, 0, 0).right(), figure.barRect(rect, 1, 0).left() + 1e-9);

    const auto ablation = parseInterventionResults(ablationJson(sampleBpb), "a.json");
    EXPECT_NE(
        errorOf([&] { figure.setResults(ablation); }).find("ablation grid"), std::string::npos);
}

// Every text element of an SVG, concatenated.
QString svgText(const QByteArray &svg, bool *wellFormed)
{
    QXmlStreamReader xml(svg);
    QString text;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isCharacters())
            text += xml.text().toString() + QLatin1Char('\n');
    }
    *wellFormed = !xml.hasError();
    return text;
}

TEST(ResultFigures, ExportAsSvgPngAndPdf)
{
    ensureApplication();
    QTemporaryDir dir;
    PaperFigureSet inputs;
    inputs.ablation = parseInterventionResults(ablationJson(sampleBpb), "ablation/results.json");
    inputs.steering = parseInterventionResults(
        steeringJson(kSteerConditions, sampleAccuracy), "steering/results.json");
    FigureExportOptions options;
    options.dpi = 72;
    const QStringList written = exportPaperFigures(
        inputs, dir.path(), { FigureFormat::Svg, FigureFormat::Png, FigureFormat::Pdf }, options);
    ASSERT_EQ(written.size(), 9); // ablation metric + change, steering; x 3 formats
    for (const QString &path : written)
        EXPECT_TRUE(QFileInfo(path).size() > 0) << path.toStdString();

    bool wellFormed = false;
    const QString grid = svgText(readFile(dir.filePath("ablation-bits-per-byte.svg")), &wellFormed);
    EXPECT_TRUE(wellFormed);
    for (const char *needle :
        { "layers 0–1", "layer 2", "mask zh", "baseline", "evaluated language", "tiny-mixtral" })
        EXPECT_TRUE(grid.contains(QString::fromUtf8(needle))) << needle;
    // The cell values are printed: the masked-en block-0 cell for en.
    EXPECT_TRUE(grid.contains(QString::number(sampleBpb(0, 0, 0), 'f', 2))) << grid.toStdString();
    const QString change
        = svgText(readFile(dir.filePath("ablation-bits-per-byte-delta.svg")), &wellFormed);
    EXPECT_TRUE(wellFormed);
    EXPECT_TRUE(
        change.contains("+" + QString::number(sampleBpb(1, 1, 1) - sampleBpb(-1, -1, 1), 'f', 2)))
        << change.toStdString();
    const QString steering = svgText(readFile(dir.filePath("steering-accuracy.svg")), &wellFormed);
    EXPECT_TRUE(wellFormed);
    for (const char *needle : { "baseline", "λ = 0.022", "λ = 0.05", "de", "layers 10–39" })
        EXPECT_TRUE(steering.contains(QString::fromUtf8(needle))) << needle;

    AblationGridRenderer figure(inputs.ablation);
    const QImage png(dir.filePath("ablation-bits-per-byte.png"));
    EXPECT_EQ(png.size(), pngPixelSize(figure.defaultSize(), 72));
    EXPECT_TRUE(readFile(dir.filePath("steering-accuracy.pdf")).startsWith("%PDF-"));

    // Single-format overload; nothing to draw is an error.
    options.format = FigureFormat::Svg;
    PaperFigureSet onlySteering;
    onlySteering.steering = inputs.steering;
    EXPECT_EQ(exportPaperFigures(onlySteering, dir.filePath("one"), options),
        QStringList { QDir(dir.filePath("one")).filePath("steering-accuracy.svg") });
    EXPECT_NE(errorOf([&] {
        exportPaperFigures(PaperFigureSet {}, dir.path(), options);
    }).find("no study"),
        std::string::npos);
}

struct CliRun
{
    int exitCode = -1;
    QString out, err;
};

CliRun moescope(const QStringList &args)
{
    QProcess p;
    p.start(QStringLiteral(MOESCOPE_BINARY), args);
    CliRun r;
    if (!p.waitForFinished(120000)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out";
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

// Issue #6's "done when": record -> analyze -> plan -> ablate / steer ->
// figures from the CLI on a tiny fixture checkpoint.
TEST(ResultFiguresCli, RecordAnalyzePlanAblateSteerFiguresEndToEnd)
{
    ensureApplication();
    test::LiveTestModel model;
    ASSERT_TRUE(model.isValid());
    QTemporaryDir tmp;
    const QString trace = tmp.filePath("t.h5");
    CliRun r = moescope({ "record", "--model", model.path(), "--corpus", "udhr:en,zh?articles=1-4",
        "--max-length", "96", "--out", trace, "--quiet" });
    ASSERT_EQ(r.exitCode, 0) << r.err.toStdString();

    r = moescope({ "analyze", trace, "--out", tmp.filePath("analysis.json"), "--k", "2" });
    ASSERT_EQ(r.exitCode, 0) << r.err.toStdString();
    const QJsonObject analysis
        = QJsonDocument::fromJson(readFile(tmp.filePath("analysis.json"))).object();
    EXPECT_EQ(analysis["languages"].toArray().size(), 2);

    r = moescope({ "plan", "--trace", trace, "--model", model.path(), "--mask-exclusive", "en",
        "--k", "2", "--out", tmp.filePath("mask-en.json") });
    ASSERT_EQ(r.exitCode, 0) << r.err.toStdString();
    // Experts per layer that masking en touches, from the whole-model plan;
    // the ablation's cell for a block masks the same experts in its layers.
    const QJsonArray maskEntries = QJsonDocument::fromJson(readFile(tmp.filePath("mask-en.json")))
                                       .object()["mask"]
                                       .toArray();
    ASSERT_FALSE(maskEntries.isEmpty());
    auto maskedInLayers = [&](int first, int last) {
        int count = 0;
        for (const auto &entry : maskEntries) {
            const QJsonArray layers = entry.toObject()["layers"].toArray();
            const int overlap
                = std::min(last, layers[1].toInt()) - std::max(first, layers[0].toInt()) + 1;
            count += std::max(0, overlap)
                * static_cast<int>(entry.toObject()["experts"].toArray().size());
        }
        return count;
    };

    const QString ablation = tmp.filePath("ablation");
    r = moescope({ "ablate", "--model", model.path(), "--trace", trace, "--eval",
        "udhr:en,zh?articles=7-8", "--languages", "en,zh", "--blocks", "0-0,1-2", "--k", "2",
        "--max-length", "96", "--out", ablation, "--quiet" });
    ASSERT_EQ(r.exitCode, 0) << r.err.toStdString();
    const QString steering = tmp.filePath("steering");
    r = moescope(
        { "steer", "--model", model.path(), "--trace", trace, "--eval", "udhr:en,zh?articles=7",
            "--pair", "en,zh", "--lambda", "0.02,0.05", "--k", "4", "--threshold", "0.99",
            "--layers", "0-2", "--max-length", "96", "--out", steering, "--quiet" });
    ASSERT_EQ(r.exitCode, 0) << r.err.toStdString();

    const QString figures = tmp.filePath("figures");
    r = moescope({ "figures", "--results", ablation + "/results.json," + steering, "--out", figures,
        "--format", "svg,png", "--dpi", "60" });
    ASSERT_EQ(r.exitCode, 0) << r.err.toStdString();
    const QStringList printed = r.out.split('\n', Qt::SkipEmptyParts);
    EXPECT_EQ(printed.size(), 6) << r.out.toStdString(); // 3 figures x 2 formats, no study figures
    for (const QString &path : printed)
        EXPECT_TRUE(QFileInfo::exists(path)) << path.toStdString();

    // The ablation figure agrees with the table the run wrote: one panel per
    // --blocks entry, every cell's value as in results.json.
    const auto results = loadInterventionResults(ablation + "/results.json");
    EXPECT_EQ(results->blocks(), (QStringList { "0-0", "1-2" }));
    bool wellFormed = false;
    const QString svg = svgText(readFile(figures + "/ablation-bits-per-byte.svg"), &wellFormed);
    EXPECT_TRUE(wellFormed);
    EXPECT_EQ(svg.count(QString::fromUtf8("layer 0\n")), 1) << svg.toStdString();
    EXPECT_EQ(svg.count(QString::fromUtf8("layers 1–2\n")), 1) << svg.toStdString();
    EXPECT_TRUE(svg.contains("model")) << svg.toStdString();
    AblationGridRenderer grid(results);
    EXPECT_EQ(grid.panelCount(), 2);
    EXPECT_EQ(QImage(figures + "/ablation-bits-per-byte.png").size(),
        pngPixelSize(grid.defaultSize(), 60));
    const QRectF rect(QPointF(0, 0), grid.defaultSize());
    const QJsonArray rows
        = QJsonDocument::fromJson(readFile(ablation + "/results.json")).object()["rows"].toArray();
    int checked = 0;
    for (const auto &value : rows) {
        const QJsonObject row = value.toObject();
        if (row["block"].toString() == "none")
            continue;
        const int panel = results->blocks().indexOf(row["block"].toString());
        const int masked = 1 + results->maskedLanguages().indexOf(row["masked"].toString());
        const int column = results->languages.indexOf(row["language"].toString());
        const QString tip
            = grid.toolTipAt(grid.cellRect(rect, panel, masked, column).center(), rect);
        EXPECT_TRUE(tip.contains("bits_per_byte = " + exact(row["bits_per_byte"].toDouble())))
            << tip.toStdString();
        // The change the figure computes is the one runGrid wrote.
        const auto delta
            = results->deltaFromBaseline({ row["block"].toString(), row["masked"].toString() },
                row["language"].toString(), "bits_per_byte");
        ASSERT_TRUE(delta);
        EXPECT_NEAR(*delta, row["bits_per_byte_delta"].toDouble(), 1e-12);
        EXPECT_TRUE(tip.contains("change " + exact(*delta))) << tip.toStdString();
        ++checked;
    }
    EXPECT_EQ(checked, 8); // 2 blocks x 2 masked x 2 evaluated
    const QString maskEnLate = grid.toolTipAt(grid.cellRect(rect, 1, 1, 0).center(), rect);
    EXPECT_TRUE(maskEnLate.contains(QString("experts masked: %1").arg(maskedInLayers(1, 2))))
        << maskEnLate.toStdString();

    // --paper: the study's routing figures from the recorded trace plus the
    // results figures, in one call.
    r = moescope({ "figures", "--paper", trace, "--results", ablation + "," + steering, "--k", "2",
        "--out", tmp.filePath("paper"), "--format", "svg" });
    ASSERT_EQ(r.exitCode, 0) << r.err.toStdString();
    const QStringList paper = r.out.split('\n', Qt::SkipEmptyParts);
    EXPECT_EQ(paper.size(), 7 + 3) << r.out.toStdString();
    for (const char *name :
        { "similarity-mean.svg", "ablation-bits-per-byte-delta.svg", "steering-bits-per-byte.svg" })
        EXPECT_TRUE(QFileInfo::exists(tmp.filePath("paper/") + name)) << name;

    // Wrong, missing and other-schema inputs: one line, non-zero exit, no files.
    const auto expectOneLineError = [&](const QStringList &args, const char *needle) {
        const CliRun bad = moescope(args);
        EXPECT_NE(bad.exitCode, 0) << bad.err.toStdString();
        EXPECT_EQ(bad.err.count('\n'), 1) << bad.err.toStdString();
        EXPECT_TRUE(bad.err.contains(QString::fromUtf8(needle))) << bad.err.toStdString();
    };
    const QString badOut = tmp.filePath("bad-figures");
    expectOneLineError(
        { "figures", "--results", tmp.filePath("missing.json"), "--out", badOut }, "no such file");
    expectOneLineError({ "figures", "--results", trace, "--out", badOut }, "an HDF5 trace");
    expectOneLineError({ "figures", "--results", tmp.filePath("analysis.json"), "--out", badOut },
        "moescope-metrics");
    expectOneLineError({ "figures", "--results", ablation + "," + ablation, "--out", badOut },
        "two ablation tables");
    expectOneLineError(
        { "figures", "--results", ablation, "--metric", "accuracy", "--out", badOut },
        "no metric 'accuracy'");
    EXPECT_FALSE(QFileInfo::exists(badOut));
}

} // namespace
} // namespace moescope::ui
