#pragma once

// Pieces into the statement tree (core/jinja/ast.h). Throws SyntaxError.

#include "core/jinja/ast.h"
#include "core/jinja/lexer.h"

namespace moescope::jinja::detail {

Body parseTemplate(std::vector<Piece> pieces);

} // namespace moescope::jinja::detail
