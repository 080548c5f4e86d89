// Simulated time: integer nanoseconds, never floating point.
//
// `Duration` is a signed span of time, `Time` a point on the simulation clock (nanoseconds since
// the start of the run). Both are trivially copyable 8-byte values; arithmetic is exact, so a run
// is bit-for-bit reproducible. Conversions to and from seconds exist for distributions and reports
// only; the kernel itself never uses them.
#pragma once

#include <cmath>
#include <compare>
#include <cstdint>
#include <limits>

namespace ingresslab::engine {

class Duration {
 public:
  constexpr Duration() = default;

  static constexpr Duration nanoseconds(int64_t ns) { return Duration(ns); }
  static constexpr Duration microseconds(int64_t us) { return Duration(us * 1'000); }
  static constexpr Duration milliseconds(int64_t ms) { return Duration(ms * 1'000'000); }
  static constexpr Duration seconds(int64_t s) { return Duration(s * 1'000'000'000); }
  // Rounds to the nearest nanosecond; saturates at max()/min() for out-of-range or NaN input
  // (NaN maps to zero) so a bad sample can never wrap the clock.
  static Duration from_seconds(double s) {
    if (std::isnan(s)) return Duration(0);
    const double ns = std::round(s * 1e9);
    if (ns >= 9.2e18) return max();
    if (ns <= -9.2e18) return min();
    return Duration(static_cast<int64_t>(ns));
  }
  static constexpr Duration zero() { return Duration(0); }
  static constexpr Duration max() { return Duration(std::numeric_limits<int64_t>::max()); }
  static constexpr Duration min() { return Duration(std::numeric_limits<int64_t>::min()); }

  constexpr int64_t ns() const { return ns_; }
  constexpr double to_seconds() const { return static_cast<double>(ns_) * 1e-9; }
  constexpr double to_millis() const { return static_cast<double>(ns_) * 1e-6; }
  constexpr double to_micros() const { return static_cast<double>(ns_) * 1e-3; }

  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return Duration(ns_ + o.ns_); }
  constexpr Duration operator-(Duration o) const { return Duration(ns_ - o.ns_); }
  constexpr Duration operator-() const { return Duration(-ns_); }
  constexpr Duration operator*(int64_t k) const { return Duration(ns_ * k); }
  constexpr Duration operator/(int64_t k) const { return Duration(ns_ / k); }
  constexpr Duration& operator+=(Duration o) {
    ns_ += o.ns_;
    return *this;
  }
  constexpr Duration& operator-=(Duration o) {
    ns_ -= o.ns_;
    return *this;
  }

 private:
  constexpr explicit Duration(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

class Time {
 public:
  constexpr Time() = default;

  static constexpr Time from_ns(int64_t ns) { return Time(ns); }
  static constexpr Time zero() { return Time(0); }
  static constexpr Time max() { return Time(std::numeric_limits<int64_t>::max()); }

  constexpr int64_t ns() const { return ns_; }
  constexpr double to_seconds() const { return static_cast<double>(ns_) * 1e-9; }
  // Time since the start of the run.
  constexpr Duration since_start() const { return Duration::nanoseconds(ns_); }

  constexpr auto operator<=>(const Time&) const = default;
  constexpr Time operator+(Duration d) const { return Time(ns_ + d.ns()); }
  constexpr Time operator-(Duration d) const { return Time(ns_ - d.ns()); }
  constexpr Duration operator-(Time o) const { return Duration::nanoseconds(ns_ - o.ns_); }
  constexpr Time& operator+=(Duration d) {
    ns_ += d.ns();
    return *this;
  }

 private:
  constexpr explicit Time(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

namespace literals {
constexpr Duration operator""_ns(unsigned long long v) {
  return Duration::nanoseconds(static_cast<int64_t>(v));
}
constexpr Duration operator""_us(unsigned long long v) {
  return Duration::microseconds(static_cast<int64_t>(v));
}
constexpr Duration operator""_ms(unsigned long long v) {
  return Duration::milliseconds(static_cast<int64_t>(v));
}
constexpr Duration operator""_s(unsigned long long v) {
  return Duration::seconds(static_cast<int64_t>(v));
}
}  // namespace literals

}  // namespace ingresslab::engine
