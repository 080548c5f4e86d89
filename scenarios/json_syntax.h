// Strict JSON (RFC 8259) syntax checking for .json scenarios.
//
// JSON scenarios are read by the YAML reader, which keeps line and column of every value; but
// YAML accepts more than JSON (trailing commas, comments, single quotes, unquoted strings), and
// a .json file should be JSON. So its syntax is checked here first, without building anything.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "scenarios/diagnostics.h"

namespace ingresslab::scenarios {

struct JsonSyntaxError {
  SourcePosition position;  // 1-based line and column (in characters) of the offending text
  std::string message;      // e.g. "trailing comma before ']'"
};

// The first syntax error of `text`, or nullopt when it is exactly one JSON value (with optional
// surrounding whitespace and a leading UTF-8 byte order mark). Iterative: any nesting depth is
// checked without recursion. Does not check UTF-8 (check_text does) or duplicate keys.
std::optional<JsonSyntaxError> check_json_syntax(std::string_view text);

}  // namespace ingresslab::scenarios
