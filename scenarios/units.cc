#include "scenarios/units.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

namespace ingresslab::scenarios {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Splits "1.5ms" into the longest numeric prefix and the rest. Returns false if no number.
bool split_number(std::string_view text, double* value, std::string_view* suffix) {
  text = trim(text);
  if (text.empty()) return false;
  size_t i = 0;
  if (text[i] == '+' || text[i] == '-') ++i;
  const size_t digits_start = i;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'))
    ++i;
  if (i == digits_start) return false;
  // Exponent, only if followed by digits (so "1e" is not eaten, and "1E" bytes cannot occur).
  if (i + 1 < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    size_t j = i + 1;
    if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
    if (j < text.size() && text[j] >= '0' && text[j] <= '9') {
      while (j < text.size() && text[j] >= '0' && text[j] <= '9')
        ++j;
      i = j;
    }
  }
  const std::string_view number = text.substr(0, i);
  const char* first = number.data();
  if (*first == '+') ++first;
  const auto [ptr, ec] = std::from_chars(first, number.data() + number.size(), *value);
  if (ec != std::errc() || ptr != number.data() + number.size() || !std::isfinite(*value)) {
    return false;
  }
  *suffix = trim(text.substr(i));
  return true;
}

struct UnitFactor {
  std::string_view suffix;
  double factor;
};

template <size_t N>
Parsed parse_with(std::string_view text, const UnitFactor (&units)[N], std::string_view expected,
                  bool bare_allowed = true) {
  double v = 0;
  std::string_view suffix;
  if (!split_number(text, &v, &suffix)) {
    return {0, "expected " + std::string(expected) + ", got '" + std::string(text) + "'"};
  }
  if (suffix.empty()) {
    if (bare_allowed) return {v, {}};
    return {0, "missing unit in '" + std::string(text) + "': expected " + std::string(expected)};
  }
  for (const UnitFactor& u : units) {
    if (suffix == u.suffix) return {v * u.factor, {}};
  }
  return {0, "unknown unit '" + std::string(suffix) + "' in '" + std::string(text) +
                 "': expected " + std::string(expected)};
}

}  // namespace

Parsed parse_number(std::string_view text) {
  double v = 0;
  std::string_view suffix;
  if (!split_number(text, &v, &suffix) || !suffix.empty()) {
    return {0, "expected a number, got '" + std::string(text) + "'"};
  }
  return {v, {}};
}

Parsed parse_seconds(std::string_view text) {
  static constexpr UnitFactor kUnits[] = {{"ns", 1e-9}, {"us", 1e-6}, {"µs", 1e-6},  {"ms", 1e-3},
                                          {"s", 1.0},   {"m", 60.0},  {"min", 60.0}, {"h", 3600.0}};
  return parse_with(text, kUnits, "a duration such as 250us, 1.5ms, 2s, 1m, 1h");
}

Parsed parse_bytes(std::string_view text) {
  static constexpr UnitFactor kUnits[] = {{"B", 1.0},
                                          {"KiB", 1024.0},
                                          {"MiB", 1048576.0},
                                          {"GiB", 1073741824.0},
                                          {"TiB", 1099511627776.0},
                                          {"kB", 1e3},
                                          {"KB", 1e3},
                                          {"MB", 1e6},
                                          {"GB", 1e9},
                                          {"TB", 1e12}};
  return parse_with(text, kUnits, "a size such as 512B, 64KiB, 1.5MiB, 1.2MB");
}

Parsed parse_per_second(std::string_view text) {
  // "<number>[k|M]/<unit>"
  const std::string_view t = trim(text);
  const size_t slash = t.find('/');
  const std::string expected = "a rate such as 2000/s, 120/min, 2k/s";
  if (slash == std::string_view::npos) {
    Parsed p = parse_number(t);
    if (!p.ok()) p.error = "expected " + expected + ", got '" + std::string(text) + "'";
    return p;
  }
  static constexpr UnitFactor kScale[] = {{"k", 1e3}, {"K", 1e3}, {"M", 1e6}};
  Parsed count = parse_with(t.substr(0, slash), kScale, expected);
  if (!count.ok()) return {0, "expected " + expected + ", got '" + std::string(text) + "'"};
  const std::string_view per = trim(t.substr(slash + 1));
  static constexpr UnitFactor kPer[] = {{"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3},  {"s", 1.0},
                                        {"sec", 1.0}, {"m", 60.0},  {"min", 60.0}, {"h", 3600.0}};
  for (const UnitFactor& u : kPer) {
    if (per == u.suffix) return {count.value / u.factor, {}};
  }
  return {0, "unknown time unit '/" + std::string(per) + "' in '" + std::string(text) +
                 "': expected " + expected};
}

Parsed parse_ratio(std::string_view text) {
  double v = 0;
  std::string_view suffix;
  if (!split_number(text, &v, &suffix) || !(suffix.empty() || suffix == "%")) {
    return {0, "expected a fraction such as 0.999 or a percentage such as 99.9%, got '" +
                   std::string(text) + "'"};
  }
  return {suffix == "%" ? v / 100.0 : v, {}};
}

Parsed parse_bits_per_second(std::string_view text) {
  static constexpr UnitFactor kUnits[] = {
      {"bps", 1.0},         {"kbps", 1e3},          {"Kbps", 1e3},  {"Mbps", 1e6},
      {"Gbps", 1e9},        {"Tbps", 1e12},         {"bit/s", 1.0}, {"kbit/s", 1e3},
      {"Mbit/s", 1e6},      {"Gbit/s", 1e9},        {"B/s", 8.0},   {"kB/s", 8e3},
      {"KB/s", 8e3},        {"MB/s", 8e6},          {"GB/s", 8e9},  {"KiB/s", 8192.0},
      {"MiB/s", 8388608.0}, {"GiB/s", 8589934592.0}};
  return parse_with(text, kUnits, "a bandwidth such as 10Gbps, 100Mbps, 125MB/s");
}

Parsed parse_cores(std::string_view text) {
  static constexpr UnitFactor kUnits[] = {{"m", 1e-3}};
  return parse_with(text, kUnits, "CPU cores such as 500m or 1.5");
}

std::string format_number(double v) {
  char buf[64];
  if (std::isfinite(v) && std::fabs(v) < 1e15 && v == std::trunc(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.6g", v);
  }
  return buf;
}

std::string format_seconds(double s) {
  const double a = std::fabs(s);
  if (a == 0) return "0s";
  if (a < 1e-6) return format_number(s * 1e9) + "ns";
  if (a < 1e-3) return format_number(s * 1e6) + "us";
  if (a < 1.0) return format_number(s * 1e3) + "ms";
  return format_number(s) + "s";
}

std::string format_bytes(double b) {
  const double a = std::fabs(b);
  if (a < 1024) return format_number(b) + "B";
  if (a < 1048576) return format_number(b / 1024) + "KiB";
  if (a < 1073741824.0) return format_number(b / 1048576) + "MiB";
  return format_number(b / 1073741824.0) + "GiB";
}

std::string format_value(double v, scenario::Unit unit) {
  switch (unit) {
    case scenario::SECONDS:
      return format_seconds(v);
    case scenario::BYTES:
      return format_bytes(v);
    case scenario::RATIO:
      return format_number(v * 100) + "%";
    case scenario::PER_SECOND:
      return format_number(v) + "/s";
    case scenario::BITS_PER_SECOND:
      return format_number(v) + "bps";
    default:
      return format_number(v);
  }
}

}  // namespace ingresslab::scenarios
