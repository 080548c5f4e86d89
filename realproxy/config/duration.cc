#include "realproxy/config/duration.h"

#include <cmath>
#include <cstdlib>
#include <string>

namespace ingresslab::realproxy {

DurationOrError parse_duration(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text == "0") return {engine::Duration::zero(), {}};
  size_t unit_at = 0;
  bool seen_digit = false, seen_dot = false;
  while (unit_at < text.size()) {
    const char c = text[unit_at];
    if (c >= '0' && c <= '9') {
      seen_digit = true;
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      break;
    }
    ++unit_at;
  }
  if (!seen_digit) {
    return {{}, "invalid duration " + quoted + ": expected a number followed by a unit (e.g. 2ms)"};
  }
  const std::string_view unit = text.substr(unit_at);
  double scale_ns = 0;
  if (unit == "ns") {
    scale_ns = 1;
  } else if (unit == "us" || unit == "\xC2\xB5s") {
    scale_ns = 1e3;
  } else if (unit == "ms") {
    scale_ns = 1e6;
  } else if (unit == "s") {
    scale_ns = 1e9;
  } else if (unit == "m") {
    scale_ns = 60e9;
  } else if (unit == "h") {
    scale_ns = 3600e9;
  } else if (unit.empty()) {
    return {{}, "invalid duration " + quoted + ": missing unit (ns, us, ms, s, m, h)"};
  } else {
    return {{},
            "invalid duration " + quoted + ": unknown unit \"" + std::string(unit) +
                "\" (use ns, us, ms, s, m, h)"};
  }
  const std::string number(text.substr(0, unit_at));
  const double ns = std::strtod(number.c_str(), nullptr) * scale_ns;
  if (!std::isfinite(ns) || ns >= 9.2e18) return {{}, "invalid duration " + quoted + ": too large"};
  return {engine::Duration::nanoseconds(static_cast<int64_t>(std::llround(ns))), {}};
}

}  // namespace ingresslab::realproxy
