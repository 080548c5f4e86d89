// Durations on the realproxy / realpod command lines and in their flags: "250us", "1.5ms", "2s".
#pragma once

#include <string>
#include <string_view>

#include "engine/time.h"

namespace ingresslab::realproxy {

// Either a duration or the reason the text is not one. Exactly one of `ok` and `error` holds.
struct DurationOrError {
  engine::Duration value;
  std::string error;  // empty iff ok

  bool ok() const { return error.empty(); }
};

// Parses a non-negative decimal number followed by a unit: ns, us (or µs), ms, s, m, h.
// "0" alone is accepted (zero needs no unit); anything else without a unit is an error, so a
// forgotten unit never silently means seconds. Rounded to the nearest nanosecond.
// Examples: "2ms", "1.5s", "250us", "0".
DurationOrError parse_duration(std::string_view text);

}  // namespace ingresslab::realproxy
