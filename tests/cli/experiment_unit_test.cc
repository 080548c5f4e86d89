// The pieces compare, sweep and plan are built from (cli/experiment.h): value ranges, the
// Student-t interval, aggregation of replications, paired differences and the knee.
#include "cli/experiment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace ingresslab::cli {
namespace {

std::vector<std::string> values_of(const std::string& text) {
  std::vector<std::string> out;
  std::string error;
  EXPECT_TRUE(expand_values(text, &out, &error)) << text << ": " << error;
  return out;
}

std::string error_of(const std::string& text) {
  std::vector<std::string> out;
  std::string error;
  EXPECT_FALSE(expand_values(text, &out, &error)) << text;
  return error;
}

TEST(ExpandValuesTest, RangesAreInclusiveWithTheirUnit) {
  const auto rps = values_of("1000..20000:1000");
  ASSERT_EQ(rps.size(), 20u);
  EXPECT_EQ(rps.front(), "1000");
  EXPECT_EQ(rps[1], "2000");
  EXPECT_EQ(rps.back(), "20000");
  EXPECT_EQ(values_of("1..4"), (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(values_of("1ms..5ms:2ms"), (std::vector<std::string>{"1ms", "3ms", "5ms"}));
  EXPECT_EQ(values_of("1..5ms:2"), (std::vector<std::string>{"1ms", "3ms", "5ms"}));
  // A step that does not divide the span stops at the last value <= b.
  EXPECT_EQ(values_of("1..6:2"), (std::vector<std::string>{"1", "3", "5"}));
}

TEST(ExpandValuesTest, DecimalStepsDoNotDrift) {
  // 0.1 + 0.1 + 0.1 != 0.3 in binary; each value is computed from the start and rounded.
  EXPECT_EQ(values_of("0.1..0.5:0.1"),
            (std::vector<std::string>{"0.1", "0.2", "0.3", "0.4", "0.5"}));
}

TEST(ExpandValuesTest, ListsAndSingleValues) {
  EXPECT_EQ(values_of("2,4,8"), (std::vector<std::string>{"2", "4", "8"}));
  EXPECT_EQ(values_of("ipvs,iptables"), (std::vector<std::string>{"ipvs", "iptables"}));
  EXPECT_EQ(values_of("5000/s"), (std::vector<std::string>{"5000/s"}));
}

TEST(ExpandValuesTest, MalformedRangesSayWhy) {
  EXPECT_NE(error_of("5..1").find("below the start"), std::string::npos);
  EXPECT_NE(error_of("1..5:0").find("step must be > 0"), std::string::npos);
  EXPECT_NE(error_of("1..5:-1").find("step must be > 0"), std::string::npos);
  EXPECT_NE(error_of("1ms..5s:1ms").find("same unit"), std::string::npos);
  EXPECT_NE(error_of("a..b").find("expected a range"), std::string::npos);
  EXPECT_NE(error_of("1,,2").find("empty value"), std::string::npos);
  std::vector<std::string> out;
  std::string error;
  EXPECT_FALSE(expand_values("1..1000000", &out, &error, 100));
  EXPECT_NE(error.find("more than 100"), std::string::npos) << error;
}

TEST(MeanCiTest, StudentTInterval) {
  // n = 4, mean 2.5, s = sqrt(5/3); t(0.975, 3) = 3.182446 (any t table).
  const MeanCi ci = mean_ci({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(ci.mean, 2.5);
  EXPECT_NEAR(ci.half_width, 3.182446 * std::sqrt(5.0 / 3.0) / 2, 1e-5);
  EXPECT_NEAR(ci.lower, 2.5 - ci.half_width, 1e-12);
  EXPECT_EQ(mean_ci({7}).half_width, 0);
}

// A replication's result with the given end-to-end figures and one pod hop.
result::RunResult replication(double mean_ms, uint64_t count, double p99_ms, double rps,
                              double pod_utilization) {
  result::RunResult r;
  auto* e = r.mutable_end_to_end();
  e->mutable_latency_ms()->set_mean(mean_ms);
  e->mutable_latency_ms()->set_count(count);
  e->mutable_latency_ms()->set_p50(mean_ms / 2);
  e->mutable_latency_ms()->set_p99(p99_ms);
  e->mutable_latency_ms()->set_max(p99_ms * 2);
  e->set_throughput_rps(rps);
  e->set_requests(count);
  e->set_succeeded(count);
  e->set_success_ratio(1);
  auto* proxy = r.add_hops();
  proxy->set_name("ingress_proxy");
  proxy->set_utilization(0.1);
  auto* pod = r.add_hops();
  pod->set_name("pod");
  pod->set_utilization(pod_utilization);
  pod->mutable_latency_ms()->set_p99(p99_ms);
  pod->set_requests(count);
  auto* bucket = r.add_latency_histogram();
  bucket->set_upper_ms(1);
  bucket->set_count(count);
  r.mutable_errors()->set_timeout(1);
  r.mutable_run()->set_replications(1);
  return r;
}

TEST(AggregateTest, PoolsMeansAveragesPercentilesSumsCounts) {
  std::vector<std::optional<result::RunResult>> runs = {replication(2.0, 100, 10, 50, 0.6),
                                                        replication(4.0, 300, 20, 150, 0.8)};
  const result::RunResult r = aggregate_replications(runs, 42);
  const auto& l = r.end_to_end().latency_ms();
  EXPECT_DOUBLE_EQ(l.mean(), (2.0 * 100 + 4.0 * 300) / 400);  // pooled over requests
  EXPECT_DOUBLE_EQ(l.p99(), 15);                              // mean of the replications' p99
  EXPECT_DOUBLE_EQ(l.max(), 40);
  EXPECT_EQ(l.count(), 400u);
  EXPECT_TRUE(l.has_ci95_mean());
  EXPECT_DOUBLE_EQ(r.end_to_end().throughput_rps(), 100);
  EXPECT_EQ(r.end_to_end().requests(), 400u);
  EXPECT_EQ(r.latency_histogram(0).count(), 400u);
  EXPECT_EQ(r.errors().timeout(), 2u);
  ASSERT_EQ(r.hops_size(), 2);
  EXPECT_DOUBLE_EQ(r.hops(1).utilization(), 0.7);
  EXPECT_TRUE(r.hops(1).bottleneck());
  EXPECT_FALSE(r.hops(0).bottleneck());
  EXPECT_EQ(r.run().replications(), 2u);
  EXPECT_EQ(r.run().seed(), 42u);
  EXPECT_FALSE(r.run().partial());
  runs.emplace_back(std::nullopt);  // a replication Ctrl-C skipped
  EXPECT_TRUE(aggregate_replications(runs, 42).run().partial());
}

TEST(PairedDifferencesTest, ConsistentShiftIsSignificantNoiseAloneIsNot) {
  // Base p99 varies a lot between replications; the variant adds exactly 1 ms to each: the
  // pairs see the shift although the spread of either alone would hide it.
  std::vector<std::vector<std::optional<result::RunResult>>> runs(3);
  const double base_p99[] = {10, 30, 20, 50, 15};
  const double wobble[] = {0.3, -0.2, 0.1, -0.3, 0.2};  // mean 0.02
  for (int r = 0; r < 5; ++r) {
    runs[0].emplace_back(replication(2, 100, base_p99[r], 100, 0.5));
    runs[1].emplace_back(replication(2, 100, base_p99[r] + 1, 100, 0.5));
    runs[2].emplace_back(replication(2, 100, base_p99[r] + wobble[r], 100, 0.5));
  }
  const auto diffs = paired_differences({"base", "slower", "noisy"}, runs);
  int checked = 0;
  for (const auto& d : diffs) {
    if (d.metric() != "latency_p99_ms") continue;
    ++checked;
    EXPECT_EQ(d.pairs(), 5u);
    if (d.variant() == "slower") {
      EXPECT_DOUBLE_EQ(d.difference(), 1);
      EXPECT_TRUE(d.significant());
      EXPECT_EQ(d.better(), "base");
      EXPECT_NEAR(d.relative(), 1.0 / 25, 1e-12);
    } else {
      EXPECT_NEAR(d.difference(), 0.02, 1e-12);
      EXPECT_FALSE(d.significant());
      EXPECT_EQ(d.better(), "");
      EXPECT_LT(d.ci95().lower(), 0);
      EXPECT_GT(d.ci95().upper(), 0);
    }
  }
  EXPECT_EQ(checked, 2);
  // Higher throughput is better: a variant with more req/s wins.
  std::vector<std::vector<std::optional<result::RunResult>>> tp(2);
  for (int r = 0; r < 3; ++r) {
    tp[0].emplace_back(replication(2, 100, 10, 100 + r, 0.5));
    tp[1].emplace_back(replication(2, 100, 10, 110 + r, 0.5));
  }
  for (const auto& d : paired_differences({"a", "b"}, tp)) {
    if (d.metric() == "throughput_rps") {
      EXPECT_TRUE(d.significant());
      EXPECT_EQ(d.better(), "b");
    }
  }
}

TEST(KneeTest, FirstPointAtTwiceTheFirstP99PerLine) {
  experiment::SweepResult s;
  s.set_knee_factor(2);
  s.add_axes()->set_path("workload.rps");
  s.add_axes()->set_path("ingress.replicas");
  // Line replicas=1: p99 5, 6, 9.9, 10, 30 -> knee at the 4th (x = 400). Line replicas=2: never.
  const double p99[2][5] = {{5, 6, 9.9, 10, 30}, {5, 5, 6, 7, 9}};
  for (int line = 0; line < 2; ++line) {
    for (int i = 0; i < 5; ++i) {
      auto* p = s.add_points();
      (*p->mutable_settings())["workload.rps"] = std::to_string(100 * (i + 1));
      (*p->mutable_settings())["ingress.replicas"] = std::to_string(line + 1);
      p->set_x(100 * (i + 1));
      p->mutable_result()->mutable_end_to_end()->mutable_latency_ms()->set_p99(p99[line][i]);
    }
  }
  find_knees(&s);
  ASSERT_EQ(s.knees_size(), 2);
  EXPECT_EQ(s.knees(0).line().at("ingress.replicas"), "1");
  EXPECT_TRUE(s.knees(0).found());
  EXPECT_EQ(s.knees(0).x(), 400);
  EXPECT_EQ(s.knees(0).point(), 3);
  EXPECT_EQ(s.knees(0).baseline_p99_ms(), 5);
  EXPECT_EQ(s.knees(1).line().at("ingress.replicas"), "2");
  EXPECT_FALSE(s.knees(1).found());
  EXPECT_EQ(s.knees(1).point(), -1);
}

TEST(ReplicationSeedTest, SameForEveryConfigurationDistinctPerReplication) {
  EXPECT_EQ(replication_seed(7, 3), replication_seed(7, 3));
  EXPECT_NE(replication_seed(7, 3), replication_seed(7, 4));
  EXPECT_NE(replication_seed(7, 3), replication_seed(8, 3));
}

}  // namespace
}  // namespace ingresslab::cli
