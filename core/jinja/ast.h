#pragma once

// The parsed template: expressions and statements, as the parser builds them
// and the renderer walks them.

#include "core/jinja/python_text.h"

namespace moescope::jinja::detail {

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr
{
    enum class Kind {
        Literal, Name, Attribute, Item, Slice, Call, Filter, Test, Unary, Binary, Conditional, List, Dict, Tuple
    };
    Kind kind = Kind::Literal;
    int line = 0;
    Json literal;                // Literal
    std::string name;            // Name, Attribute, Filter, Test, Unary/Binary operator
    std::vector<ExprPtr> args;   // operands / call arguments / elements (Dict: key, value, key, value ...)
    std::vector<std::pair<std::string, ExprPtr>> kwargs;
    bool negated = false;        // Test: "is not"
};

struct Node;
using Body = std::vector<std::shared_ptr<const Node>>;

struct Node
{
    enum class Kind { Text, Output, If, For, Set, SetBlock, Macro, Break, Continue, Scope };
    Kind kind = Kind::Text;
    int line = 0;
    std::string text;                  // Text
    ExprPtr expr;                      // Output, For (iterable), Set (value)
    std::vector<std::pair<ExprPtr, Body>> branches; // If
    Body body, elseBody;               // For, SetBlock, Macro, Scope
    std::vector<std::string> targets;  // For loop variables; Set: name, or [namespace, attribute]
    ExprPtr filter;                    // For ... if filter
    std::vector<std::pair<std::string, ExprPtr>> params; // Macro (default may be null)
};

struct MacroDef
{
    std::string name;
    std::vector<std::pair<std::string, ExprPtr>> params;
    Body body;
};

} // namespace moescope::jinja::detail
