#include "engine/statistics.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace ingresslab::engine {

// ---------------------------------------------------------------------------------------------
// RunningStats

void RunningStats::add(double x) {
  ++count_;
  const double delta = x - mean_;
  mean_ += delta / static_cast<double>(count_);
  m2_ += delta * (x - mean_);
  min_ = std::min(min_, x);
  max_ = std::max(max_, x);
}

void RunningStats::merge(const RunningStats& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  const RunningStats b = other;  // `other` may alias *this
  const double na = static_cast<double>(count_);
  const double nb = static_cast<double>(b.count_);
  const double n = na + nb;
  const double delta = b.mean_ - mean_;
  mean_ += delta * (nb / n);
  m2_ += b.m2_ + delta * delta * (na * nb / n);
  count_ += b.count_;
  min_ = std::min(min_, b.min_);
  max_ = std::max(max_, b.max_);
}

double RunningStats::variance() const {
  if (count_ < 2) return 0.0;
  return std::max(0.0, m2_ / static_cast<double>(count_ - 1));
}

double RunningStats::stddev() const {
  return std::sqrt(variance());
}

// ---------------------------------------------------------------------------------------------
// TimeWeightedAverage

void TimeWeightedAverage::update(Time now, double new_value) {
  if (now > last_change_) {
    area_ns_ +=
        static_cast<long double>(value_) * static_cast<long double>((now - last_change_).ns());
    last_change_ = now;
  }
  value_ = new_value;
}

double TimeWeightedAverage::mean(Time now) const {
  now = std::max(now, last_change_);
  const int64_t elapsed_ns = (now - start_).ns();
  if (elapsed_ns <= 0) return value_;
  const long double area = area_ns_ + static_cast<long double>(value_) *
                                          static_cast<long double>((now - last_change_).ns());
  return static_cast<double>(area / static_cast<long double>(elapsed_ns));
}

double TimeWeightedAverage::integral_seconds(Time now) const {
  now = std::max(now, last_change_);
  const long double area = area_ns_ + static_cast<long double>(value_) *
                                          static_cast<long double>((now - last_change_).ns());
  return static_cast<double>(area * 1e-9L);
}

void TimeWeightedAverage::reset(Time now) {
  now = std::max(now, last_change_);
  start_ = now;
  last_change_ = now;
  area_ns_ = 0.0L;
}

// ---------------------------------------------------------------------------------------------
// TimeSeries

TimeSeries::TimeSeries(Duration bucket_width, Time origin)
    : width_(bucket_width > Duration::zero() ? bucket_width : Duration::nanoseconds(1)),
      origin_(origin) {}

void TimeSeries::add(Time t, double value) {
  if (t < origin_) {
    ++dropped_;
    return;
  }
  const auto index = static_cast<size_t>((t - origin_).ns() / width_.ns());
  if (index >= buckets_.size()) {
    // resize() grows the capacity geometrically, so appending is amortised O(1).
    size_t i = buckets_.size();
    buckets_.resize(index + 1);
    for (; i < buckets_.size(); ++i) {
      buckets_[i].start = origin_ + width_ * static_cast<int64_t>(i);
    }
  }
  Bucket& b = buckets_[index];
  ++b.count;
  b.sum += value;
}

// ---------------------------------------------------------------------------------------------
// Distribution quantiles

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// log Gamma(x) for x > 0 (Lanczos approximation, g = 7, n = 9; relative error ~1e-15).
// Used instead of std::lgamma, which writes the global `signgam` and so is not thread-safe.
double log_gamma(double x) {
  if (x < 0.5) return log_gamma(x + 1.0) - std::log(x);
  static constexpr double kCoef[] = {
      0.99999999999980993,  676.5203681218851,     -1259.1392167224028,
      771.32342877765313,   -176.61502916214059,   12.507343278686905,
      -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
  constexpr double kG = 7.0;
  x -= 1.0;
  double a = kCoef[0];
  for (int i = 1; i < 9; ++i) {
    a += kCoef[i] / (x + i);
  }
  const double t = x + kG + 0.5;
  return 0.5 * std::log(2.0 * std::numbers::pi) + (x + 0.5) * std::log(t) - t + std::log(a);
}

// Continued fraction for the regularized incomplete beta function (modified Lentz; Numerical
// Recipes 3rd ed. §6.4). Converges quickly for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  constexpr int kMaxIterations = 100000;
  constexpr double kEpsilon = 4e-16;  // two ulps of 1.0
  constexpr double kTiny = 1e-300;
  const double qab = a + b;
  const double qap = a + 1.0;
  const double qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < kEpsilon) break;
  }
  return h;
}

// log Gamma(a + 1/2) - log Gamma(a) for a > 0. For large a the two log-gammas are huge and nearly
// equal, so the difference is taken analytically from Stirling's series instead.
double log_gamma_ratio_half(double a) {
  if (a < 20.0) return log_gamma(a + 0.5) - log_gamma(a);
  // Stirling: log Gamma(x) = (x - 1/2) log x - x + log(2 pi) / 2 + S(x), S as below (error < 1e-15
  // for x >= 20). Then the difference is a log1p(1/(2a)) + log(a) / 2 - 1/2 + S(a + 1/2) - S(a).
  auto stirling_tail = [](double x) {
    const double x2 = x * x;
    return (1.0 / 12.0 -
            (1.0 / 360.0 - (1.0 / 1260.0 - (1.0 / 1680.0 - 1.0 / (1188.0 * x2)) / x2) / x2) / x2) /
           x;
  };
  return a * std::log1p(0.5 / a) + 0.5 * std::log(a) - 0.5 +
         (stirling_tail(a + 0.5) - stirling_tail(a));
}

// log(1 + r^2) for r >= 0, without overflow for huge r.
double log1p_square(double r) {
  return r < 1e150 ? std::log1p(r * r) : 2.0 * std::log(r);
}

// Regularized incomplete beta I_x(a, 1/2) (the case the t distribution needs), with
// x = 1 / (1 + r^2) and 1 - x = r^2 / (1 + r^2) derived from r >= 0 so that neither suffers
// cancellation and huge r does not overflow.
double regularized_incomplete_beta_half(double a, double r) {
  constexpr double b = 0.5;
  if (r <= 0.0) return 1.0;
  if (std::isinf(r)) return 0.0;
  const double log_x = -log1p_square(r);
  const double log_y = 2.0 * std::log(r) + log_x;
  const double x = std::exp(log_x);
  const double y = std::exp(log_y);
  // log(x^a y^b / B(a, b)) with log B(a, 1/2) = log Gamma(1/2) - log(Gamma(a + 1/2) / Gamma(a)).
  const double log_front =
      log_gamma_ratio_half(a) - 0.5 * std::log(std::numbers::pi) + a * log_x + b * log_y;
  const double front = std::exp(log_front);
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_continued_fraction(a, b, x) / a;
  return 1.0 - front * beta_continued_fraction(b, a, y) / b;
}

// P(T > t) for T ~ Student t with df degrees of freedom, t >= 0.
double student_t_upper_tail(double t, double df) {
  return 0.5 * regularized_incomplete_beta_half(0.5 * df, t / std::sqrt(df));
}

// Cornish-Fisher expansion of the t quantile around the normal quantile z (Abramowitz & Stegun
// 26.7.5); the error is O(df^-5).
double student_t_cornish_fisher(double z, double df) {
  const double z2 = z * z;
  const double z3 = z2 * z;
  const double z5 = z3 * z2;
  const double z7 = z5 * z2;
  const double z9 = z7 * z2;
  const double g1 = (z3 + z) / 4.0;
  const double g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
  const double g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
  const double g4 = (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / 92160.0;
  return z + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df);
}

// Lower-tail normal quantile for 0 < p <= 0.5 (returns a value <= 0).
double normal_quantile_lower(double p) {
  // P. J. Acklam's rational approximation (relative error 1.15e-9), then Halley refinement.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  double x;
  if (p < kLow) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  for (int i = 0; i < 2; ++i) {
    const double e = 0.5 * std::erfc(-x / std::numbers::sqrt2) - p;
    const double u = e * std::sqrt(2.0 * std::numbers::pi) * std::exp(0.5 * x * x);
    x -= u / (1.0 + 0.5 * x * u);
  }
  return x;
}

// t > 0 with P(T > t) = alpha, for 0 < alpha < 0.5 and finite df > 0.
double student_t_upper_quantile(double alpha, double df) {
  const double z = -normal_quantile_lower(alpha);
  const double guess = student_t_cornish_fisher(z, df);
  if (df > 1e5) return guess;  // the expansion is exact to double precision here

  // Safeguarded Newton iteration on P(T > t) - alpha, which decreases in t.
  const double log_density_norm =
      log_gamma_ratio_half(0.5 * df) - 0.5 * std::log(df * std::numbers::pi);
  auto density = [&](double t) {
    return std::exp(log_density_norm - 0.5 * (df + 1.0) * log1p_square(t / std::sqrt(df)));
  };
  double lo = 0.0;
  double hi = (std::isfinite(guess) && guess > 1.0) ? guess : 1.0;
  for (int i = 0; i < 2100 && student_t_upper_tail(hi, df) > alpha; ++i) {
    lo = hi;
    hi *= 2.0;
  }
  double t = (guess > lo && guess < hi) ? guess : 0.5 * (lo + hi);
  for (int i = 0; i < 400; ++i) {
    const double g = student_t_upper_tail(t, df) - alpha;
    if (g > 0.0) {
      lo = t;
    } else if (g < 0.0) {
      hi = t;
    } else {
      return t;
    }
    double next = t + g / density(t);
    if (!(next > lo && next < hi)) {
      next = (lo > 0.0 && hi > 4.0 * lo) ? std::sqrt(lo * hi) : 0.5 * (lo + hi);
    }
    if (std::fabs(next - t) <= 1e-15 * next) return next;
    t = next;
  }
  return t;
}

}  // namespace

double normal_quantile(double p) {
  if (std::isnan(p) || p < 0.0 || p > 1.0) return kNaN;
  if (p == 0.0) return -kInf;
  if (p == 1.0) return kInf;
  if (p <= 0.5) return normal_quantile_lower(p);
  return -normal_quantile_lower(1.0 - p);  // 1 - p is exact for p in [0.5, 1]
}

double student_t_quantile(double p, double df) {
  if (std::isnan(p) || std::isnan(df) || df <= 0.0 || p < 0.0 || p > 1.0) return kNaN;
  if (p == 0.0) return -kInf;
  if (p == 1.0) return kInf;
  if (p == 0.5) return 0.0;
  if (std::isinf(df)) return normal_quantile(p);
  if (p > 0.5) return student_t_upper_quantile(1.0 - p, df);
  return -student_t_upper_quantile(p, df);
}

ConfidenceInterval student_t_ci(const std::vector<double>& replication_means, double level) {
  ConfidenceInterval ci;
  ci.n = replication_means.size();
  ci.level = level;
  if (ci.n == 0) {
    ci.mean = kNaN;
    ci.half_width = kInf;
    ci.lower = -kInf;
    ci.upper = kInf;
    return ci;
  }
  // Two passes: exact enough for any data (no catastrophic cancellation).
  long double sum = 0.0L;
  for (double x : replication_means)
    sum += x;
  const long double mean = sum / static_cast<long double>(ci.n);
  ci.mean = static_cast<double>(mean);
  if (ci.n < 2) {
    ci.half_width = kInf;
  } else if (std::isnan(level) || level < 0.0 || level > 1.0) {
    ci.half_width = kNaN;
  } else {
    long double squares = 0.0L;
    for (double x : replication_means)
      squares += (x - mean) * (x - mean);
    const double n = static_cast<double>(ci.n);
    const double standard_error = std::sqrt(static_cast<double>(squares) / (n - 1.0) / n);
    const double t = student_t_quantile(0.5 * (1.0 + level), n - 1.0);
    ci.half_width = standard_error == 0.0 ? 0.0 : t * standard_error;
  }
  ci.lower = ci.mean - ci.half_width;
  ci.upper = ci.mean + ci.half_width;
  return ci;
}

}  // namespace ingresslab::engine
