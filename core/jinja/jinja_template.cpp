#include "core/jinja/jinja_template.h"

#include "core/common/error.h"
#include "core/jinja/parser.h"
#include "core/jinja/renderer.h"

// Semantics follow Jinja 2.x/3.x as transformers configures it (see the
// header); where Jinja defers to Python (truthiness, ==, +, %, //, slicing,
// str(), repr()), this follows Python 3.

namespace moescope::jinja {

struct Template::Program
{
    std::string source;
    detail::Body body;
};

Template::Template(std::shared_ptr<const Program> program) : m_program(std::move(program)) {}

Template Template::parse(const std::string &text, const std::string &source)
{
    auto program = std::make_shared<Program>();
    program->source = source;
    try {
        program->body = detail::parseTemplate(detail::lex(text));
    } catch (const detail::SyntaxError &e) {
        throw Error(source, "line " + std::to_string(e.line) + ": " + e.what());
    }
    return Template(program);
}

std::string Template::render(const nlohmann::ordered_json &variables) const
{
    if (!variables.is_object())
        throw Error(m_program->source, "template variables must be an object");
    std::string out;
    try {
        detail::Renderer(variables).run(m_program->body, out);
    } catch (const detail::RenderError &e) {
        throw Error(m_program->source, "line " + std::to_string(e.line) + ": " + e.what());
    } catch (const detail::LoopControl &) {
        throw Error(m_program->source, "break or continue outside a loop");
    }
    return out;
}

const std::string &Template::source() const
{
    return m_program->source;
}

} // namespace moescope::jinja
