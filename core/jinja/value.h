#pragma once

// Template values: JSON data (none, bool, int, float, str, list, dict) plus
// what only a template holds (undefined, namespace, macro, builtin), with
// Python's truthiness, str() and repr().

#include "core/jinja/python_text.h"

namespace moescope::jinja::detail {

struct MacroDef;
struct Value;
using ValueMap = std::map<std::string, Value>;

struct Value
{
    enum class Kind { Undefined, Data, Namespace, Macro, Function };
    Kind kind = Kind::Undefined;
    Json data;
    std::shared_ptr<ValueMap> fields;        // Namespace (shared: assignments are seen by every holder)
    std::shared_ptr<const MacroDef> macro;   // Macro
    std::string function;                    // Function: a global ("range") or a method ("str.split")
    std::shared_ptr<Value> self;             // the receiver of a method

    static Value of(Json j)
    {
        Value v;
        v.kind = Kind::Data;
        v.data = std::move(j);
        return v;
    }
    static Value builtin(std::string name, std::shared_ptr<Value> receiver = nullptr)
    {
        Value v;
        v.kind = Kind::Function;
        v.function = std::move(name);
        v.self = std::move(receiver);
        return v;
    }
    bool isUndefined() const { return kind == Kind::Undefined; }
    bool isData() const { return kind == Kind::Data; }
    bool isString() const { return isData() && data.is_string(); }
    bool isNumber() const { return isData() && data.is_number(); }
    bool isNone() const { return isData() && data.is_null(); }
};

std::string typeName(const Value &v);

bool truthy(const Value &v);

std::string reprJson(const Json &d);

std::string strJson(const Json &d);

std::string reprJson(const Json &d);

std::string str(const Value &v);

void dumpJson(const Json &d, const std::optional<int> &indent, int level, std::string &out);

Json toJson(const Value &v, const std::string &what);

} // namespace moescope::jinja::detail
