#include "core/experiments/chat_format.h"

#include "core/common/atomic_file.h"
#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace moescope::experiments {

namespace {

namespace fs = std::filesystem;

// The system message a Qwen2/Qwen2.5 template writes when the conversation
// has none, e.g. {{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}.
// It is a single quoted literal; Qwen3's system branch concatenates
// messages[0].content instead and therefore does not match.
std::string defaultSystemPrompt(const std::string &tmpl)
{
    const std::string open = "'<|im_start|>system\\n";
    const std::string close = "<|im_end|>\\n'";
    for (std::size_t at = tmpl.find(open); at != std::string::npos; at = tmpl.find(open, at + 1)) {
        const auto begin = at + open.size();
        const auto end = tmpl.find(close, begin);
        if (end == std::string::npos)
            break;
        const auto literal = tmpl.substr(begin, end - begin);
        if (literal.find('\'') != std::string::npos || literal.find('{') != std::string::npos)
            continue;
        // Undo the Jinja string escapes that can occur in a plain sentence.
        std::string text;
        for (std::size_t i = 0; i < literal.size(); ++i) {
            if (literal[i] == '\\' && i + 1 < literal.size()) {
                const char c = literal[++i];
                text += c == 'n' ? '\n' : c;
            } else {
                text += literal[i];
            }
        }
        return text;
    }
    return {};
}

std::string templateFromConfig(const fs::path &configPath)
{
    const auto config = nlohmann::json::parse(readFile(configPath.string()), nullptr, false);
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

} // namespace

std::string ChatFormat::wrapUserMessage(const std::string &text) const
{
    if (!supported)
        throw Error(unsupportedReason);
    std::string out;
    if (!defaultSystemPrompt.empty())
        out += "<|im_start|>system\n" + defaultSystemPrompt + "<|im_end|>\n";
    out += "<|im_start|>user\n" + text + "<|im_end|>\n<|im_start|>assistant\n";
    if (emptyThinkingBlock)
        out += "<think>\n\n</think>\n\n";
    return out;
}

ChatFormat chatFormatFromTemplate(const std::string &tmpl)
{
    ChatFormat f;
    if (tmpl.empty()) {
        f.unsupportedReason = "the model has no chat template";
        return f;
    }
    if (tmpl.find("<|im_start|>") == std::string::npos) {
        f.unsupportedReason = "the model's chat template is not ChatML (<|im_start|>); MoEScope applies "
                              "ChatML templates only (Jinja templates are not run)";
        return f;
    }
    f.supported = true;
    f.defaultSystemPrompt = defaultSystemPrompt(tmpl);
    f.emptyThinkingBlock = tmpl.find("enable_thinking") != std::string::npos;
    return f;
}

ChatFormat chatFormatOf(const std::string &modelDir)
{
    const fs::path dir(modelDir);
    std::string tmpl;
    try {
        if (fs::exists(dir / "tokenizer_config.json"))
            tmpl = templateFromConfig(dir / "tokenizer_config.json");
        if (tmpl.empty() && fs::exists(dir / "chat_template.jinja"))
            tmpl = readFile((dir / "chat_template.jinja").string());
    } catch (const Error &e) {
        ChatFormat f;
        f.unsupportedReason = e.what();
        return f;
    }
    auto f = chatFormatFromTemplate(tmpl);
    if (!f.supported)
        f.unsupportedReason = modelDir + ": " + f.unsupportedReason;
    return f;
}

} // namespace moescope::experiments
