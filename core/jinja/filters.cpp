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

Value Renderer::filter(const Expr &e)
{
    const Value v = eval(*e.args[0]);
    const Args args = evalArgs(e, 1);
    const auto &f = e.name;
    const int line = e.line;
    if (f == "length" || f == "count") {
        if (v.isString())
            return Value::of(static_cast<std::int64_t>(toU32(v.data.get<std::string>()).size()));
        if (v.isData() && (v.data.is_array() || v.data.is_object()))
            return Value::of(static_cast<std::int64_t>(v.data.size()));
        if (v.kind == Value::Kind::Namespace)
            return Value::of(static_cast<std::int64_t>(v.fields->size()));
        if (v.isUndefined())
            return Value::of(static_cast<std::int64_t>(0));
        fail(line, "object of type '" + typeName(v) + "' has no len()");
    }
    if (f == "string")
        return Value::of(str(v));
    if (f == "safe" || (f == "list" && v.isData() && v.data.is_array()))
        return v;
    if (f == "list") {
        Json out = Json::array();
        for (const auto &x : iterate(v, line))
            out.push_back(toJsonAt(x, line));
        return Value::of(out);
    }
    if (f == "trim") {
        const auto chars = args.get(0, "chars");
        return Value::of(pyStrip(str(v), chars.isString() ? std::optional(chars.data.get<std::string>()) : std::nullopt, true, true));
    }
    if (f == "upper" || f == "lower" || f == "title" || f == "capitalize")
        return stringMethod(f, str(v), {}, line);
    if (f == "replace") {
        Args a = args;
        return stringMethod("replace", str(v), a, line);
    }
    if (f == "tojson") {
        const auto indentV = args.get(0, "indent");
        std::optional<int> indent;
        if (isInt(indentV))
            indent = static_cast<int>(intOf(indentV));
        std::string out;
        dumpJson(toJsonAt(v, line), indent, 0, out);
        return Value::of(out);
    }
    if (f == "default" || f == "d") {
        const bool boolean = truthy(args.get(1, "boolean", Value::of(false)));
        if (v.isUndefined() || (boolean && !truthy(v)))
            return args.get(0, "default_value", Value::of(std::string()));
        return v;
    }
    if (f == "first" || f == "last") {
        const auto items = iterate(v, line);
        if (items.empty())
            return {};
        return f == "first" ? items.front() : items.back();
    }
    if (f == "reverse") {
        if (v.isString()) {
            auto u = toU32(v.data.get<std::string>());
            std::reverse(u.begin(), u.end());
            return Value::of(toU8(u));
        }
        auto items = iterate(v, line);
        Json out = Json::array();
        for (auto it = items.rbegin(); it != items.rend(); ++it)
            out.push_back(toJsonAt(*it, line));
        return Value::of(out);
    }
    if (f == "join") {
        const auto sep = args.get(0, "d", Value::of(std::string()));
        const auto attr = args.get(1, "attribute");
        std::string out;
        bool first = true;
        for (const auto &x : iterate(v, line)) {
            out += (first ? "" : str(sep)) + str(attr.isString() ? attributeOrItem(x, attr.data.get<std::string>(), line) : x);
            first = false;
        }
        return Value::of(out);
    }
    if (f == "items") {
        if (v.isUndefined())
            return Value::of(Json::array());
        if (!v.isData() || !v.data.is_object())
            fail(line, "the items filter needs a mapping, not " + typeName(v));
        return dictMethod("items", v.data, {}, line);
    }
    if (f == "int" || f == "float") {
        double x = 0;
        bool ok = true;
        if (isNumeric(v))
            x = numOf(v);
        else if (v.isString()) {
            try {
                std::size_t used = 0;
                const auto s = pyStrip(v.data.get<std::string>(), std::nullopt, true, true);
                x = std::stod(s, &used);
                ok = used == s.size();
            } catch (...) {
                ok = false;
            }
        } else
            ok = false;
        if (!ok)
            return args.get(0, "default", f == "int" ? Value::of(static_cast<std::int64_t>(0)) : Value::of(0.0));
        return f == "int" ? Value::of(static_cast<std::int64_t>(std::trunc(x))) : Value::of(x);
    }
    if (f == "abs") {
        if (!isNumeric(v))
            fail(line, "bad operand type for abs(): " + typeName(v));
        return isInt(v) ? Value::of(std::llabs(intOf(v))) : Value::of(std::fabs(numOf(v)));
    }
    if (f == "round") {
        const auto precision = args.get(0, "precision", Value::of(static_cast<std::int64_t>(0)));
        const double scale = std::pow(10.0, static_cast<double>(intOf(precision)));
        return Value::of(std::round(numOf(v) * scale) / scale);
    }
    if (f == "indent") {
        const auto widthV = args.get(0, "width", Value::of(static_cast<std::int64_t>(4)));
        const std::string pad = widthV.isString() ? widthV.data.get<std::string>() : std::string(static_cast<std::size_t>(intOf(widthV)), ' ');
        const bool first = truthy(args.get(1, "first", Value::of(false)));
        const bool blank = truthy(args.get(2, "blank", Value::of(false)));
        const auto s = str(v);
        std::string out;
        std::size_t pos = 0;
        bool firstLine = true;
        while (true) {
            const auto nl = s.find('\n', pos);
            const auto ln = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
            if ((firstLine ? first : true) && (blank || !ln.empty()))
                out += pad;
            out += ln;
            if (nl == std::string::npos)
                break;
            out += '\n';
            pos = nl + 1;
            firstLine = false;
        }
        return Value::of(out);
    }
    if (f == "selectattr" || f == "rejectattr" || f == "select" || f == "reject" || f == "map") {
        const auto items = iterate(v, line);
        Json out = Json::array();
        const bool attrVariant = f == "selectattr" || f == "rejectattr";
        for (const auto &x : items) {
            if (f == "map") {
                const auto attr = args.get(99, "attribute");
                if (attr.isString()) {
                    const auto got = attributeOrItem(x, attr.data.get<std::string>(), line);
                    const auto deflt = args.get(99, "default");
                    out.push_back(toJsonAt(got.isUndefined() && !deflt.isUndefined() ? deflt : got, line));
                } else {
                    if (args.positional.empty() || !args.positional[0].isString())
                        fail(line, "map needs attribute='...' or a filter name");
                    auto call = std::make_shared<Expr>();
                    call->kind = Expr::Kind::Filter;
                    call->line = line;
                    call->name = args.positional[0].data.get<std::string>();
                    auto lit = std::make_shared<Expr>();
                    lit->literal = toJsonAt(x, line);
                    call->args.push_back(lit);
                    for (std::size_t i = 1; i < args.positional.size(); ++i) {
                        auto a = std::make_shared<Expr>();
                        a->literal = toJsonAt(args.positional[i], line);
                        call->args.push_back(a);
                    }
                    out.push_back(toJsonAt(filter(*call), line));
                }
                continue;
            }
            Value subject = x;
            std::size_t testArg = 0;
            if (attrVariant) {
                subject = attributeOrItem(x, stringArg(args.get(0, "attribute"), line, f + "'s attribute"), line);
                testArg = 1;
            }
            bool pass = truthy(subject);
            if (testArg < args.positional.size()) {
                Args testArgs;
                testArgs.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(testArg) + 1, args.positional.end());
                pass = runTest(stringArg(args.positional[testArg], line, "the test name"), subject, testArgs, line);
            }
            const bool keep = (f == "select" || f == "selectattr") ? pass : !pass;
            if (keep)
                out.push_back(toJsonAt(x, line));
        }
        return Value::of(out);
    }
    if (f == "unique") {
        Json out = Json::array();
        for (const auto &x : iterate(v, line)) {
            bool seen = false;
            for (const auto &y : out)
                seen |= equal(Value::of(y), x);
            if (!seen)
                out.push_back(toJsonAt(x, line));
        }
        return Value::of(out);
    }
    if (f == "sum") {
        Value total = args.get(1, "start", Value::of(static_cast<std::int64_t>(0)));
        const auto attr = args.get(0, "attribute");
        for (const auto &x : iterate(v, line)) {
            const auto term = attr.isString() ? attributeOrItem(x, attr.data.get<std::string>(), line) : x;
            if (!isNumeric(term) || !isNumeric(total))
                fail(line, "sum needs numbers");
            total = isInt(term) && isInt(total) ? Value::of(intOf(total) + intOf(term)) : Value::of(numOf(total) + numOf(term));
        }
        return total;
    }
    if (f == "min" || f == "max") {
        const auto items = iterate(v, line);
        if (items.empty())
            return {};
        Value best = items[0];
        for (const auto &x : items) {
            const bool less = isNumeric(x) && isNumeric(best) ? numOf(x) < numOf(best) : str(x) < str(best);
            if (f == "min" ? less : (!less && !equal(x, best)))
                best = x;
        }
        return best;
    }
    if (f == "e" || f == "escape") {
        std::string out;
        for (const char c : str(v)) {
            switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
            }
        }
        return Value::of(out);
    }
    fail(line, "unsupported filter '" + f + "'");
}

bool Renderer::test(const Expr &e)
{
    if (e.name == "defined" || e.name == "undefined") {
        const bool defined = !eval(*e.args[0]).isUndefined();
        return e.name == "defined" ? defined : !defined;
    }
    const Value v = eval(*e.args[0]);
    return runTest(e.name, v, evalArgs(e, 1), e.line);
}

bool Renderer::runTest(const std::string &t, const Value &v, const Args &args, int line)
{
    const auto &d = v.data;
    if (t == "defined") return !v.isUndefined();
    if (t == "undefined") return v.isUndefined();
    if (t == "none") return v.isNone();
    if (t == "string") return v.isString();
    if (t == "number") return v.isData() && (d.is_number() || d.is_boolean());
    if (t == "integer") return v.isData() && d.is_number_integer();
    if (t == "float") return v.isData() && d.is_number_float();
    if (t == "boolean") return v.isData() && d.is_boolean();
    if (t == "true") return v.isData() && d.is_boolean() && d.get<bool>();
    if (t == "false") return v.isData() && d.is_boolean() && !d.get<bool>();
    if (t == "mapping") return (v.isData() && d.is_object()) || v.kind == Value::Kind::Namespace;
    if (t == "sequence") return v.isData() && (d.is_array() || d.is_string() || d.is_object());
    if (t == "iterable") return v.isData() && (d.is_array() || d.is_string() || d.is_object());
    if (t == "callable") return v.kind == Value::Kind::Macro || v.kind == Value::Kind::Function;
    if (t == "lower" || t == "upper") {
        if (!v.isString())
            return false;
        const auto s = d.get<std::string>();
        return stringMethod(t == "lower" ? "lower" : "upper", s, {}, line).data.get<std::string>() == s;
    }
    if (t == "odd" || t == "even") {
        if (!isInt(v))
            fail(line, "the " + t + " test needs an integer");
        return (intOf(v) % 2 != 0) == (t == "odd");
    }
    if (t == "divisibleby") {
        const auto n = args.get(0, "num");
        if (!isInt(v) || !isInt(n) || intOf(n) == 0)
            fail(line, "divisibleby needs non-zero integers");
        return intOf(v) % intOf(n) == 0;
    }
    if (t == "eq" || t == "equalto" || t == "==") return equal(v, args.get(0, "other"));
    if (t == "ne" || t == "!=") return !equal(v, args.get(0, "other"));
    if (t == "in") return contains(args.get(0, "seq"), v, line);
    if (t == "sameas") return equal(v, args.get(0, "other"));
    fail(line, "unsupported test '" + t + "'");
}

} // namespace moescope::jinja::detail
