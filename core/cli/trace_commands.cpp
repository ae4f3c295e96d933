// import-json, export-json, merge and trace-info: thin wrappers over
// core/trace so that the GUI and scripts share one implementation.
#include "core/cli/command.h"

#include "core/common/logging.h"
#include "core/trace/study_json.h"
#include "core/trace/token_trace.h"
#include "core/trace/trace_merge.h"
#include "core/trace/trace_store.h"

#include <cstdio>
#include <string>

namespace moescope::cli {

namespace {

std::string requiredOut(const ArgParser &p, const char *valueName)
{
    if (!p.has("out"))
        throw UsageError(std::string("--out ") + valueName + " is required");
    return p.get("out");
}

std::string labelList(const RoutingTrace &trace)
{
    std::string s;
    for (const auto &l : trace.languages) {
        if (!s.empty())
            s += ", ";
        s += l.label;
    }
    return s;
}

std::string modelLine(const ModelSummary &m)
{
    return std::to_string(m.numLayers) + " layers (" + std::to_string(m.moeLayers.size())
        + " MoE) x " + std::to_string(m.numExperts) + " experts, top-" + std::to_string(m.topK);
}

void report(const std::string &line)
{
    if (verbosity() != Verbosity::Quiet)
        std::printf("%s\n", line.c_str());
}

int importJson(const std::vector<std::string> &args)
{
    ArgParser p("import-json", "PATH... --out TRACE.h5 [options]",
                "Imports the study's routing JSON (arXiv 2601.14050 layout, one file per\n"
                "language) into an HDF5 trace. Folders are read in file-name order. Labels\n"
                "come from file names (mgsm_en.json -> en, corpus mgsm) unless --labels is\n"
                "given. See docs/trace-format.md.");
    p.positional("PATH", "study JSON files and/or folders of them", 1, -1)
        .option("out", "TRACE.h5", "trace file to write (required)")
        .option("model-id", "ID", "model the counts come from", "unknown")
        .option("model-type", "TYPE", "Hugging Face model_type, e.g. qwen3_moe")
        .option("labels", "A,B,...", "labels in file order (default: from file names)")
        .option("corpus", "NAME", "corpus attribute (default: file-name prefix)")
        .option("top-k", "K", "experts per token (default: inferred from the counts)");
    if (!parseCommon(p, args))
        return 0;
    const std::string out = requiredOut(p, "TRACE.h5");
    StudyJsonOptions options;
    options.modelId = p.get("model-id");
    options.modelType = p.get("model-type");
    if (p.has("labels"))
        options.labels = splitList(p.get("labels"));
    options.corpus = p.get("corpus");
    if (p.has("top-k")) {
        options.topK = p.getInt("top-k");
        if (options.topK < 1)
            throw UsageError("option --top-k must be at least 1");
    }
    const RoutingTrace trace = importStudyJson(p.positionals(), options);
    writeTrace(trace, out);
    report("wrote " + out + ": " + std::to_string(trace.languages.size()) + " languages ("
           + labelList(trace) + "), " + modelLine(trace.model));
    return 0;
}

int exportJson(const std::vector<std::string> &args)
{
    ArgParser p("export-json", "TRACE.h5 --out DIR [--prefix P]",
                "Writes one study-layout JSON file per language, DIR/<prefix><label>.json\n"
                "(DIR is created if missing). import-json reads them back unchanged.");
    p.positional("TRACE.h5", "trace to export")
        .option("out", "DIR", "folder for the JSON files (required)")
        .option("prefix", "P", "file name prefix, e.g. mgsm_");
    if (!parseCommon(p, args))
        return 0;
    const std::string out = requiredOut(p, "DIR");
    const RoutingTrace trace = readTrace(p.positionals().front());
    exportStudyJson(trace, out, p.get("prefix"));
    report("wrote " + std::to_string(trace.languages.size()) + " files to " + out);
    return 0;
}

int merge(const std::vector<std::string> &args)
{
    ArgParser p("merge", "A.h5 B.h5 ... --out C.h5",
                "Sums traces recorded with the same model (e.g. on corpus shards): counts,\n"
                "gate sums, tokens and documents of equal labels add up; other labels are\n"
                "copied. Languages keep their first-seen order.");
    p.positional("TRACE.h5", "traces to merge", 1, -1)
        .option("out", "C.h5", "merged trace to write (required)");
    if (!parseCommon(p, args))
        return 0;
    const std::string out = requiredOut(p, "C.h5");
    const RoutingTrace merged = mergeTraceFiles(p.positionals());
    writeTrace(merged, out);
    report("wrote " + out + ": " + std::to_string(merged.languages.size()) + " languages ("
           + labelList(merged) + ") from " + std::to_string(p.positionals().size()) + " traces");
    return 0;
}

int traceInfo(const std::vector<std::string> &args)
{
    ArgParser p("trace-info", "TRACE.h5", "Prints a summary of a trace file.");
    p.positional("TRACE.h5", "trace to describe");
    if (!parseCommon(p, args))
        return 0;
    const std::string &path = p.positionals().front();
    const RoutingTrace trace = readTrace(path);
    const ModelSummary &m = trace.model;
    std::printf("%s: moescope-trace version 1, written by moescope %s, created %s\n",
                path.c_str(), trace.toolVersion.c_str(), trace.created.c_str());
    std::printf("model: %s%s%s, %s\n", m.modelId.c_str(), m.modelType.empty() ? "" : " / ",
                m.modelType.c_str(), modelLine(m).c_str());
    std::printf("languages: %zu\n", trace.languages.size());
    std::printf("  %-20s %12s %10s %-9s %-12s %s\n", "label", "tokens", "documents", "scope",
                "template", "corpus");
    const std::size_t firstMoe = static_cast<std::size_t>(m.moeLayers.front());
    for (const auto &l : trace.languages)
        std::printf("  %-20s %12llu %10llu %-9s %-12s %s\n", l.label.c_str(),
                    static_cast<unsigned long long>(l.tokens[firstMoe]),
                    static_cast<unsigned long long>(l.documents), l.tokenScope.c_str(),
                    l.templateName.empty() ? "-" : l.templateName.c_str(), l.corpus.c_str());
    for (const auto &label : tokenTraceLabels(path)) {
        const TokenTraceSize size = tokenTraceSize(path, label);
        std::printf("token-level trace %s: %llu tokens in %llu documents\n", label.c_str(),
                    static_cast<unsigned long long>(size.tokens),
                    static_cast<unsigned long long>(size.documents));
    }
    std::printf("provenance: %s\n", trace.provenance.c_str());
    return 0;
}

} // namespace

std::vector<Command> traceCommands()
{
    return {
        {"import-json", "import the study's routing JSON files into a trace", importJson},
        {"export-json", "write a trace as study-layout JSON files", exportJson},
        {"merge", "sum traces recorded with the same model", merge},
        {"trace-info", "summarise a trace file", traceInfo},
    };
}

} // namespace moescope::cli
