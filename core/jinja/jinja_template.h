#pragma once

// The part of Jinja that Hugging Face chat templates use, run the way
// transformers runs them (ImmutableSandboxedEnvironment with trim_blocks,
// lstrip_blocks and the loopcontrols extension; tojson with json.dumps'
// separators and no ASCII escaping; raise_exception and strftime_now as
// globals). The study applied each model's own template, so prompts here are
// rendered from the template text, not re-typed per family.
//
// Supported: text, {{ }}, {% %}, {# #}, whitespace control (- and +);
// if/elif/else, for (tuple targets, `if` filter, else, loop.*), set (also
// namespace attributes and block set), macro with defaults, break/continue,
// generation blocks; Python-like values (none, bool, int, float, str, list,
// dict, namespace), operators, slicing, string/dict methods, the common
// filters and tests. Anything else is a parse or render error naming the
// line, never silently different output.
//
// The pieces (core/jinja): python_text (Python's string and number rules),
// value (template values), lexer, ast, parser, renderer (statements and
// expressions), methods (str/dict methods, globals), filters (and tests).

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace moescope::jinja {

class Template
{
public:
    // Throws Error(source, "line N: ...") for syntax errors.
    static Template parse(const std::string &text, const std::string &source = "chat template");

    // Renders with top-level variables (an object; key order is kept, as
    // Python dicts keep it). Throws Error(source, ...) for raise_exception
    // and for operations Jinja rejects (e.g. adding a string to a number).
    std::string render(const nlohmann::ordered_json &variables) const;

    const std::string &source() const;

    struct Program;

private:
    explicit Template(std::shared_ptr<const Program> program);
    std::shared_ptr<const Program> m_program;
};

} // namespace moescope::jinja
