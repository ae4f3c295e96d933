#include "core/model/tokenizer/tokenizer_json.h"

#include "core/common/error.h"

#include <nlohmann/json.hpp>

namespace moescope::tokenizer {

const std::string &requireString(const nlohmann::json &spec, const char *key,
                                 const std::string &file, const std::string &section)
{
    if (!spec.is_object() || !spec.contains(key) || !spec[key].is_string())
        throw Error(file, section + ": missing string field '" + key + "'");
    return spec[key].get_ref<const std::string &>();
}

const nlohmann::json &requireArray(const nlohmann::json &spec, const char *key,
                                   const std::string &file, const std::string &section)
{
    if (!spec.is_object() || !spec.contains(key) || !spec[key].is_array())
        throw Error(file, section + ": missing array field '" + key + "'");
    return spec[key];
}

bool optionalBool(const nlohmann::json &spec, const char *key, bool fallback)
{
    if (!spec.is_object() || !spec.contains(key) || !spec[key].is_boolean())
        return fallback;
    return spec[key].get<bool>();
}

std::optional<std::string> optionalString(const nlohmann::json &spec, const char *key)
{
    if (!spec.is_object() || !spec.contains(key) || !spec[key].is_string())
        return std::nullopt;
    return spec[key].get<std::string>();
}

TextPattern TextPattern::literal(std::string text)
{
    TextPattern p;
    p.m_literal = std::move(text);
    return p;
}

std::vector<ByteRange> TextPattern::findAll(std::string_view text) const
{
    if (m_regex)
        return m_regex->findAll(text);
    std::vector<ByteRange> matches;
    if (m_literal.empty())
        return matches;
    std::size_t pos = 0;
    while ((pos = text.find(m_literal, pos)) != std::string_view::npos) {
        matches.push_back({pos, pos + m_literal.size()});
        pos += m_literal.size();
    }
    return matches;
}

TextPattern parseTextPattern(const nlohmann::json &spec, const std::string &file,
                             const std::string &section)
{
    if (spec.is_object() && spec.contains("String") && spec["String"].is_string())
        return TextPattern::literal(spec["String"].get<std::string>());
    if (spec.is_object() && spec.contains("Regex") && spec["Regex"].is_string()) {
        TextPattern p;
        p.m_regex.emplace(spec["Regex"].get<std::string>(), file);
        return p;
    }
    throw Error(file, section + ": pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

} // namespace moescope::tokenizer

namespace moescope::tokenizer {

namespace {

// SAX handler that builds the JSON tree like nlohmann's own DOM parser,
// except for model.vocab (object of token -> id) and model.merges (array of
// "a b" strings or ["a", "b"] pairs), which it collects into vectors.
class TokenizerJsonHandler final : public nlohmann::json_sax<nlohmann::json>
{
public:
    explicit TokenizerJsonHandler(TokenizerJsonDocument &doc) : m_doc(doc) {}

    std::string error;

    bool null() override { return value(nullptr); }
    bool boolean(bool v) override { return value(v); }
    bool number_integer(number_integer_t v) override
    {
        if (m_capture == Capture::Vocab)
            return vocabId(v);
        return value(v);
    }
    bool number_unsigned(number_unsigned_t v) override
    {
        if (m_capture == Capture::Vocab)
            return vocabId(v > static_cast<number_unsigned_t>(INT64_MAX) ? -1
                                                                          : static_cast<std::int64_t>(v));
        return value(v);
    }
    bool number_float(number_float_t v, const string_t &) override { return value(v); }
    bool binary(binary_t &) override { return fail("unexpected binary value"); }
    bool string(string_t &v) override
    {
        if (m_capture == Capture::Merges) {
            if (m_mergeDepth == 1) {
                m_mergeParts.push_back(std::move(v));
                return true;
            }
            const auto space = v.find(' ');
            if (space == std::string::npos)
                return fail("BPE model: merge " + std::to_string(m_doc.merges->size() + 1)
                            + " is not two tokens separated by a space");
            m_doc.merges->emplace_back(v.substr(0, space), v.substr(space + 1));
            return true;
        }
        if (m_capture == Capture::Vocab)
            return fail("BPE model: vocabulary ids must be integers");
        return value(std::move(v));
    }
    bool start_object(std::size_t) override
    {
        if (m_capture == Capture::Merges)
            return fail("BPE model: merge " + std::to_string(m_doc.merges->size() + 1)
                        + " is malformed");
        if (m_capture == Capture::Vocab)
            return fail("BPE model: vocabulary ids must be integers");
        if (inModelAt("vocab")) {
            m_capture = Capture::Vocab;
            m_doc.vocab.emplace();
            m_doc.vocab->reserve(1 << 16);
            return true;
        }
        return open(nlohmann::json::object());
    }
    bool key(string_t &k) override
    {
        m_key = std::move(k);
        return true;
    }
    bool end_object() override
    {
        if (m_capture == Capture::Vocab) {
            m_capture = Capture::None;
            return true;
        }
        m_stack.pop_back();
        m_stackKeys.pop_back();
        return true;
    }
    bool start_array(std::size_t) override
    {
        if (m_capture == Capture::Vocab)
            return fail("BPE model: vocabulary ids must be integers");
        if (m_capture == Capture::Merges) {
            if (m_mergeDepth != 0)
                return fail("BPE model: merge " + std::to_string(m_doc.merges->size() + 1)
                            + " is malformed");
            m_mergeDepth = 1;
            m_mergeParts.clear();
            return true;
        }
        if (inModelAt("merges")) {
            m_capture = Capture::Merges;
            m_doc.merges.emplace();
            m_doc.merges->reserve(1 << 16);
            return true;
        }
        return open(nlohmann::json::array());
    }
    bool end_array() override
    {
        if (m_capture == Capture::Merges) {
            if (m_mergeDepth == 1) {
                if (m_mergeParts.size() != 2)
                    return fail("BPE model: merge " + std::to_string(m_doc.merges->size() + 1)
                                + " is not a pair of tokens");
                m_doc.merges->emplace_back(std::move(m_mergeParts[0]), std::move(m_mergeParts[1]));
                m_mergeDepth = 0;
            } else {
                m_capture = Capture::None;
            }
            return true;
        }
        m_stack.pop_back();
        m_stackKeys.pop_back();
        return true;
    }
    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &e) override
    {
        error = std::string("malformed JSON: ") + e.what();
        return false;
    }

private:
    enum class Capture { None, Vocab, Merges };

    // True when the value about to start is member `name` of the top-level "model" object.
    bool inModelAt(const char *name) const
    {
        return m_stack.size() == 2 && m_stackKeys[1] == "model" && m_stack[1]->is_object()
            && m_key == name;
    }
    bool fail(std::string message)
    {
        error = std::move(message);
        return false;
    }
    bool vocabId(std::int64_t id)
    {
        if (id < 0 || id > INT32_MAX)
            return fail("BPE model: bad id for token '" + m_key + "'");
        m_doc.vocab->emplace_back(std::move(m_key), id);
        return true;
    }
    nlohmann::json *place(nlohmann::json v)
    {
        if (m_stack.empty()) {
            m_doc.spec = std::move(v);
            return &m_doc.spec;
        }
        nlohmann::json &parent = *m_stack.back();
        if (parent.is_array()) {
            parent.push_back(std::move(v));
            return &parent.back();
        }
        nlohmann::json &slot = parent[m_key];
        slot = std::move(v);
        return &slot;
    }
    template <typename T>
    bool value(T &&v)
    {
        if (m_capture == Capture::Merges)
            return fail("BPE model: merge " + std::to_string(m_doc.merges->size() + 1)
                        + " is malformed");
        if (m_capture == Capture::Vocab)
            return fail("BPE model: vocabulary ids must be integers");
        place(nlohmann::json(std::forward<T>(v)));
        return true;
    }
    bool open(nlohmann::json container)
    {
        const std::string enteredBy = !m_stack.empty() && m_stack.back()->is_object() ? m_key : "";
        m_stack.push_back(place(std::move(container)));
        m_stackKeys.push_back(enteredBy);
        return true;
    }

    TokenizerJsonDocument &m_doc;
    std::vector<nlohmann::json *> m_stack;
    std::vector<std::string> m_stackKeys; // key under which each open container sits
    std::string m_key;
    Capture m_capture = Capture::None;
    int m_mergeDepth = 0;
    std::vector<std::string> m_mergeParts;
};

} // namespace

TokenizerJsonDocument parseTokenizerJson(const std::string &text, const std::string &file)
{
    TokenizerJsonDocument doc;
    TokenizerJsonHandler handler(doc);
    if (!nlohmann::json::sax_parse(text, &handler) || !handler.error.empty())
        throw Error(file, handler.error.empty() ? "malformed JSON" : handler.error);
    return doc;
}

} // namespace moescope::tokenizer
