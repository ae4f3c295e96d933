// info, forward, generate: thin wrappers over core/model (the GUI calls the
// same functions).
#include "core/cli/command.h"
#include "core/cli/common_options.h"

#include "core/common/error.h"
#include "core/common/logging.h"
#include "core/common/progress.h"
#include "core/experiments/text_generation.h"
#include "core/model/model_info.h"
#include "core/model/moe_model.h"
#include "core/model/safetensors.h"
#include "core/model/tokenizer/tokenizer.h"
#include "core/routing/intervention_plan.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace moescope::cli {

namespace {

using model::ComputeDtype;
using model::MoeModel;

// Loads and validates --plan against the model; empty when not given.
std::optional<routing::InterventionPlan> planOption(const ArgParser &p, const MoeModel &model)
{
    if (!p.has("plan"))
        return std::nullopt;
    const auto path = p.get("plan");
    auto plan = routing::loadPlan(path);
    routing::validatePlan(plan, model.planTarget(), path);
    return plan;
}

int info(const std::vector<std::string> &args)
{
    ArgParser p("info", "[MODEL_DIR] [--json]",
                "Describes a Hugging Face MoE model folder from config.json and the\n"
                "safetensors headers (no weights are read): family, parameters (total and\n"
                "active per token), layers, MoE layers, experts, top-k, dtype, file sizes.\n"
                "Without MODEL_DIR it describes the bundled demo model. With --verbose it\n"
                "also loads the model and prints the kernel path each matrix product takes\n"
                "on this machine and why (measured once per machine and shape, then cached).");
    p.positional("MODEL_DIR", "model folder (config.json + *.safetensors; default: the bundled demo model)", 0, 1)
        .flag("json", "print JSON instead of text");
    if (!parseCommon(p, args))
        return 0;
    const auto dir = p.positionals().empty() ? modelOrBundled(p, "info") : p.positionals().front();
    const auto info = model::inspectModel(dir);
    const auto text = p.flagSet("json") ? model::modelInfoJson(info) : model::formatModelInfo(info);
    std::fputs(text.c_str(), stdout);
    if (p.flagSet("verbose") && !p.flagSet("json")) {
        // Loading maps the weights; the paths are measured (or read from the
        // cache) as the products first run.
        const auto model = MoeModel::load(dir);
        std::fputs(model::kernels::formatPathChoices(model.kernelPaths()).c_str(), stdout);
    }
    return 0;
}

int forward(const std::vector<std::string> &args)
{
    ArgParser p("forward", "[--model DIR] --ids FILE.safetensors --out OUT.safetensors [options]",
                "Runs one full forward pass (no KV cache) on input_ids (int64 [B,T]; an\n"
                "optional attention_mask [B,T] marks left padding) and writes logits [B,T,V],\n"
                "hidden.<L> [B,T,H], final_norm [B,T,H] and, per MoE layer,\n"
                "router_logits.<L> [B*T,E] (before the plan), topk_idx.<L> [B*T,k] and\n"
                "topk_w.<L> [B*T,k]. Float outputs are float32.");
    p.option("model", "DIR", kModelOptionHelp)
        .option("ids", "FILE", "safetensors file holding input_ids (required)")
        .option("out", "FILE", "output safetensors file (required; written atomically)")
        .option("plan", "PLAN.json", "mask/steer plan applied before expert selection")
        .option("dtype", "fp32|bf16", "compute dtype (default: the checkpoint's own)");
    if (!parseCommon(p, args))
        return 0;
    const auto dir = modelOrBundled(p, "forward");
    const auto ids = required(p, "ids", "FILE");
    const auto out = required(p, "out", "FILE");
    const auto dtype = dtypeOption(p);
    const auto model = MoeModel::load(dir, {dtype, 0});
    const auto plan = planOption(p, model);
    JobContext job;
    model.forwardFile(ids, out, plan ? &*plan : nullptr, &job);
    if (verbosity() == Verbosity::Verbose)
        std::fprintf(stderr, "wrote %s\n", out.c_str());
    return 0;
}

// "--ids 1,2,3" (one prompt) or "--ids FILE.safetensors" (input_ids rows,
// left padding removed when an attention_mask is present).
std::vector<std::vector<std::int64_t>> promptIds(const std::string &value)
{
    std::vector<std::vector<std::int64_t>> prompts;
    if (std::filesystem::exists(value)) {
        const auto file = model::SafetensorsFile::open(value);
        const auto *rec = file->find("input_ids");
        if (!rec)
            throw Error(value, "no tensor 'input_ids'");
        if (rec->dtype != model::DType::I64 || rec->shape.size() != 2)
            throw Error(value, "'input_ids' must be int64 [batch, tokens]");
        const auto *ids = reinterpret_cast<const std::int64_t *>(file->data(*rec));
        const auto *maskRec = file->find("attention_mask");
        if (maskRec && (maskRec->shape != rec->shape || maskRec->dtype != model::DType::I64))
            throw Error(value, "'attention_mask' must be int64 with the shape of input_ids");
        const auto *mask = maskRec ? reinterpret_cast<const std::int64_t *>(file->data(*maskRec)) : nullptr;
        for (std::int64_t b = 0; b < rec->shape[0]; ++b) {
            std::vector<std::int64_t> row;
            for (std::int64_t t = 0; t < rec->shape[1]; ++t) {
                const auto i = b * rec->shape[1] + t;
                if (!mask || mask[i] != 0)
                    row.push_back(ids[i]);
            }
            prompts.push_back(std::move(row));
        }
        return prompts;
    }
    std::vector<std::int64_t> row;
    for (const auto &item : splitList(value)) {
        try {
            std::size_t used = 0;
            row.push_back(std::stoll(item, &used));
            if (used != item.size())
                throw std::invalid_argument(item);
        } catch (const std::exception &) {
            throw UsageError("option --ids expects a safetensors file or comma-separated token ids, got '"
                             + item + "'");
        }
    }
    if (row.empty())
        throw UsageError("option --ids holds no token ids");
    prompts.push_back(std::move(row));
    return prompts;
}

// Prints newly decoded text as tokens arrive. Decoding the whole continuation
// each time keeps multi-byte characters split across tokens intact; text that
// ends in a replacement character is held back until the next token.
class TextStreamer
{
public:
    explicit TextStreamer(const Tokenizer &tokenizer) : m_tokenizer(tokenizer) {}
    void push(std::int64_t token)
    {
        m_ids.push_back(static_cast<std::int32_t>(token));
        const auto text = m_tokenizer.decode(m_ids, /*skipSpecial=*/true);
        static const std::string replacement = "\xEF\xBF\xBD";
        if (text.size() >= replacement.size()
            && text.compare(text.size() - replacement.size(), replacement.size(), replacement) == 0)
            return;
        if (text.size() > m_printed && text.compare(0, m_printed, m_text, 0, m_printed) == 0) {
            std::fwrite(text.data() + m_printed, 1, text.size() - m_printed, stdout);
            std::fflush(stdout);
            m_printed = text.size();
        }
        m_text = text;
    }

private:
    const Tokenizer &m_tokenizer;
    std::vector<std::int32_t> m_ids;
    std::string m_text;
    std::size_t m_printed = 0;
};

int generate(const std::vector<std::string> &args)
{
    ArgParser p("generate", "[--model DIR] (--prompt TEXT | --ids IDS) [options]",
                "Continues a prompt with the KV cache, greedy unless --temperature is set,\n"
                "and streams the decoded text to stdout. Stops at the model's eos tokens\n"
                "(generation_config.json, else config.json) unless --no-stop. With --ids,\n"
                "each row of an input_ids file is a prompt (batched with left padding).");
    p.option("model", "DIR", kModelOptionHelp)
        .option("prompt", "TEXT", "prompt text (needs the folder's tokenizer.json)")
        .option("ids", "IDS", "prompt token ids: 1,2,3 or a safetensors file with input_ids")
        .option("max-new-tokens", "N", "tokens to generate per prompt", "32")
        .option("plan", "PLAN.json", "mask/steer plan applied before expert selection")
        .option("temperature", "T", "sampling temperature; 0 = greedy", "0")
        .option("top-p", "P", "nucleus sampling mass (with --temperature)", "1")
        .option("seed", "S", "random seed for sampling", "0")
        .option("dtype", "fp32|bf16", "compute dtype (default: the checkpoint's own)")
        .flag("no-special", "do not add the tokenizer's special tokens (e.g. BOS) to --prompt")
        .flag("no-stop", "ignore eos tokens; always generate --max-new-tokens")
        .flag("print-ids", "print the generated token ids, one line per prompt");
    if (!parseCommon(p, args))
        return 0;
    const auto dir = modelOrBundled(p, "generate");
    if (p.has("prompt") == p.has("ids"))
        throw UsageError("give exactly one of --prompt and --ids");
    experiments::GenerationRequest request;
    request.maxNewTokens = p.getInt("max-new-tokens");
    request.temperature = p.getDouble("temperature");
    request.topP = p.getDouble("top-p");
    request.seed = static_cast<std::uint64_t>(p.getInt("seed"));
    request.stopAtEos = !p.flagSet("no-stop");
    request.addSpecialTokens = !p.flagSet("no-special");
    if (p.has("prompt"))
        request.prompt = p.get("prompt");
    else
        request.promptIds = promptIds(p.get("ids"));
    if (p.has("plan")) {
        request.planSource = p.get("plan");
        request.plan = routing::loadPlan(request.planSource);
    }

    const auto dtype = dtypeOption(p);
    std::optional<Tokenizer> tokenizer;
    if (std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json"))
        tokenizer = Tokenizer::load(dir);
    const auto model = MoeModel::load(dir, {dtype, 0});
    const auto prepared = experiments::prepareGeneration(model, tokenizer ? &*tokenizer : nullptr, request);
    const auto &prompts = prepared.prompts;

    // Stream text only for a single prompt; batches print per row at the end.
    std::optional<TextStreamer> streamer;
    const bool stream = tokenizer && prompts.size() == 1 && !p.flagSet("print-ids");
    if (stream)
        streamer.emplace(*tokenizer);
    JobContext job;
    const auto result = experiments::runGeneration(model, prepared, job, [&](std::size_t, std::int64_t token) {
        if (streamer)
            streamer->push(token);
    });
    if (stream) {
        std::fputc('\n', stdout);
        return 0;
    }
    for (const auto &row : result.tokens) {
        if (p.flagSet("print-ids") || !tokenizer) {
            std::string line;
            for (std::size_t i = 0; i < row.size(); ++i) {
                if (i)
                    line += ' ';
                line += std::to_string(row[i]);
            }
            std::printf("%s\n", line.c_str());
        } else {
            const std::vector<std::int32_t> ids(row.begin(), row.end());
            std::printf("%s\n", tokenizer->decode(ids, true).c_str());
        }
    }
    return 0;
}

} // namespace

std::vector<Command> modelCommands()
{
    return {
        {"info", "describe a model folder (family, sizes, experts, dtype)", info},
        {"forward", "run one forward pass; write logits, hidden states and routing", forward},
        {"generate", "continue a prompt (KV cache, greedy or sampled, plans)", generate},
    };
}

} // namespace moescope::cli
