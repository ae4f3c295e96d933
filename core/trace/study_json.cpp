#include "core/trace/study_json.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/trace/trace_store.h"
#include "core/trace/trace_validation.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

namespace moescope {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// "12" -> 12; rejects signs, leading zeros and anything but digits, so that
// each layer or expert has exactly one spelling.
std::optional<int> parseIndex(const std::string &key)
{
    if (key.empty() || key.size() > 9 || (key.size() > 1 && key[0] == '0'))
        return std::nullopt;
    int v = 0;
    for (char c : key) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

std::string describe(const json &v)
{
    std::string text = v.dump();
    if (text.size() > 40)
        text = text.substr(0, 37) + "...";
    return text;
}

std::uint64_t countValue(const json &v, const std::string &file, const std::string &where)
{
    if (v.is_number_unsigned())
        return v.get<std::uint64_t>();
    if (v.is_number_integer()) {
        // Unsigned parsing failed, so the value is negative.
        throw Error(file, where + " is negative (" + describe(v) + ")");
    }
    if (v.is_number_float())
        throw Error(file, where + " must be an integer, got " + describe(v));
    throw Error(file, where + " must be a number, got " + describe(v));
}

// Keys 0..n-1 and nothing else (plus the allowed extra keys).
std::vector<const json *> indexedChildren(const json &object, const std::set<std::string> &extra,
                                          const std::string &file, const std::string &where,
                                          const std::string &kind)
{
    std::map<int, const json *> byIndex;
    for (const auto &[key, value] : object.items()) {
        if (extra.count(key))
            continue;
        const auto index = parseIndex(key);
        if (!index)
            throw Error(file, where + "unexpected key '" + key + "' (" + kind
                                  + " numbers 0, 1, ... expected)");
        byIndex[*index] = &value;
    }
    std::vector<const json *> out;
    for (const auto &[index, value] : byIndex) {
        if (index != static_cast<int>(out.size()))
            throw Error(file, where + kind + " " + std::to_string(out.size())
                                  + " is missing (" + kind + " keys must be 0.."
                                  + std::to_string(byIndex.size() - 1) + " without gaps)");
        out.push_back(value);
    }
    return out;
}

struct ParsedFile
{
    int numLayers = 0, numExperts = 0;
    std::vector<std::uint64_t> counts;
    std::vector<double> gateSum;
    std::vector<std::uint64_t> tokens;
};

ParsedFile parseStudyFile(const StudyJsonDocument &doc)
{
    const std::string &file = doc.name;
    json root;
    try {
        root = json::parse(doc.text);
    } catch (const json::parse_error &e) {
        // nlohmann's text is "[json.exception.parse_error.101] parse error at
        // line 3, column 5: ..."; keep what follows the bracket.
        std::string what = e.what();
        if (auto pos = what.find("] "); pos != std::string::npos)
            what = what.substr(pos + 2);
        throw Error(file, "invalid JSON: " + what);
    }
    if (!root.is_object())
        throw Error(file, "expected a JSON object of layers {\"0\": {...}, ...}");
    if (root.empty())
        throw Error(file, "no layers");
    const auto layers = indexedChildren(root, {}, file, "", "layer");
    ParsedFile out;
    out.numLayers = static_cast<int>(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
        const std::string where = "layer " + std::to_string(l) + ": ";
        const json &layer = *layers[l];
        if (!layer.is_object())
            throw Error(file, where + "expected an object of experts");
        if (!layer.contains("total_tokens"))
            throw Error(file, where + "total_tokens is missing");
        const auto experts = indexedChildren(layer, {"total_tokens"}, file, where, "expert");
        if (experts.empty())
            throw Error(file, where + "no experts");
        if (l == 0)
            out.numExperts = static_cast<int>(experts.size());
        else if (static_cast<int>(experts.size()) != out.numExperts)
            throw Error(file, where + "has " + std::to_string(experts.size())
                                  + " experts but layer 0 has " + std::to_string(out.numExperts));
        out.tokens.push_back(countValue(layer["total_tokens"], file, where + "total_tokens"));
        for (std::size_t e = 0; e < experts.size(); ++e) {
            const std::string cell = where + "expert " + std::to_string(e) + ": ";
            const json &expert = *experts[e];
            if (!expert.is_object())
                throw Error(file, cell + "expected {\"activation_tokens\": ..., "
                                         "\"gate_values_sum\": ...}");
            for (const auto &[key, value] : expert.items())
                if (key != "activation_tokens" && key != "gate_values_sum")
                    throw Error(file, cell + "unknown key '" + key + "'");
            if (!expert.contains("activation_tokens"))
                throw Error(file, cell + "activation_tokens is missing");
            if (!expert.contains("gate_values_sum"))
                throw Error(file, cell + "gate_values_sum is missing");
            out.counts.push_back(
                countValue(expert["activation_tokens"], file, cell + "activation_tokens"));
            const json &gate = expert["gate_values_sum"];
            if (!gate.is_number())
                throw Error(file, cell + "gate_values_sum must be a number, got " + describe(gate));
            const double g = gate.get<double>();
            if (g < 0)
                throw Error(file, cell + "gate_values_sum is negative (" + describe(gate) + ")");
            out.gateSum.push_back(g);
        }
    }
    return out;
}

std::string stemOf(const std::string &name)
{
    return fs::path(name).stem().string();
}

} // namespace

RoutingTrace importStudyJsonDocuments(const std::vector<StudyJsonDocument> &documents,
                                      const StudyJsonOptions &options)
{
    if (documents.empty())
        throw Error("no study JSON files given");
    if (!options.labels.empty() && options.labels.size() != documents.size())
        throw Error(std::to_string(options.labels.size()) + " labels given for "
                    + std::to_string(documents.size()) + " study JSON files");

    std::vector<ParsedFile> parsed;
    for (const auto &doc : documents) {
        parsed.push_back(parseStudyFile(doc));
        const ParsedFile &first = parsed.front(), &p = parsed.back();
        if (p.numLayers != first.numLayers || p.numExperts != first.numExperts)
            throw Error(doc.name, "mixed model shapes: " + std::to_string(p.numLayers)
                                      + " layers x " + std::to_string(p.numExperts)
                                      + " experts, but " + documents.front().name + " has "
                                      + std::to_string(first.numLayers) + " x "
                                      + std::to_string(first.numExperts));
    }

    RoutingTrace trace;
    ModelSummary &m = trace.model;
    m.modelId = options.modelId;
    m.modelType = options.modelType;
    m.numLayers = parsed.front().numLayers;
    m.numExperts = parsed.front().numExperts;
    const std::size_t E = static_cast<std::size_t>(m.numExperts);

    // The study format has no notion of dense layers: a layer counts as MoE
    // when any file routed tokens through it. top_k: tokens choose top_k
    // experts each, so counts per token average top_k (the study's bf16
    // counting makes it 7.998..8.002 for Qwen3's 8); round the mean.
    double ratioSum = 0;
    int ratioLayers = 0;
    for (int l = 0; l < m.numLayers; ++l) {
        bool routed = false;
        for (const auto &p : parsed) {
            const std::uint64_t t = p.tokens[static_cast<std::size_t>(l)];
            if (t == 0)
                continue;
            routed = true;
            double selected = 0;
            for (std::size_t e = 0; e < E; ++e)
                selected += static_cast<double>(p.counts[static_cast<std::size_t>(l) * E + e]);
            ratioSum += selected / static_cast<double>(t);
            ++ratioLayers;
        }
        if (routed)
            m.moeLayers.push_back(l);
    }
    if (ratioLayers == 0)
        throw Error(documents.front().name,
                    "every layer's total_tokens is 0 in every file; nothing was routed");
    if (options.topK > 0) {
        m.topK = options.topK;
    } else {
        m.topK = static_cast<int>(std::lround(ratioSum / ratioLayers));
        if (m.topK < 1 || m.topK > m.numExperts)
            throw Error(documents.front().name,
                        "cannot infer top_k from the counts (mean selections per token "
                            + std::to_string(ratioSum / ratioLayers) + ")");
    }
    validateModel(m, documents.front().name);

    std::map<std::string, std::string> labelSource;
    json provenanceFiles = json::array();
    for (std::size_t i = 0; i < documents.size(); ++i) {
        const std::string &name = documents[i].name;
        const std::string stem = stemOf(name);
        const auto underscore = stem.rfind('_');
        LanguageRouting lang;
        lang.label = options.labels.empty()
            ? (underscore == std::string::npos ? stem : stem.substr(underscore + 1))
            : options.labels[i];
        lang.corpus = !options.corpus.empty() ? options.corpus
            : underscore == std::string::npos ? std::string()
                                              : stem.substr(0, underscore);
        lang.tokenScope = options.tokenScope;
        lang.templateName = options.templateName;
        lang.documents = 0; // the study files do not record it
        lang.counts = std::move(parsed[i].counts);
        lang.gateSum = std::move(parsed[i].gateSum);
        lang.tokens = std::move(parsed[i].tokens);
        validateLabel(lang.label, name);
        if (auto [it, inserted] = labelSource.emplace(lang.label, name); !inserted)
            throw Error(name, "duplicate label '" + lang.label + "' (also from " + it->second
                                  + "); pass labels explicitly");
        // Validate per file so that the error names the file at fault.
        RoutingTrace single;
        single.model = m;
        single.languages.push_back(lang);
        validateTrace(single, name);
        trace.languages.push_back(std::move(lang));
        provenanceFiles.push_back(fs::path(name).filename().string());
    }
    trace.created = isoTimestampNow();
    trace.toolVersion = MOESCOPE_VERSION;
    trace.provenance = json{{"source", "study-json"},
                            {"format", "arXiv 2601.14050 routing JSON"},
                            {"files", provenanceFiles},
                            {"imported", trace.created}}
                           .dump();
    return trace;
}

RoutingTrace importStudyJson(const std::vector<std::string> &paths,
                             const StudyJsonOptions &options)
{
    if (paths.empty())
        throw Error("no study JSON files given");
    std::vector<StudyJsonDocument> documents;
    for (const auto &path : paths) {
        std::error_code ec;
        if (fs::is_directory(path, ec)) {
            std::vector<std::string> files;
            for (const auto &entry : fs::directory_iterator(path, ec))
                if (entry.is_regular_file() && entry.path().extension() == ".json")
                    files.push_back(entry.path().string());
            if (ec)
                throw Error(path, "cannot list folder: " + ec.message());
            if (files.empty())
                throw Error(path, "no .json files in this folder");
            std::sort(files.begin(), files.end());
            for (const auto &f : files)
                documents.push_back({f, readFile(f)});
        } else {
            if (!fs::exists(path, ec))
                throw Error(path, "no such file or folder");
            documents.push_back({path, readFile(path)});
        }
    }
    return importStudyJsonDocuments(documents, options);
}

std::string studyJsonText(const RoutingTrace &trace, const LanguageRouting &lang)
{
    const std::size_t E = static_cast<std::size_t>(trace.model.numExperts);
    // ordered_json keeps "0".."N-1" then "total_tokens", the study's order.
    nlohmann::ordered_json root = nlohmann::ordered_json::object();
    for (int l = 0; l < trace.model.numLayers; ++l) {
        nlohmann::ordered_json layer = nlohmann::ordered_json::object();
        const std::size_t row = static_cast<std::size_t>(l) * E;
        for (std::size_t e = 0; e < E; ++e)
            layer[std::to_string(e)] = {{"activation_tokens", lang.counts[row + e]},
                                        {"gate_values_sum", lang.gateSum[row + e]}};
        layer["total_tokens"] = lang.tokens[static_cast<std::size_t>(l)];
        root[std::to_string(l)] = std::move(layer);
    }
    // indent 4 and shortest round-trip doubles: what Python's json.dump wrote.
    return root.dump(4);
}

void exportStudyJson(const RoutingTrace &trace, const std::string &dir, const std::string &prefix)
{
    validateTrace(trace, dir);
    if (prefix.find('/') != std::string::npos)
        throw Error(dir, "file name prefix '" + prefix + "' contains '/'");
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
        throw Error(dir, "cannot create folder: " + (ec ? ec.message() : "not a folder"));
    // All files go to temporaries first and are renamed only when every one
    // was written, so a failure leaves no partial export.
    std::vector<std::unique_ptr<AtomicFile>> files;
    for (const auto &lang : trace.languages) {
        const std::string path = (fs::path(dir) / (prefix + lang.label + ".json")).string();
        files.push_back(std::make_unique<AtomicFile>(path));
        writeFileAtomically(files.back()->tempPath(), studyJsonText(trace, lang));
    }
    for (auto &f : files)
        f->commit();
}

} // namespace moescope
