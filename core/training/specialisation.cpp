#include "core/training/specialisation.h"

#include "core/analysis/routing_analysis.h"
#include "core/common/error.h"
#include "core/eval/perplexity.h"
#include "core/experiments/plan_building.h"
#include "core/jobs/job_context.h"
#include "core/model/moe_model.h"
#include "core/model/tokenizer/tokenizer.h"
#include "core/routing/plan_hook.h"
#include "core/routing/routing_recorder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace moescope::training {

namespace {

// The start of a text, at most `bytes` long, not cutting a UTF-8 sequence.
std::string prefixAtCharacter(const std::string &text, std::size_t bytes)
{
    if (text.size() <= bytes)
        return text;
    while (bytes > 0 && (static_cast<unsigned char>(text[bytes]) & 0xC0) == 0x80)
        --bytes;
    return text.substr(0, bytes);
}

struct LanguageWindows
{
    std::string language;
    std::vector<std::vector<std::int64_t>> windows;
};

struct Pass
{
    std::vector<double> bitsPerByte;   // per language
    std::vector<std::size_t> bytes;    // per language
    std::vector<LanguageRouting> perLanguage;
};

// Bits per byte of every language (and its routing) under `plan`.
Pass runPass(const model::MoeModel &model, const std::vector<LanguageWindows> &texts,
             const routing::InterventionPlan *plan, const JobContext *job)
{
    const auto &spec = model.spec();
    Pass pass;
    std::unique_ptr<routing::PlanHook> planHook;
    if (plan)
        planHook = std::make_unique<routing::PlanHook>(*plan);
    for (const auto &text : texts) {
        routing::RoutingRecorder recorder(spec.numLayers, spec.moe.numExperts);
        routing::RouterHookChain chain;
        chain.add(planHook.get());
        chain.add(&recorder);
        const auto logProbs = model.tokenLogProbs(text.windows, &chain, job);
        PerplexityByLabel perplexity;
        for (const auto &row : logProbs) {
            double nll = 0;
            for (double lp : row)
                nll -= lp;
            // Byte-level tokens: each scored token is one byte.
            perplexity.add(text.language, nll, row.size(), row.size());
        }
        const auto *row = perplexity.find(text.language);
        pass.bitsPerByte.push_back(row->bitsPerByte());
        pass.bytes.push_back(row->bytes);
        const auto totals = recorder.totals();
        LanguageRouting routing;
        routing.label = text.language;
        routing.counts = totals.counts;
        routing.gateSum = totals.gateSum;
        routing.tokens = totals.tokens;
        routing.corpus = "UDHR articles 25-30 (held out)";
        routing.documents = text.windows.size();
        pass.perLanguage.push_back(std::move(routing));
    }
    return pass;
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

} // namespace

SpecialisationFigures measureSpecialisation(const model::MoeModel &model, const SpecialisationOptions &options,
                                            const JobContext *job)
{
    const auto started = std::chrono::steady_clock::now();
    const auto &spec = model.spec();
    const int context = options.context > 0 ? options.context : spec.maxPositions;
    if (context < 2)
        throw Error(model.directory(), "the model's context is too short to score text");
    const auto tokenizer = Tokenizer::load(model.directory());

    std::vector<LanguageWindows> texts;
    for (const auto &language : demoCorpus(options.languages)) {
        const auto text = prefixAtCharacter(language.heldOut, static_cast<std::size_t>(options.heldOutBytes));
        const auto ids = tokenizer.encode(text);
        if (ids.size() != text.size())
            throw Error(model.directory(), "the specialisation figures need a byte-level tokenizer (one token per byte)");
        LanguageWindows w;
        w.language = language.language;
        for (std::size_t start = 0; start + 1 < ids.size(); start += static_cast<std::size_t>(context)) {
            const auto end = std::min(ids.size(), start + static_cast<std::size_t>(context));
            w.windows.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(start),
                                   ids.begin() + static_cast<std::ptrdiff_t>(end));
        }
        if (w.windows.back().size() < 2)
            w.windows.pop_back();
        texts.push_back(std::move(w));
    }

    const auto base = runPass(model, texts, nullptr, job);
    RoutingTrace trace;
    trace.model.modelId = model.directory();
    trace.model.modelType = spec.modelType;
    trace.model.numLayers = spec.numLayers;
    trace.model.numExperts = spec.moe.numExperts;
    trace.model.topK = spec.moe.topK;
    trace.model.moeLayers = spec.moeLayers();
    trace.languages = base.perLanguage;
    const auto similarity = routingSimilarity(trace).mean;

    SpecialisationFigures figures;
    const auto latin = romanceGermanicLanguages();
    const auto n = texts.size();
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        LanguageFigures f;
        f.language = texts[i].language;
        f.group = languageGroup(f.language);
        f.bitsPerByte = base.bitsPerByte[i];
        f.bytes = base.bytes[i];
        sum += f.bitsPerByte;
        double best = -1, bestLatin = -1;
        const bool isLatin = std::find(latin.begin(), latin.end(), f.language) != latin.end();
        for (std::size_t j = 0; j < n; ++j) {
            if (j == i)
                continue;
            const double s = similarity[i][j];
            if (s > best) {
                best = s;
                f.nearest = texts[j].language;
                f.nearestSimilarity = s;
            }
            if (isLatin && std::find(latin.begin(), latin.end(), texts[j].language) != latin.end() && s > bestLatin) {
                bestLatin = s;
                f.nearestLatin = texts[j].language;
            }
        }
        if (!f.group.empty()) {
            ++figures.groupLanguages;
            figures.groupHits += languageGroup(f.nearest) == f.group ? 1 : 0;
        }
        if (isLatin) {
            ++figures.latinLanguages;
            figures.latinHits += languageGroup(f.nearestLatin) == f.group ? 1 : 0;
        }
        figures.languages.push_back(std::move(f));
    }
    figures.meanBitsPerByte = n ? sum / static_cast<double>(n) : 0;

    const int lastLayer = spec.numLayers - 1;
    for (const auto &language : options.maskedLanguages) {
        const auto it = std::find_if(texts.begin(), texts.end(), [&](const auto &t) { return t.language == language; });
        if (it == texts.end())
            throw Error("demo-report: masked language '" + language + "' is not among the measured languages");
        const auto index = static_cast<std::size_t>(it - texts.begin());
        const auto plan = experiments::maskExclusivePlan(trace, language, options.exclusiveK,
                                                         options.exclusiveThreshold, 0, lastLayer);
        MaskFigures m;
        m.language = language;
        m.maskedExperts = experiments::planExpertCount(plan);
        if (!plan.empty()) {
            const auto masked = runPass(model, texts, &plan, job);
            std::vector<double> others;
            for (std::size_t i = 0; i < n; ++i) {
                const double rise = masked.bitsPerByte[i] - base.bitsPerByte[i];
                if (i == index)
                    m.rise = rise;
                else
                    others.push_back(rise);
            }
            m.medianOtherRise = median(others);
        }
        figures.masks.push_back(m);
    }
    figures.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return figures;
}

namespace {

std::string fixed(double v, int digits)
{
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
    return buffer;
}

std::string signedFixed(double v)
{
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%+.3f", v);
    return buffer;
}

} // namespace

std::string formatSpecialisation(const SpecialisationFigures &t, const SpecialisationFigures *c)
{
    std::ostringstream out;
    out << "| language | group | held-out bits/byte | nearest routing neighbour (similarity)"
        << (c ? " | untrained: bits/byte | untrained: nearest" : "") << " |\n";
    out << "|---|---|---|---" << (c ? "|---|---" : "") << "|\n";
    for (std::size_t i = 0; i < t.languages.size(); ++i) {
        const auto &l = t.languages[i];
        out << "| " << l.language << " | " << (l.group.empty() ? "-" : l.group) << " | " << fixed(l.bitsPerByte, 3)
            << " | " << l.nearest << " (" << fixed(l.nearestSimilarity, 3) << ")";
        if (c && i < c->languages.size())
            out << " | " << fixed(c->languages[i].bitsPerByte, 3) << " | " << c->languages[i].nearest;
        out << " |\n";
    }
    out << "\n| figure | trained" << (c ? " | untrained control" : "") << " |\n|---|---" << (c ? "|---" : "")
        << "|\n";
    auto rate = [](int hits, int total) {
        return std::to_string(hits) + "/" + std::to_string(total) + " ("
            + fixed(total ? 100.0 * hits / total : 0.0, 0) + "%)";
    };
    out << "| mean held-out bits/byte | " << fixed(t.meanBitsPerByte, 3)
        << (c ? " | " + fixed(c->meanBitsPerByte, 3) : "") << " |\n";
    out << "| (a) nearest neighbour in own group | " << rate(t.groupHits, t.groupLanguages)
        << (c ? " | " + rate(c->groupHits, c->groupLanguages) : "") << " |\n";
    out << "| (b) Romance vs Germanic separated | " << rate(t.latinHits, t.latinLanguages)
        << (c ? " | " + rate(c->latinHits, c->latinLanguages) : "") << " |\n";
    for (std::size_t i = 0; i < t.masks.size(); ++i) {
        auto cell = [](const MaskFigures &m) {
            return std::to_string(m.maskedExperts) + " experts: " + signedFixed(m.rise) + " vs median "
                + signedFixed(m.medianOtherRise);
        };
        out << "| (c) mask " << t.masks[i].language << "'s exclusive experts | " << cell(t.masks[i])
            << (c && i < c->masks.size() ? " | " + cell(c->masks[i]) : "") << " |\n";
    }
    return out.str();
}

} // namespace moescope::training
