// The chat-template renderer against Jinja2 itself: expected.json holds what
// Jinja2, configured as transformers configures it, renders for real model
// templates and for templates that exercise each supported feature
// (tests/data/chat_templates/make_expected.py regenerates it).

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/jinja/jinja_template.h"

#include <gtest/gtest.h>

#include <map>

namespace moescope {
namespace {

using Json = nlohmann::ordered_json;

const std::string kData = std::string(MOESCOPE_TEST_DATA) + "/";

std::map<std::string, std::string> referenceTemplates()
{
    std::map<std::string, std::string> out;
    for (const char *name : {"qwen3", "deepseek_v3"})
        out[name] = Json::parse(readFile(kData + "tokenizers/" + name + "/tokenizer_config.json"))["chat_template"];
    const auto models = Json::parse(readFile(kData + "chat_templates/model_templates.json"));
    for (const auto &[name, entry] : models.items())
        out[name] = entry["template"];
    const auto features = Json::parse(readFile(kData + "chat_templates/features.json"));
    for (const auto &[name, text] : features.items())
        out["feature:" + name] = text;
    return out;
}

TEST(JinjaTemplate, RendersWhatJinja2RendersForEveryReferenceCase)
{
    const auto templates = referenceTemplates();
    const auto expected = Json::parse(readFile(kData + "chat_templates/expected.json"));
    ASSERT_GE(expected["cases"].size(), 50u);
    int errors = 0;
    for (const auto &c : expected["cases"]) {
        const std::string name = c["template"];
        SCOPED_TRACE(name + " / " + c["context"].get<std::string>());
        ASSERT_TRUE(templates.count(name));
        const auto tmpl = jinja::Template::parse(templates.at(name), name);
        if (c.contains("error")) {
            ++errors;
            EXPECT_THROW(tmpl.render(c["variables"]), Error) << c["error"];
            continue;
        }
        EXPECT_EQ(tmpl.render(c["variables"]), c["expected"].get<std::string>());
    }
    EXPECT_GE(errors, 10); // the raising cases are covered too
}

TEST(JinjaTemplate, RaisedExceptionsKeepTheTemplatesMessage)
{
    const auto tmpl = jinja::Template::parse("{{ raise_exception('roles must alternate') }}", "t.jinja");
    try {
        tmpl.render(Json::object());
        FAIL() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.file(), "t.jinja");
        EXPECT_NE(e.reason().find("roles must alternate"), std::string::npos) << e.reason();
    }
}

TEST(JinjaTemplate, SyntaxErrorsNameTheLine)
{
    for (const std::string bad : {"a\n{% if x %}unclosed", "x\ny\n{{ 1 + }}", "{% for %}{% endfor %}",
                                  "{{ 'unterminated }}", "{% frobnicate %}", "{{ a | }}"}) {
        try {
            jinja::Template::parse(bad, "bad.jinja");
            ADD_FAILURE() << "accepted: " << bad;
        } catch (const Error &e) {
            EXPECT_EQ(e.file(), "bad.jinja");
            EXPECT_EQ(e.reason().rfind("line ", 0), 0u) << e.reason();
        }
    }
    try {
        jinja::Template::parse("x\ny\n{{ 1 + }}", "bad.jinja");
    } catch (const Error &e) {
        EXPECT_EQ(e.reason().rfind("line 3:", 0), 0u) << e.reason();
    }
}

TEST(JinjaTemplate, UnsupportedFiltersAreErrorsNotSilentOutput)
{
    const auto tmpl = jinja::Template::parse("{{ 'x' | wordwrap(3) }}");
    EXPECT_THROW(tmpl.render(Json::object()), Error);
}

} // namespace
} // namespace moescope
