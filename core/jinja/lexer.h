#pragma once

// Template text into pieces: text, {{ output }} and {% statement %} tags as
// tokens, with comments, whitespace control and trim_blocks/lstrip_blocks
// applied.

#include "core/jinja/python_text.h"

namespace moescope::jinja::detail {

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

std::vector<Token> tokenizeTag(const std::string &src, std::size_t &pos, const std::string &close, int &line);

std::vector<Piece> lex(std::string src);

} // namespace moescope::jinja::detail
