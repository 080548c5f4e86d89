#include "engine/statistics.h"

#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace ingresslab::engine {
namespace {

using namespace literals;

// Reference mean and sample variance by two passes in long double.
struct TwoPass {
  long double mean = 0;
  long double variance = 0;
};
TwoPass two_pass(const std::vector<double>& xs) {
  TwoPass r;
  for (double x : xs)
    r.mean += x;
  r.mean /= static_cast<long double>(xs.size());
  for (double x : xs)
    r.variance += (x - r.mean) * (x - r.mean);
  r.variance /= static_cast<long double>(xs.size() - 1);
  return r;
}

double relative_error(double value, long double reference) {
  return static_cast<double>(std::fabs((static_cast<long double>(value) - reference) / reference));
}

// ---------------------------------------------------------------------------------------------
// RunningStats

TEST(RunningStatsTest, EmptyAndSingle) {
  RunningStats s;
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.mean(), 0.0);
  EXPECT_EQ(s.variance(), 0.0);
  EXPECT_EQ(s.min(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.max(), -std::numeric_limits<double>::infinity());
  s.add(3.5);
  EXPECT_EQ(s.count(), 1u);
  EXPECT_EQ(s.mean(), 3.5);
  EXPECT_EQ(s.variance(), 0.0);
  EXPECT_EQ(s.min(), 3.5);
  EXPECT_EQ(s.max(), 3.5);
}

TEST(RunningStatsTest, SmallExample) {
  RunningStats s;
  for (double x : {2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0})
    s.add(x);
  EXPECT_DOUBLE_EQ(s.mean(), 5.0);
  EXPECT_DOUBLE_EQ(s.variance(), 32.0 / 7.0);
  EXPECT_DOUBLE_EQ(s.stddev(), std::sqrt(32.0 / 7.0));
  EXPECT_EQ(s.min(), 2.0);
  EXPECT_EQ(s.max(), 9.0);
}

TEST(RunningStatsTest, WelfordMatchesTwoPassEvenWithLargeOffset) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (double offset : {0.0, 1e9}) {
    std::vector<double> xs(100'000);
    for (auto& x : xs)
      x = offset + noise(rng);
    RunningStats s;
    double naive_sum = 0;
    double naive_sum_squares = 0;
    for (double x : xs) {
      s.add(x);
      naive_sum += x;
      naive_sum_squares += x * x;
    }
    const TwoPass ref = two_pass(xs);
    EXPECT_LE(relative_error(s.mean(), ref.mean), 1e-14) << offset;
    EXPECT_LE(relative_error(s.variance(), ref.variance), 1e-6) << offset;
    if (offset > 0) {
      // The textbook one-pass formula fails here, which is why Welford is used.
      const double n = static_cast<double>(xs.size());
      const double naive_variance = (naive_sum_squares - naive_sum * naive_sum / n) / (n - 1);
      EXPECT_GT(relative_error(naive_variance, ref.variance), 0.1);
    }
  }
}

TEST(RunningStatsTest, MergeEqualsSequential) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(3.0, 1.0);
  std::vector<double> xs(30'001);
  for (auto& x : xs)
    x = 1e6 + dist(rng);
  RunningStats all;
  RunningStats parts[3];
  for (size_t i = 0; i < xs.size(); ++i) {
    all.add(xs[i]);
    parts[i < 17 ? 0 : (i < 20'000 ? 1 : 2)].add(xs[i]);
  }
  RunningStats merged;
  merged.merge(RunningStats());  // empty into empty
  for (const auto& p : parts)
    merged.merge(p);
  merged.merge(RunningStats());  // empty into non-empty
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_NEAR(merged.mean(), all.mean(), 1e-12 * all.mean());
  EXPECT_NEAR(merged.variance(), all.variance(), 1e-9 * all.variance());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());

  RunningStats doubled = parts[0];
  doubled.merge(doubled);  // self-merge: every value twice
  EXPECT_EQ(doubled.count(), 34u);
  EXPECT_NEAR(doubled.mean(), parts[0].mean(), 1e-9);
  // Sum of squared deviations doubles: variance * (2 * 16) / 33.
  EXPECT_NEAR(doubled.variance(), parts[0].variance() * 32.0 / 33.0, 1e-9 * doubled.variance());
}

// ---------------------------------------------------------------------------------------------
// TimeWeightedAverage

TEST(TimeWeightedAverageTest, StepFunctionExactMean) {
  // 0 on [0, 10 s), 2 on [10 s, 30 s), 5 on [30 s, 40 s): integral 90, mean 2.25.
  TimeWeightedAverage avg;
  avg.update(Time::zero() + 10_s, 2.0);
  avg.update(Time::zero() + 30_s, 5.0);
  const Time end = Time::zero() + 40_s;
  EXPECT_EQ(avg.mean(end), 2.25);
  EXPECT_EQ(avg.integral_seconds(end), 90.0);
  EXPECT_EQ(avg.current(), 5.0);
}

TEST(TimeWeightedAverageTest, ManySmallStepsWithNanosecondTimes) {
  // Queue length alternating 1, 0 every 1 ns and 3 ns: busy fraction exactly 1/4.
  TimeWeightedAverage busy(Time::from_ns(1'000));
  Time t = Time::from_ns(1'000);
  for (int i = 0; i < 100'000; ++i) {
    busy.update(t, 1.0);
    t += 1_ns;
    busy.update(t, 0.0);
    t += 3_ns;
  }
  EXPECT_EQ(busy.mean(t), 0.25);
}

TEST(TimeWeightedAverageTest, ResetDeletesWarmupAndKeepsCurrentValue) {
  TimeWeightedAverage avg(Time::zero(), 100.0);
  avg.update(Time::zero() + 5_s, 4.0);  // transient: 100 for 5 s
  avg.reset(Time::zero() + 6_s);
  EXPECT_EQ(avg.start(), Time::zero() + 6_s);
  EXPECT_EQ(avg.mean(Time::zero() + 6_s), 4.0);  // no elapsed time: current value
  avg.update(Time::zero() + 8_s, 0.0);
  EXPECT_EQ(avg.mean(Time::zero() + 10_s), 2.0);  // (4 * 2 + 0 * 2) / 4
}

TEST(TimeWeightedAverageTest, TimeGoingBackwardsContributesNothing) {
  TimeWeightedAverage avg(Time::zero(), 1.0);
  avg.update(Time::zero() + 10_s, 3.0);
  avg.update(Time::zero() + 5_s, 2.0);            // violates REQUIRES: treated as at 10 s
  EXPECT_EQ(avg.mean(Time::zero() + 20_s), 1.5);  // (1 * 10 + 2 * 10) / 20
}

// ---------------------------------------------------------------------------------------------
// TimeSeries

TEST(TimeSeriesTest, Bucketing) {
  TimeSeries series(1_s, Time::zero() + 100_ms);
  series.add(Time::zero() + 100_ms, 1.0);    // bucket 0 (start is inclusive)
  series.add(Time::zero() + 1099_ms, 3.0);   // bucket 0
  series.add(Time::zero() + 1100_ms, 10.0);  // bucket 1 (end is exclusive)
  series.add(Time::zero() + 3500_ms, -2.0);  // bucket 3; bucket 2 stays empty
  series.add(Time::zero() + 50_ms, 99.0);    // before the origin: dropped
  EXPECT_EQ(series.bucket_width(), 1_s);
  ASSERT_EQ(series.size(), 4u);
  EXPECT_EQ(series.dropped_before_origin(), 1u);

  EXPECT_EQ(series.bucket(0).start, Time::zero() + 100_ms);
  EXPECT_EQ(series.bucket(0).count, 2u);
  EXPECT_EQ(series.bucket(0).sum, 4.0);
  EXPECT_EQ(series.bucket(0).mean(), 2.0);
  EXPECT_EQ(series.bucket(1).start, Time::zero() + 1100_ms);
  EXPECT_EQ(series.bucket(1).count, 1u);
  EXPECT_EQ(series.bucket(2).start, Time::zero() + 2100_ms);
  EXPECT_EQ(series.bucket(2).count, 0u);
  EXPECT_EQ(series.bucket(2).mean(), 0.0);
  EXPECT_EQ(series.bucket(3).start, Time::zero() + 3100_ms);
  EXPECT_EQ(series.bucket(3).sum, -2.0);

  // Adding into an earlier bucket after later ones exist is fine.
  series.add(Time::zero() + 2200_ms, 5.0);
  EXPECT_EQ(series.buckets()[2].count, 1u);
  EXPECT_EQ(series.size(), 4u);
}

TEST(TimeSeriesTest, ManyEventsCountPerBucket) {
  TimeSeries series(10_ms);
  for (int64_t ns = 0; ns < Duration::seconds(1).ns(); ns += 1000) {
    series.add(Time::from_ns(ns), 1.0);
  }
  ASSERT_EQ(series.size(), 100u);
  for (const auto& b : series.buckets())
    EXPECT_EQ(b.count, 10'000u);
}

// ---------------------------------------------------------------------------------------------
// Quantiles

TEST(QuantileTest, StudentTTableValues) {
  // Two-sided 95% critical values, t_{0.975, df}.
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.7062, 1e-3);
  EXPECT_NEAR(student_t_quantile(0.975, 2), 4.3027, 1e-3);
  EXPECT_NEAR(student_t_quantile(0.975, 9), 2.2622, 1e-3);
  EXPECT_NEAR(student_t_quantile(0.975, 29), 2.0452, 1e-3);
  EXPECT_NEAR(student_t_quantile(0.975, std::numeric_limits<double>::infinity()), 1.95996, 1e-3);
  // More digits (computed with mpmath at 40 digits by root-finding on the regularized incomplete
  // beta function).
  struct Case {
    double p, df, t;
  };
  const Case cases[] = {
      {0.975, 1, 12.706204736174693},   {0.975, 2, 4.3026527297494618},
      {0.975, 9, 2.262157162798205},    {0.975, 29, 2.0452296421327039},
      {0.975, 7, 2.3646242515927847},   {0.995, 4, 4.604094871349992},
      {0.95, 30, 1.6972608865939574},   {0.975, 1000, 1.9623390808264081},
      {0.975, 1e4, 1.9602012398906259}, {0.975, 1e7, 1.9599642217672051},
      {0.975, 0.5, 164.55767348048824}, {0.999999, 3, 103.29946777942897},
  };
  for (const Case& c : cases) {
    EXPECT_NEAR(student_t_quantile(c.p, c.df), c.t, 1e-12 * c.t) << c.p << " " << c.df;
  }
}

TEST(QuantileTest, StudentTClosedForms) {
  for (double p : {1e-10, 1e-4, 0.01, 0.1, 0.3, 0.499, 0.6, 0.9, 0.99, 0.999999}) {
    // df = 1 is the Cauchy distribution; df = 2 has t = (2p - 1) / sqrt(2 p (1 - p)).
    const double cauchy = p < 0.5 ? -1.0 / std::tan(std::numbers::pi * p)
                                  : 1.0 / std::tan(std::numbers::pi * (1 - p));
    EXPECT_NEAR(student_t_quantile(p, 1), cauchy, 1e-10 * std::fabs(cauchy)) << p;
    const double df2 = (2 * p - 1) / std::sqrt(2 * p * (1 - p));
    EXPECT_NEAR(student_t_quantile(p, 2), df2, 1e-10 * std::fabs(df2)) << p;
  }
}

TEST(QuantileTest, StudentTSymmetryAndLimits) {
  for (double df : {0.5, 1.0, 3.0, 10.0, 100.0, 1e4}) {
    EXPECT_EQ(student_t_quantile(0.5, df), 0.0);
    EXPECT_EQ(student_t_quantile(0.25, df), -student_t_quantile(0.75, df)) << df;
    // Heavier tails than the normal, approaching it as df grows.
    EXPECT_GT(student_t_quantile(0.975, df), normal_quantile(0.975)) << df;
  }
  EXPECT_LT(student_t_quantile(0.975, 1e4) - normal_quantile(0.975), 1e-3);
  EXPECT_EQ(student_t_quantile(1.0, 5), std::numeric_limits<double>::infinity());
  EXPECT_EQ(student_t_quantile(0.0, 5), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(student_t_quantile(1.5, 5)));
  EXPECT_TRUE(std::isnan(student_t_quantile(0.9, 0)));
  EXPECT_TRUE(std::isnan(student_t_quantile(0.9, -1)));
  EXPECT_TRUE(std::isnan(student_t_quantile(std::nan(""), 3)));
}

TEST(QuantileTest, NormalQuantile) {
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-14);
  EXPECT_NEAR(normal_quantile(0.5), 0.0, 1e-15);
  EXPECT_NEAR(normal_quantile(0.8413447460685429), 1.0, 1e-13);
  EXPECT_NEAR(normal_quantile(1e-10), -6.361340902404056, 1e-12);
  EXPECT_NEAR(normal_quantile(0.99), 2.326347874040841, 1e-14);
  EXPECT_EQ(normal_quantile(0.0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(normal_quantile(1.0), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(normal_quantile(-0.1)));
}

// ---------------------------------------------------------------------------------------------
// Confidence intervals

TEST(ConfidenceIntervalTest, KnownSmallSample) {
  // mean 5, s^2 = 32/7, n = 8: half width = t_{0.975,7} * sqrt(32/7/8).
  const std::vector<double> xs = {2, 4, 4, 4, 5, 5, 7, 9};
  const ConfidenceInterval ci = student_t_ci(xs);
  EXPECT_EQ(ci.n, 8u);
  EXPECT_EQ(ci.level, 0.95);
  EXPECT_DOUBLE_EQ(ci.mean, 5.0);
  EXPECT_NEAR(ci.half_width, 2.364624251592785 * std::sqrt(32.0 / 7.0 / 8.0), 1e-9);
  EXPECT_DOUBLE_EQ(ci.lower, ci.mean - ci.half_width);
  EXPECT_DOUBLE_EQ(ci.upper, ci.mean + ci.half_width);
  EXPECT_TRUE(ci.contains(5.0));
  // A higher level gives a wider interval.
  EXPECT_GT(student_t_ci(xs, 0.99).half_width, ci.half_width);
}

TEST(ConfidenceIntervalTest, DegenerateInputsNeverCrash) {
  const double inf = std::numeric_limits<double>::infinity();
  const ConfidenceInterval none = student_t_ci({});
  EXPECT_EQ(none.n, 0u);
  EXPECT_TRUE(std::isnan(none.mean));
  EXPECT_EQ(none.half_width, inf);

  const ConfidenceInterval one = student_t_ci({4.0});
  EXPECT_EQ(one.n, 1u);
  EXPECT_EQ(one.mean, 4.0);
  EXPECT_EQ(one.half_width, inf);
  EXPECT_EQ(one.lower, -inf);
  EXPECT_EQ(one.upper, inf);

  const ConfidenceInterval constant = student_t_ci({3.0, 3.0, 3.0});
  EXPECT_EQ(constant.mean, 3.0);
  EXPECT_EQ(constant.half_width, 0.0);

  EXPECT_TRUE(std::isnan(student_t_ci({1.0, 2.0}, 1.5).half_width));
  EXPECT_TRUE(std::isnan(student_t_ci({1.0, 2.0}, std::nan("")).half_width));
}

TEST(ConfidenceIntervalTest, CoverageOfNormalSamples) {
  constexpr int kExperiments = 2000;
  constexpr int kSamples = 10;
  constexpr double kTrueMean = 3.0;
  std::mt19937_64 rng(12345);
  std::normal_distribution<double> normal(kTrueMean, 2.0);
  int covered = 0;
  std::vector<double> xs(kSamples);
  for (int e = 0; e < kExperiments; ++e) {
    for (auto& x : xs)
      x = normal(rng);
    if (student_t_ci(xs, 0.95).contains(kTrueMean)) ++covered;
  }
  const double coverage = static_cast<double>(covered) / kExperiments;
  EXPECT_NEAR(coverage, 0.95, 0.015);
}

}  // namespace
}  // namespace ingresslab::engine
