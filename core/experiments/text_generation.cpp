#include "core/experiments/text_generation.h"

#include "core/common/error.h"
#include "core/jobs/job_context.h"
#include "core/model/tokenizer/tokenizer.h"
#include "core/routing/plan_hook.h"

namespace moescope::experiments {

std::vector<std::int64_t> defaultStopTokens(const model::MoeModel &model, const Tokenizer *tokenizer)
{
    auto stops = model.generationDefaults().eosTokenIds;
    if (stops.empty() && tokenizer && tokenizer->eosId())
        stops.push_back(*tokenizer->eosId());
    return stops;
}

PreparedGeneration prepareGeneration(const model::MoeModel &model, const Tokenizer *tokenizer,
                                     const GenerationRequest &request)
{
    PreparedGeneration prepared;
    if (request.promptIds.empty()) {
        if (!tokenizer)
            throw Error(model.directory(), "no tokenizer.json (use --ids to give token ids)");
        const auto ids = tokenizer->encode(request.prompt, request.addSpecialTokens);
        prepared.prompts.emplace_back(ids.begin(), ids.end());
    } else {
        prepared.prompts = request.promptIds;
    }
    const auto vocab = model.spec().vocabSize;
    for (const auto &row : prepared.prompts) {
        if (row.empty())
            throw Error("the prompt encodes to no tokens");
        for (const auto id : row)
            if (id < 0 || id >= vocab)
                throw Error("prompt token " + std::to_string(id) + " is outside the vocabulary (0-"
                            + std::to_string(vocab - 1) + ")");
    }
    if (request.maxNewTokens < 0)
        throw Error("--max-new-tokens must not be negative");
    if (request.temperature < 0 || request.topP <= 0 || request.topP > 1)
        throw Error("--temperature must be >= 0 and --top-p in (0, 1]");
    auto &o = prepared.options;
    o.maxNewTokens = request.maxNewTokens;
    o.temperature = request.temperature;
    o.topP = request.topP;
    o.seed = request.seed;
    o.stopTokens = request.stopAtEos ? defaultStopTokens(model, tokenizer) : std::vector<std::int64_t> {};
    if (!request.plan.empty()) {
        routing::validatePlan(request.plan, model.planTarget(), request.planSource);
        prepared.plan = request.plan;
    }
    return prepared;
}

model::GenerationResult runGeneration(const model::MoeModel &model, const PreparedGeneration &prepared,
                                      const JobContext &job, const model::TokenCallback &onToken,
                                      routing::RouterHook *observer)
{
    std::optional<routing::PlanHook> planHook;
    if (prepared.plan)
        planHook.emplace(*prepared.plan);
    routing::RouterHookChain chain;
    if (planHook)
        chain.add(&*planHook);
    chain.add(observer);
    return model.generate(prepared.prompts, prepared.options, chain.empty() ? nullptr : &chain, onToken, &job);
}

} // namespace moescope::experiments
