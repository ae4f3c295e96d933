#include "core/eval/language_consistency.h"

#include "core/corpus/language_codes.h"
#include "core/eval/metric_table.h"
#include "core/eval/utf8_text.h"

#include <algorithm>
#include <cctype>

// The CLD2 headers use FILE without including <cstdio>.
#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>
#include <cstdio>

namespace moescope {
namespace {

// CLD2 codes that are not (or no longer) the ISO 639-1 code of the language.
// Its NORWEGIAN is trained on Bokmål (NORWEGIAN_N, "nn", is Nynorsk), and the
// bundled corpus labels Bokmål "nb".
std::string_view renamedCld2Code(std::string_view code)
{
    if (code == "iw")
        return "he";
    if (code == "jw")
        return "jv";
    if (code == "no")
        return "nb";
    if (code == "sr-ME")
        return "sr";
    return code;
}

// The comparable form of an expected label: its base language, with the
// generic Norwegian code taken as Bokmål as for CLD2's output.
std::string comparableLanguage(std::string_view label)
{
    std::string base = baseLanguage(label);
    return base == "no" ? std::string("nb") : base;
}

LanguageConsistencyRow &rowFor(std::vector<LanguageConsistencyRow> &rows, const std::string &label)
{
    auto it = std::find_if(rows.begin(), rows.end(),
        [&](const LanguageConsistencyRow &row) { return row.expected == label; });
    if (it != rows.end())
        return *it;
    rows.push_back(LanguageConsistencyRow {});
    rows.back().expected = label;
    return rows.back();
}

} // namespace

std::string baseLanguage(std::string_view label)
{
    const auto dash = label.find_first_of("-_");
    std::string base(label.substr(0, dash));
    std::transform(base.begin(), base.end(), base.begin(),
        [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return base;
}

std::string labelForCld2Code(std::string_view cld2Code)
{
    // "un" is UNKNOWN_LANGUAGE, "xxx" TG_UNKNOWN_LANGUAGE; "xx-Hani" etc. are
    // ExtDetect's script-only results: text in a script, no language named.
    if (cld2Code.empty() || cld2Code == "un" || cld2Code == "xxx" || cld2Code.starts_with("xx-"))
        return std::string(kUnknownLanguage);
    const std::string code(renamedCld2Code(cld2Code));
    // Languages outside MoEScope's table (CLD2 also knows e.g. "haw", "ceb")
    // keep CLD2's code.
    const auto label = tryNormaliseLanguage(code);
    return baseLanguage(label ? *label : code);
}

std::string languageDetectionText(std::string_view text)
{
    const std::string valid = sanitizeUtf8(text);
    std::string out;
    out.reserve(valid.size());
    for (std::size_t i = 0; i < valid.size(); ++i) {
        const char c = valid[i];
        if (c == '\\' && i + 1 < valid.size()
            && std::isalpha(static_cast<unsigned char>(valid[i + 1]))) {
            // A control word such as \frac or \text: drop its name, keep what
            // follows (\text{Die Antwort} still contributes "Die Antwort").
            std::size_t end = i + 1;
            while (end < valid.size() && std::isalpha(static_cast<unsigned char>(valid[end])))
                ++end;
            out.push_back(' ');
            i = end - 1;
            continue;
        }
        out.push_back(c);
    }
    return out;
}

namespace {

struct Cld2Result
{
    CLD2::Language summary = CLD2::UNKNOWN_LANGUAGE;
    CLD2::Language language3[3]
        = { CLD2::UNKNOWN_LANGUAGE, CLD2::UNKNOWN_LANGUAGE, CLD2::UNKNOWN_LANGUAGE };
    int percent3[3] = { 0, 0, 0 };
    int textBytes = 0;
    bool reliable = false;
};

Cld2Result runCld2(const std::string &prepared, int flags)
{
    Cld2Result result;
    CLD2::CLDHints hints { nullptr, nullptr, CLD2::UNKNOWN_ENCODING, CLD2::UNKNOWN_LANGUAGE };
    double normalisedScore3[3] = { 0, 0, 0 };
    int validPrefixBytes = 0;
    // CLD2 takes an int length; answers beyond 2 GB are not a realistic case,
    // but cap rather than overflow.
    const int length = static_cast<int>(std::min<std::size_t>(prepared.size(), 0x7fffffff));
    result.summary = CLD2::ExtDetectLanguageSummaryCheckUTF8(prepared.data(), length,
        /*is_plain_text=*/true, &hints, flags, result.language3, result.percent3, normalisedScore3,
        /*resultchunkvector=*/nullptr, &result.textBytes, &result.reliable, &validPrefixBytes);
    return result;
}

} // namespace

LanguageDetection detectLanguage(std::string_view text, UnreliableText unreliable)
{
    const std::string prepared = languageDetectionText(text);
    Cld2Result result = runCld2(prepared, 0);
    // isReliable is CLD2's own judgement of enough evidence for the winner
    // (it depends on text length and on the margin over the runner-up).
    const bool reliable = result.reliable && result.summary != CLD2::UNKNOWN_LANGUAGE;
    if (!reliable && unreliable == UnreliableText::BestEffort)
        result = runCld2(prepared, CLD2::kCLDFlagBestEffort);

    LanguageDetection detection;
    detection.cld2Code = CLD2::LanguageCode(result.summary);
    detection.reliable = reliable;
    detection.textBytes = result.textBytes;
    // Unreliable guesses on short text are noise, so by default they count as
    // unknown; a best-effort guess is used only when asked for.
    if (reliable || unreliable == UnreliableText::BestEffort)
        detection.language = labelForCld2Code(detection.cld2Code);
    else
        detection.language = std::string(kUnknownLanguage);
    for (int i = 0; i < 3; ++i) {
        if (result.percent3[i] <= 0)
            continue;
        const std::string label = labelForCld2Code(CLD2::LanguageCode(result.language3[i]));
        auto it = std::find_if(detection.top.begin(), detection.top.end(),
            [&](const LanguageShare &share) { return share.language == label; });
        // zh and zh-Hant both become "zh": their shares add up.
        if (it != detection.top.end())
            it->percent += result.percent3[i];
        else
            detection.top.push_back({ label, result.percent3[i] });
    }
    return detection;
}

double LanguageConsistencyRow::consistencyOfDetected() const
{
    const std::size_t classified = texts - unknown;
    return classified ? double(consistent) / double(classified) : 0.0;
}

LanguageDetection LanguageConsistency::add(
    const std::string &expectedLanguage, std::string_view text)
{
    // Validate the label before the (comparatively slow) detection.
    normaliseLanguage(expectedLanguage);
    LanguageDetection detection = detectLanguage(text, m_unreliable);
    add(expectedLanguage, detection);
    return detection;
}

void LanguageConsistency::add(
    const std::string &expectedLanguage, const LanguageDetection &detection)
{
    const std::string label = normaliseLanguage(expectedLanguage);
    const std::string expected = comparableLanguage(label);
    LanguageConsistencyRow &row = rowFor(m_rows, label);
    ++row.texts;
    ++row.detected[detection.language];
    if (detection.language == kUnknownLanguage)
        ++row.unknown;
    else if (detection.language == expected)
        ++row.consistent;
    for (const LanguageShare &share : detection.top) {
        if (share.language == expected)
            row.shareSum += std::min(share.percent, 100) / 100.0;
    }
}

const LanguageConsistencyRow *LanguageConsistency::find(const std::string &expectedLanguage) const
{
    const auto label = tryNormaliseLanguage(expectedLanguage);
    if (!label)
        return nullptr;
    auto it = std::find_if(m_rows.begin(), m_rows.end(),
        [&](const LanguageConsistencyRow &row) { return row.expected == *label; });
    return it == m_rows.end() ? nullptr : &*it;
}

std::vector<std::string> LanguageConsistency::detectedLabels() const
{
    std::vector<std::string> labels;
    bool anyUnknown = false;
    for (const auto &row : m_rows) {
        for (const auto &[label, count] : row.detected) {
            if (label == kUnknownLanguage)
                anyUnknown = true;
            else if (std::find(labels.begin(), labels.end(), label) == labels.end())
                labels.push_back(label);
        }
    }
    std::sort(labels.begin(), labels.end());
    if (anyUnknown)
        labels.emplace_back(kUnknownLanguage);
    return labels;
}

void LanguageConsistency::appendTo(MetricTable &table, const std::vector<std::string> &keyPrefix,
    const std::string &columnPrefix) const
{
    for (const auto &row : m_rows) {
        std::vector<std::string> key = keyPrefix;
        key.push_back(row.expected);
        const double texts = double(row.texts);
        table.set(key, columnPrefix + "texts", texts);
        table.set(key, columnPrefix + "consistency", row.consistency());
        table.set(key, columnPrefix + "consistency_of_detected", row.consistencyOfDetected());
        table.set(key, columnPrefix + "unknown_rate", texts ? double(row.unknown) / texts : 0.0);
        table.set(key, columnPrefix + "expected_share", row.meanExpectedShare());
    }
}

MetricTable LanguageConsistency::confusionTable() const
{
    MetricTable table({ "expected" });
    const std::vector<std::string> labels = detectedLabels();
    for (const auto &label : labels)
        table.addColumn(label);
    for (const auto &row : m_rows) {
        for (const auto &label : labels) {
            const auto it = row.detected.find(label);
            table.set({ row.expected }, label, double(it == row.detected.end() ? 0 : it->second));
        }
    }
    return table;
}

} // namespace moescope
