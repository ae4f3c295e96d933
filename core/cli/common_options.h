#pragma once

// What several commands read from argv the same way, and the Ctrl-C
// handling of the commands that run long jobs.

#include "core/analysis/routing_analysis.h"
#include "core/cli/args.h"
#include "core/model/moe_model.h"

#include <csignal>
#include <string>
#include <vector>

namespace moescope {
class JobContext;
}

namespace moescope::cli {

// The value of --name; UsageError "--name VALUE is required" when missing.
std::string required(const ArgParser &p, const std::string &name, const std::string &valueName);
// --dtype fp32|bf16 (empty: the checkpoint's own).
model::ComputeDtype dtypeOption(const ArgParser &p);
// Integer options with a lower bound; UsageError naming the option.
std::size_t positiveOption(const ArgParser &p, const std::string &name);
std::size_t nonNegativeOption(const ArgParser &p, const std::string &name);
// "moescope NAME ARGS..." quoted for a POSIX shell: the run records' command.
std::string commandLine(const std::string &name, const std::vector<std::string> &args);

// --k, --threshold, --linkage of `analyze` and `figures`, defaults from
// AnalysisParams; the values are checked against the trace by
// checkAnalysisParams (requireAnalysisParams).
void declareAnalysisOptions(ArgParser &p);
AnalysisParams analysisParams(const ArgParser &p);
// UsageError with checkAnalysisParams' reason when params do not suit trace.
void requireAnalysisParams(const AnalysisParams &params, const RoutingTrace &trace);

// Ctrl-C (and SIGTERM) cancel the running job: the engine stops at the next
// layer, the work under way is abandoned (a trainer saves its state) and the
// command exits with 130, leaving every committed batch on disk. A second
// Ctrl-C kills at once (SA_RESETHAND).
class InterruptCancels
{
public:
    explicit InterruptCancels(const JobContext &job);
    ~InterruptCancels();
    InterruptCancels(const InterruptCancels &) = delete;
    InterruptCancels &operator=(const InterruptCancels &) = delete;

private:
    struct sigaction m_previousInt {}, m_previousTerm {};
};

} // namespace moescope::cli
