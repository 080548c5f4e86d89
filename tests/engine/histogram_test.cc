#include "engine/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ingresslab::engine {
namespace {

constexpr double kQuantiles[] = {0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0};

// Exact q-quantile of a sample, with the definition the histogram documents: the
// ceil(q * n)-th smallest value (1-based), the smallest one for q == 0.
int64_t exact_quantile(const std::vector<int64_t>& sorted, double q) {
  const double rank_real = std::ceil(q * static_cast<double>(sorted.size()));
  size_t rank = rank_real < 1.0 ? 1 : static_cast<size_t>(rank_real);
  rank = std::min(rank, sorted.size());
  return sorted[rank - 1];
}

void expect_quantiles_accurate(const LatencyHistogram& h, std::vector<int64_t> values,
                               const std::string& name) {
  std::sort(values.begin(), values.end());
  for (double q : kQuantiles) {
    const int64_t exact = exact_quantile(values, q);
    const int64_t estimate = h.quantile(q);
    if (exact == 0) {
      EXPECT_EQ(estimate, 0) << name << " q=" << q;
      continue;
    }
    const double rel =
        std::fabs(static_cast<double>(estimate - exact)) / static_cast<double>(exact);
    // The documented bound (1/256) is well inside the required 1%.
    EXPECT_LE(rel, LatencyHistogram::kMaxRelativeError)
        << name << " q=" << q << " exact=" << exact << " estimate=" << estimate;
    EXPECT_LE(rel, 0.01) << name << " q=" << q;
  }
  EXPECT_EQ(h.quantile(0.0), values.front()) << name;
  EXPECT_EQ(h.quantile(1.0), values.back()) << name;
}

void expect_min_max_mean_exact(const LatencyHistogram& h, const std::vector<int64_t>& values) {
  ASSERT_EQ(h.count(), values.size());
  EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  __extension__ typedef __int128 Int128;
  Int128 sum = 0;
  for (int64_t v : values)
    sum += v;
  const long double exact_mean =
      static_cast<long double>(sum) / static_cast<long double>(values.size());
  EXPECT_DOUBLE_EQ(h.mean(), static_cast<double>(exact_mean));
}

struct Distribution {
  std::string name;
  std::function<int64_t(std::mt19937_64&)> draw;
};

std::vector<Distribution> distributions() {
  return {
      {"log_uniform_6_decades",
       [](std::mt19937_64& rng) {
         std::uniform_real_distribution<double> exponent(0.0, 6.0);
         return static_cast<int64_t>(std::pow(10.0, exponent(rng)));
       }},
      {"uniform_1ns_to_1ms",
       [](std::mt19937_64& rng) {
         std::uniform_int_distribution<int64_t> u(1, 1'000'000);
         return u(rng);
       }},
      {"exponential_mean_1ms",
       [](std::mt19937_64& rng) {
         std::exponential_distribution<double> e(1.0 / 1e6);
         return static_cast<int64_t>(std::llround(e(rng)));
       }},
      {"lognormal_heavy_tail",
       [](std::mt19937_64& rng) {
         // Median 1 ms, sigma 2: p99.99 is ~1.7 s.
         std::lognormal_distribution<double> ln(std::log(1e6), 2.0);
         return static_cast<int64_t>(std::llround(ln(rng)));
       }},
      {"constant", [](std::mt19937_64&) { return int64_t{123'456'789}; }},
  };
}

class HistogramDistributionTest : public ::testing::TestWithParam<size_t> {};

TEST_P(HistogramDistributionTest, QuantilesWithinOnePercentAndMergeIsExact) {
  const Distribution dist = distributions()[GetParam()];
  constexpr size_t kSamples = 1'000'000;
  std::mt19937_64 rng(20240601 + GetParam());
  std::vector<int64_t> values(kSamples);
  for (auto& v : values)
    v = dist.draw(rng);

  LatencyHistogram whole;
  LatencyHistogram first_half;
  LatencyHistogram second_half;
  for (size_t i = 0; i < kSamples; ++i) {
    whole.record_ns(values[i]);
    (i < kSamples / 2 ? first_half : second_half).record_ns(values[i]);
  }
  EXPECT_EQ(whole.overflow_count(), 0u);
  EXPECT_EQ(whole.negative_count(), 0u);
  expect_min_max_mean_exact(whole, values);
  expect_quantiles_accurate(whole, values, dist.name);

  LatencyHistogram merged = first_half;
  merged.merge(second_half);
  EXPECT_TRUE(merged == whole) << dist.name;
  EXPECT_EQ(merged.buckets(), whole.buckets()) << dist.name;
  for (double q : kQuantiles)
    EXPECT_EQ(merged.quantile(q), whole.quantile(q)) << dist.name;
  EXPECT_EQ(merged.mean(), whole.mean());
}

INSTANTIATE_TEST_SUITE_P(Distributions, HistogramDistributionTest, ::testing::Range<size_t>(0, 5),
                         [](const ::testing::TestParamInfo<size_t>& param_info) {
                           return distributions()[param_info.param].name;
                         });

TEST(HistogramTest, EmptyHistogram) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.quantile(0.5), 0);
  EXPECT_TRUE(h.buckets().empty());
}

TEST(HistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int64_t v = 0; v < 256; ++v)
    h.record_ns(v);
  for (int64_t v = 0; v < 256; ++v) {
    EXPECT_EQ(LatencyHistogram::bucket_lower_ns(LatencyHistogram::bucket_index(v)), v);
    EXPECT_EQ(LatencyHistogram::bucket_upper_ns(LatencyHistogram::bucket_index(v)), v + 1);
  }
  EXPECT_EQ(h.quantile(0.5), 127);  // ceil(0.5 * 256) = 128th smallest
  EXPECT_EQ(h.buckets().size(), 256u);
}

TEST(HistogramTest, BucketLayoutIsContiguousAndTight) {
  int64_t expected_lower = 0;
  for (size_t i = 0; i < LatencyHistogram::kBucketCount; ++i) {
    const int64_t lower = LatencyHistogram::bucket_lower_ns(i);
    const int64_t upper = LatencyHistogram::bucket_upper_ns(i);
    ASSERT_EQ(lower, expected_lower) << i;
    ASSERT_LT(lower, upper);
    if (upper - lower > 1) {  // wider than one value only from 256 on, and then <= lower / 128
      ASSERT_LE(static_cast<double>(upper - lower) / static_cast<double>(lower), 1.0 / 128) << i;
    }
    ASSERT_EQ(LatencyHistogram::bucket_index(lower), i);
    ASSERT_EQ(LatencyHistogram::bucket_index(upper - 1), i);
    expected_lower = upper;
  }
  EXPECT_EQ(expected_lower, LatencyHistogram::kMaxTrackableNs + 1);
  EXPECT_GE(LatencyHistogram::kMaxTrackableNs, Duration::seconds(3600).ns());
}

TEST(HistogramTest, RecordDurationAndRecordNMatchRepeatedRecord) {
  using namespace literals;
  LatencyHistogram a;
  LatencyHistogram b;
  for (int i = 0; i < 1000; ++i)
    a.record(250_us);
  for (int i = 0; i < 7; ++i)
    a.record_ns(3);
  b.record_n(250'000, 1000);
  b.record_n(3, 7);
  b.record_n(99, 0);  // no-op
  EXPECT_TRUE(a == b);
  EXPECT_EQ(b.count(), 1007u);
  EXPECT_EQ(b.min(), 3);
  EXPECT_EQ(b.max(), 250'000);
}

TEST(HistogramTest, OverflowClampsIntoLastBucketButKeepsExactMaxAndMean) {
  LatencyHistogram h;
  const int64_t two_hours = Duration::seconds(7200).ns();
  h.record_ns(1000);
  h.record_ns(two_hours);
  h.record_ns(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.overflow_count(), 2u);
  EXPECT_EQ(h.max(), std::numeric_limits<int64_t>::max());
  EXPECT_DOUBLE_EQ(h.mean(), (1000.0 + static_cast<double>(two_hours) +
                              static_cast<double>(std::numeric_limits<int64_t>::max())) /
                                 3.0);
  const auto buckets = h.buckets();
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets.back().count, 2u);
  EXPECT_EQ(buckets.back().upper_ns, LatencyHistogram::kMaxTrackableNs + 1);
  // A quantile among the overflowed values is a lower bound: the top of the trackable range.
  EXPECT_LE(h.quantile(0.5), LatencyHistogram::kMaxTrackableNs);
  EXPECT_GE(h.quantile(0.5),
            static_cast<int64_t>(LatencyHistogram::kMaxTrackableNs * (1.0 - 1.0 / 128)));
  EXPECT_EQ(h.quantile(1.0), std::numeric_limits<int64_t>::max());
}

TEST(HistogramTest, NegativeValuesClampToZero) {
  LatencyHistogram h;
  h.record_ns(-5);
  h.record(Duration::nanoseconds(-1'000'000));
  h.record_n(-1, 3);
  h.record_ns(10);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_EQ(h.negative_count(), 5u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 10);
  EXPECT_DOUBLE_EQ(h.mean(), 10.0 / 6.0);
  EXPECT_EQ(h.quantile(0.5), 0);
  const auto buckets = h.buckets();
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[0], (LatencyHistogram::Bucket{0, 1, 5}));
  EXPECT_EQ(buckets[1], (LatencyHistogram::Bucket{10, 11, 1}));
}

TEST(HistogramTest, ResetForgetsEverything) {
  LatencyHistogram h;
  h.record_ns(-1);
  h.record_ns(std::numeric_limits<int64_t>::max());
  h.record_ns(12345);
  h.reset();
  EXPECT_TRUE(h == LatencyHistogram());
  h.record_ns(7);
  EXPECT_EQ(h.min(), 7);
  EXPECT_EQ(h.max(), 7);
}

TEST(HistogramTest, MergeWithEmptyAndSelf) {
  LatencyHistogram h;
  h.record_ns(100);
  h.record_ns(5000);
  const LatencyHistogram before = h;
  h.merge(LatencyHistogram());
  EXPECT_TRUE(h == before);
  LatencyHistogram empty;
  empty.merge(h);
  EXPECT_TRUE(empty == h);
  h.merge(h);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.min(), 100);
  EXPECT_EQ(h.max(), 5000);
  EXPECT_DOUBLE_EQ(h.mean(), 2550.0);
}

TEST(HistogramTest, BucketsCoverRecordedValues) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> ln(10.0, 3.0);
  LatencyHistogram h;
  std::vector<int64_t> values;
  for (int i = 0; i < 10'000; ++i) {
    values.push_back(
        std::min<int64_t>(static_cast<int64_t>(ln(rng)), LatencyHistogram::kMaxTrackableNs));
    h.record_ns(values.back());
  }
  uint64_t total = 0;
  int64_t previous_upper = 0;
  h.for_each_bucket([&](const LatencyHistogram::Bucket& b) {
    EXPECT_GE(b.lower_ns, previous_upper);
    EXPECT_GT(b.count, 0u);
    const auto in_bucket = std::count_if(
        values.begin(), values.end(), [&](int64_t v) { return v >= b.lower_ns && v < b.upper_ns; });
    EXPECT_EQ(static_cast<uint64_t>(in_bucket), b.count);
    previous_upper = b.upper_ns;
    total += b.count;
  });
  EXPECT_EQ(total, h.count());
}

TEST(HistogramTest, QuantileArgumentOutOfRangeIsClamped) {
  LatencyHistogram h;
  for (int64_t v = 1; v <= 100; ++v)
    h.record_ns(v * 1000);
  EXPECT_EQ(h.quantile(-1.0), h.min());
  EXPECT_EQ(h.quantile(std::nan("")), h.min());
  EXPECT_EQ(h.quantile(2.0), h.max());
}

}  // namespace
}  // namespace ingresslab::engine
