// `moescope corpus`: look at what a corpus spec loads before recording it —
// languages, document counts, a shard, the prompts a template produces.
#include "core/cli/command.h"
#include "core/common/error.h"
#include "core/common/logging.h"
#include "core/corpus/corpus_shard.h"
#include "core/corpus/corpus_spec.h"
#include "core/corpus/language_codes.h"
#include "core/corpus/prompt_template.h"
#include "core/corpus/udhr_corpus.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>

namespace moescope::cli {

namespace {

void printList()
{
    std::printf("Corpus formats (SPEC):\n");
    for (const auto &[name, description] : corpusFormats())
        std::printf("  %-9s %s\n", name.c_str(), description.c_str());
    std::printf("\nBundled UDHR languages (udhr:LANGS):\n");
    for (const auto &label : bundledUdhrLanguages())
        std::printf("  %-8s %s\n", label.c_str(), languageEnglishName(label).c_str());
    std::printf("\nPrompt templates (--template):\n");
    for (const auto &t : builtinPromptTemplates())
        std::printf("  %-16s %s%s\n", t.name.c_str(), t.description.c_str(),
                    t.useChatTemplate ? " [chat]" : "");
}

nlohmann::json documentJson(const Document &d)
{
    nlohmann::json j = {{"language", d.language}, {"id", d.id}, {"text", d.text}};
    if (!d.question.empty())
        j["question"] = d.question;
    if (!d.answers.empty())
        j["answers"] = d.answers;
    if (!d.passage.empty())
        j["passage"] = d.passage;
    if (!d.choices.empty())
        j["choices"] = d.choices;
    if (d.correctChoice)
        j["correct_choice"] = *d.correctChoice;
    if (!d.level.empty())
        j["level"] = d.level;
    if (d.article)
        j["article"] = *d.article;
    if (!d.fields.empty())
        j["fields"] = d.fields;
    return j;
}

int runCorpus(const std::vector<std::string> &argv)
{
    ArgParser args("corpus", "SPEC [options] | --list",
                   "Loads a corpus spec and summarises it, or prints its documents as JSON\n"
                   "Lines (--print). SPEC examples: udhr:en,zh,de  udhr:all?articles=1-24\n"
                   "flores:DIR?langs=eng_Latn,zho_Hans  text:FILE?lang=en  (docs/corpora.md)");
    args.positional("SPEC", "corpus spec", 0, 1)
        .flag("list", "list formats, bundled UDHR languages and prompt templates")
        .flag("print", "print the documents as JSON Lines instead of a summary")
        .option("shard", "I/N", "only shard I of N (1-based), as record --shard splits it")
        .option("template", "NAME|FILE", "with --print: add the rendered prompt to each line")
        .option("target", "LANG", "target language for templates that use one (translate)");
    if (!parseCommon(args, argv))
        return 0;

    if (args.flagSet("list")) {
        printList();
        return 0;
    }
    if (args.positionals().empty())
        throw UsageError("missing SPEC (or --list)");
    if (args.has("template") && !args.flagSet("print"))
        throw UsageError("--template needs --print");

    Corpus corpus = loadCorpus(args.positionals().front());
    if (args.has("shard")) {
        try {
            corpus = shardCorpus(corpus, parseShard(args.get("shard")));
        } catch (const Error &e) {
            throw UsageError(e.what());
        }
    }
    std::optional<PromptTemplate> prompt;
    if (args.has("template"))
        prompt = promptTemplate(args.get("template"));
    const std::string target = args.has("target") ? normaliseLanguage(args.get("target")) : "";

    if (args.flagSet("print")) {
        for (const auto &lc : corpus.languages)
            for (const auto &d : lc.documents) {
                auto j = documentJson(d);
                if (prompt) {
                    j["template"] = prompt->name;
                    j["chat"] = prompt->useChatTemplate;
                    j["prompt"] = prompt->render(d, target);
                }
                std::printf("%s\n", j.dump(-1, ' ', false,
                                           nlohmann::json::error_handler_t::replace)
                                        .c_str());
            }
        return 0;
    }

    std::printf("%s\n", corpus.spec.c_str());
    std::printf("%-10s %9s %11s  %s\n", "language", "documents", "characters", "source");
    std::size_t characters = 0;
    for (const auto &lc : corpus.languages) {
        std::size_t chars = 0;
        for (const auto &d : lc.documents)
            for (unsigned char c : d.text)
                chars += (c & 0xC0) != 0x80; // count code points, not bytes
        characters += chars;
        std::printf("%-10s %9zu %11zu  %s%s\n", lc.language.c_str(), lc.documents.size(), chars,
                    lc.source.c_str(),
                    lc.skippedEmpty
                        ? (" (" + std::to_string(lc.skippedEmpty) + " empty skipped)").c_str()
                        : "");
    }
    std::printf("%zu languages, %zu documents, %zu characters\n", corpus.languages.size(),
                corpus.documentCount(), characters);
    return 0;
}

} // namespace

std::vector<Command> corpusCommands()
{
    return {{"corpus", "list or inspect multilingual corpora (specs for record --corpus)",
             runCorpus}};
}

} // namespace moescope::cli
