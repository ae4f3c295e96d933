#include "core/cli/command.h"

#include "core/common/error.h"
#include "core/model/tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace moescope::cli {

namespace {

void printLine(const std::string &line)
{
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
}

std::string idsAsJson(const std::vector<std::int32_t> &ids)
{
    return nlohmann::json(ids).dump();
}

std::vector<std::int32_t> parseIds(const std::string &text)
{
    nlohmann::json parsed;
    try {
        parsed = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception &) {
        throw UsageError("--decode needs a JSON array of token ids, e.g. [9707,11]");
    }
    if (!parsed.is_array())
        throw UsageError("--decode needs a JSON array of token ids, e.g. [9707,11]");
    std::vector<std::int32_t> ids;
    for (const auto &v : parsed) {
        if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > INT32_MAX)
            throw UsageError("--decode: every id must be a non-negative integer");
        ids.push_back(v.get<std::int32_t>());
    }
    return ids;
}

int encodeJsonLines(const Tokenizer &tokenizer, const std::string &path, bool special)
{
    std::ifstream file;
    std::istream *in = &std::cin;
    if (path != "-") {
        file.open(path, std::ios::binary);
        if (!file)
            throw Error(path, "cannot open");
        in = &file;
    }
    std::string line;
    std::size_t lineNumber = 0;
    while (std::getline(*in, line)) {
        ++lineNumber;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        nlohmann::json value;
        try {
            value = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception &) {
            throw Error(path, "line " + std::to_string(lineNumber) + ": not valid JSON");
        }
        if (!value.is_string())
            throw Error(path, "line " + std::to_string(lineNumber) + ": expected a JSON string");
        printLine(idsAsJson(tokenizer.encode(value.get<std::string>(), special)));
    }
    if (in->bad())
        throw Error(path, "read error");
    return 0;
}

int runTokenize(const std::vector<std::string> &args)
{
    ArgParser parser("tokenize", "[--model DIR|tokenizer.json] (--text T | --jsonl FILE | --decode IDS)",
                     "Token ids of a text with the model's tokenizer.json, printed as a JSON array.\n"
                     "Special tokens (e.g. BOS) are added only with --special. --jsonl reads one\n"
                     "JSON string per line (FILE may be - for stdin) and prints one array per line.\n"
                     "--decode turns a JSON array of ids back into text (printed as a JSON string).");
    parser.option("model", "PATH", "model folder or tokenizer.json file (default: the bundled demo model)")
        .option("text", "T", "text to tokenize")
        .option("jsonl", "FILE", "file with one JSON string per line")
        .option("decode", "IDS", "JSON array of token ids to decode")
        .flag("special", "add special tokens (the post-processor, e.g. BOS) when encoding")
        .flag("skip-special", "leave special tokens out when decoding");
    if (!parseCommon(parser, args))
        return 0;
    const int modes = int(parser.has("text")) + int(parser.has("jsonl")) + int(parser.has("decode"));
    if (modes != 1)
        throw UsageError("give exactly one of --text, --jsonl or --decode");

    const Tokenizer tokenizer = Tokenizer::load(modelOrBundled(parser, "tokenize"));
    if (parser.has("decode")) {
        const std::string text
            = tokenizer.decode(parseIds(parser.get("decode")), parser.flagSet("skip-special"));
        printLine(nlohmann::json(text).dump(-1, ' ', false,
                                            nlohmann::json::error_handler_t::replace));
        return 0;
    }
    if (parser.has("jsonl"))
        return encodeJsonLines(tokenizer, parser.get("jsonl"), parser.flagSet("special"));
    printLine(idsAsJson(tokenizer.encode(parser.get("text"), parser.flagSet("special"))));
    return 0;
}

} // namespace

std::vector<Command> tokenizerCommands()
{
    return {{"tokenize", "token ids of a text (or texts in JSONL) with a model's tokenizer",
             runTokenize}};
}

} // namespace moescope::cli
