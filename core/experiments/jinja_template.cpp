#include "core/experiments/jinja_template.h"

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

// Semantics follow Jinja 2.x/3.x as transformers configures it (see the
// header); where Jinja defers to Python (truthiness, ==, +, %, //, slicing,
// str(), repr()), this follows Python 3.

namespace moescope::experiments {

namespace {

using Json = nlohmann::ordered_json;

// ------------------------------------------------------------------ text

std::u32string toU32(const std::string &s)
{
    return decodeUtf8(s);
}

std::string toU8(const std::u32string &s)
{
    return encodeUtf8(s);
}

bool isPySpace(char32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0x1C || c == 0x1D
        || c == 0x1E || c == 0x1F || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A)
        || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// str.strip/lstrip/rstrip: whitespace, or any of `chars` when given.
std::string pyStrip(const std::string &s, const std::optional<std::string> &chars, bool left, bool right)
{
    const auto u = toU32(s);
    const auto set = chars ? toU32(*chars) : std::u32string();
    const auto strip = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : isPySpace(c); };
    std::size_t b = 0, e = u.size();
    while (left && b < e && strip(u[b]))
        ++b;
    while (right && e > b && strip(u[e - 1]))
        --e;
    return toU8(u.substr(b, e - b));
}

// CPython's slice.indices().
void sliceIndices(std::int64_t len, std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                  std::int64_t step, std::int64_t &b, std::int64_t &e)
{
    const auto clamp = [&](std::optional<std::int64_t> v, std::int64_t deflt) {
        if (!v)
            return deflt;
        std::int64_t x = *v;
        if (x < 0) {
            x += len;
            if (x < 0)
                x = step < 0 ? -1 : 0;
        } else if (x >= len) {
            x = step < 0 ? len - 1 : len;
        }
        return x;
    };
    b = clamp(start, step < 0 ? len - 1 : 0);
    e = clamp(stop, step < 0 ? -1 : len);
}

std::string pyFloatRepr(double v)
{
    if (std::isnan(v))
        return "nan";
    if (std::isinf(v))
        return v < 0 ? "-inf" : "inf";
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    const auto ePos = sci.find('e');
    std::string mant = sci.substr(0, ePos);
    const int exp = std::stoi(sci.substr(ePos + 1));
    const bool neg = mant[0] == '-';
    if (neg)
        mant.erase(0, 1);
    std::string digits;
    for (const char c : mant)
        if (c != '.')
            digits += c;
    std::string out;
    if (exp >= -4 && exp < 16) { // repr uses fixed notation for 1e-4 <= |v| < 1e16
        if (exp < 0) {
            out = "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
        } else {
            if (digits.size() <= static_cast<std::size_t>(exp) + 1) {
                out = digits + std::string(static_cast<std::size_t>(exp) + 1 - digits.size(), '0') + ".0";
            } else {
                out = digits.substr(0, static_cast<std::size_t>(exp) + 1) + "."
                    + digits.substr(static_cast<std::size_t>(exp) + 1);
            }
        }
    } else {
        out = digits.substr(0, 1);
        if (digits.size() > 1)
            out += "." + digits.substr(1);
        char e[16];
        std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
        out += e;
    }
    return neg ? "-" + out : out;
}

std::string pyStringRepr(const std::string &s)
{
    const bool useDouble = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
    const char q = useDouble ? '"' : '\'';
    std::string out(1, q);
    for (const char32_t c : toU32(s)) {
        if (c == static_cast<char32_t>(q) || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7F) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", static_cast<unsigned>(c));
            out += b;
        } else {
            out += toU8(std::u32string(1, c));
        }
    }
    return out + q;
}

std::string jsonStringLiteral(const std::string &s)
{
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", c);
                out += b;
            } else {
                out += ch;
            }
        }
    }
    return out + "\"";
}

// ------------------------------------------------------------------ values

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
        if (indent)
            out += "\n" + std::string(static_cast<std::size_t>(*indent * lvl), ' ');
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

// ------------------------------------------------------------------ lexer

struct Token
{
    enum class Kind { Name, String, Integer, Float, Operator, End };
    Kind kind = Kind::End;
    std::string text;
    int line = 0;
};

struct Piece
{
    enum class Kind { Text, Output, Statement };
    Kind kind = Kind::Text;
    std::string text;          // Text
    std::vector<Token> tokens; // Output / Statement, ending with an End token
    int line = 0;
};

class SyntaxError : public std::runtime_error
{
public:
    SyntaxError(int line, const std::string &what) : std::runtime_error(what), line(line) {}
    int line;
};

std::vector<Token> tokenizeTag(const std::string &src, std::size_t &pos, const std::string &close, int &line)
{
    std::vector<Token> tokens;
    int depth = 0;
    static const char *const kOps[] = {"==", "!=", "<=", ">=", "//", "**", "+", "-", "*", "/", "%", "~", "<",
                                       ">",  "=",  "(",  ")",  "[",  "]",  "{", "}", ".", ",", ":", "|"};
    while (true) {
        while (pos < src.size() && std::isspace(static_cast<unsigned char>(src[pos]))) {
            if (src[pos] == '\n')
                ++line;
            ++pos;
        }
        if (pos >= src.size())
            throw SyntaxError(line, "unclosed tag: missing '" + close + "'");
        // The closing delimiter, possibly after a whitespace-control sign;
        // inside brackets "}}" closes a dict, as in Jinja's lexer.
        if (depth == 0 && (src[pos] == '-' || src[pos] == '+') && src.compare(pos + 1, close.size(), close) == 0)
            break;
        if (depth == 0 && src.compare(pos, close.size(), close) == 0)
            break;
        const char c = src[pos];
        Token t;
        t.line = line;
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            const auto b = pos;
            while (pos < src.size() && (std::isalnum(static_cast<unsigned char>(src[pos])) || src[pos] == '_'))
                ++pos;
            t.kind = Token::Kind::Name;
            t.text = src.substr(b, pos - b);
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
            const auto b = pos;
            bool isFloat = false;
            while (pos < src.size()
                   && (std::isdigit(static_cast<unsigned char>(src[pos])) || src[pos] == '_'
                       || (src[pos] == '.' && !isFloat && pos + 1 < src.size()
                           && std::isdigit(static_cast<unsigned char>(src[pos + 1])))))
                isFloat |= src[pos++] == '.';
            if (pos < src.size() && (src[pos] == 'e' || src[pos] == 'E')) {
                isFloat = true;
                ++pos;
                if (pos < src.size() && (src[pos] == '+' || src[pos] == '-'))
                    ++pos;
                while (pos < src.size() && std::isdigit(static_cast<unsigned char>(src[pos])))
                    ++pos;
            }
            t.kind = isFloat ? Token::Kind::Float : Token::Kind::Integer;
            for (auto i = b; i < pos; ++i)
                if (src[i] != '_')
                    t.text += src[i];
        } else if (c == '\'' || c == '"') {
            ++pos;
            t.kind = Token::Kind::String;
            while (true) {
                if (pos >= src.size())
                    throw SyntaxError(line, "unterminated string");
                const char d = src[pos++];
                if (d == c)
                    break;
                if (d == '\n')
                    ++line;
                if (d != '\\' || pos >= src.size()) {
                    t.text += d;
                    continue;
                }
                const char e = src[pos++];
                switch (e) {
                case 'n': t.text += '\n'; break;
                case 't': t.text += '\t'; break;
                case 'r': t.text += '\r'; break;
                case 'b': t.text += '\b'; break;
                case 'f': t.text += '\f'; break;
                case 'v': t.text += '\v'; break;
                case '0': t.text += '\0'; break;
                case '\n': ++line; break; // line continuation
                case 'x':
                case 'u':
                case 'U': {
                    const std::size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (pos + n > src.size())
                        throw SyntaxError(line, "truncated \\" + std::string(1, e) + " escape");
                    const auto cp = static_cast<char32_t>(std::stoul(src.substr(pos, n), nullptr, 16));
                    t.text += toU8(std::u32string(1, cp));
                    pos += n;
                    break;
                }
                case '\\':
                case '\'':
                case '"': t.text += e; break;
                default: // Python keeps unknown escapes as written
                    t.text += '\\';
                    t.text += e;
                }
            }
        } else {
            t.kind = Token::Kind::Operator;
            for (const char *op : kOps)
                if (src.compare(pos, std::char_traits<char>::length(op), op) == 0) {
                    t.text = op;
                    break;
                }
            if (t.text.empty())
                throw SyntaxError(line, std::string("unexpected character '") + c + "'");
            pos += t.text.size();
            if (t.text == "(" || t.text == "[" || t.text == "{")
                ++depth;
            else if ((t.text == ")" || t.text == "]" || t.text == "}") && depth > 0)
                --depth;
        }
        tokens.push_back(std::move(t));
    }
    Token end;
    end.line = line;
    tokens.push_back(end);
    return tokens;
}

// Splits the source into text and tags, applying Jinja's whitespace rules
// with trim_blocks and lstrip_blocks on (transformers' settings).
std::vector<Piece> lex(std::string src)
{
    // Jinja normalises newlines and, without keep_trailing_newline, drops one
    // final newline of the template.
    {
        std::string norm;
        norm.reserve(src.size());
        for (std::size_t i = 0; i < src.size(); ++i) {
            if (src[i] == '\r') {
                norm += '\n';
                if (i + 1 < src.size() && src[i + 1] == '\n')
                    ++i;
            } else {
                norm += src[i];
            }
        }
        src = std::move(norm);
        if (!src.empty() && src.back() == '\n')
            src.pop_back();
    }
    std::vector<Piece> pieces;
    std::size_t pos = 0;
    int line = 1;
    bool lineStarting = true;
    bool stripNext = false; // the previous tag ended with '-'
    while (pos <= src.size()) {
        std::size_t tag = pos;
        while (true) {
            tag = src.find('{', tag);
            if (tag == std::string::npos || tag + 1 >= src.size())
                break;
            const char n = src[tag + 1];
            if (n == '{' || n == '%' || n == '#')
                break;
            ++tag;
        }
        if (tag + 1 >= src.size())
            tag = std::string::npos;
        std::string text = src.substr(pos, tag == std::string::npos ? std::string::npos : tag - pos);
        if (stripNext) {
            const auto keep = text.find_first_not_of(" \t\n\r\v\f");
            text = keep == std::string::npos ? std::string() : text.substr(keep);
        }
        const int textLine = line;
        line += static_cast<int>(std::count(text.begin(), text.end(), '\n'));
        if (tag == std::string::npos) {
            if (!text.empty())
                pieces.push_back({Piece::Kind::Text, text, {}, textLine});
            break;
        }
        const char kind = src[tag + 1];
        const char sign = tag + 2 < src.size() ? src[tag + 2] : '\0';
        if (sign == '-') {
            const auto keep = text.find_last_not_of(" \t\n\r\v\f");
            text = keep == std::string::npos ? std::string() : text.substr(0, keep + 1);
        } else if (sign != '+' && kind != '{') {
            const auto lineStart = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
            if ((lineStart > 0 || lineStarting) && lineStart < text.size()
                && text.find_first_not_of(" \t\v\f", lineStart) == std::string::npos)
                text.resize(lineStart);
        }
        if (!text.empty())
            pieces.push_back({Piece::Kind::Text, text, {}, textLine});
        pos = tag + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
        const int tagLine = line;
        bool rightStrip = false, rightKeep = false;
        if (kind == '#') {
            const auto end = src.find("#}", pos);
            if (end == std::string::npos)
                throw SyntaxError(tagLine, "unclosed comment");
            rightStrip = end > pos && src[end - 1] == '-';
            rightKeep = end > pos && src[end - 1] == '+';
            line += static_cast<int>(std::count(src.begin() + static_cast<std::ptrdiff_t>(pos),
                                                src.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
            pos = end + 2;
        } else {
            const std::string close = kind == '{' ? "}}" : "%}";
            Piece p;
            p.kind = kind == '{' ? Piece::Kind::Output : Piece::Kind::Statement;
            p.line = tagLine;
            p.tokens = tokenizeTag(src, pos, close, line);
            rightStrip = src[pos] == '-';
            rightKeep = src[pos] == '+';
            pos += (rightStrip || rightKeep ? 1 : 0) + 2;
            pieces.push_back(std::move(p));
        }
        stripNext = rightStrip;
        // trim_blocks: the first newline after a block or comment tag goes.
        lineStarting = false;
        if (!rightStrip && !rightKeep && kind != '{' && pos < src.size() && src[pos] == '\n') {
            ++pos;
            ++line;
            lineStarting = true;
        } else if (rightStrip) {
            // '-' swallows the whitespace, so the next text starts wherever
            // that whitespace ended: at a line start when it held a newline.
            std::size_t p2 = pos;
            while (p2 < src.size() && std::isspace(static_cast<unsigned char>(src[p2])))
                ++p2;
            lineStarting = p2 > pos && src[p2 - 1] == '\n';
        }
    }
    return pieces;
}

// ------------------------------------------------------------------ AST

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

// ------------------------------------------------------------------ parser

class ExprParser
{
public:
    explicit ExprParser(const std::vector<Token> &tokens, std::size_t start = 0) : m_t(tokens), m_i(start) {}

    const Token &peek(std::size_t ahead = 0) const { return m_t[std::min(m_i + ahead, m_t.size() - 1)]; }
    bool atEnd() const { return peek().kind == Token::Kind::End; }
    bool isOp(const char *op, std::size_t ahead = 0) const
    {
        return peek(ahead).kind == Token::Kind::Operator && peek(ahead).text == op;
    }
    bool isName(const char *n, std::size_t ahead = 0) const
    {
        return peek(ahead).kind == Token::Kind::Name && peek(ahead).text == n;
    }
    const Token &next() { return m_t[std::min(m_i++, m_t.size() - 1)]; }
    void expectOp(const char *op)
    {
        if (!isOp(op))
            fail(std::string("expected '") + op + "'");
        ++m_i;
    }
    std::string expectName()
    {
        if (peek().kind != Token::Kind::Name)
            fail("expected a name");
        return next().text;
    }
    void expectEnd()
    {
        if (!atEnd())
            fail("unexpected '" + peek().text + "'");
    }
    [[noreturn]] void fail(const std::string &what) const
    {
        const auto &t = peek();
        throw SyntaxError(t.line, what + (t.kind == Token::Kind::End ? " at the end of the tag" : ""));
    }

    ExprPtr expression(bool allowConditional = true)
    {
        auto e = orExpr();
        if (allowConditional && isName("if")) {
            ++m_i;
            auto cond = orExpr();
            ExprPtr otherwise;
            if (isName("else")) {
                ++m_i;
                otherwise = expression();
            }
            auto c = make(Expr::Kind::Conditional, e->line);
            c->args = {e, cond, otherwise};
            return c;
        }
        return e;
    }

    // A bare tuple ("a, b") where Jinja allows one: set and for targets' values.
    ExprPtr tupleOrExpression()
    {
        auto first = expression();
        if (!isOp(","))
            return first;
        auto t = make(Expr::Kind::Tuple, first->line);
        t->args.push_back(first);
        while (isOp(",")) {
            ++m_i;
            if (atEnd())
                break;
            t->args.push_back(expression());
        }
        return t;
    }

private:
    std::shared_ptr<Expr> make(Expr::Kind k, int line)
    {
        auto e = std::make_shared<Expr>();
        e->kind = k;
        e->line = line;
        return e;
    }
    ExprPtr binary(const std::string &op, ExprPtr a, ExprPtr b)
    {
        auto e = make(Expr::Kind::Binary, a->line);
        e->name = op;
        e->args = {std::move(a), std::move(b)};
        return e;
    }

    ExprPtr orExpr()
    {
        auto e = andExpr();
        while (isName("or")) {
            ++m_i;
            e = binary("or", e, andExpr());
        }
        return e;
    }
    ExprPtr andExpr()
    {
        auto e = notExpr();
        while (isName("and")) {
            ++m_i;
            e = binary("and", e, notExpr());
        }
        return e;
    }
    ExprPtr notExpr()
    {
        if (isName("not")) {
            const int line = next().line;
            auto e = make(Expr::Kind::Unary, line);
            e->name = "not";
            e->args = {notExpr()};
            return e;
        }
        return compare();
    }
    ExprPtr compare()
    {
        auto e = concat();
        while (true) {
            std::string op;
            if (peek().kind == Token::Kind::Operator
                && (isOp("==") || isOp("!=") || isOp("<") || isOp(">") || isOp("<=") || isOp(">="))) {
                op = next().text;
            } else if (isName("in")) {
                ++m_i;
                op = "in";
            } else if (isName("not") && isName("in", 1)) {
                m_i += 2;
                op = "not in";
            } else {
                return e;
            }
            e = binary(op, e, concat());
        }
    }
    ExprPtr concat()
    {
        auto e = sum();
        while (isOp("~")) {
            ++m_i;
            e = binary("~", e, sum());
        }
        return e;
    }
    ExprPtr sum()
    {
        auto e = product();
        while (isOp("+") || isOp("-")) {
            const auto op = next().text;
            e = binary(op, e, product());
        }
        return e;
    }
    ExprPtr product()
    {
        auto e = power();
        while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
            const auto op = next().text;
            e = binary(op, e, power());
        }
        return e;
    }
    ExprPtr power()
    {
        auto e = unary();
        while (isOp("**")) {
            ++m_i;
            e = binary("**", e, unary());
        }
        return e;
    }
    // As in Jinja, filters bind to the whole unary expression: -3|abs is 3.
    ExprPtr unary(bool withFilter = true)
    {
        ExprPtr node;
        if (isOp("-") || isOp("+")) {
            const auto &t = next();
            auto e = make(Expr::Kind::Unary, t.line);
            e->name = t.text;
            e->args = {unary(false)};
            node = e;
        } else {
            node = postfix(primary());
        }
        return withFilter ? filtered(node) : node;
    }

    void callArguments(Expr &call)
    {
        expectOp("(");
        while (!isOp(")")) {
            if (peek().kind == Token::Kind::Name && isOp("=", 1)) {
                const auto key = next().text;
                ++m_i;
                call.kwargs.emplace_back(key, expression());
            } else {
                call.args.push_back(expression());
            }
            if (!isOp(","))
                break;
            ++m_i;
        }
        expectOp(")");
    }

    ExprPtr primary()
    {
        const auto &t = peek();
        switch (t.kind) {
        case Token::Kind::String: {
            auto e = make(Expr::Kind::Literal, t.line);
            std::string s;
            while (peek().kind == Token::Kind::String) // adjacent literals concatenate
                s += next().text;
            e->literal = s;
            return e;
        }
        case Token::Kind::Integer: {
            auto e = make(Expr::Kind::Literal, t.line);
            e->literal = std::stoll(next().text);
            return e;
        }
        case Token::Kind::Float: {
            auto e = make(Expr::Kind::Literal, t.line);
            e->literal = std::stod(next().text);
            return e;
        }
        case Token::Kind::Name: {
            const auto n = next().text;
            auto e = make(Expr::Kind::Literal, t.line);
            if (n == "true" || n == "True")
                e->literal = true;
            else if (n == "false" || n == "False")
                e->literal = false;
            else if (n == "none" || n == "None")
                e->literal = nullptr;
            else {
                e->kind = Expr::Kind::Name;
                e->name = n;
            }
            return e;
        }
        case Token::Kind::Operator: {
            if (isOp("(")) {
                ++m_i;
                if (isOp(")")) {
                    ++m_i;
                    return make(Expr::Kind::Tuple, t.line);
                }
                auto e = expression();
                if (isOp(",")) {
                    auto tuple = make(Expr::Kind::Tuple, t.line);
                    tuple->args.push_back(e);
                    while (isOp(",")) {
                        ++m_i;
                        if (isOp(")"))
                            break;
                        tuple->args.push_back(expression());
                    }
                    e = tuple;
                }
                expectOp(")");
                return e;
            }
            if (isOp("[")) {
                ++m_i;
                auto e = make(Expr::Kind::List, t.line);
                while (!isOp("]")) {
                    e->args.push_back(expression());
                    if (!isOp(","))
                        break;
                    ++m_i;
                }
                expectOp("]");
                return e;
            }
            if (isOp("{")) {
                ++m_i;
                auto e = make(Expr::Kind::Dict, t.line);
                while (!isOp("}")) {
                    e->args.push_back(expression());
                    expectOp(":");
                    e->args.push_back(expression());
                    if (!isOp(","))
                        break;
                    ++m_i;
                }
                expectOp("}");
                return e;
            }
            break;
        }
        case Token::Kind::End: break;
        }
        fail(t.kind == Token::Kind::End ? "expected an expression" : "unexpected '" + t.text + "'");
    }

    ExprPtr postfix(ExprPtr e)
    {
        while (true) {
            if (isOp(".")) {
                ++m_i;
                auto a = make(Expr::Kind::Attribute, e->line);
                if (peek().kind == Token::Kind::Integer) { // foo.0 is foo[0]
                    a->kind = Expr::Kind::Item;
                    auto idx = make(Expr::Kind::Literal, e->line);
                    idx->literal = std::stoll(next().text);
                    a->args = {e, idx};
                } else {
                    a->name = expectName();
                    a->args = {e};
                }
                e = a;
            } else if (isOp("[")) {
                ++m_i;
                ExprPtr parts[3];
                int colons = 0;
                while (!isOp("]")) {
                    if (isOp(":")) {
                        if (++colons > 2)
                            fail("too many ':' in a slice");
                        ++m_i;
                        continue;
                    }
                    parts[colons] = expression();
                }
                expectOp("]");
                if (colons == 0) {
                    if (!parts[0])
                        fail("empty subscript");
                    auto it = make(Expr::Kind::Item, e->line);
                    it->args = {e, parts[0]};
                    e = it;
                } else {
                    auto s = make(Expr::Kind::Slice, e->line);
                    s->args = {e, parts[0], parts[1], parts[2]};
                    e = s;
                }
            } else if (isOp("(")) {
                auto c = make(Expr::Kind::Call, e->line);
                c->args.push_back(e);
                callArguments(*c);
                e = c;
            } else {
                return e;
            }
        }
    }

    ExprPtr filtered(ExprPtr e)
    {
        while (true) {
            if (isOp("|")) {
                ++m_i;
                auto f = make(Expr::Kind::Filter, e->line);
                f->name = expectName();
                while (isOp(".")) { // dotted filter names are not used; keep the error clear
                    ++m_i;
                    f->name += "." + expectName();
                }
                f->args.push_back(e);
                if (isOp("("))
                    callArguments(*f);
                e = f;
            } else if (isName("is")) {
                ++m_i;
                auto t = make(Expr::Kind::Test, e->line);
                if (isName("not")) {
                    ++m_i;
                    t->negated = true;
                }
                t->name = expectName();
                t->args.push_back(e);
                if (isOp("(")) {
                    callArguments(*t);
                } else if (!atEnd() && (peek().kind != Token::Kind::Operator || isOp("[") || isOp("{"))
                           && !isName("and") && !isName("or") && !isName("else")) {
                    if (isName("is"))
                        fail("tests can't be chained");
                    t->args.push_back(postfix(primary())); // "is divisibleby 3", "is in [...]"
                }
                e = t;
            } else {
                return e;
            }
        }
    }

    const std::vector<Token> &m_t;
    std::size_t m_i;
};

class TemplateParser
{
public:
    explicit TemplateParser(std::vector<Piece> pieces) : m_p(std::move(pieces)) {}

    Body parseAll()
    {
        std::string endedBy;
        auto body = parseBody({}, endedBy);
        return body;
    }

private:
    static std::string keyword(const Piece &p)
    {
        return !p.tokens.empty() && p.tokens[0].kind == Token::Kind::Name ? p.tokens[0].text : std::string();
    }

    // Parses until a statement whose keyword is in `ends`; that keyword is
    // returned in endedBy and the statement's piece index left in m_at.
    Body parseBody(const std::vector<std::string> &ends, std::string &endedBy)
    {
        Body body;
        while (m_i < m_p.size()) {
            const Piece &p = m_p[m_i];
            if (p.kind == Piece::Kind::Text) {
                auto n = std::make_shared<Node>();
                n->kind = Node::Kind::Text;
                n->text = p.text;
                n->line = p.line;
                body.push_back(n);
                ++m_i;
                continue;
            }
            if (p.kind == Piece::Kind::Output) {
                ExprParser ep(p.tokens);
                auto n = std::make_shared<Node>();
                n->kind = Node::Kind::Output;
                n->line = p.line;
                n->expr = ep.expression();
                ep.expectEnd();
                body.push_back(n);
                ++m_i;
                continue;
            }
            const auto kw = keyword(p);
            if (std::find(ends.begin(), ends.end(), kw) != ends.end()) {
                endedBy = kw;
                m_at = m_i;
                return body;
            }
            body.push_back(statement(p, kw));
        }
        if (!ends.empty())
            throw SyntaxError(m_p.empty() ? 1 : m_p.back().line,
                              "missing '{% " + ends.back() + " %}' at the end of the template");
        return body;
    }

    std::shared_ptr<Node> statement(const Piece &p, const std::string &kw)
    {
        auto n = std::make_shared<Node>();
        n->line = p.line;
        ExprParser ep(p.tokens, 1);
        if (kw == "if") {
            n->kind = Node::Kind::If;
            auto cond = ep.expression();
            ep.expectEnd();
            ++m_i;
            while (true) {
                std::string endedBy;
                auto body = parseBody({"elif", "else", "endif"}, endedBy);
                n->branches.emplace_back(cond, std::move(body));
                const Piece &end = m_p[m_at];
                ++m_i;
                if (endedBy == "endif")
                    break;
                if (endedBy == "else") {
                    ExprParser(end.tokens, 1).expectEnd();
                    std::string e2;
                    n->elseBody = parseBody({"endif"}, e2);
                    ++m_i;
                    break;
                }
                ExprParser cp(end.tokens, 1);
                cond = cp.expression();
                cp.expectEnd();
            }
        } else if (kw == "for") {
            n->kind = Node::Kind::For;
            do {
                if (!n->targets.empty())
                    ep.next();
                n->targets.push_back(ep.expectName());
            } while (ep.isOp(","));
            if (!ep.isName("in"))
                ep.fail("expected 'in'");
            ep.next();
            n->expr = ep.expression(false);
            if (ep.isName("if")) {
                ep.next();
                n->filter = ep.expression(false);
            }
            if (ep.isName("recursive"))
                ep.fail("recursive loops are not supported");
            ep.expectEnd();
            ++m_i;
            std::string endedBy;
            n->body = parseBody({"else", "endfor"}, endedBy);
            ++m_i;
            if (endedBy == "else") {
                n->elseBody = parseBody({"endfor"}, endedBy);
                ++m_i;
            }
        } else if (kw == "set") {
            const auto name = ep.expectName();
            n->targets.push_back(name);
            if (ep.isOp(".")) {
                ep.next();
                n->targets.push_back(ep.expectName());
            }
            if (ep.isOp("=")) {
                ep.next();
                n->kind = Node::Kind::Set;
                n->expr = ep.tupleOrExpression();
                ep.expectEnd();
                ++m_i;
            } else {
                ep.expectEnd();
                n->kind = Node::Kind::SetBlock;
                ++m_i;
                std::string endedBy;
                n->body = parseBody({"endset"}, endedBy);
                ++m_i;
            }
        } else if (kw == "macro") {
            n->kind = Node::Kind::Macro;
            n->targets.push_back(ep.expectName());
            ep.expectOp("(");
            while (!ep.isOp(")")) {
                const auto param = ep.expectName();
                ExprPtr deflt;
                if (ep.isOp("=")) {
                    ep.next();
                    deflt = ep.expression();
                }
                n->params.emplace_back(param, deflt);
                if (!ep.isOp(","))
                    break;
                ep.next();
            }
            ep.expectOp(")");
            ep.expectEnd();
            ++m_i;
            std::string endedBy;
            n->body = parseBody({"endmacro"}, endedBy);
            ++m_i;
        } else if (kw == "break" || kw == "continue") {
            ep.expectEnd();
            n->kind = kw == "break" ? Node::Kind::Break : Node::Kind::Continue;
            ++m_i;
        } else if (kw == "generation") {
            // transformers' AssistantTracker: marks assistant text, renders it as is.
            ep.expectEnd();
            n->kind = Node::Kind::Scope;
            ++m_i;
            std::string endedBy;
            n->body = parseBody({"endgeneration"}, endedBy);
            ++m_i;
        } else if (kw.empty()) {
            throw SyntaxError(p.line, "a statement must start with a keyword");
        } else {
            throw SyntaxError(p.line, "unsupported or unexpected statement '" + kw + "'");
        }
        return n;
    }

    std::vector<Piece> m_p;
    std::size_t m_i = 0;
    std::size_t m_at = 0;
};

} // namespace

struct JinjaTemplate::Program
{
    std::string source;
    Body body;
};

namespace {

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
    explicit Renderer(const Json &variables)
    {
        m_frames.push_back(std::make_shared<ValueMap>());
        for (auto it = variables.begin(); it != variables.end(); ++it)
            (*m_frames[0])[it.key()] = Value::of(it.value());
        m_frames.push_back(std::make_shared<ValueMap>()); // the template's own variables
    }

    void run(const Body &body, std::string &out)
    {
        for (const auto &n : body)
            exec(*n, out);
    }

private:
    using Frames = std::vector<std::shared_ptr<ValueMap>>;

    [[noreturn]] static void fail(int line, const std::string &what) { throw RenderError(line, what); }

    Value lookup(const std::string &name) const
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

    void assign(const std::string &name, Value v) { (*m_frames.back())[name] = std::move(v); }

    // ---------------------------------------------------------- statements

    void exec(const Node &n, std::string &out)
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

    void setTarget(const Node &n, Value v)
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

    std::vector<Value> iterate(const Value &v, int line)
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

    void execFor(const Node &n, std::string &out)
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

    void bindTargets(const Node &n, const Value &item)
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

    // ---------------------------------------------------------- expressions

    Value eval(const Expr &e)
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

    Json toJsonAt(const Value &v, int line)
    {
        if (v.isUndefined())
            fail(line, "an undefined value can't be stored");
        try {
            return toJson(v, "value");
        } catch (const std::runtime_error &ex) {
            fail(line, ex.what());
        }
    }

    static bool isStringMethod(const std::string &n)
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

    Value attribute(const Value &obj, const std::string &name, int line)
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

    Value item(const Value &obj, const Value &key, int line)
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

    std::optional<std::int64_t> optionalInt(const ExprPtr &e, int line)
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

    Value slice(const Expr &e)
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

    static double number(const Value &v) { return v.data.is_number_float() ? v.data.get<double>() : static_cast<double>(v.data.get<std::int64_t>()); }
    static bool isInt(const Value &v) { return v.isData() && (v.data.is_number_integer() || v.data.is_boolean()); }
    static std::int64_t intOf(const Value &v) { return v.data.is_boolean() ? v.data.get<bool>() : v.data.get<std::int64_t>(); }
    static bool isNumeric(const Value &v) { return v.isData() && (v.data.is_number() || v.data.is_boolean()); }
    static double numOf(const Value &v) { return v.data.is_boolean() ? (v.data.get<bool>() ? 1.0 : 0.0) : number(v); }

    static bool equal(const Value &a, const Value &b)
    {
        if (a.kind != Value::Kind::Data || b.kind != Value::Kind::Data)
            return a.kind == b.kind && a.kind == Value::Kind::Undefined;
        if (isNumeric(a) && isNumeric(b))
            return numOf(a) == numOf(b);
        return a.data == b.data;
    }

    bool contains(const Value &container, const Value &needle, int line)
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

    Value binary(const Expr &e)
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

    Args evalArgs(const Expr &e, std::size_t skip)
    {
        Args a;
        for (std::size_t i = skip; i < e.args.size(); ++i)
            a.positional.push_back(eval(*e.args[i]));
        for (const auto &[k, v] : e.kwargs)
            a.named[k] = eval(*v);
        return a;
    }

    std::string stringArg(const Value &v, int line, const std::string &what)
    {
        if (!v.isString())
            fail(line, what + " must be a string, not " + typeName(v));
        return v.data.get<std::string>();
    }

    Value call(const Expr &e)
    {
        const Value callee = eval(*e.args[0]);
        const Args args = evalArgs(e, 1);
        if (callee.kind == Value::Kind::Macro)
            return callMacro(*callee.macro, args, e.line);
        if (callee.kind != Value::Kind::Function)
            fail(e.line, "'" + describe(*e.args[0]) + "' is " + (callee.isUndefined() ? "undefined" : "not callable"));
        return callBuiltin(callee, args, e.line);
    }

    static std::string describe(const Expr &e)
    {
        if (e.kind == Expr::Kind::Name)
            return e.name;
        if (e.kind == Expr::Kind::Attribute)
            return describe(*e.args[0]) + "." + e.name;
        return "expression";
    }

    Value callMacro(const MacroDef &m, const Args &args, int line)
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

    Value callBuiltin(const Value &f, const Args &args, int line)
    {
        const auto &name = f.function;
        if (name == "raise_exception")
            fail(line, "the template raised: " + str(args.get(0, "message")));
        if (name == "namespace" || name == "dict") {
            Value v;
            if (name == "namespace") {
                v.kind = Value::Kind::Namespace;
                v.fields = std::make_shared<ValueMap>();
                for (const auto &[k, x] : args.named)
                    (*v.fields)[k] = x;
                return v;
            }
            Json o = Json::object();
            for (const auto &[k, x] : args.named)
                o[k] = toJsonAt(x, line);
            return Value::of(o);
        }
        if (name == "range") {
            std::int64_t start = 0, stop = 0, step = 1;
            for (const auto &a : args.positional)
                if (!isInt(a))
                    fail(line, "range() takes integers");
            if (args.positional.size() == 1)
                stop = intOf(args.positional[0]);
            else if (args.positional.size() >= 2) {
                start = intOf(args.positional[0]);
                stop = intOf(args.positional[1]);
                if (args.positional.size() == 3)
                    step = intOf(args.positional[2]);
            } else
                fail(line, "range() takes 1 to 3 arguments");
            if (step == 0)
                fail(line, "range() step must not be zero");
            Json out = Json::array();
            for (auto i = start; step > 0 ? i < stop : i > stop; i += step)
                out.push_back(i);
            return Value::of(out);
        }
        if (name == "strftime_now") {
            const auto fmt = stringArg(args.get(0, "format"), line, "strftime_now's format");
            const std::time_t now = std::time(nullptr);
            std::tm tm {};
            localtime_r(&now, &tm);
            char buf[256];
            const auto n = std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
            return Value::of(std::string(buf, n));
        }
        if (name.rfind("dict.", 0) == 0)
            return dictMethod(name.substr(5), f.self->data, args, line);
        if (name.rfind("str.", 0) == 0)
            return stringMethod(name.substr(4), f.self->data.get<std::string>(), args, line);
        fail(line, "unknown function '" + name + "'");
    }

    Value dictMethod(const std::string &m, const Json &d, const Args &args, int line)
    {
        if (m == "get") {
            const auto key = args.get(0, "key");
            if (key.isString() && d.contains(key.data.get<std::string>()))
                return Value::of(d[key.data.get<std::string>()]);
            const auto deflt = args.get(1, "default");
            return deflt.isUndefined() ? Value::of(nullptr) : deflt;
        }
        Json out = Json::array();
        for (auto it = d.begin(); it != d.end(); ++it) {
            if (m == "items")
                out.push_back(Json::array({it.key(), it.value()}));
            else if (m == "keys")
                out.push_back(it.key());
            else
                out.push_back(it.value());
        }
        (void)line;
        return Value::of(out);
    }

    std::vector<std::string> pySplit(const std::string &s, const Value &sepV, std::int64_t maxSplit, int line)
    {
        std::vector<std::string> parts;
        if (sepV.isUndefined() || sepV.isNone()) {
            // Runs of whitespace separate; leading/trailing whitespace yields nothing.
            const auto u = toU32(s);
            std::size_t i = 0;
            while (i < u.size()) {
                while (i < u.size() && isPySpace(u[i]))
                    ++i;
                if (i >= u.size())
                    break;
                if (maxSplit >= 0 && static_cast<std::int64_t>(parts.size()) == maxSplit) {
                    auto rest = u.substr(i);
                    while (!rest.empty() && isPySpace(rest.back()))
                        rest.pop_back();
                    parts.push_back(toU8(rest));
                    break;
                }
                auto b = i;
                while (i < u.size() && !isPySpace(u[i]))
                    ++i;
                parts.push_back(toU8(u.substr(b, i - b)));
            }
            return parts;
        }
        const auto sep = stringArg(sepV, line, "the separator");
        if (sep.empty())
            fail(line, "empty separator");
        std::size_t pos = 0;
        while (true) {
            const auto at = s.find(sep, pos);
            if (at == std::string::npos || (maxSplit >= 0 && static_cast<std::int64_t>(parts.size()) == maxSplit)) {
                parts.push_back(s.substr(pos));
                break;
            }
            parts.push_back(s.substr(pos, at - pos));
            pos = at + sep.size();
        }
        return parts;
    }

    Value stringMethod(const std::string &m, const std::string &s, const Args &args, int line)
    {
        const auto optChars = [&](std::size_t i) -> std::optional<std::string> {
            const auto v = args.get(i, "chars");
            if (v.isUndefined() || v.isNone())
                return std::nullopt;
            return stringArg(v, line, "the characters to strip");
        };
        if (m == "strip") return Value::of(pyStrip(s, optChars(0), true, true));
        if (m == "lstrip") return Value::of(pyStrip(s, optChars(0), true, false));
        if (m == "rstrip") return Value::of(pyStrip(s, optChars(0), false, true));
        if (m == "startswith" || m == "endswith") {
            const auto v = args.get(0, "prefix");
            std::vector<std::string> options;
            if (v.isData() && v.data.is_array())
                for (const auto &x : v.data)
                    options.push_back(stringArg(Value::of(x), line, m + "'s argument"));
            else
                options.push_back(stringArg(v, line, m + "'s argument"));
            for (const auto &o : options) {
                const bool hit = m == "startswith" ? s.compare(0, o.size(), o) == 0
                                                   : s.size() >= o.size() && s.compare(s.size() - o.size(), o.size(), o) == 0;
                if (hit)
                    return Value::of(true);
            }
            return Value::of(false);
        }
        if (m == "split" || m == "rsplit") {
            const auto maxV = args.get(1, "maxsplit");
            const std::int64_t maxSplit = isInt(maxV) ? intOf(maxV) : -1;
            std::vector<std::string> parts;
            if (m == "rsplit" && maxSplit >= 0) {
                // Split from the right: reverse, split, reverse back.
                const auto sepV = args.get(0, "sep");
                const auto rev = [](std::string x) {
                    auto u = toU32(x);
                    std::reverse(u.begin(), u.end());
                    return toU8(u);
                };
                Value revSep = sepV.isString() ? Value::of(rev(sepV.data.get<std::string>())) : sepV;
                parts = pySplit(rev(s), revSep, maxSplit, line);
                for (auto &p : parts)
                    p = rev(p);
                std::reverse(parts.begin(), parts.end());
            } else {
                parts = pySplit(s, args.get(0, "sep"), maxSplit, line);
            }
            Json out = Json::array();
            for (auto &p : parts)
                out.push_back(p);
            return Value::of(out);
        }
        if (m == "splitlines") {
            Json out = Json::array();
            std::size_t pos = 0;
            while (pos < s.size()) {
                auto at = s.find('\n', pos);
                if (at == std::string::npos)
                    at = s.size();
                out.push_back(s.substr(pos, at - pos));
                pos = at + 1;
            }
            return Value::of(out);
        }
        if (m == "upper" || m == "lower") {
            std::string out = s;
            for (auto &c : out)
                c = static_cast<char>(m == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                                   : std::tolower(static_cast<unsigned char>(c)));
            return Value::of(out);
        }
        if (m == "title" || m == "capitalize")
            return Value::of(capitalise(s, m == "title"));
        if (m == "replace") {
            const auto from = stringArg(args.get(0, "old"), line, "replace's first argument");
            const auto to = stringArg(args.get(1, "new"), line, "replace's second argument");
            const auto countV = args.get(2, "count");
            return Value::of(replaceAll(s, from, to, isInt(countV) ? intOf(countV) : -1));
        }
        if (m == "removeprefix" || m == "removesuffix") {
            const auto a = stringArg(args.get(0, "prefix"), line, m + "'s argument");
            if (m == "removeprefix" && s.compare(0, a.size(), a) == 0)
                return Value::of(s.substr(a.size()));
            if (m == "removesuffix" && !a.empty() && s.size() >= a.size() && s.compare(s.size() - a.size(), a.size(), a) == 0)
                return Value::of(s.substr(0, s.size() - a.size()));
            return Value::of(s);
        }
        if (m == "find" || m == "rfind" || m == "index" || m == "count") {
            const auto a = stringArg(args.get(0, "sub"), line, m + "'s argument");
            if (m == "count") {
                std::int64_t n = 0;
                if (a.empty())
                    return Value::of(static_cast<std::int64_t>(toU32(s).size()) + 1);
                for (auto at = s.find(a); at != std::string::npos; at = s.find(a, at + a.size()))
                    ++n;
                return Value::of(n);
            }
            const auto at = m == "rfind" ? s.rfind(a) : s.find(a);
            if (at == std::string::npos) {
                if (m == "index")
                    fail(line, "substring not found");
                return Value::of(static_cast<std::int64_t>(-1));
            }
            return Value::of(static_cast<std::int64_t>(toU32(s.substr(0, at)).size()));
        }
        if (m == "join") {
            const auto items = iterate(args.get(0, "iterable"), line);
            std::string out;
            for (std::size_t i = 0; i < items.size(); ++i)
                out += (i ? s : "") + stringArg(items[i], line, "join's items");
            return Value::of(out);
        }
        if (m.rfind("is", 0) == 0) {
            const auto u = toU32(s);
            if (u.empty())
                return Value::of(false);
            bool ok = true, cased = false;
            for (const char32_t c : u) {
                const bool ascii = c < 0x80;
                const int ch = static_cast<int>(c);
                if (m == "isdigit") ok &= ascii && std::isdigit(ch);
                else if (m == "isalpha") ok &= !ascii || std::isalpha(ch);
                else if (m == "isalnum") ok &= !ascii || std::isalnum(ch);
                else if (m == "isspace") ok &= isPySpace(c);
                else if (m == "isupper") { ok &= !(ascii && std::islower(ch)); cased |= ascii && std::isupper(ch); }
                else if (m == "islower") { ok &= !(ascii && std::isupper(ch)); cased |= ascii && std::islower(ch); }
            }
            if (m == "isupper" || m == "islower")
                ok &= cased;
            return Value::of(ok);
        }
        fail(line, "str." + m + "() is not supported");
    }

    static std::string replaceAll(const std::string &s, const std::string &from, const std::string &to, std::int64_t count)
    {
        if (from.empty())
            return s;
        std::string out;
        std::size_t pos = 0;
        std::int64_t done = 0;
        while (count < 0 || done < count) {
            const auto at = s.find(from, pos);
            if (at == std::string::npos)
                break;
            out += s.substr(pos, at - pos) + to;
            pos = at + from.size();
            ++done;
        }
        return out + s.substr(pos);
    }

    static std::string capitalise(const std::string &s, bool everyWord)
    {
        std::string out = s;
        bool start = true;
        for (auto &c : out) {
            const auto u = static_cast<unsigned char>(c);
            if (u >= 0x80) {
                start = false;
                continue;
            }
            if (std::isalpha(u)) {
                c = static_cast<char>(start ? std::toupper(u) : std::tolower(u));
                start = false;
            } else if (everyWord) {
                start = true;
            }
        }
        return out;
    }

    Value attributeOrItem(const Value &v, const std::string &path, int line)
    {
        Value cur = v;
        std::size_t pos = 0;
        while (pos <= path.size()) {
            const auto dot = path.find('.', pos);
            const auto part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
            const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
            cur = numeric ? item(cur, Value::of(std::stoll(part)), line) : item(cur, Value::of(part), line);
            if (dot == std::string::npos)
                break;
            pos = dot + 1;
        }
        return cur;
    }

    Value filter(const Expr &e)
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

    bool test(const Expr &e)
    {
        if (e.name == "defined" || e.name == "undefined") {
            const bool defined = !eval(*e.args[0]).isUndefined();
            return e.name == "defined" ? defined : !defined;
        }
        const Value v = eval(*e.args[0]);
        return runTest(e.name, v, evalArgs(e, 1), e.line);
    }

    bool runTest(const std::string &t, const Value &v, const Args &args, int line)
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

    Frames m_frames;
};

} // namespace

JinjaTemplate::JinjaTemplate(std::shared_ptr<const Program> program) : m_program(std::move(program)) {}

JinjaTemplate JinjaTemplate::parse(const std::string &text, const std::string &source)
{
    auto program = std::make_shared<Program>();
    program->source = source;
    try {
        program->body = TemplateParser(lex(text)).parseAll();
    } catch (const SyntaxError &e) {
        throw Error(source, "line " + std::to_string(e.line) + ": " + e.what());
    }
    return JinjaTemplate(program);
}

std::string JinjaTemplate::render(const nlohmann::ordered_json &variables) const
{
    if (!variables.is_object())
        throw Error(m_program->source, "template variables must be an object");
    std::string out;
    try {
        Renderer(variables).run(m_program->body, out);
    } catch (const RenderError &e) {
        throw Error(m_program->source, "line " + std::to_string(e.line) + ": " + e.what());
    } catch (const LoopControl &) {
        throw Error(m_program->source, "break or continue outside a loop");
    }
    return out;
}

const std::string &JinjaTemplate::source() const
{
    return m_program->source;
}

} // namespace moescope::experiments
