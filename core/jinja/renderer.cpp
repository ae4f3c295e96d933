#include "core/jinja/renderer.h"

#include "core/common/error.h"
#include "core/common/utf8.h"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <ctime>
#include <functional>
#include <limits>
#include <map>
#include <optional>

namespace moescope::jinja::detail {

Renderer::Renderer(const Json &variables)
{
    m_frames.push_back(std::make_shared<ValueMap>());
    for (auto it = variables.begin(); it != variables.end(); ++it)
        (*m_frames[0])[it.key()] = Value::of(it.value());
    m_frames.push_back(std::make_shared<ValueMap>()); // the template's own variables
}

void Renderer::run(const Body &body, std::string &out)
{
    for (const auto &n : body)
        exec(*n, out);
}

Value Renderer::lookup(const std::string &name) const
{
    for (auto it = m_frames.rbegin(); it != m_frames.rend(); ++it) {
        const auto f = (*it)->find(name);
        if (f != (*it)->end())
            return f->second;
    }
    static const char *const kGlobals[] = {"range", "namespace", "raise_exception", "strftime_now", "dict"};
    for (const char *g : kGlobals)
        if (name == g)
            return Value::builtin(g);
    return {};
}

void Renderer::exec(const Node &n, std::string &out)
{
    switch (n.kind) {
    case Node::Kind::Text: out += n.text; return;
    case Node::Kind::Output: out += str(eval(*n.expr)); return;
    case Node::Kind::If:
        for (const auto &[cond, body] : n.branches)
            if (truthy(eval(*cond))) {
                run(body, out);
                return;
            }
        run(n.elseBody, out);
        return;
    case Node::Kind::For: execFor(n, out); return;
    case Node::Kind::Set: {
        Value v = eval(*n.expr);
        setTarget(n, std::move(v));
        return;
    }
    case Node::Kind::SetBlock: {
        std::string captured;
        run(n.body, captured);
        setTarget(n, Value::of(captured));
        return;
    }
    case Node::Kind::Macro: {
        auto def = std::make_shared<MacroDef>();
        def->name = n.targets[0];
        def->params = n.params;
        def->body = n.body;
        Value v;
        v.kind = Value::Kind::Macro;
        v.macro = def;
        assign(def->name, v);
        return;
    }
    case Node::Kind::Break: throw LoopControl {true};
    case Node::Kind::Continue: throw LoopControl {false};
    case Node::Kind::Scope: run(n.body, out); return;
    }
}

void Renderer::setTarget(const Node &n, Value v)
{
    if (n.targets.size() == 1) {
        assign(n.targets[0], std::move(v));
        return;
    }
    const auto ns = lookup(n.targets[0]);
    if (ns.kind != Value::Kind::Namespace)
        fail(n.line, "can't set '" + n.targets[1] + "' on '" + n.targets[0] + "': it is not a namespace");
    (*ns.fields)[n.targets[1]] = std::move(v);
}

std::vector<Value> Renderer::iterate(const Value &v, int line)
{
    std::vector<Value> items;
    if (v.isUndefined())
        return items; // Jinja iterates an undefined value as empty
    if (!v.isData())
        fail(line, "a " + typeName(v) + " is not iterable");
    const auto &d = v.data;
    if (d.is_array()) {
        for (const auto &x : d)
            items.push_back(Value::of(x));
    } else if (d.is_object()) {
        for (auto it = d.begin(); it != d.end(); ++it)
            items.push_back(Value::of(it.key()));
    } else if (d.is_string()) {
        for (const char32_t c : toU32(d.get<std::string>()))
            items.push_back(Value::of(toU8(std::u32string(1, c))));
    } else {
        fail(line, "a " + typeName(v) + " is not iterable");
    }
    return items;
}

void Renderer::execFor(const Node &n, std::string &out)
{
    auto items = iterate(eval(*n.expr), n.line);
    if (n.filter) {
        std::vector<Value> kept;
        for (auto &item : items) {
            m_frames.push_back(std::make_shared<ValueMap>());
            bindTargets(n, item);
            const bool keep = truthy(eval(*n.filter));
            m_frames.pop_back();
            if (keep)
                kept.push_back(std::move(item));
        }
        items = std::move(kept);
    }
    if (items.empty()) {
        run(n.elseBody, out);
        return;
    }
    const auto len = static_cast<std::int64_t>(items.size());
    for (std::int64_t i = 0; i < len; ++i) {
        m_frames.push_back(std::make_shared<ValueMap>());
        bindTargets(n, items[static_cast<std::size_t>(i)]);
        Json loop = Json::object();
        loop["index"] = i + 1;
        loop["index0"] = i;
        loop["revindex"] = len - i;
        loop["revindex0"] = len - i - 1;
        loop["first"] = i == 0;
        loop["last"] = i == len - 1;
        loop["length"] = len;
        loop["depth"] = 1;
        loop["depth0"] = 0;
        if (i > 0)
            loop["previtem"] = toJson(items[static_cast<std::size_t>(i - 1)], "loop.previtem");
        if (i + 1 < len)
            loop["nextitem"] = toJson(items[static_cast<std::size_t>(i + 1)], "loop.nextitem");
        assign("loop", Value::of(loop));
        bool stop = false;
        try {
            run(n.body, out);
        } catch (const LoopControl &c) {
            stop = c.isBreak;
        }
        m_frames.pop_back();
        if (stop)
            break;
    }
}

void Renderer::bindTargets(const Node &n, const Value &item)
{
    if (n.targets.size() == 1) {
        assign(n.targets[0], item);
        return;
    }
    if (!item.isData() || !item.data.is_array() || item.data.size() != n.targets.size())
        fail(n.line, "can't unpack a " + typeName(item) + " into " + std::to_string(n.targets.size())
                         + " loop variables");
    for (std::size_t k = 0; k < n.targets.size(); ++k)
        assign(n.targets[k], Value::of(item.data[k]));
}

Value Renderer::eval(const Expr &e)
{
    switch (e.kind) {
    case Expr::Kind::Literal: return Value::of(e.literal);
    case Expr::Kind::Name: return lookup(e.name);
    case Expr::Kind::Attribute: return attribute(eval(*e.args[0]), e.name, e.line);
    case Expr::Kind::Item: return item(eval(*e.args[0]), eval(*e.args[1]), e.line);
    case Expr::Kind::Slice: return slice(e);
    case Expr::Kind::Call: return call(e);
    case Expr::Kind::Filter: return filter(e);
    case Expr::Kind::Test: {
        const bool r = test(e);
        return Value::of(e.negated ? !r : r);
    }
    case Expr::Kind::Unary: {
        const Value v = eval(*e.args[0]);
        if (e.name == "not")
            return Value::of(!truthy(v));
        if (!v.isNumber())
            fail(e.line, "bad operand type for unary " + e.name + ": " + typeName(v));
        if (e.name == "+")
            return v;
        return v.data.is_number_float() ? Value::of(-v.data.get<double>())
                                        : Value::of(-v.data.get<std::int64_t>());
    }
    case Expr::Kind::Binary: return binary(e);
    case Expr::Kind::Conditional:
        if (truthy(eval(*e.args[1])))
            return eval(*e.args[0]);
        return e.args[2] ? eval(*e.args[2]) : Value();
    case Expr::Kind::List:
    case Expr::Kind::Tuple: {
        Json a = Json::array();
        for (const auto &x : e.args)
            a.push_back(toJsonAt(eval(*x), e.line));
        return Value::of(a);
    }
    case Expr::Kind::Dict: {
        Json o = Json::object();
        for (std::size_t i = 0; i + 1 < e.args.size(); i += 2) {
            const Value k = eval(*e.args[i]);
            if (!k.isString())
                fail(e.line, "dictionary keys must be strings here");
            o[k.data.get<std::string>()] = toJsonAt(eval(*e.args[i + 1]), e.line);
        }
        return Value::of(o);
    }
    }
    return {};
}

Json Renderer::toJsonAt(const Value &v, int line)
{
    if (v.isUndefined())
        fail(line, "an undefined value can't be stored");
    try {
        return toJson(v, "value");
    } catch (const std::runtime_error &ex) {
        fail(line, ex.what());
    }
}

bool Renderer::isStringMethod(const std::string &n)
{
    static const char *const kMethods[] = {"startswith", "endswith", "strip",   "lstrip",     "rstrip",
                                           "split",      "rsplit",   "upper",   "lower",      "replace",
                                           "title",      "capitalize", "find",  "rfind",      "count",
                                           "join",       "isdigit",  "isalpha", "isspace",    "isalnum",
                                           "isupper",    "islower",  "splitlines", "format", "removeprefix",
                                           "removesuffix", "index"};
    return std::find_if(std::begin(kMethods), std::end(kMethods), [&](const char *m) { return n == m; })
        != std::end(kMethods);
}

Value Renderer::attribute(const Value &obj, const std::string &name, int line)
{
    if (obj.isUndefined()) // Jinja's default Undefined refuses attribute access
        fail(line, "can't read '" + name + "' of an undefined value");
    if (obj.kind == Value::Kind::Namespace) {
        const auto f = obj.fields->find(name);
        return f == obj.fields->end() ? Value() : f->second;
    }
    if (!obj.isData())
        return {};
    const auto &d = obj.data;
    if (d.is_object()) {
        if (name == "items" || name == "keys" || name == "values" || name == "get")
            return Value::builtin("dict." + name, std::make_shared<Value>(obj));
        const auto f = d.find(name);
        return f == d.end() ? Value() : Value::of(*f);
    }
    if (d.is_string() && isStringMethod(name))
        return Value::builtin("str." + name, std::make_shared<Value>(obj));
    return {};
}

Value Renderer::item(const Value &obj, const Value &key, int line)
{
    if (obj.isUndefined())
        fail(line, "can't index an undefined value");
    if (obj.kind == Value::Kind::Namespace && key.isString())
        return attribute(obj, key.data.get<std::string>(), line);
    if (!obj.isData())
        return {};
    const auto &d = obj.data;
    if (d.is_object()) {
        if (!key.isString())
            return {};
        const auto f = d.find(key.data.get<std::string>());
        return f == d.end() ? Value() : Value::of(*f);
    }
    if ((d.is_array() || d.is_string()) && key.isData() && key.data.is_number_integer()) {
        auto i = key.data.get<std::int64_t>();
        if (d.is_array()) {
            const auto n = static_cast<std::int64_t>(d.size());
            if (i < 0)
                i += n;
            return i >= 0 && i < n ? Value::of(d[static_cast<std::size_t>(i)]) : Value();
        }
        const auto u = toU32(d.get<std::string>());
        const auto n = static_cast<std::int64_t>(u.size());
        if (i < 0)
            i += n;
        return i >= 0 && i < n ? Value::of(toU8(u.substr(static_cast<std::size_t>(i), 1))) : Value();
    }
    if (key.isString())
        return attribute(obj, key.data.get<std::string>(), line);
    return {};
}

std::optional<std::int64_t> Renderer::optionalInt(const ExprPtr &e, int line)
{
    if (!e)
        return std::nullopt;
    const Value v = eval(*e);
    if (v.isNone())
        return std::nullopt;
    if (!v.isData() || !v.data.is_number_integer())
        fail(line, "slice indices must be integers");
    return v.data.get<std::int64_t>();
}

Value Renderer::slice(const Expr &e)
{
    const Value obj = eval(*e.args[0]);
    const auto start = optionalInt(e.args[1], e.line);
    const auto stop = optionalInt(e.args[2], e.line);
    const auto step = optionalInt(e.args[3], e.line).value_or(1);
    if (step == 0)
        fail(e.line, "slice step cannot be zero");
    if (!obj.isData() || !(obj.data.is_array() || obj.data.is_string()))
        fail(e.line, "a " + typeName(obj) + " can't be sliced");
    std::int64_t b = 0, en = 0;
    if (obj.data.is_array()) {
        sliceIndices(static_cast<std::int64_t>(obj.data.size()), start, stop, step, b, en);
        Json out = Json::array();
        for (auto i = b; step > 0 ? i < en : i > en; i += step)
            out.push_back(obj.data[static_cast<std::size_t>(i)]);
        return Value::of(out);
    }
    const auto u = toU32(obj.data.get<std::string>());
    sliceIndices(static_cast<std::int64_t>(u.size()), start, stop, step, b, en);
    std::u32string out;
    for (auto i = b; step > 0 ? i < en : i > en; i += step)
        out += u[static_cast<std::size_t>(i)];
    return Value::of(toU8(out));
}

bool Renderer::equal(const Value &a, const Value &b)
{
    if (a.kind != Value::Kind::Data || b.kind != Value::Kind::Data)
        return a.kind == b.kind && a.kind == Value::Kind::Undefined;
    if (isNumeric(a) && isNumeric(b))
        return numOf(a) == numOf(b);
    return a.data == b.data;
}

bool Renderer::contains(const Value &container, const Value &needle, int line)
{
    if (container.isString()) {
        if (!needle.isString())
            fail(line, "'in <string>' needs a string on the left, not " + typeName(needle));
        return container.data.get<std::string>().find(needle.data.get<std::string>()) != std::string::npos;
    }
    if (container.isData() && container.data.is_array()) {
        for (const auto &x : container.data)
            if (equal(Value::of(x), needle))
                return true;
        return false;
    }
    if (container.isData() && container.data.is_object())
        return needle.isString() && container.data.contains(needle.data.get<std::string>());
    if (container.kind == Value::Kind::Namespace)
        return needle.isString() && container.fields->count(needle.data.get<std::string>());
    if (container.isUndefined())
        return false; // iterates as empty
    fail(line, "argument of type '" + typeName(container) + "' is not iterable");
}

Value Renderer::binary(const Expr &e)
{
    const auto &op = e.name;
    if (op == "and") {
        Value a = eval(*e.args[0]);
        return truthy(a) ? eval(*e.args[1]) : a;
    }
    if (op == "or") {
        Value a = eval(*e.args[0]);
        return truthy(a) ? a : eval(*e.args[1]);
    }
    const Value a = eval(*e.args[0]);
    const Value b = eval(*e.args[1]);
    if (op == "~")
        return Value::of(str(a) + str(b));
    if (op == "==")
        return Value::of(equal(a, b));
    if (op == "!=")
        return Value::of(!equal(a, b));
    if (op == "in")
        return Value::of(contains(b, a, e.line));
    if (op == "not in")
        return Value::of(!contains(b, a, e.line));
    const auto bad = [&]() -> Value {
        fail(e.line, "unsupported operand types for " + op + ": '" + typeName(a) + "' and '" + typeName(b) + "'");
    };
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
        int c = 0;
        if (isNumeric(a) && isNumeric(b))
            c = numOf(a) < numOf(b) ? -1 : numOf(a) > numOf(b) ? 1 : 0;
        else if (a.isString() && b.isString())
            c = toU32(a.data.get<std::string>()).compare(toU32(b.data.get<std::string>()));
        else
            bad();
        return Value::of(op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0);
    }
    if (op == "+") {
        if (a.isString() && b.isString())
            return Value::of(a.data.get<std::string>() + b.data.get<std::string>());
        if (a.isData() && b.isData() && a.data.is_array() && b.data.is_array()) {
            Json out = a.data;
            for (const auto &x : b.data)
                out.push_back(x);
            return Value::of(out);
        }
    }
    if (op == "*") {
        if ((a.isString() || (a.isData() && a.data.is_array())) && isInt(b)) {
            Json out = a.isString() ? Json(std::string()) : Json::array();
            for (std::int64_t i = 0; i < intOf(b); ++i)
                if (a.isString())
                    out = out.get<std::string>() + a.data.get<std::string>();
                else
                    for (const auto &x : a.data)
                        out.push_back(x);
            return Value::of(out);
        }
    }
    if (!isNumeric(a) || !isNumeric(b))
        return bad();
    const bool ints = isInt(a) && isInt(b);
    if (op == "/") {
        if (numOf(b) == 0)
            fail(e.line, "division by zero");
        return Value::of(numOf(a) / numOf(b));
    }
    if (ints) {
        const auto x = intOf(a), y = intOf(b);
        if (op == "+") return Value::of(x + y);
        if (op == "-") return Value::of(x - y);
        if (op == "*") return Value::of(x * y);
        if (op == "//" || op == "%") {
            if (y == 0)
                fail(e.line, "integer division or modulo by zero");
            std::int64_t q = x / y, r = x % y;
            if (r != 0 && ((r < 0) != (y < 0))) {
                --q;
                r += y;
            }
            return Value::of(op == "//" ? q : r);
        }
        if (op == "**") {
            if (y >= 0) {
                std::int64_t r = 1;
                for (std::int64_t i = 0; i < y; ++i)
                    r *= x;
                return Value::of(r);
            }
            return Value::of(std::pow(static_cast<double>(x), static_cast<double>(y)));
        }
    }
    const double x = numOf(a), y = numOf(b);
    if (op == "+") return Value::of(x + y);
    if (op == "-") return Value::of(x - y);
    if (op == "*") return Value::of(x * y);
    if (op == "**") return Value::of(std::pow(x, y));
    if (op == "//" || op == "%") {
        if (y == 0)
            fail(e.line, "float division or modulo by zero");
        const double q = std::floor(x / y);
        return Value::of(op == "//" ? q : x - q * y);
    }
    return bad();
}

Renderer::Args Renderer::evalArgs(const Expr &e, std::size_t skip)
{
    Args a;
    for (std::size_t i = skip; i < e.args.size(); ++i)
        a.positional.push_back(eval(*e.args[i]));
    for (const auto &[k, v] : e.kwargs)
        a.named[k] = eval(*v);
    return a;
}

std::string Renderer::stringArg(const Value &v, int line, const std::string &what)
{
    if (!v.isString())
        fail(line, what + " must be a string, not " + typeName(v));
    return v.data.get<std::string>();
}

Value Renderer::call(const Expr &e)
{
    const Value callee = eval(*e.args[0]);
    const Args args = evalArgs(e, 1);
    if (callee.kind == Value::Kind::Macro)
        return callMacro(*callee.macro, args, e.line);
    if (callee.kind != Value::Kind::Function)
        fail(e.line, "'" + describe(*e.args[0]) + "' is " + (callee.isUndefined() ? "undefined" : "not callable"));
    return callBuiltin(callee, args, e.line);
}

std::string Renderer::describe(const Expr &e)
{
    if (e.kind == Expr::Kind::Name)
        return e.name;
    if (e.kind == Expr::Kind::Attribute)
        return describe(*e.args[0]) + "." + e.name;
    return "expression";
}

Value Renderer::callMacro(const MacroDef &m, const Args &args, int line)
{
    // Macros see the template's globals and their own parameters, not the
    // caller's loop variables (Jinja's scoping).
    Frames saved = std::move(m_frames);
    m_frames = {saved[0], saved[1], std::make_shared<ValueMap>()};
    std::string out;
    try {
        for (std::size_t i = 0; i < m.params.size(); ++i) {
            const auto &[name, deflt] = m.params[i];
            Value v = args.get(i, name.c_str());
            if (v.isUndefined() && deflt)
                v = eval(*deflt);
            assign(name, v);
        }
        if (args.positional.size() > m.params.size())
            fail(line, "macro '" + m.name + "' takes " + std::to_string(m.params.size()) + " arguments");
        run(m.body, out);
    } catch (...) {
        m_frames = std::move(saved);
        throw;
    }
    m_frames = std::move(saved);
    return Value::of(out);
}

} // namespace moescope::jinja::detail
