#include "core/corpus/language_codes.h"

#include "core/common/error.h"

#include <gtest/gtest.h>

#include <set>

using namespace moescope;

TEST(LanguageCodes, FloresCodesMapToIso639_1)
{
    EXPECT_EQ(normaliseLanguage("eng_Latn"), "en");
    EXPECT_EQ(normaliseLanguage("zho_Hans"), "zh");
    EXPECT_EQ(normaliseLanguage("cmn_Hans"), "zh");
    EXPECT_EQ(normaliseLanguage("arb_Arab"), "ar");
    EXPECT_EQ(normaliseLanguage("swh_Latn"), "sw");
    EXPECT_EQ(normaliseLanguage("ben_Beng"), "bn");
    EXPECT_EQ(normaliseLanguage("jpn_Jpan"), "ja");
    EXPECT_EQ(normaliseLanguage("kor_Hang"), "ko");
    EXPECT_EQ(normaliseLanguage("pes_Arab"), "fa");
    EXPECT_EQ(normaliseLanguage("zsm_Latn"), "ms");
    EXPECT_EQ(normaliseLanguage("npi_Deva"), "ne");
    EXPECT_EQ(normaliseLanguage("srp_Cyrl"), "sr");
    EXPECT_EQ(normaliseLanguage("pan_Guru"), "pa");
    EXPECT_EQ(normaliseLanguage("ydd_Hebr"), "yi");
}

TEST(LanguageCodes, KeepsNonDefaultScriptsDistinguishable)
{
    EXPECT_EQ(normaliseLanguage("zho_Hant"), "zh-Hant");
    EXPECT_EQ(normaliseLanguage("arb_Latn"), "ar-Latn");
    EXPECT_EQ(normaliseLanguage("kas_Deva"), "ks-Deva");
    EXPECT_EQ(normaliseLanguage("kas_Arab"), "ks");
    EXPECT_EQ(normaliseLanguage("taq_Tfng"), "taq-Tfng");
    EXPECT_NE(normaliseLanguage("zho_Hant"), normaliseLanguage("zho_Hans"));
    // Chinese regions stand for scripts; other regions are kept.
    EXPECT_EQ(normaliseLanguage("zh-CN"), "zh");
    EXPECT_EQ(normaliseLanguage("zh-tw"), "zh-Hant");
    EXPECT_EQ(normaliseLanguage("pt_br"), "pt-BR");
    EXPECT_EQ(normaliseLanguage("sr-Latn"), "sr-Latn");
}

TEST(LanguageCodes, LanguagesWithoutIso639_1KeepTheir639_3Code)
{
    EXPECT_EQ(normaliseLanguage("yue_Hant"), "yue");
    EXPECT_EQ(normaliseLanguage("acm_Arab"), "acm");
    EXPECT_EQ(normaliseLanguage("prs_Arab"), "prs");
    EXPECT_EQ(normaliseLanguage("ckb_Arab"), "ckb");
    // Dialects must not collapse onto the standard language.
    EXPECT_NE(normaliseLanguage("arz_Arab"), normaliseLanguage("arb_Arab"));
    EXPECT_NE(normaliseLanguage("prs_Arab"), normaliseLanguage("pes_Arab"));
}

TEST(LanguageCodes, AcceptsIso639_3_639_2BAndAnyCase)
{
    EXPECT_EQ(normaliseLanguage("eng"), "en");
    EXPECT_EQ(normaliseLanguage("EN"), "en");
    EXPECT_EQ(normaliseLanguage("deu"), "de");
    EXPECT_EQ(normaliseLanguage("ger"), "de");
    EXPECT_EQ(normaliseLanguage("fre"), "fr");
    EXPECT_EQ(normaliseLanguage("chi"), "zh");
    EXPECT_EQ(normaliseLanguage("ZHO_hant"), "zh-Hant");
}

TEST(LanguageCodes, RejectsUnknownAndMalformedCodes)
{
    EXPECT_THROW(normaliseLanguage("xx"), Error);
    EXPECT_THROW(normaliseLanguage("qqq"), Error);
    EXPECT_THROW(normaliseLanguage("english"), Error);
    EXPECT_THROW(normaliseLanguage(""), Error);
    EXPECT_THROW(normaliseLanguage("e1"), Error);
    EXPECT_THROW(normaliseLanguage("en-US-extra-stuff"), Error);
    EXPECT_THROW(normaliseLanguage("de_High"), Error); // not an ISO 15924 script
    EXPECT_FALSE(tryNormaliseLanguage("README").has_value());
    EXPECT_FALSE(tryNormaliseLanguage("xx").has_value());
    try {
        normaliseLanguage("qqq");
        FAIL();
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("qqq"), std::string::npos);
    }
}

TEST(LanguageCodes, EveryFlores200LanguageIsKnownAndLabelsAreDistinct)
{
    // The FLORES-200 language list (NLLB-200 paper, Table 1), as file stems.
    const char *flores[] = {
        "ace_Arab", "ace_Latn", "acm_Arab", "acq_Arab", "aeb_Arab", "afr_Latn", "ajp_Arab",
        "aka_Latn", "amh_Ethi", "apc_Arab", "arb_Arab", "arb_Latn", "ars_Arab", "ary_Arab",
        "arz_Arab", "asm_Beng", "ast_Latn", "awa_Deva", "ayr_Latn", "azb_Arab", "azj_Latn",
        "bak_Cyrl", "bam_Latn", "ban_Latn", "bel_Cyrl", "bem_Latn", "ben_Beng", "bho_Deva",
        "bjn_Arab", "bjn_Latn", "bod_Tibt", "bos_Latn", "bug_Latn", "bul_Cyrl", "cat_Latn",
        "ceb_Latn", "ces_Latn", "cjk_Latn", "ckb_Arab", "crh_Latn", "cym_Latn", "dan_Latn",
        "deu_Latn", "dik_Latn", "dyu_Latn", "dzo_Tibt", "ell_Grek", "eng_Latn", "epo_Latn",
        "est_Latn", "eus_Latn", "ewe_Latn", "fao_Latn", "fij_Latn", "fin_Latn", "fon_Latn",
        "fra_Latn", "fur_Latn", "fuv_Latn", "gaz_Latn", "gla_Latn", "gle_Latn", "glg_Latn",
        "grn_Latn", "guj_Gujr", "hat_Latn", "hau_Latn", "heb_Hebr", "hin_Deva", "hne_Deva",
        "hrv_Latn", "hun_Latn", "hye_Armn", "ibo_Latn", "ilo_Latn", "ind_Latn", "isl_Latn",
        "ita_Latn", "jav_Latn", "jpn_Jpan", "kab_Latn", "kac_Latn", "kam_Latn", "kan_Knda",
        "kas_Arab", "kas_Deva", "kat_Geor", "knc_Arab", "knc_Latn", "kaz_Cyrl", "kbp_Latn",
        "kea_Latn", "khk_Cyrl", "khm_Khmr", "kik_Latn", "kin_Latn", "kir_Cyrl", "kmb_Latn",
        "kmr_Latn", "kon_Latn", "kor_Hang", "lao_Laoo", "lij_Latn", "lim_Latn", "lin_Latn",
        "lit_Latn", "lmo_Latn", "ltg_Latn", "ltz_Latn", "lua_Latn", "lug_Latn", "luo_Latn",
        "lus_Latn", "lvs_Latn", "mag_Deva", "mai_Deva", "mal_Mlym", "mar_Deva", "min_Arab",
        "min_Latn", "mkd_Cyrl", "plt_Latn", "mlt_Latn", "mni_Beng", "mos_Latn", "mri_Latn",
        "mya_Mymr", "nld_Latn", "nno_Latn", "nob_Latn", "npi_Deva", "nso_Latn", "nus_Latn",
        "nya_Latn", "oci_Latn", "ory_Orya", "pag_Latn", "pan_Guru", "pap_Latn", "pes_Arab",
        "pol_Latn", "por_Latn", "prs_Arab", "pbt_Arab", "quy_Latn", "ron_Latn", "run_Latn",
        "rus_Cyrl", "sag_Latn", "san_Deva", "sat_Olck", "scn_Latn", "shn_Mymr", "sin_Sinh",
        "slk_Latn", "slv_Latn", "smo_Latn", "sna_Latn", "snd_Arab", "som_Latn", "sot_Latn",
        "spa_Latn", "als_Latn", "srd_Latn", "srp_Cyrl", "ssw_Latn", "sun_Latn", "swe_Latn",
        "swh_Latn", "szl_Latn", "tam_Taml", "tat_Cyrl", "tel_Telu", "tgk_Cyrl", "tgl_Latn",
        "tha_Thai", "tir_Ethi", "taq_Latn", "taq_Tfng", "tpi_Latn", "tsn_Latn", "tso_Latn",
        "tuk_Latn", "tum_Latn", "tur_Latn", "twi_Latn", "tzm_Tfng", "uig_Arab", "ukr_Cyrl",
        "umb_Latn", "urd_Arab", "uzn_Latn", "vec_Latn", "vie_Latn", "war_Latn", "wol_Latn",
        "xho_Latn", "ydd_Hebr", "yor_Latn", "yue_Hant", "zho_Hans", "zho_Hant", "zsm_Latn",
        "zul_Latn"};
    std::set<std::string> labels;
    for (const char *code : flores) {
        auto label = tryNormaliseLanguage(code);
        ASSERT_TRUE(label.has_value()) << code;
        EXPECT_TRUE(labels.insert(*label).second) << code << " collides on " << *label;
    }
    EXPECT_EQ(labels.size(), std::size(flores));
    // Labels are themselves valid codes that map to themselves.
    for (const auto &label : labels)
        EXPECT_EQ(normaliseLanguage(label), label);
}

TEST(LanguageCodes, Iso639_1TableIsCompleteAndSelfConsistent)
{
    const auto codes = knownIso639_1Codes();
    EXPECT_GE(codes.size(), 183u);
    for (const auto &code : codes) {
        EXPECT_EQ(normaliseLanguage(code), code);
        const auto info = languageInfo(code);
        EXPECT_EQ(info.iso639_3.size(), 3u) << code;
        // The 639-3 code leads back to the same label.
        EXPECT_EQ(normaliseLanguage(info.iso639_3), code) << info.iso639_3;
    }
}

TEST(LanguageCodes, EnglishNamesMatchTheStudysPrompts)
{
    // intervention/vllm_intervention_flores.py FLORES_TO_LANG
    EXPECT_EQ(languageEnglishName("ar"), "Arabic");
    EXPECT_EQ(languageEnglishName("bn"), "Bengali");
    EXPECT_EQ(languageEnglishName("de"), "German");
    EXPECT_EQ(languageEnglishName("es"), "Spanish");
    EXPECT_EQ(languageEnglishName("fr"), "French");
    EXPECT_EQ(languageEnglishName("ja"), "Japanese");
    EXPECT_EQ(languageEnglishName("ko"), "Korean");
    EXPECT_EQ(languageEnglishName("sw"), "Swahili");
    EXPECT_EQ(languageEnglishName("en"), "English");
    EXPECT_EQ(languageEnglishName("zh"), "Chinese");
    EXPECT_EQ(languageEnglishName("zho_Hant"), "Chinese (Traditional)");
    EXPECT_EQ(languageInfo("swh_Latn").iso639_3, "swh");
    EXPECT_EQ(languageInfo("zh-Hant").script, "Hant");
    EXPECT_EQ(languageInfo("zh").script, "Hans");
}
