#include "core/corpus/corpus_spec.h"

#include "core/corpus/corpus_readers.h"
#include "core/corpus/language_codes.h"
#include "core/corpus/udhr_corpus.h"

#include "core/common/error.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

namespace moescope {
namespace {

struct FormatInfo
{
    const char *name;
    const char *description;
    bool needsPath;
    std::vector<std::string> options; // besides langs/lang and limit
};

const std::vector<FormatInfo> &formats()
{
    static const std::vector<FormatInfo> list = {
        {"udhr", "bundled UDHR sample: udhr:LANGS | udhr:all [?articles=RANGES&unit=articles|paragraphs]",
         false, {"articles", "unit"}},
        {"text", "plain text: text:FILE?lang=L or text:DIR (<lang>.txt) [&split=lines|paragraphs]",
         true, {"split"}},
        {"jsonl", "JSON Lines: jsonl:FILE?lang=L or ?lang_field=K, or jsonl:DIR (<lang>.jsonl) "
                  "[&field=text&id_field=K]",
         true, {"field", "lang_field", "id_field"}},
        {"flores", "FLORES-200 / FLORES+: flores:DIR[?split=devtest|dev&langs=eng_Latn,...]", true,
         {"split"}},
        {"mgsm", "MGSM: mgsm:DIR (mgsm_<lang>.tsv) [?langs=...]", true, {}},
        {"polymath", "PolyMath JSON Lines: polymath:DIR[?level=low|medium|high|top|all&langs=...]",
         true, {"level"}},
        {"xquad", "XQuAD: xquad:DIR (xquad.<lang>.json) [?langs=...]", true, {}},
        {"belebele", "Belebele: belebele:DIR (<flores_code>.jsonl) [?langs=...]", true, {}},
    };
    return list;
}

const FormatInfo *findFormat(const std::string &name)
{
    for (const auto &f : formats())
        if (name == f.name)
            return &f;
    return nullptr;
}

std::vector<std::string> split(const std::string &text, char sep)
{
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find(sep, start);
        parts.push_back(text.substr(start, end == std::string::npos ? end : end - start));
        if (end == std::string::npos)
            return parts;
        start = end + 1;
    }
}

std::string trim(const std::string &s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos)
        return {};
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

bool parseInt(const std::string &text, long long &value)
{
    if (text.empty())
        return false;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return ec == std::errc() && ptr == end;
}

// "1-24,28,30" -> inclusive ranges of UDHR article numbers (0 = preamble).
std::vector<std::pair<int, int>> parseArticleRanges(const std::string &spec, const std::string &text)
{
    std::vector<std::pair<int, int>> ranges;
    for (const auto &part : split(text, ',')) {
        const std::string item = trim(part);
        const auto dash = item.find('-');
        long long a = 0, b = 0;
        const bool ok = dash == std::string::npos
            ? parseInt(item, a) && (b = a, true)
            : parseInt(item.substr(0, dash), a) && parseInt(item.substr(dash + 1), b);
        if (!ok || a > b || a < 0 || b > 30)
            throw Error(spec, "articles: '" + item + "' is not an article number or range "
                              "within 0-30 (0 = preamble)");
        ranges.emplace_back(static_cast<int>(a), static_cast<int>(b));
    }
    return ranges;
}

std::vector<std::string> parseLanguageList(const std::string &spec, const std::string &text)
{
    std::vector<std::string> labels;
    for (const auto &part : split(text, ',')) {
        const std::string code = trim(part);
        if (code.empty())
            throw Error(spec, "empty entry in language list '" + text + "'");
        std::string label;
        try {
            label = normaliseLanguage(code);
        } catch (const Error &e) {
            throw Error(spec, e.reason());
        }
        if (std::find(labels.begin(), labels.end(), label) != labels.end())
            throw Error(spec, "language '" + label + "' is listed twice");
        labels.push_back(label);
    }
    return labels;
}

std::string joined(const std::vector<std::string> &items, const char *sep)
{
    std::string out;
    for (const auto &s : items)
        out += (out.empty() ? "" : sep) + s;
    return out;
}

// Puts the languages in the spec's order (or sorted) and drops the others;
// used where a reader returns more languages than were asked for.
std::vector<LanguageCorpus> selectLanguages(std::vector<LanguageCorpus> found,
                                            const std::vector<std::string> &requested,
                                            const std::string &source)
{
    std::sort(found.begin(), found.end(),
              [](const auto &a, const auto &b) { return a.language < b.language; });
    if (requested.empty())
        return found;
    std::vector<LanguageCorpus> out;
    for (const auto &label : requested) {
        auto it = std::find_if(found.begin(), found.end(),
                               [&](const auto &l) { return l.language == label; });
        if (it == found.end()) {
            std::vector<std::string> labels;
            for (const auto &l : found)
                labels.push_back(l.language);
            throw Error(source, "no records for language '" + label + "' (found: "
                                    + joined(labels, ",") + ")");
        }
        out.push_back(std::move(*it));
    }
    return out;
}

bool isDirectory(const std::string &path)
{
    std::error_code ec;
    return std::filesystem::is_directory(path, ec);
}

std::string singleLanguage(const CorpusSpec &spec, const char *what)
{
    if (spec.languages.size() != 1)
        throw Error(spec.toString(), std::string(what) + " needs lang=CODE (one language per file)");
    return spec.languages.front();
}

} // namespace

std::string CorpusSpec::option(const std::string &key, const std::string &fallback) const
{
    auto it = options.find(key);
    return it == options.end() ? fallback : it->second;
}

std::string CorpusSpec::toString() const
{
    std::string out = format + ":";
    std::vector<std::string> query;
    if (format == "udhr") {
        out += languages.empty() ? std::string("all") : joined(languages, ",");
    } else {
        out += location;
        if (!languages.empty())
            query.push_back("langs=" + joined(languages, ","));
    }
    for (const auto &[key, value] : options) // std::map: sorted, so canonical
        query.push_back(key + "=" + value);
    if (!query.empty()) {
        out += '?';
        out += joined(query, "&");
    }
    return out;
}

CorpusSpec parseCorpusSpec(const std::string &input)
{
    const std::string text = trim(input);
    if (text.empty())
        throw Error("corpus spec", "empty (expected e.g. udhr:en,zh or flores:DIR)");

    const auto colon = text.find(':');
    CorpusSpec spec;
    spec.format = text.substr(0, colon);
    std::transform(spec.format.begin(), spec.format.end(), spec.format.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const FormatInfo *format = findFormat(spec.format);
    if (!format) {
        std::vector<std::string> names;
        for (const auto &f : formats())
            names.emplace_back(f.name);
        throw Error(text, "unknown corpus format '" + spec.format + "' (known: "
                              + joined(names, ", ") + ")");
    }

    const std::string rest = colon == std::string::npos ? std::string() : text.substr(colon + 1);
    const auto question = rest.find('?');
    spec.location = trim(rest.substr(0, question));
    const std::string query = question == std::string::npos ? std::string() : rest.substr(question + 1);

    std::string languageList;
    bool languagesGiven = false;
    if (!query.empty()) {
        for (const auto &pair : split(query, '&')) {
            const auto eq = pair.find('=');
            const std::string key = trim(pair.substr(0, eq));
            const std::string value = eq == std::string::npos ? std::string() : trim(pair.substr(eq + 1));
            if (key.empty() || eq == std::string::npos || value.empty())
                throw Error(text, "option '" + pair + "' is not key=value");
            const bool isLanguageKey = (key == "langs" || key == "lang") && spec.format != "udhr";
            const bool known = isLanguageKey || key == "limit"
                || std::find(format->options.begin(), format->options.end(), key)
                    != format->options.end();
            if (!known) {
                std::vector<std::string> keys = format->options;
                if (spec.format != "udhr")
                    keys.insert(keys.begin(), "langs");
                keys.push_back("limit");
                throw Error(text, "unknown option '" + key + "' for " + spec.format + " (known: "
                                      + joined(keys, ", ") + ")");
            }
            if (isLanguageKey) {
                if (languagesGiven)
                    throw Error(text, "languages given twice (lang/langs)");
                languagesGiven = true;
                languageList = value;
                continue;
            }
            if (!spec.options.emplace(key, value).second)
                throw Error(text, "option '" + key + "' given twice");
        }
    }

    if (spec.format == "udhr") {
        if (!spec.location.empty() && spec.location != "all")
            spec.languages = parseLanguageList(text, spec.location);
        spec.location.clear();
    } else {
        if (format->needsPath && spec.location.empty())
            throw Error(text, spec.format + " needs a path: " + spec.format + ":PATH");
        if (languagesGiven)
            spec.languages = parseLanguageList(text, languageList);
    }

    // Option values, checked here so that a typo fails before any file is read.
    if (spec.options.count("limit")) {
        long long n = 0;
        if (!parseInt(spec.options["limit"], n) || n < 1)
            throw Error(text, "limit must be a positive integer, not '" + spec.options["limit"] + "'");
    }
    auto checkChoice = [&](const char *key, std::initializer_list<const char *> allowed) {
        auto it = spec.options.find(key);
        if (it == spec.options.end())
            return;
        for (const char *a : allowed)
            if (it->second == a)
                return;
        std::vector<std::string> names(allowed.begin(), allowed.end());
        throw Error(text, std::string(key) + " must be " + joined(names, " or ") + ", not '"
                              + it->second + "'");
    };
    if (spec.format == "text")
        checkChoice("split", {"lines", "paragraphs"});
    if (spec.format == "flores")
        checkChoice("split", {"devtest", "dev"});
    if (spec.format == "polymath")
        checkChoice("level", {"low", "medium", "high", "top", "all"});
    if (spec.format == "udhr") {
        checkChoice("unit", {"articles", "paragraphs"});
        if (spec.options.count("articles"))
            parseArticleRanges(text, spec.options["articles"]);
    }
    return spec;
}

Corpus loadCorpus(const std::string &spec)
{
    return loadCorpus(parseCorpusSpec(spec));
}

Corpus loadCorpus(const CorpusSpec &spec)
{
    Corpus corpus;
    corpus.spec = spec.toString();
    const std::string &path = spec.location;

    if (spec.format == "udhr") {
        const auto labels = spec.languages.empty() ? bundledUdhrLanguages() : spec.languages;
        const auto unit = spec.option("unit", "articles") == "paragraphs" ? UdhrUnit::Paragraphs
                                                                         : UdhrUnit::Articles;
        std::vector<std::pair<int, int>> ranges;
        if (spec.options.count("articles"))
            ranges = parseArticleRanges(corpus.spec, spec.option("articles"));
        for (const auto &label : labels) {
            LanguageCorpus lc;
            lc.language = label;
            lc.source = "bundled resources/corpus/udhr/" + label + ".json";
            lc.documents = udhrDocuments(bundledUdhr(label), unit, ranges);
            corpus.languages.push_back(std::move(lc));
        }
    } else if (spec.format == "text") {
        const auto split = spec.option("split", "lines") == "paragraphs" ? TextSplit::Paragraphs
                                                                         : TextSplit::Lines;
        if (isDirectory(path)) {
            corpus.languages = readPlainTextDirectory(path, spec.languages, split);
        } else {
            LanguageCorpus lc;
            lc.language = singleLanguage(spec, "a text file");
            lc.source = path;
            lc.documents = readPlainTextFile(path, lc.language, split);
            corpus.languages.push_back(std::move(lc));
        }
    } else if (spec.format == "jsonl") {
        JsonlOptions options;
        options.textField = spec.option("field", "text");
        options.idField = spec.option("id_field");
        if (isDirectory(path)) {
            corpus.languages = readJsonlDirectory(path, spec.languages, options);
        } else if (spec.options.count("lang_field")) {
            options.languageField = spec.option("lang_field");
            corpus.languages = selectLanguages(readJsonlFile(path, options), spec.languages, path);
        } else {
            options.language = singleLanguage(spec, "a JSON Lines file without lang_field");
            corpus.languages = readJsonlFile(path, options);
        }
    } else if (spec.format == "flores") {
        corpus.languages = readFlores(path, spec.option("split", "devtest"), spec.languages);
    } else if (spec.format == "mgsm") {
        corpus.languages = readMgsm(path, spec.languages);
    } else if (spec.format == "polymath") {
        corpus.languages = readPolyMath(path, spec.languages, spec.option("level", "all"));
    } else if (spec.format == "xquad") {
        corpus.languages = readXquad(path, spec.languages);
    } else if (spec.format == "belebele") {
        corpus.languages = readBelebele(path, spec.languages);
    } else {
        throw Error(corpus.spec, "unknown corpus format '" + spec.format + "'");
    }

    if (spec.options.count("limit")) {
        long long limit = 0;
        parseInt(spec.option("limit"), limit);
        for (auto &lc : corpus.languages)
            if (lc.documents.size() > static_cast<std::size_t>(limit))
                lc.documents.resize(static_cast<std::size_t>(limit));
    }
    for (const auto &lc : corpus.languages)
        if (lc.documents.empty())
            throw Error(lc.source.empty() ? corpus.spec : lc.source,
                        "no documents for language '" + lc.language + "'"
                            + (lc.skippedEmpty ? " (" + std::to_string(lc.skippedEmpty)
                                                     + " empty records skipped)"
                                               : std::string()));
    return corpus;
}

std::vector<std::pair<std::string, std::string>> corpusFormats()
{
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto &f : formats())
        out.emplace_back(f.name, f.description);
    return out;
}

} // namespace moescope
