#include "core/corpus/language_codes.h"

#include "core/common/error.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>
#include <unordered_map>

namespace moescope {
namespace {

struct Iso639_1Entry
{
    std::string_view iso1;
    std::string_view iso3; // ISO 639-2/T, which is also the ISO 639-3 code
    std::string_view script; // usual script (ISO 15924), "" when there is no single one
    std::string_view name;
};

// Every ISO 639-1 code. Names follow the common English form; those the
// study's prompts use (Arabic, Bengali, Chinese, German, Spanish, French,
// Japanese, Korean, Swahili, English) are spelt exactly as there. Usual
// scripts are the ones FLORES-200 uses for the language where it has it
// (kor_Hang, zho_Hans, srp_Cyrl, pan_Guru, ...).
constexpr std::array kIso639_1 = std::to_array<Iso639_1Entry>({
    {"aa", "aar", "Latn", "Afar"},
    {"ab", "abk", "Cyrl", "Abkhazian"},
    {"ae", "ave", "Avst", "Avestan"},
    {"af", "afr", "Latn", "Afrikaans"},
    {"ak", "aka", "Latn", "Akan"},
    {"am", "amh", "Ethi", "Amharic"},
    {"an", "arg", "Latn", "Aragonese"},
    {"ar", "ara", "Arab", "Arabic"},
    {"as", "asm", "Beng", "Assamese"},
    {"av", "ava", "Cyrl", "Avaric"},
    {"ay", "aym", "Latn", "Aymara"},
    {"az", "aze", "Latn", "Azerbaijani"},
    {"ba", "bak", "Cyrl", "Bashkir"},
    {"be", "bel", "Cyrl", "Belarusian"},
    {"bg", "bul", "Cyrl", "Bulgarian"},
    {"bh", "bih", "Deva", "Bihari"},
    {"bi", "bis", "Latn", "Bislama"},
    {"bm", "bam", "Latn", "Bambara"},
    {"bn", "ben", "Beng", "Bengali"},
    {"bo", "bod", "Tibt", "Tibetan"},
    {"br", "bre", "Latn", "Breton"},
    {"bs", "bos", "Latn", "Bosnian"},
    {"ca", "cat", "Latn", "Catalan"},
    {"ce", "che", "Cyrl", "Chechen"},
    {"ch", "cha", "Latn", "Chamorro"},
    {"co", "cos", "Latn", "Corsican"},
    {"cr", "cre", "Cans", "Cree"},
    {"cs", "ces", "Latn", "Czech"},
    {"cu", "chu", "Cyrl", "Church Slavonic"},
    {"cv", "chv", "Cyrl", "Chuvash"},
    {"cy", "cym", "Latn", "Welsh"},
    {"da", "dan", "Latn", "Danish"},
    {"de", "deu", "Latn", "German"},
    {"dv", "div", "Thaa", "Dhivehi"},
    {"dz", "dzo", "Tibt", "Dzongkha"},
    {"ee", "ewe", "Latn", "Ewe"},
    {"el", "ell", "Grek", "Greek"},
    {"en", "eng", "Latn", "English"},
    {"eo", "epo", "Latn", "Esperanto"},
    {"es", "spa", "Latn", "Spanish"},
    {"et", "est", "Latn", "Estonian"},
    {"eu", "eus", "Latn", "Basque"},
    {"fa", "fas", "Arab", "Persian"},
    {"ff", "ful", "Latn", "Fula"},
    {"fi", "fin", "Latn", "Finnish"},
    {"fj", "fij", "Latn", "Fijian"},
    {"fo", "fao", "Latn", "Faroese"},
    {"fr", "fra", "Latn", "French"},
    {"fy", "fry", "Latn", "Western Frisian"},
    {"ga", "gle", "Latn", "Irish"},
    {"gd", "gla", "Latn", "Scottish Gaelic"},
    {"gl", "glg", "Latn", "Galician"},
    {"gn", "grn", "Latn", "Guarani"},
    {"gu", "guj", "Gujr", "Gujarati"},
    {"gv", "glv", "Latn", "Manx"},
    {"ha", "hau", "Latn", "Hausa"},
    {"he", "heb", "Hebr", "Hebrew"},
    {"hi", "hin", "Deva", "Hindi"},
    {"ho", "hmo", "Latn", "Hiri Motu"},
    {"hr", "hrv", "Latn", "Croatian"},
    {"ht", "hat", "Latn", "Haitian Creole"},
    {"hu", "hun", "Latn", "Hungarian"},
    {"hy", "hye", "Armn", "Armenian"},
    {"hz", "her", "Latn", "Herero"},
    {"ia", "ina", "Latn", "Interlingua"},
    {"id", "ind", "Latn", "Indonesian"},
    {"ie", "ile", "Latn", "Interlingue"},
    {"ig", "ibo", "Latn", "Igbo"},
    {"ii", "iii", "Yiii", "Sichuan Yi"},
    {"ik", "ipk", "Latn", "Inupiaq"},
    {"io", "ido", "Latn", "Ido"},
    {"is", "isl", "Latn", "Icelandic"},
    {"it", "ita", "Latn", "Italian"},
    {"iu", "iku", "Cans", "Inuktitut"},
    {"ja", "jpn", "Jpan", "Japanese"},
    {"jv", "jav", "Latn", "Javanese"},
    {"ka", "kat", "Geor", "Georgian"},
    {"kg", "kon", "Latn", "Kongo"},
    {"ki", "kik", "Latn", "Kikuyu"},
    {"kj", "kua", "Latn", "Kuanyama"},
    {"kk", "kaz", "Cyrl", "Kazakh"},
    {"kl", "kal", "Latn", "Kalaallisut"},
    {"km", "khm", "Khmr", "Khmer"},
    {"kn", "kan", "Knda", "Kannada"},
    {"ko", "kor", "Hang", "Korean"},
    {"kr", "kau", "Latn", "Kanuri"},
    {"ks", "kas", "Arab", "Kashmiri"},
    {"ku", "kur", "Latn", "Kurdish"},
    {"kv", "kom", "Cyrl", "Komi"},
    {"kw", "cor", "Latn", "Cornish"},
    {"ky", "kir", "Cyrl", "Kyrgyz"},
    {"la", "lat", "Latn", "Latin"},
    {"lb", "ltz", "Latn", "Luxembourgish"},
    {"lg", "lug", "Latn", "Ganda"},
    {"li", "lim", "Latn", "Limburgish"},
    {"ln", "lin", "Latn", "Lingala"},
    {"lo", "lao", "Laoo", "Lao"},
    {"lt", "lit", "Latn", "Lithuanian"},
    {"lu", "lub", "Latn", "Luba-Katanga"},
    {"lv", "lav", "Latn", "Latvian"},
    {"mg", "mlg", "Latn", "Malagasy"},
    {"mh", "mah", "Latn", "Marshallese"},
    {"mi", "mri", "Latn", "Maori"},
    {"mk", "mkd", "Cyrl", "Macedonian"},
    {"ml", "mal", "Mlym", "Malayalam"},
    {"mn", "mon", "Cyrl", "Mongolian"},
    {"mr", "mar", "Deva", "Marathi"},
    {"ms", "msa", "Latn", "Malay"},
    {"mt", "mlt", "Latn", "Maltese"},
    {"my", "mya", "Mymr", "Burmese"},
    {"na", "nau", "Latn", "Nauru"},
    {"nb", "nob", "Latn", "Norwegian Bokmal"},
    {"nd", "nde", "Latn", "North Ndebele"},
    {"ne", "nep", "Deva", "Nepali"},
    {"ng", "ndo", "Latn", "Ndonga"},
    {"nl", "nld", "Latn", "Dutch"},
    {"nn", "nno", "Latn", "Norwegian Nynorsk"},
    {"no", "nor", "Latn", "Norwegian"},
    {"nr", "nbl", "Latn", "South Ndebele"},
    {"nv", "nav", "Latn", "Navajo"},
    {"ny", "nya", "Latn", "Nyanja"},
    {"oc", "oci", "Latn", "Occitan"},
    {"oj", "oji", "Cans", "Ojibwe"},
    {"om", "orm", "Latn", "Oromo"},
    {"or", "ori", "Orya", "Odia"},
    {"os", "oss", "Cyrl", "Ossetian"},
    {"pa", "pan", "Guru", "Punjabi"},
    {"pi", "pli", "", "Pali"},
    {"pl", "pol", "Latn", "Polish"},
    {"ps", "pus", "Arab", "Pashto"},
    {"pt", "por", "Latn", "Portuguese"},
    {"qu", "que", "Latn", "Quechua"},
    {"rm", "roh", "Latn", "Romansh"},
    {"rn", "run", "Latn", "Rundi"},
    {"ro", "ron", "Latn", "Romanian"},
    {"ru", "rus", "Cyrl", "Russian"},
    {"rw", "kin", "Latn", "Kinyarwanda"},
    {"sa", "san", "Deva", "Sanskrit"},
    {"sc", "srd", "Latn", "Sardinian"},
    {"sd", "snd", "Arab", "Sindhi"},
    {"se", "sme", "Latn", "Northern Sami"},
    {"sg", "sag", "Latn", "Sango"},
    {"si", "sin", "Sinh", "Sinhala"},
    {"sk", "slk", "Latn", "Slovak"},
    {"sl", "slv", "Latn", "Slovenian"},
    {"sm", "smo", "Latn", "Samoan"},
    {"sn", "sna", "Latn", "Shona"},
    {"so", "som", "Latn", "Somali"},
    {"sq", "sqi", "Latn", "Albanian"},
    {"sr", "srp", "Cyrl", "Serbian"},
    {"ss", "ssw", "Latn", "Swati"},
    {"st", "sot", "Latn", "Southern Sotho"},
    {"su", "sun", "Latn", "Sundanese"},
    {"sv", "swe", "Latn", "Swedish"},
    {"sw", "swa", "Latn", "Swahili"},
    {"ta", "tam", "Taml", "Tamil"},
    {"te", "tel", "Telu", "Telugu"},
    {"tg", "tgk", "Cyrl", "Tajik"},
    {"th", "tha", "Thai", "Thai"},
    {"ti", "tir", "Ethi", "Tigrinya"},
    {"tk", "tuk", "Latn", "Turkmen"},
    {"tl", "tgl", "Latn", "Tagalog"},
    {"tn", "tsn", "Latn", "Tswana"},
    {"to", "ton", "Latn", "Tongan"},
    {"tr", "tur", "Latn", "Turkish"},
    {"ts", "tso", "Latn", "Tsonga"},
    {"tt", "tat", "Cyrl", "Tatar"},
    {"tw", "twi", "Latn", "Twi"},
    {"ty", "tah", "Latn", "Tahitian"},
    {"ug", "uig", "Arab", "Uyghur"},
    {"uk", "ukr", "Cyrl", "Ukrainian"},
    {"ur", "urd", "Arab", "Urdu"},
    {"uz", "uzb", "Latn", "Uzbek"},
    {"ve", "ven", "Latn", "Venda"},
    {"vi", "vie", "Latn", "Vietnamese"},
    {"vo", "vol", "Latn", "Volapuk"},
    {"wa", "wln", "Latn", "Walloon"},
    {"wo", "wol", "Latn", "Wolof"},
    {"xh", "xho", "Latn", "Xhosa"},
    {"yi", "yid", "Hebr", "Yiddish"},
    {"yo", "yor", "Latn", "Yoruba"},
    {"za", "zha", "Latn", "Zhuang"},
    {"zh", "zho", "Hans", "Chinese"},
    {"zu", "zul", "Latn", "Zulu"},
});

// Three-letter codes that stand for an ISO 639-1 language: the individual
// language FLORES-200/FLORES+ uses for a macrolanguage (arb = Standard Arabic
// is "ar", cmn = Mandarin is "zh", ...) and ISO 639-2/B bibliographic codes.
// Dialects and sister languages that FLORES lists beside the main one (acm,
// ary, arz, prs, azb, ckb, yue, ...) keep their own 639-3 code so they stay
// distinguishable.
struct AliasEntry
{
    std::string_view iso3;
    std::string_view iso1;
};
constexpr std::array kIso639_3Aliases = std::to_array<AliasEntry>({
    // FLORES individual languages of a macrolanguage
    {"als", "sq"}, {"arb", "ar"}, {"ayr", "ay"}, {"azj", "az"}, {"cmn", "zh"},
    {"ekk", "et"}, {"fuv", "ff"}, {"gaz", "om"}, {"gug", "gn"}, {"khk", "mn"},
    {"kmr", "ku"}, {"knc", "kr"}, {"lvs", "lv"}, {"npi", "ne"}, {"ory", "or"},
    {"pbt", "ps"}, {"pes", "fa"}, {"plt", "mg"}, {"quy", "qu"}, {"swh", "sw"},
    {"uzn", "uz"}, {"ydd", "yi"}, {"zsm", "ms"},
    // ISO 639-2/B
    {"alb", "sq"}, {"arm", "hy"}, {"baq", "eu"}, {"bur", "my"}, {"chi", "zh"},
    {"cze", "cs"}, {"dut", "nl"}, {"fre", "fr"}, {"geo", "ka"}, {"ger", "de"},
    {"gre", "el"}, {"ice", "is"}, {"mac", "mk"}, {"mao", "mi"}, {"may", "ms"},
    {"per", "fa"}, {"rum", "ro"}, {"slo", "sk"}, {"tib", "bo"}, {"wel", "cy"},
});

// Languages without an ISO 639-1 code: every such FLORES-200 / FLORES+
// language plus a few other widely studied ones. Their label is the 639-3 code.
struct Iso639_3Entry
{
    std::string_view iso3;
    std::string_view script;
    std::string_view name;
};
constexpr std::array kIso639_3Only = std::to_array<Iso639_3Entry>({
    {"ace", "Latn", "Acehnese"},
    {"acm", "Arab", "Mesopotamian Arabic"},
    {"acq", "Arab", "Ta'izzi-Adeni Arabic"},
    {"aeb", "Arab", "Tunisian Arabic"},
    {"ajp", "Arab", "South Levantine Arabic"},
    {"apc", "Arab", "North Levantine Arabic"},
    {"ars", "Arab", "Najdi Arabic"},
    {"ary", "Arab", "Moroccan Arabic"},
    {"arz", "Arab", "Egyptian Arabic"},
    {"ast", "Latn", "Asturian"},
    {"awa", "Deva", "Awadhi"},
    {"azb", "Arab", "South Azerbaijani"},
    {"ban", "Latn", "Balinese"},
    {"bem", "Latn", "Bemba"},
    {"bho", "Deva", "Bhojpuri"},
    {"bjn", "Latn", "Banjar"},
    {"brx", "Deva", "Bodo"},
    {"bug", "Latn", "Buginese"},
    {"ceb", "Latn", "Cebuano"},
    {"chr", "Cher", "Cherokee"},
    {"cjk", "Latn", "Chokwe"},
    {"ckb", "Arab", "Central Kurdish"},
    {"crh", "Latn", "Crimean Tatar"},
    {"dgo", "Deva", "Dogri"},
    {"dik", "Latn", "Southwestern Dinka"},
    {"dyu", "Latn", "Dyula"},
    {"fil", "Latn", "Filipino"},
    {"fon", "Latn", "Fon"},
    {"fur", "Latn", "Friulian"},
    {"gom", "Deva", "Goan Konkani"},
    {"haw", "Latn", "Hawaiian"},
    {"hne", "Deva", "Chhattisgarhi"},
    {"hsb", "Latn", "Upper Sorbian"},
    {"ilo", "Latn", "Ilocano"},
    {"kab", "Latn", "Kabyle"},
    {"kac", "Latn", "Jingpho"},
    {"kam", "Latn", "Kamba"},
    {"kbp", "Latn", "Kabiye"},
    {"kea", "Latn", "Kabuverdianu"},
    {"kmb", "Latn", "Kimbundu"},
    {"lij", "Latn", "Ligurian"},
    {"lmo", "Latn", "Lombard"},
    {"ltg", "Latn", "Latgalian"},
    {"lua", "Latn", "Luba-Kasai"},
    {"luo", "Latn", "Luo"},
    {"lus", "Latn", "Mizo"},
    {"mag", "Deva", "Magahi"},
    {"mai", "Deva", "Maithili"},
    {"min", "Latn", "Minangkabau"},
    {"mni", "Beng", "Meitei"},
    {"mos", "Latn", "Mossi"},
    {"nan", "Latn", "Min Nan Chinese"},
    {"nqo", "Nkoo", "N'Ko"},
    {"nso", "Latn", "Northern Sotho"},
    {"nus", "Latn", "Nuer"},
    {"pag", "Latn", "Pangasinan"},
    {"pap", "Latn", "Papiamento"},
    {"pcm", "Latn", "Nigerian Pidgin"},
    {"prs", "Arab", "Dari"},
    {"sah", "Cyrl", "Yakut"},
    {"sat", "Olck", "Santali"},
    {"scn", "Latn", "Sicilian"},
    {"shn", "Mymr", "Shan"},
    {"szl", "Latn", "Silesian"},
    {"taq", "Latn", "Tamasheq"},
    {"tpi", "Latn", "Tok Pisin"},
    {"tum", "Latn", "Tumbuka"},
    {"tzm", "Tfng", "Central Atlas Tamazight"},
    {"umb", "Latn", "Umbundu"},
    {"vec", "Latn", "Venetian"},
    {"war", "Latn", "Waray"},
    {"wuu", "Hans", "Wu Chinese"},
    {"yue", "Hant", "Cantonese"},
    {"zgh", "Tfng", "Standard Moroccan Tamazight"},
});

// ISO 15924 codes accepted as script subtags; anything else four letters
// long ("High" in "de_High") is not a script.
constexpr std::string_view kScripts[] = {
    "Adlm", "Arab", "Armn", "Avst", "Bali", "Bamu", "Batk", "Beng", "Bopo", "Brah", "Brai",
    "Bugi", "Cakm", "Cans", "Cher", "Copt", "Cyrl", "Cyrs", "Deva", "Dogr", "Ethi", "Geor",
    "Glag", "Gong", "Gonm", "Goth", "Grek", "Gujr", "Guru", "Hang", "Hani", "Hans", "Hant",
    "Hebr", "Hira", "Hmng", "Jamo", "Java", "Jpan", "Kali", "Kana", "Khar", "Khmr", "Khoj",
    "Knda", "Kore", "Kthi", "Lana", "Laoo", "Latn", "Limb", "Lisu", "Mahj", "Mand", "Mlym",
    "Modi", "Mong", "Mtei", "Mymr", "Newa", "Nkoo", "Nshu", "Ogam", "Olck", "Orya", "Osma",
    "Phag", "Plrd", "Rohg", "Runr", "Samr", "Saur", "Shaw", "Shrd", "Sidd", "Sind", "Sinh",
    "Sora", "Sund", "Sylo", "Syrc", "Takr", "Tale", "Talu", "Taml", "Tavt", "Telu", "Tfng",
    "Tglg", "Thaa", "Thai", "Tibt", "Tirh", "Vaii", "Wara", "Yiii", "Zinh", "Zmth", "Zsym",
    "Zyyy", "Zzzz",
};

struct ScriptName
{
    std::string_view code;
    std::string_view name;
};
constexpr std::array kScriptNames = std::to_array<ScriptName>({
    {"Arab", "Arabic script"}, {"Beng", "Bengali script"}, {"Cyrl", "Cyrillic"},
    {"Deva", "Devanagari"}, {"Hans", "Simplified"}, {"Hant", "Traditional"},
    {"Latn", "Latin script"}, {"Mtei", "Meitei Mayek"}, {"Olck", "Ol Chiki"},
    {"Tfng", "Tifinagh"},
});

// What a language subtag resolves to before script and region are applied.
struct BaseLanguage
{
    std::string label; // 639-1 or 639-3
    std::string iso1;
    std::string iso3;
    std::string script;
    std::string name;
};

const std::unordered_map<std::string, BaseLanguage> &baseLanguages()
{
    static const std::unordered_map<std::string, BaseLanguage> table = [] {
        std::unordered_map<std::string, BaseLanguage> t;
        std::unordered_map<std::string, const Iso639_1Entry *> byIso1;
        for (const auto &e : kIso639_1) {
            BaseLanguage b{std::string(e.iso1), std::string(e.iso1), std::string(e.iso3),
                           std::string(e.script), std::string(e.name)};
            t.emplace(b.iso1, b);
            t.emplace(b.iso3, b);
            byIso1.emplace(b.iso1, &e);
        }
        for (const auto &a : kIso639_3Aliases) {
            BaseLanguage b = t.at(std::string(a.iso1));
            b.iso3 = std::string(a.iso3); // the individual language actually named
            t.emplace(std::string(a.iso3), b);
        }
        for (const auto &e : kIso639_3Only) {
            BaseLanguage b{std::string(e.iso3), "", std::string(e.iso3), std::string(e.script),
                           std::string(e.name)};
            t.emplace(b.iso3, b);
        }
        return t;
    }();
    return table;
}

std::string lower(std::string s)
{
    for (auto &c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string upper(std::string s)
{
    for (auto &c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

bool allAlpha(const std::string &s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalpha(c) != 0;
    });
}

bool allDigits(const std::string &s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isdigit(c) != 0;
    });
}

// Resolves a code; returns an error message instead of throwing so that the
// "try" variant costs no exception.
std::optional<LanguageInfo> resolve(const std::string &code, std::string *why)
{
    auto fail = [&](std::string reason) -> std::optional<LanguageInfo> {
        if (why)
            *why = std::move(reason);
        return std::nullopt;
    };

    std::vector<std::string> parts;
    std::string current;
    for (char c : code) {
        if (c == '-' || c == '_') {
            parts.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    parts.push_back(current);
    if (parts.empty() || parts[0].empty())
        return fail("empty language code");

    const std::string language = lower(parts[0]);
    if (!allAlpha(language) || (language.size() != 2 && language.size() != 3))
        return fail("'" + code + "' is not a language code (expected ISO 639-1/639-3, e.g. "
                    "en, eng, eng_Latn, zh-Hant)");

    std::string script, region;
    for (std::size_t i = 1; i < parts.size(); ++i) {
        const std::string &p = parts[i];
        if (p.size() == 4 && allAlpha(p) && script.empty() && region.empty()) {
            script = upper(p.substr(0, 1)) + lower(p.substr(1));
            if (std::find(std::begin(kScripts), std::end(kScripts), script) == std::end(kScripts))
                return fail("'" + code + "' has an unknown script subtag '" + p
                            + "' (expected ISO 15924, e.g. Latn, Hans, Cyrl)");
        } else if (((p.size() == 2 && allAlpha(p)) || (p.size() == 3 && allDigits(p)))
                   && region.empty()) {
            region = upper(p);
        } else {
            return fail("'" + code + "' is not a language code (unexpected subtag '" + p
                        + "')");
        }
    }

    const auto &table = baseLanguages();
    auto it = table.find(language);
    if (it == table.end())
        return fail("unknown language code '" + code + "'");
    const BaseLanguage &base = it->second;

    // Chinese regions name scripts in common use (zh-CN, zh-TW as langdetect
    // and many datasets write them); fold them into the script so that
    // "zh-CN" and "zho_Hans" land on one label.
    if (base.iso1 == "zh" && script.empty() && !region.empty()) {
        if (region == "CN" || region == "SG")
            script = "Hans", region.clear();
        else if (region == "TW" || region == "HK" || region == "MO")
            script = "Hant", region.clear();
    }
    // Korean is written in Hangul, "Kore" (Hangul + Hanja) included.
    if (base.iso1 == "ko" && script == "Kore")
        script = "Hang";

    LanguageInfo info;
    info.iso639_1 = base.iso1;
    info.iso639_3 = base.iso3;
    info.script = script.empty() ? base.script : script;
    info.region = region;
    info.label = base.label;
    if (!script.empty() && script != base.script)
        info.label += "-" + script;
    if (!region.empty())
        info.label += "-" + region;

    info.englishName = base.name;
    std::vector<std::string> qualifiers;
    if (!script.empty() && script != base.script) {
        std::string scriptName = script;
        for (const auto &s : kScriptNames)
            if (s.code == script)
                scriptName = std::string(s.name);
        qualifiers.push_back(scriptName);
    }
    if (!region.empty())
        qualifiers.push_back(region);
    if (!qualifiers.empty()) {
        info.englishName += " (";
        for (std::size_t i = 0; i < qualifiers.size(); ++i)
            info.englishName += (i ? ", " : "") + qualifiers[i];
        info.englishName += ")";
    }
    return info;
}

} // namespace

std::string normaliseLanguage(const std::string &code)
{
    return languageInfo(code).label;
}

std::optional<std::string> tryNormaliseLanguage(const std::string &code)
{
    auto info = resolve(code, nullptr);
    if (!info)
        return std::nullopt;
    return info->label;
}

LanguageInfo languageInfo(const std::string &code)
{
    std::string why;
    auto info = resolve(code, &why);
    if (!info)
        throw Error(why);
    return *info;
}

std::string languageEnglishName(const std::string &code)
{
    return languageInfo(code).englishName;
}

std::vector<std::string> knownIso639_1Codes()
{
    std::vector<std::string> codes;
    for (const auto &e : kIso639_1)
        codes.emplace_back(e.iso1);
    return codes;
}

} // namespace moescope
