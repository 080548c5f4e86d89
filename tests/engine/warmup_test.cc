#include "engine/warmup.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace ingresslab::engine {
namespace {

using namespace literals;

constexpr size_t kN = 10'000;

// Deterministic part of the transient: 0 in steady state.
double transient_bias(size_t i, bool linear) {
  if (linear) return i < 1000 ? 9.0 * (1.0 - static_cast<double>(i) / 1000.0) : 0.0;
  return 9.0 * std::exp(-static_cast<double>(i) / 150.0);  // below 0.01 from i = 1020 on
}

// Steady mean 1 with a transient over the first 1000 observations that decays from 10 to 1,
// plus unit-variance Gaussian noise, autocorrelated as AR(1) with coefficient phi.
std::vector<double> series_with_transient(uint64_t seed, bool linear, double phi) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> xs(kN);
  double e = 0.0;
  for (size_t i = 0; i < kN; ++i) {
    e = phi * e + std::sqrt(1.0 - phi * phi) * noise(rng);
    xs[i] = 1.0 + transient_bias(i, linear) + e;
  }
  return xs;
}

// Mean of the deterministic bias over the observations kept after deleting the first d.
double remaining_bias(size_t d, bool linear) {
  double sum = 0.0;
  for (size_t i = d; i < kN; ++i)
    sum += transient_bias(i, linear);
  return sum / static_cast<double>(kN - d);
}

TEST(Mser5Test, FindsPlantedLinearTransient) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const size_t d = mser5_truncation(series_with_transient(seed, /*linear=*/true, 0.0));
    EXPECT_GE(d, 500u) << seed;
    EXPECT_LE(d, 2000u) << seed;
    EXPECT_EQ(d % 5, 0u);
  }
}

TEST(Mser5Test, RemovesExponentialTransientWithCorrelatedNoise) {
  // The transient fades gradually, so there is no single right point; MSER stops where the
  // remaining bias is small next to the noise. Check that: the bias of the kept data's mean falls
  // from 0.135 (no deletion) to about the standard error of that mean (~0.024 for AR(1), phi 0.7),
  // without deleting far into the steady state. (Over 40 seeds: truncation 250..485, remaining
  // bias 0.005..0.026.)
  for (uint64_t seed = 11; seed <= 15; ++seed) {
    const MserResult r = mser_truncation(series_with_transient(seed, /*linear=*/false, 0.7), 5);
    EXPECT_GE(r.truncation, 200u) << seed;
    EXPECT_LE(r.truncation, 2000u) << seed;
    EXPECT_LT(remaining_bias(r.truncation, false), 0.03) << seed;
    EXPECT_FALSE(r.at_search_limit);
  }
  EXPECT_GT(remaining_bias(0, false), 0.13);
}

TEST(Mser5Test, StationarySeriesTruncatesLittle) {
  for (uint64_t seed = 21; seed <= 30; ++seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> noise(1.0, 1.0);
    std::vector<double> xs(kN);
    for (auto& x : xs)
      x = noise(rng);
    EXPECT_LT(mser5_truncation(xs), kN / 10) << seed;
  }
}

TEST(Mser5Test, ExactStepWithoutNoise) {
  // 500 observations at 5, then 1: deleting exactly the first 500 leaves zero variance.
  std::vector<double> xs(5000, 1.0);
  for (size_t i = 0; i < 500; ++i)
    xs[i] = 5.0;
  const MserResult r = mser_truncation(xs, 5);
  EXPECT_EQ(r.truncation, 500u);
  EXPECT_EQ(r.batch_size, 5u);
  EXPECT_EQ(r.statistic, 0.0);
  EXPECT_FALSE(r.at_search_limit);
}

TEST(Mser5Test, LargeOffsetDoesNotBreakTheStatistic) {
  std::vector<double> xs(5000, 1e12 + 1.0);
  for (size_t i = 0; i < 300; ++i)
    xs[i] = 1e12 + 5.0;
  EXPECT_EQ(mser5_truncation(xs), 300u);
}

TEST(Mser5Test, DegenerateInputs) {
  EXPECT_EQ(mser5_truncation({}), 0u);
  EXPECT_EQ(mser5_truncation({1, 2, 3, 4, 5, 6, 7, 8, 9}), 0u);     // fewer than two batches
  EXPECT_EQ(mser5_truncation(std::vector<double>(1000, 3.0)), 0u);  // constant: nothing to delete
  EXPECT_EQ(mser_truncation(std::vector<double>(100, 1.0), 0).truncation, 0u);
}

TEST(Mser5Test, TransientLongerThanHalfTheRunHitsTheSearchLimit) {
  std::vector<double> xs(1000);
  for (size_t i = 0; i < xs.size(); ++i)
    xs[i] = 1000.0 - static_cast<double>(i);  // never settles
  const MserResult r = mser_truncation(xs, 5);
  EXPECT_TRUE(r.at_search_limit);
  EXPECT_EQ(r.truncation, 500u);
}

TEST(FixedWarmupTest, DeleteFirst) {
  const std::vector<double> xs = {1, 2, 3, 4, 5};
  const auto rest = delete_first(xs, 2);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0], 3.0);
  EXPECT_EQ(rest.data(), xs.data() + 2);  // a view, no copy
  EXPECT_EQ(delete_first(xs, 0).size(), 5u);
  EXPECT_TRUE(delete_first(xs, 5).empty());
  EXPECT_TRUE(delete_first(xs, 99).empty());
}

TEST(FixedWarmupTest, WarmupCountByTime) {
  const std::vector<Time> times = {Time::from_ns(0), Time::zero() + 1_s, Time::zero() + 2_s,
                                   Time::zero() + 2_s, Time::zero() + 3_s};
  EXPECT_EQ(warmup_count(times, 0_s), 0u);
  EXPECT_EQ(warmup_count(times, 1_s), 1u);  // the observation at exactly 1 s is kept
  EXPECT_EQ(warmup_count(times, 2500_ms), 4u);
  EXPECT_EQ(warmup_count(times, 10_s), 5u);
  EXPECT_EQ(warmup_count(times, 1_s, Time::zero() + 1_s), 2u);  // cutoff at 2 s
  EXPECT_EQ(warmup_count({}, 1_s), 0u);
}

}  // namespace
}  // namespace ingresslab::engine
