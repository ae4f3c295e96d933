#include "core/experiments/chat_format.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"
#include "core/jinja/jinja_template.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace moescope::experiments {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::string templateFromConfig(const Json &config)
{
    if (!config.is_object() || !config.contains("chat_template"))
        return {};
    const auto &t = config["chat_template"];
    if (t.is_string())
        return t.get<std::string>();
    if (t.is_array()) {
        std::string first;
        for (const auto &named : t) {
            if (!named.is_object() || !named.contains("template") || !named["template"].is_string())
                continue;
            const auto body = named["template"].get<std::string>();
            if (named.value("name", std::string()) == "default")
                return body;
            if (first.empty())
                first = body;
        }
        return first;
    }
    return {};
}

// Special tokens are plain strings or AddedToken objects {"content": ...}.
std::string tokenText(const Json &v)
{
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string())
        return v["content"].get<std::string>();
    return {};
}

ChatFormat formatFrom(const std::string &tmpl, const Json &specials, const std::string &source)
{
    ChatFormat f;
    f.source = source;
    if (tmpl.empty()) {
        f.unsupportedReason = "the model has no chat template";
        return f;
    }
    try {
        f.tmpl = std::make_shared<const jinja::Template>(jinja::Template::parse(tmpl, source));
    } catch (const Error &e) {
        f.unsupportedReason = std::string("its chat template can't be used: ") + e.what();
        return f;
    }
    f.supported = true;
    f.variablesJson = specials.dump();
    for (const char *marker : {"<|im_end|>", "<|end|>", "<|eot_id|>", "<end_of_turn>"})
        if (tmpl.find(marker) != std::string::npos)
            f.endOfTurn.emplace_back(marker);
    if (specials.contains("eos_token"))
        f.endOfTurn.push_back(specials["eos_token"].get<std::string>());
    return f;
}

} // namespace

std::string ChatFormat::wrapUserMessage(const std::string &text) const
{
    if (!supported || !tmpl)
        throw Error(source, unsupportedReason);
    auto variables = variablesJson.empty() ? Json::object() : Json::parse(variablesJson);
    variables["messages"] = Json::array({Json {{"role", "user"}, {"content", text}}});
    variables["add_generation_prompt"] = true;
    variables["enable_thinking"] = false;
    return tmpl->render(variables);
}

ChatFormat chatFormatFromTemplate(const std::string &chatTemplate, const std::string &bosToken,
                                  const std::string &eosToken)
{
    Json specials = Json::object();
    if (!bosToken.empty())
        specials["bos_token"] = bosToken;
    if (!eosToken.empty())
        specials["eos_token"] = eosToken;
    return formatFrom(chatTemplate, specials, "chat template");
}

ChatFormat chatFormatOf(const std::string &modelDir)
{
    const fs::path dir(modelDir);
    std::string tmpl, source;
    Json specials = Json::object();
    try {
        const auto configPath = dir / "tokenizer_config.json";
        if (fs::exists(configPath)) {
            const auto config = Json::parse(readFile(configPath.string()), nullptr, false);
            if (config.is_discarded())
                throw Error(configPath.string(), "not valid JSON");
            tmpl = templateFromConfig(config);
            source = configPath.string();
            for (const char *name : {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token",
                                     "mask_token"})
                if (config.contains(name))
                    if (const auto t = tokenText(config[name]); !t.empty())
                        specials[name] = t;
        }
        // Newer checkpoints keep the template in its own file.
        if (tmpl.empty() && fs::exists(dir / "chat_template.jinja")) {
            source = (dir / "chat_template.jinja").string();
            tmpl = readFile(source);
        }
        if (tmpl.empty() && fs::exists(dir / "chat_template.json")) {
            source = (dir / "chat_template.json").string();
            const auto j = Json::parse(readFile(source), nullptr, false);
            if (j.is_discarded())
                throw Error(source, "not valid JSON");
            tmpl = templateFromConfig(j);
        }
    } catch (const Error &e) {
        ChatFormat f;
        f.unsupportedReason = e.what();
        return f;
    }
    auto f = formatFrom(tmpl, specials, source.empty() ? modelDir : source);
    if (!f.supported)
        f.unsupportedReason = modelDir + ": " + f.unsupportedReason;
    return f;
}

} // namespace moescope::experiments
