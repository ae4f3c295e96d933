#pragma once

// `moescope generate` and the GUI's playground / intervention generations:
// one request, validated and given its defaults here, run by the engine's
// KV-cached generate. The CLI parses argv into a GenerationRequest, the GUI
// fills one from its widgets.

#include "core/model/moe_model.h"
#include "core/routing/intervention_plan.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moescope {
class JobContext;
class Tokenizer;
namespace routing {
class RouterHook;
}
} // namespace moescope

namespace moescope::experiments {

// The tokens generation stops at unless told otherwise: the checkpoint's eos
// ids (generation_config.json, else config.json), else the tokenizer's eos
// token. Evaluation adds the chat format's end-of-turn tokens to these.
std::vector<std::int64_t> defaultStopTokens(const model::MoeModel &model, const Tokenizer *tokenizer);

struct GenerationRequest
{
    std::string prompt; // encoded with the model's tokenizer...
    std::vector<std::vector<std::int64_t>> promptIds; // ...unless ids are given, one row per prompt
    bool addSpecialTokens = true; // BOS etc. when encoding `prompt`
    int maxNewTokens = 32;
    double temperature = 0; // 0: greedy
    double topP = 1;
    std::uint64_t seed = 0;
    bool stopAtEos = true; // false: always generate maxNewTokens
    routing::InterventionPlan plan; // applied before expert selection (empty: none)
    std::string planSource = "plan"; // named in the plan's errors
};

// A request made ready to run: prompt ids checked against the vocabulary,
// options with the stop tokens resolved, the plan checked against the model.
struct PreparedGeneration
{
    std::vector<std::vector<std::int64_t>> prompts;
    model::GenerationOptions options;
    std::optional<routing::InterventionPlan> plan;
};

// Throws Error for prompt text without a tokenizer, a prompt of no tokens,
// ids outside the vocabulary, a negative maxNewTokens, a temperature below 0
// or topP outside (0, 1], and a plan that does not fit the model.
PreparedGeneration prepareGeneration(const model::MoeModel &model, const Tokenizer *tokenizer,
                                     const GenerationRequest &request);

// Generates under the plan (when any); observer, when given, sees the
// routing after the plan (e.g. a recorder). onToken as MoeModel::generate.
model::GenerationResult runGeneration(const model::MoeModel &model, const PreparedGeneration &prepared,
                                      const JobContext &job, const model::TokenCallback &onToken = {},
                                      routing::RouterHook *observer = nullptr);

} // namespace moescope::experiments
