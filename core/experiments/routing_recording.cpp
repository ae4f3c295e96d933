#include "core/experiments/routing_recording.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/corpus/corpus_spec.h"
#include "core/experiments/model_identity.h"
#include "core/jobs/job_context.h"
#include "core/model/moe_model.h"
#include "core/model/tokenizer/tokenizer.h"
#include "core/routing/plan_hook.h"
#include "core/trace/trace_writer.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>

namespace moescope::experiments {

namespace {

using nlohmann::json;

json settingsObject(const RecordingSettings &s, const model::MoeModel &model, bool wrapsChat)
{
    json j;
    j["corpus"] = s.corpusSpec;
    j["shard"] = s.shard ? json(std::to_string(s.shard->index + 1) + "/" + std::to_string(s.shard->count))
                         : json(nullptr);
    j["template"] = s.prompt.tmpl.name;
    j["template_body"] = s.prompt.tmpl.body;
    j["chat"] = wrapsChat;
    j["targets"] = s.prompt.targets;
    j["max_length"] = s.prompt.maxTokens;
    j["truncate"] = s.prompt.truncate;
    j["scope"] = tokenScopeName(s.scope);
    j["max_new_tokens"] = s.scope == TokenScope::Prompt ? json(nullptr) : json(s.maxNewTokens);
    j["token_records"] = s.tokenRecords;
    j["batch_size"] = s.batchSize;
    j["max_batch_tokens"] = s.maxBatchTokens;
    j["plan"] = s.plan ? json::parse(routing::planToJson(*s.plan)) : json(nullptr);
    j["compute_dtype"] = model.computeDtypeName();
    return j;
}

bool templateWraps(const RecordingSettings &s)
{
    return s.prompt.tmpl.useChatTemplate && s.prompt.applyChat;
}

std::string templateAttribute(const RecordingSettings &s)
{
    const auto &name = s.prompt.tmpl.name;
    if (!templateWraps(s))
        return name == "raw" ? std::string() : name;
    return name == "chat" ? name : name + " (chat)";
}

// The first key whose value differs, for a readable refusal.
std::string firstDifference(const json &stored, const json &wanted)
{
    for (const auto &[key, value] : wanted.items())
        if (!stored.contains(key) || stored[key] != value)
            return key + " (recorded: " + (stored.contains(key) ? stored[key].dump() : "absent") + ", now: "
                + value.dump() + ")";
    for (const auto &[key, value] : stored.items())
        if (!wanted.contains(key))
            return key;
    return {};
}

LanguageRouting emptyBatch(const std::string &label, const ModelSummary &m, const RecordingSettings &s)
{
    LanguageRouting r;
    r.label = label;
    const auto cells = static_cast<std::size_t>(m.numLayers) * static_cast<std::size_t>(m.numExperts);
    r.counts.assign(cells, 0);
    r.gateSum.assign(cells, 0.0);
    r.tokens.assign(static_cast<std::size_t>(m.numLayers), 0);
    r.corpus = s.corpusSpec;
    r.tokenScope = tokenScopeName(s.scope);
    r.templateName = templateAttribute(s);
    return r;
}

struct LabelWork
{
    std::string label;
    std::vector<PromptItem> items;
    std::vector<std::vector<std::size_t>> batches;
    std::size_t firstBatch = 0; // batches before it are committed
    std::size_t skippedDocuments = 0;
};

} // namespace

std::string recordingSettingsJson(const RecordingSettings &settings, const model::MoeModel &model)
{
    return settingsObject(settings, model, templateWraps(settings)).dump();
}

RecordingReport recordRouting(const model::MoeModel &model, const Tokenizer &tokenizer, const Corpus &corpus,
                              const RecordingSettings &settings, const std::string &path, OutputMode mode,
                              const JobContext &job, const CommitCallback &onCommit)
{
    if (settings.batchSize == 0)
        throw Error("--batch-size must be at least 1");
    if (settings.scope != TokenScope::Prompt && settings.maxNewTokens < 1)
        throw Error("recording generated tokens needs --max-new-tokens of at least 1");
    const ModelSummary summary = summariseModel(model);
    if (settings.plan)
        routing::validatePlan(*settings.plan, model.planTarget(),
                              settings.planSource.empty() ? "plan" : settings.planSource);

    // Prompts must leave room for the continuation within the model's context.
    PromptOptions promptOptions = settings.prompt;
    const std::size_t generated = settings.scope == TokenScope::Prompt ? 0 : static_cast<std::size_t>(settings.maxNewTokens);
    promptOptions.maxTokens = promptTokenLimit(promptOptions.maxTokens, model.spec().maxPositions, generated);
    const PromptEncoder encoder(tokenizer, chatFormatOf(model.directory()), promptOptions);

    // Prompts grouped by label, labels in corpus order (languages without
    // documents in this shard included, so that every shard lists them).
    std::vector<LabelWork> work;
    auto workFor = [&](const std::string &label) -> LabelWork & {
        for (auto &w : work)
            if (w.label == label)
                return w;
        work.push_back({label, {}, {}, 0, 0});
        return work.back();
    };
    RecordingReport report;
    for (const auto &language : corpus.languages) {
        if (settings.prompt.targets.empty())
            workFor(language.language);
        for (auto &item : encoder.items(language)) {
            report.truncated += item.truncated ? 1 : 0;
            workFor(item.label).items.push_back(std::move(item));
        }
    }
    for (auto &w : work) {
        std::vector<std::size_t> lengths;
        for (const auto &item : w.items)
            lengths.push_back(item.ids.size() + generated);
        w.batches = lengthSortedBatches(lengths, settings.batchSize, settings.maxBatchTokens);
    }

    json provenance;
    provenance["source"] = "record";
    provenance["settings"] = settingsObject(settings, model, encoder.wrapsChat());
    provenance["command"] = settings.command;
    provenance["model_dir"] = model.directory();
    provenance["plan_file"] = settings.planSource;
    provenance["tool_version"] = MOESCOPE_VERSION;
    provenance["document_order"] = "per label, documents sorted by token count (ties in corpus order), "
                                   "then cut into batches";

    namespace fs = std::filesystem;
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    if (exists && mode == OutputMode::CreateNew)
        throw Error(path, "already exists; --resume continues that recording, --overwrite replaces it");
    RoutingTrace header;
    header.model = summary;
    header.provenance = provenance.dump();
    TraceWriter writer(path, header,
                       exists && mode == OutputMode::Resume ? TraceWriter::Mode::Resume : TraceWriter::Mode::Create);

    if (exists && mode == OutputMode::Resume) {
        const auto stored = json::parse(writer.totals().provenance, nullptr, false);
        if (!stored.is_object() || stored.value("source", "") != "record" || !stored.contains("settings"))
            throw Error(path, "cannot resume: the trace was not made by moescope record");
        const auto difference = firstDifference(stored["settings"], provenance["settings"]);
        if (!difference.empty())
            throw Error(path, "cannot resume with other settings than the recording's: " + difference);
    }

    // Skip what is committed. Commits end on batch boundaries; anything else
    // means the file does not come from these settings.
    const auto moeLayers = summary.moeLayers;
    for (auto &w : work) {
        const auto committed = static_cast<std::size_t>(writer.committedDocuments(w.label));
        std::size_t docs = 0, tokens = 0;
        while (w.firstBatch < w.batches.size() && docs + w.batches[w.firstBatch].size() <= committed) {
            for (const auto index : w.batches[w.firstBatch])
                tokens += w.items[index].ids.size();
            docs += w.batches[w.firstBatch++].size();
        }
        if (docs != committed)
            throw Error(path, "cannot resume: label '" + w.label + "' has " + std::to_string(committed)
                                  + " committed documents, which is not a batch boundary of this corpus");
        w.skippedDocuments = committed;
        report.documentsSkipped += committed;
        // Raw data is written before the documents attribute, so a kill during
        // a commit can leave counts of a batch its documents do not include.
        // Prompt-scope token totals are known in advance and reveal that.
        const auto *stored = writer.totals().find(w.label);
        if (settings.scope == TokenScope::Prompt && stored && !moeLayers.empty()
            && stored->tokens[static_cast<std::size_t>(moeLayers.front())] != tokens)
            throw Error(path, "cannot resume: the last commit of '" + w.label
                                  + "' was interrupted while it was written (the trace routes "
                                  + std::to_string(stored->tokens[static_cast<std::size_t>(moeLayers.front())])
                                  + " tokens, its " + std::to_string(committed) + " documents hold "
                                  + std::to_string(tokens) + "); record it again");
    }

    // Every label exists from the start, in corpus order.
    bool added = false;
    for (const auto &w : work)
        if (!writer.totals().find(w.label)) {
            writer.add(emptyBatch(w.label, summary, settings));
            added = true;
        }
    if (added)
        writer.commit();

    std::unique_ptr<routing::PlanHook> planHook;
    if (settings.plan && !settings.plan->empty())
        planHook = std::make_unique<routing::PlanHook>(*settings.plan);
    ScopedRoutingCapture capture(summary.numLayers, summary.numExperts, summary.topK, settings.tokenRecords);
    routing::RouterHookChain chain;
    chain.add(planHook.get());
    chain.add(&capture);

    model::GenerationOptions generation;
    generation.maxNewTokens = settings.maxNewTokens;
    if (encoder.wrapsChat()) {
        auto stops = model.generationDefaults().eosTokenIds;
        for (const auto &text : encoder.chat().endOfTurn)
            if (const auto id = tokenizer.tokenId(text))
                stops.push_back(*id);
        generation.stopTokens = stops;
    }

    // Progress counts prompt tokens plus the generation budget per document.
    std::size_t totalWork = 0, doneWork = 0;
    for (const auto &w : work)
        for (auto b = w.firstBatch; b < w.batches.size(); ++b)
            for (const auto index : w.batches[b])
                totalWork += w.items[index].ids.size() + generated;
    JobContext quiet = job; // shares cancellation; the engine's own reports are not ours
    quiet.setProgressCallback({});
    job.report(0, totalWork, "tokens", "recording");

    for (auto &w : work) {
        std::size_t committed = w.skippedDocuments;
        for (auto b = w.firstBatch; b < w.batches.size(); ++b) {
            job.checkCancelled();
            std::vector<std::vector<std::int64_t>> rows;
            std::vector<std::size_t> promptLengths;
            for (const auto index : w.batches[b]) {
                rows.push_back(w.items[index].ids);
                promptLengths.push_back(w.items[index].ids.size());
            }
            if (settings.scope != TokenScope::Prompt) {
                const auto result = model.generate(rows, generation, planHook.get(), {}, &quiet);
                for (std::size_t r = 0; r < rows.size(); ++r)
                    rows[r].insert(rows[r].end(), result.tokens[r].begin(), result.tokens[r].end());
            }
            capture.beginBatch(rows, promptLengths, settings.scope);
            model.route(rows, chain, &quiet);

            auto totals = capture.totals();
            LanguageRouting batch = emptyBatch(w.label, summary, settings);
            batch.counts = std::move(totals.counts);
            batch.gateSum = std::move(totals.gateSum);
            batch.tokens = std::move(totals.tokens);
            batch.documents = w.batches[b].size();
            if (settings.tokenRecords)
                writer.addTokens(w.label, capture.tokenRecords());
            writer.add(batch);
            writer.commit();

            committed += w.batches[b].size();
            report.documentsRecorded += w.batches[b].size();
            report.tokensRouted += static_cast<std::size_t>(
                moeLayers.empty() ? 0 : batch.tokens[static_cast<std::size_t>(moeLayers.front())]);
            ++report.batches;
            for (const auto index : w.batches[b])
                doneWork += w.items[index].ids.size() + generated;
            job.report(doneWork, totalWork, "tokens", w.label);
            if (onCommit)
                onCommit(w.label, committed, w.items.size());
        }
    }
    writer.close();
    return report;
}

void checkRecordingRequest(const RecordingRequest &request)
{
    const auto &s = request.settings;
    if (s.scope != TokenScope::Prompt && s.maxNewTokens < 1)
        throw Error("recording generated tokens needs --max-new-tokens of at least 1");
    requireWritableFile(request.outputPath);
    std::error_code ec;
    if (request.mode == OutputMode::CreateNew && std::filesystem::exists(request.outputPath, ec))
        throw Error(request.outputPath, "already exists; --resume continues that recording, --overwrite replaces it");
    (void)parseCorpusSpec(request.corpusSpec);
}

RecordingSettings recordingSettings(const model::MoeModel &model, const RecordingRequest &request)
{
    RecordingSettings s = request.settings;
    s.corpusSpec = parseCorpusSpec(request.corpusSpec).toString();
    s.prompt.tmpl = promptTemplate(request.templateName);
    s.prompt.targets.clear();
    if (!request.target.empty())
        s.prompt.targets.push_back(request.target);
    s.prompt.maxTokens = request.maxLength;
    s.prompt.truncate = request.truncate;
    // Cutting at "as many as fit" records the limit itself, so that the
    // provenance says where prompts were cut.
    if (request.truncate && request.maxLength == 0) {
        const std::size_t generated = s.scope == TokenScope::Prompt ? 0 : static_cast<std::size_t>(s.maxNewTokens);
        s.prompt.maxTokens = promptTokenLimit(0, model.spec().maxPositions, generated);
        s.prompt.truncate = s.prompt.maxTokens > 0;
    }
    return s;
}

RecordingReport runRecording(const model::MoeModel &model, const Tokenizer &tokenizer,
                             const RecordingRequest &request, const JobContext &job, const CommitCallback &onCommit)
{
    checkRecordingRequest(request);
    const auto settings = recordingSettings(model, request);
    auto corpus = loadCorpus(settings.corpusSpec);
    if (settings.shard)
        corpus = shardCorpus(corpus, *settings.shard);
    return recordRouting(model, tokenizer, corpus, settings, request.outputPath, request.mode, job, onCommit);
}

} // namespace moescope::experiments
