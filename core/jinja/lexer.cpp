#include "core/jinja/lexer.h"

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

} // namespace moescope::jinja::detail
