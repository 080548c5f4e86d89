// Output statistics: running moments, time-weighted averages, time series in fixed buckets of
// simulated time, and Student-t confidence intervals over independent replications.
//
// Thread-safety: the classes are not synchronised; keep one instance per thread (or replication)
// and merge. The free functions are pure and safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "engine/time.h"

namespace ingresslab::engine {

// Count, mean, variance, min and max of a stream of doubles in one pass, numerically stable
// (Welford 1962), mergeable (Chan, Golub & LeVeque 1979 parallel formula).
class RunningStats {
 public:
  void add(double x);
  // Adds the values summarised by `other`. Equals adding them one by one, up to rounding.
  void merge(const RunningStats& other);
  void reset() { *this = RunningStats(); }

  uint64_t count() const { return count_; }
  // 0 when empty.
  double mean() const { return mean_; }
  // Sample variance (divisor n - 1); 0 when count() < 2.
  double variance() const;
  double stddev() const;
  // +infinity / -infinity when empty (the identities of min and max).
  double min() const { return min_; }
  double max() const { return max_; }

 private:
  uint64_t count_ = 0;
  double mean_ = 0.0;
  double m2_ = 0.0;  // sum of squared deviations from the mean
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
};

// Time average of a piecewise-constant quantity (queue length, busy servers, utilisation):
// the integral of the value over time divided by the elapsed time.
class TimeWeightedAverage {
 public:
  // The quantity has `initial_value` from `start` on.
  explicit TimeWeightedAverage(Time start = Time::zero(), double initial_value = 0.0)
      : start_(start), last_change_(start), value_(initial_value) {}

  // The quantity changes to `new_value` at `now`; the previous value is integrated over
  // [last change, now). REQUIRES: now >= the time of the previous update()/reset() (an earlier
  // `now` is treated as equal to it, i.e. contributes no time).
  void update(Time now, double new_value);
  // Time average over [start, now). Returns the current value when no time has elapsed.
  // REQUIRES: now >= the time of the previous update()/reset() (as for update()).
  double mean(Time now) const;
  // Integral of the value over [start, now), in value x seconds.
  double integral_seconds(Time now) const;
  // Restarts the average at `now` (warm-up deletion); the current value is kept.
  void reset(Time now);

  double current() const { return value_; }
  Time start() const { return start_; }

 private:
  // Integral of the value since start_, in value x nanoseconds, up to last_change_.
  long double area_ns_ = 0.0L;
  Time start_;
  Time last_change_;
  double value_;
};

// Observations grouped by fixed-width intervals of simulated time: bucket i covers
// [origin + i * width, origin + (i + 1) * width). Grows by appending buckets as time advances
// (amortised O(1) per add). Empty intervals inside the covered span appear as empty buckets, so
// memory is proportional to (latest observation time - origin) / width.
class TimeSeries {
 public:
  struct Bucket {
    Time start;
    uint64_t count = 0;
    double sum = 0.0;
    // sum / count; 0 for an empty bucket.
    double mean() const { return count == 0 ? 0.0 : sum / static_cast<double>(count); }
  };

  // REQUIRES: bucket_width > 0 (a non-positive width is replaced by 1 ns).
  explicit TimeSeries(Duration bucket_width, Time origin = Time::zero());

  // Adds observation `value` at time `t` to the bucket covering t. Observations before the origin
  // are not stored; they are counted in dropped_before_origin().
  void add(Time t, double value);

  Duration bucket_width() const { return width_; }
  Time origin() const { return origin_; }
  // Number of buckets: up to and including the one holding the latest observation.
  size_t size() const { return buckets_.size(); }
  // REQUIRES: i < size().
  const Bucket& bucket(size_t i) const { return buckets_[i]; }
  std::span<const Bucket> buckets() const { return buckets_; }
  uint64_t dropped_before_origin() const { return dropped_; }

 private:
  Duration width_;
  Time origin_;
  std::vector<Bucket> buckets_;
  uint64_t dropped_ = 0;
};

// Confidence interval for a mean: [lower, upper] = mean -/+ half_width at confidence `level`.
struct ConfidenceInterval {
  double mean = 0.0;
  double half_width = 0.0;
  double lower = 0.0;
  double upper = 0.0;
  size_t n = 0;
  double level = 0.0;

  bool contains(double x) const { return lower <= x && x <= upper; }
};

// Student-t confidence interval for the mean of independent, identically distributed values
// (typically one mean per independent replication): mean -/+ t_{(1+level)/2, n-1} * s / sqrt(n),
// with s the sample standard deviation.
// n == 1: half_width = +inf (lower = -inf, upper = +inf). n == 0: additionally mean = NaN.
// level outside [0, 1] or NaN: half_width = NaN. Never throws.
ConfidenceInterval student_t_ci(const std::vector<double>& replication_means, double level = 0.95);

// The p-quantile of Student's t distribution with `df` degrees of freedom (df may be fractional
// and +infinity, which gives the standard normal). Relative error below 1e-12 (checked against
// arbitrary-precision values for 0.05 <= df <= 2e5 and tail probabilities down to 1e-12).
// Returns -inf for p == 0, +inf for p == 1, NaN for p outside [0, 1], NaN arguments or df <= 0.
double student_t_quantile(double p, double df);

// The p-quantile of the standard normal distribution (Acklam's approximation refined by a Halley
// step; relative accuracy ~1e-15). Returns -inf for p == 0, +inf for p == 1, NaN for p outside
// [0, 1] or NaN.
double normal_quantile(double p);

}  // namespace ingresslab::engine
