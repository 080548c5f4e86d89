// Reading values with units, as scenario files and `--set` write them.
//
// Every parser takes the text of one scalar and returns the value in the stored unit (seconds,
// bytes, per second, fraction, bits per second, cores), or an error message that says what was
// expected. Pure functions; no allocation beyond the error string.
#pragma once

#include <string>
#include <string_view>

#include "scenarios/proto/options.pb.h"

namespace ingresslab::scenarios {

// A value or the reason it could not be read.
struct Parsed {
  double value = 0;
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

// `250us`, `1.5ms`, `2s`, `1m`, `1h`, `100ns`, `0`; a bare number is seconds. -> seconds.
// Negative values are accepted here; ranges are checked by validation.
Parsed parse_seconds(std::string_view text);
// `512B`, `64KiB`, `1.5MiB`, `1GiB`, `1kB`, `1.2MB`, `1GB`, `1TB`; a bare number is bytes. ->
// bytes.
Parsed parse_bytes(std::string_view text);
// `2000/s`, `120/min`, `5/ms`, `2k/s`, `1.5M/h`; a bare number is per second. -> per second.
Parsed parse_per_second(std::string_view text);
// `99.9%` or `0.999`. -> fraction (not range-checked here).
Parsed parse_ratio(std::string_view text);
// `10Gbps`, `100Mbps`, `1.5Gbit/s`, `125MB/s` (bytes), `1e9`; a bare number is bits/s. -> bits/s.
Parsed parse_bits_per_second(std::string_view text);
// `500m` (millicores) or `1.5`. -> cores.
Parsed parse_cores(std::string_view text);
// A plain decimal or scientific number, whole text, no unit. Rejects nan/inf and hex.
Parsed parse_number(std::string_view text);

// Formatting values back the way a user writes them, for messages. Every formatter below uses
// format_number for its digits.

// Integers as integers (`80`, `1000000`), anything else with 6 significant digits (`0.001`,
// `2.5e+20`).
std::string format_number(double v);
// Formats seconds the way a user would write them: `250us`, `1.5ms`, `2s`.
std::string format_seconds(double seconds);
// Formats bytes: `512B`, `64KiB`, `1.5MiB`.
std::string format_bytes(double bytes);
// Formats a value stored in `unit` (options.proto): seconds and bytes as above, a ratio as a
// percentage (`99.9%`), `2000/s`, `10000000000bps`; other units (cores, none) as a plain number.
std::string format_value(double v, scenario::Unit unit);

}  // namespace ingresslab::scenarios
