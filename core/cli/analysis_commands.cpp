// `moescope analyze`: the study's analyses of a trace, written as one JSON
// file (docs/architecture.md "Analysis JSON"). The GUI runs the same analyzeTrace.
#include "core/analysis/analysis_json.h"
#include "core/analysis/routing_analysis.h"
#include "core/cli/command.h"
#include "core/cli/common_options.h"
#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/common/logging.h"
#include "core/trace/study_json.h"
#include "core/trace/trace_store.h"

#include <cstdio>
#include <filesystem>

namespace moescope::cli {

namespace {

bool isStudyJsonInput(const std::string &path)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    return fs::is_directory(path, ec) || fs::path(path).extension() == ".json";
}

// A trace file, or the study's per-language JSON files (or folders of them).
RoutingTrace loadInput(const std::vector<std::string> &inputs)
{
    bool allJson = true;
    for (const auto &in : inputs)
        allJson = allJson && isStudyJsonInput(in);
    if (allJson)
        return importStudyJson(inputs);
    if (inputs.size() == 1)
        return readTrace(inputs.front());
    throw UsageError("give one trace file, or study JSON files and folders of them");
}

SteeringParams steeringParams(const ArgParser &args)
{
    const auto labels = splitList(args.get("steer"));
    if (labels.size() != 2)
        throw UsageError(
            "--steer expects two language labels like en,zh, got '" + args.get("steer") + "'");
    const auto ranges = parseRanges(args.get("steer-layers"), "--steer-layers");
    if (ranges.size() != 1)
        throw UsageError(
            "--steer-layers expects one range like 10-39, got '" + args.get("steer-layers") + "'");
    SteeringParams s;
    s.a = labels[0];
    s.b = labels[1];
    s.k = args.getInt("steer-k");
    s.threshold = args.getDouble("steer-threshold");
    s.firstLayer = ranges[0].first;
    s.lastLayer = ranges[0].second;
    return s;
}

int runAnalyze(const std::vector<std::string> &argv)
{
    ArgParser args("analyze", "INPUT... --out ANALYSIS.json [options]",
        "Routing similarity (1 - JSD), language clustering, routing entropy,\n"
        "language-exclusive and shared experts and, with --steer, the steering\n"
        "set of the study (arXiv 2601.14050).");
    args.positional("INPUT", "trace file (.h5), or study JSON files / folders of them", 1, -1)
        .option("out", "FILE", "analysis JSON to write");
    declareAnalysisOptions(args);
    args.option("steer", "A,B", "also select the steering experts for languages A and B")
        .option("steer-k", "N", "experts kept per language for --steer", "20")
        .option("steer-threshold", "X", "A's share must lie in (1 - X, X)", "0.7")
        .option("steer-layers", "FIRST-LAST", "layers searched for --steer", "10-39");
    if (!parseCommon(args, argv))
        return 0;

    if (!args.has("out"))
        throw UsageError("missing --out ANALYSIS.json");
    for (const char *name : { "steer-k", "steer-threshold", "steer-layers" })
        if (args.has(name) && !args.has("steer"))
            throw UsageError(std::string("--") + name + " needs --steer A,B");

    AnalysisParams params = analysisParams(args);
    if (args.has("steer"))
        params.steering = steeringParams(args);

    const auto &inputs = args.positionals();
    const RoutingTrace trace = loadInput(inputs);
    requireAnalysisParams(params, trace);

    const AnalysisResult result = analyzeTrace(trace, params);
    std::string source;
    for (const auto &in : inputs)
        source += (source.empty() ? "" : ",") + in;
    const std::string out = args.get("out");
    writeFileAtomically(out, analysisToJson(result, trace, source).dump(1) + "\n");

    if (verbosity() != Verbosity::Quiet) {
        const auto &first = result.dendrogram.merges;
        std::printf("%s: %zu languages over %zu layers", out.c_str(), result.languages.size(),
            result.similarity.layers.size());
        if (!first.empty())
            std::printf("; closest %s+%s at distance %.4f", first[0].members[0].c_str(),
                first[0].members[1].c_str(), first[0].height);
        std::printf("\n");
    }
    return 0;
}

} // namespace

std::vector<Command> analysisCommands()
{
    return { { "analyze", "routing similarity, clustering, entropy and exclusive experts",
        runAnalyze } };
}

} // namespace moescope::cli
