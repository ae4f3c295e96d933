#include "core/jinja/parser.h"

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

namespace {

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

Body parseTemplate(std::vector<Piece> pieces)
{
    return TemplateParser(std::move(pieces)).parseAll();
}

} // namespace moescope::jinja::detail
