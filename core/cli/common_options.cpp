#include "core/cli/common_options.h"

#include "core/common/error.h"
#include "core/jobs/job_context.h"

#include <atomic>
#include <cstdio>

namespace moescope::cli {

std::string required(const ArgParser &p, const std::string &name, const std::string &valueName)
{
    if (!p.has(name))
        throw UsageError("--" + name + " " + valueName + " is required");
    return p.get(name);
}

model::ComputeDtype dtypeOption(const ArgParser &p)
{
    const auto text = p.get("dtype");
    if (!text.empty() && text != "fp32" && text != "bf16")
        throw UsageError("option --dtype must be fp32 or bf16");
    return model::parseComputeDtype(text);
}

std::size_t positiveOption(const ArgParser &p, const std::string &name)
{
    const int value = p.getInt(name);
    if (value < 1)
        throw UsageError("option --" + name + " must be at least 1");
    return static_cast<std::size_t>(value);
}

std::size_t nonNegativeOption(const ArgParser &p, const std::string &name)
{
    const int value = p.getInt(name);
    if (value < 0)
        throw UsageError("option --" + name + " must not be negative");
    return static_cast<std::size_t>(value);
}

std::string commandLine(const std::string &name, const std::vector<std::string> &args)
{
    std::string line = "moescope " + name;
    for (const auto &a : args) {
        const bool plain = !a.empty() && a.find_first_of(" \t\n'\"&?*$;|<>()\\") == std::string::npos;
        if (plain) {
            line += " " + a;
        } else {
            std::string quoted = "'";
            for (const char c : a)
                quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
            line += " " + quoted + "'";
        }
    }
    return line;
}

void declareAnalysisOptions(ArgParser &p)
{
    const AnalysisParams defaults;
    char threshold[32];
    std::snprintf(threshold, sizeof threshold, "%g", defaults.threshold);
    p.option("k", "N", "experts kept per language and layer", std::to_string(defaults.k))
        .option("threshold", "X", "share above which an expert is exclusive to a language", threshold)
        .option("linkage", "METHOD", "average, single, complete or ward", linkageName(defaults.linkage));
}

AnalysisParams analysisParams(const ArgParser &p)
{
    AnalysisParams params;
    params.k = p.getInt("k");
    params.threshold = p.getDouble("threshold");
    try {
        params.linkage = parseLinkage(p.get("linkage"));
    } catch (const Error &e) {
        throw UsageError("--linkage: " + e.reason());
    }
    return params;
}

void requireAnalysisParams(const AnalysisParams &params, const RoutingTrace &trace)
{
    if (const std::string problem = checkAnalysisParams(params, trace); !problem.empty())
        throw UsageError(problem);
}

namespace {

std::atomic<const JobContext *> g_interruptedJob {nullptr};

extern "C" void cancelOnInterrupt(int)
{
    if (const auto *job = g_interruptedJob.load())
        job->requestCancel(); // one lock-free atomic store
}

} // namespace

InterruptCancels::InterruptCancels(const JobContext &job)
{
    g_interruptedJob = &job;
    struct sigaction action {};
    action.sa_handler = cancelOnInterrupt;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &m_previousInt);
    sigaction(SIGTERM, &action, &m_previousTerm);
}

InterruptCancels::~InterruptCancels()
{
    sigaction(SIGINT, &m_previousInt, nullptr);
    sigaction(SIGTERM, &m_previousTerm, nullptr);
    g_interruptedJob = nullptr;
}

} // namespace moescope::cli
