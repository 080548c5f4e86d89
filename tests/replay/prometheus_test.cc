// The Prometheus text reader behind replay's proxy hops: the exposition format (0.0.4) and
// histogram_quantile's interpolation, checked against hand-computed values.
#include "cli/replay/prometheus.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ingresslab::replay {
namespace {

constexpr const char* kExposition = R"(# HELP realproxy_request_phase_seconds Per-phase time.
# TYPE realproxy_request_phase_seconds histogram
realproxy_request_phase_seconds_bucket{phase="route",le="0.1"} 10
realproxy_request_phase_seconds_bucket{phase="route",le="0.2"} 20
realproxy_request_phase_seconds_bucket{phase="route",le="+Inf"} 20
realproxy_request_phase_seconds_sum{phase="route"} 2.5
realproxy_request_phase_seconds_count{phase="route"} 20
realproxy_request_phase_seconds_bucket{phase="total",le="0.1"} 0
realproxy_request_phase_seconds_bucket{phase="total",le="+Inf"} 4
realproxy_requests_total{service="default/a\"b",code="2xx"} 7 1700000000000
bad line without value
)";

TEST(PrometheusTest, ParsesSamplesLabelsEscapesAndTimestamps) {
  size_t bad = 0;
  const std::vector<Sample> samples = parse_prometheus(kExposition, &bad);
  EXPECT_EQ(bad, 1u);
  ASSERT_EQ(samples.size(), 8u);
  EXPECT_EQ(samples[7].name, "realproxy_requests_total");
  EXPECT_EQ(samples[7].labels.at("service"), "default/a\"b");
  EXPECT_EQ(samples[7].labels.at("code"), "2xx");
  EXPECT_DOUBLE_EQ(samples[7].value, 7);
  EXPECT_TRUE(std::isinf(samples[2].value) == false);
}

TEST(PrometheusTest, HistogramQuantileInterpolatesInsideTheBucket) {
  const auto samples = parse_prometheus(kExposition);
  const auto h = find_histogram(samples, "realproxy_request_phase_seconds", "phase", "route");
  ASSERT_TRUE(h);
  EXPECT_DOUBLE_EQ(h->count, 20);
  EXPECT_DOUBLE_EQ(h->mean(), 0.125);
  // rank 10 of 20 is the top of [0, 0.1]; rank 15 is halfway through (0.1, 0.2].
  EXPECT_NEAR(h->quantile(0.5), 0.1, 1e-12);
  EXPECT_NEAR(h->quantile(0.75), 0.15, 1e-12);
  EXPECT_NEAR(h->quantile(0.25), 0.05, 1e-12);
  // Everything in +Inf: the highest finite bound, as histogram_quantile answers.
  const auto total = find_histogram(samples, "realproxy_request_phase_seconds", "phase", "total");
  ASSERT_TRUE(total);
  EXPECT_DOUBLE_EQ(total->quantile(0.5), 0.1);
  EXPECT_FALSE(find_histogram(samples, "realproxy_request_phase_seconds", "phase", "accept"));
}

TEST(PrometheusTest, DifferenceOfTwoScrapesIsTheInterval) {
  PromHistogram before{{{0.1, 4}, {0.2, 6}, {INFINITY, 6}}, 0.5, 6};
  PromHistogram after{{{0.1, 14}, {0.2, 26}, {INFINITY, 26}}, 3.0, 26};
  const PromHistogram d = after.minus(before);
  EXPECT_DOUBLE_EQ(d.count, 20);
  EXPECT_DOUBLE_EQ(d.sum, 2.5);
  EXPECT_NEAR(d.quantile(0.5), 0.1, 1e-12);
  PromHistogram sum = before;
  sum.add(before);
  EXPECT_DOUBLE_EQ(sum.buckets[1].second, 12);
  EXPECT_DOUBLE_EQ(sum.count, 12);
}

}  // namespace
}  // namespace ingresslab::replay
