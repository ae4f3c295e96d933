#include "core/jinja/value.h"

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

std::string typeName(const Value &v)
{
    switch (v.kind) {
    case Value::Kind::Undefined: return "undefined";
    case Value::Kind::Namespace: return "namespace";
    case Value::Kind::Macro: return "macro";
    case Value::Kind::Function: return "function";
    case Value::Kind::Data: break;
    }
    const auto &d = v.data;
    if (d.is_null()) return "NoneType";
    if (d.is_boolean()) return "bool";
    if (d.is_number_float()) return "float";
    if (d.is_number()) return "int";
    if (d.is_string()) return "str";
    if (d.is_array()) return "list";
    return "dict";
}

bool truthy(const Value &v)
{
    if (v.kind != Value::Kind::Data)
        return v.kind != Value::Kind::Undefined;
    const auto &d = v.data;
    if (d.is_null()) return false;
    if (d.is_boolean()) return d.get<bool>();
    if (d.is_number_float()) return d.get<double>() != 0.0;
    if (d.is_number()) return d.get<std::int64_t>() != 0;
    // nlohmann counts a string as one element, so test its text.
    if (d.is_string()) return !d.get_ref<const std::string &>().empty();
    if (d.is_array() || d.is_object()) return !d.empty();
    return true;
}

std::string reprJson(const Json &d);

std::string strJson(const Json &d)
{
    if (d.is_string()) return d.get<std::string>();
    return reprJson(d);
}

std::string reprJson(const Json &d)
{
    if (d.is_null()) return "None";
    if (d.is_boolean()) return d.get<bool>() ? "True" : "False";
    if (d.is_number_float()) return pyFloatRepr(d.get<double>());
    if (d.is_number_unsigned()) return std::to_string(d.get<std::uint64_t>());
    if (d.is_number()) return std::to_string(d.get<std::int64_t>());
    if (d.is_string()) return pyStringRepr(d.get<std::string>());
    std::string out;
    if (d.is_array()) {
        out = "[";
        for (std::size_t i = 0; i < d.size(); ++i)
            out += (i ? ", " : "") + reprJson(d[i]);
        return out + "]";
    }
    out = "{";
    bool first = true;
    for (auto it = d.begin(); it != d.end(); ++it) {
        out += (first ? "" : ", ") + pyStringRepr(it.key()) + ": " + reprJson(it.value());
        first = false;
    }
    return out + "}";
}

std::string str(const Value &v)
{
    switch (v.kind) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::Data: return strJson(v.data);
    case Value::Kind::Namespace: return "<Namespace>";
    case Value::Kind::Macro: return "<Macro>";
    case Value::Kind::Function: return "<function " + v.function + ">";
    }
    return {};
}

// json.dumps(ensure_ascii=False, indent, separators defaulting as Python's).
void dumpJson(const Json &d, const std::optional<int> &indent, int level, std::string &out)
{
    const std::string itemSep = indent ? "," : ", ";
    const auto newline = [&](int lvl) {
        if (indent) {
            out += '\n'; // not "\n" + string&&: GCC 12 warns (-Wrestrict, falsely)
            out.append(static_cast<std::size_t>(*indent * lvl), ' ');
        }
    };
    if (d.is_array()) {
        if (d.empty()) {
            out += "[]";
            return;
        }
        out += "[";
        for (std::size_t i = 0; i < d.size(); ++i) {
            if (i)
                out += itemSep;
            newline(level + 1);
            dumpJson(d[i], indent, level + 1, out);
        }
        newline(level);
        out += "]";
    } else if (d.is_object()) {
        if (d.empty()) {
            out += "{}";
            return;
        }
        out += "{";
        bool first = true;
        for (auto it = d.begin(); it != d.end(); ++it) {
            if (!first)
                out += itemSep;
            first = false;
            newline(level + 1);
            out += jsonStringLiteral(it.key()) + ": ";
            dumpJson(it.value(), indent, level + 1, out);
        }
        newline(level);
        out += "}";
    } else if (d.is_string()) {
        out += jsonStringLiteral(d.get<std::string>());
    } else if (d.is_boolean()) {
        out += d.get<bool>() ? "true" : "false";
    } else if (d.is_null()) {
        out += "null";
    } else if (d.is_number_float()) {
        const double x = d.get<double>();
        out += std::isnan(x) ? "NaN" : std::isinf(x) ? (x < 0 ? "-Infinity" : "Infinity") : pyFloatRepr(x);
    } else {
        out += d.dump();
    }
}

// A namespace or macro can't become JSON; everything else is data already.
Json toJson(const Value &v, const std::string &what)
{
    if (v.kind == Value::Kind::Data)
        return v.data;
    if (v.kind == Value::Kind::Namespace) {
        Json o = Json::object();
        for (const auto &[k, f] : *v.fields)
            o[k] = toJson(f, what);
        return o;
    }
    throw std::runtime_error(what + ": a " + typeName(v) + " can't be used here");
}

} // namespace moescope::jinja::detail
