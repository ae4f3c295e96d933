#pragma once

// Runs a parsed template with the top-level variables: statements,
// expressions and calls (renderer.cpp), string and dict methods and the
// builtin globals (methods.cpp), filters and tests (filters.cpp).

#include "core/jinja/ast.h"
#include "core/jinja/value.h"

namespace moescope::jinja::detail {

// ------------------------------------------------------------------ evaluation

struct LoopControl
{
    bool isBreak;
};

class RenderError : public std::runtime_error
{
public:
    RenderError(int line, const std::string &what) : std::runtime_error(what), line(line) {}
    int line;
};

class Renderer
{
public:
    explicit Renderer(const Json &variables);

    void run(const Body &body, std::string &out);

private:
    using Frames = std::vector<std::shared_ptr<ValueMap>>;

    [[noreturn]] static void fail(int line, const std::string &what) { throw RenderError(line, what); }

    Value lookup(const std::string &name) const;

    void assign(const std::string &name, Value v) { (*m_frames.back())[name] = std::move(v); }

    // ---------------------------------------------------------- statements

    void exec(const Node &n, std::string &out);

    void setTarget(const Node &n, Value v);

    std::vector<Value> iterate(const Value &v, int line);

    void execFor(const Node &n, std::string &out);

    void bindTargets(const Node &n, const Value &item);

    // ---------------------------------------------------------- expressions

    Value eval(const Expr &e);

    Json toJsonAt(const Value &v, int line);

    static bool isStringMethod(const std::string &n);

    Value attribute(const Value &obj, const std::string &name, int line);

    Value item(const Value &obj, const Value &key, int line);

    std::optional<std::int64_t> optionalInt(const ExprPtr &e, int line);

    Value slice(const Expr &e);

    static double number(const Value &v) { return v.data.is_number_float() ? v.data.get<double>() : static_cast<double>(v.data.get<std::int64_t>()); }
    static bool isInt(const Value &v) { return v.isData() && (v.data.is_number_integer() || v.data.is_boolean()); }
    static std::int64_t intOf(const Value &v) { return v.data.is_boolean() ? v.data.get<bool>() : v.data.get<std::int64_t>(); }
    static bool isNumeric(const Value &v) { return v.isData() && (v.data.is_number() || v.data.is_boolean()); }
    static double numOf(const Value &v) { return v.data.is_boolean() ? (v.data.get<bool>() ? 1.0 : 0.0) : number(v); }

    static bool equal(const Value &a, const Value &b);

    bool contains(const Value &container, const Value &needle, int line);

    Value binary(const Expr &e);

    struct Args
    {
        std::vector<Value> positional;
        std::map<std::string, Value> named;
        Value get(std::size_t i, const char *name, Value deflt = {}) const
        {
            if (i < positional.size())
                return positional[i];
            const auto f = named.find(name);
            return f == named.end() ? deflt : f->second;
        }
    };

    Args evalArgs(const Expr &e, std::size_t skip);

    std::string stringArg(const Value &v, int line, const std::string &what);

    Value call(const Expr &e);

    static std::string describe(const Expr &e);

    Value callMacro(const MacroDef &m, const Args &args, int line);

    Value callBuiltin(const Value &f, const Args &args, int line);

    Value dictMethod(const std::string &m, const Json &d, const Args &args, int line);

    std::vector<std::string> pySplit(const std::string &s, const Value &sepV, std::int64_t maxSplit, int line);

    Value stringMethod(const std::string &m, const std::string &s, const Args &args, int line);

    static std::string replaceAll(const std::string &s, const std::string &from, const std::string &to, std::int64_t count);

    static std::string capitalise(const std::string &s, bool everyWord);

    Value attributeOrItem(const Value &v, const std::string &path, int line);

    Value filter(const Expr &e);

    bool test(const Expr &e);

    bool runTest(const std::string &t, const Value &v, const Args &args, int line);

    Frames m_frames;
};

} // namespace moescope::jinja::detail
