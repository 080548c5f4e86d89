// The per-hop detail of a result (what the visualizer draws): each hop's histograms hold exactly
// the requests that passed the hop, on one bucket grid shared by all hops; each hop's time series
// integrates to its request count and its per-bucket utilisation averages to the hop's; faults
// appear on the timeline at the times the scenario sets them, endpoint propagation included.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "tests/models/simulate_yaml.h"

namespace ingresslab::models {
namespace {

result::RunResult run(const std::string& yaml,
                      const std::vector<std::pair<std::string, std::string>>& sets = {}) {
  return testing::run_yaml(yaml, sets, "hop-detail.yaml");
}

// TLS, keep-alive, two services, a NodePort forward: every hop of the chain is used.
constexpr const char* kChain = R"(
name: hop-detail
cluster:
  nodes: [{name: node, count: 2, cores: 8}]
  kube_proxy: {endpoint_update_delay: 1s}
entry: {kind: node_port}
ingress: {replicas: 2, cpu_cores: 2, workers: 2}
routing:
  ingresses:
    - metadata: {name: web}
      spec:
        rules:
          - host: web.example.com
            http:
              paths:
                - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
services:
  - name: web
    ports: [{port: 80, target_port: 8080}]
    deployment: {replicas: 3}
    pod: {concurrency: 2, service_time: exponential 2ms, readiness_delay: 2s}
workload:
  clients:
    - open_loop: {rate: 1500/s}
      mix: [{host: web.example.com, path: /}]
      connections: {requests_per_connection: 20}
      tls: {share: 50%}
outputs: {time_series_bucket: 500ms}
run: {duration: 6s, warmup: {fixed: 1s}, replications: 2, seed: 3}
)";

TEST(HopDetail, HistogramsCountEveryRequestOfTheHopOnOneGrid) {
  const auto r = run(kChain);
  ASSERT_GE(r.hops_size(), 5);
  const auto& grid = r.hops(0).histogram();
  ASSERT_GT(grid.size(), 1);
  EXPECT_LE(grid.size(), 64);
  for (const auto& hop : r.hops()) {
    ASSERT_EQ(hop.histogram_size(), grid.size()) << hop.name();
    ASSERT_EQ(hop.queueing_histogram_size(), grid.size()) << hop.name();
    uint64_t total = 0, queued = 0;
    for (int i = 0; i < grid.size(); ++i) {
      EXPECT_EQ(hop.histogram(i).upper_ms(), grid[i].upper_ms()) << hop.name();
      EXPECT_EQ(hop.queueing_histogram(i).upper_ms(), grid[i].upper_ms()) << hop.name();
      if (i > 0) {
        EXPECT_GT(grid[i].upper_ms(), grid[i - 1].upper_ms());
      }
      total += hop.histogram(i).count();
      queued += hop.queueing_histogram(i).count();
    }
    EXPECT_EQ(total, hop.requests()) << hop.name();
    EXPECT_EQ(queued, hop.requests()) << hop.name();
    // The grid covers the hop's largest value (the max bucket edge is >= max, within the engine
    // histogram's 1/128 bucket width).
    EXPECT_GE(grid[grid.size() - 1].upper_ms() * (1 + 1.0 / 128), hop.latency_ms().max())
        << hop.name();
    // The median lies in the grid bucket where the cumulative count crosses half.
    uint64_t seen = 0;
    int median_bucket = 0;
    for (int i = 0; i < grid.size(); ++i) {
      seen += hop.histogram(i).count();
      if (2 * seen >= hop.requests()) {
        median_bucket = i;
        break;
      }
    }
    const double lower = median_bucket == 0 ? 0 : grid[median_bucket - 1].upper_ms();
    EXPECT_GE(hop.latency_ms().p50() * (1 + 1.0 / 128), lower) << hop.name();
    EXPECT_LE(hop.latency_ms().p50(), grid[median_bucket].upper_ms() * (1 + 1.0 / 128))
        << hop.name();
  }
}

TEST(HopDetail, TimeSeriesIntegratesToTheRequestsAndUtilisation) {
  const auto r = run(kChain);
  const double bucket_s = 0.5;
  const int replications = static_cast<int>(r.run().replications());
  ASSERT_EQ(replications, 2);
  bool saw_server_hop = false;
  for (const auto& hop : r.hops()) {
    ASSERT_EQ(hop.time_series_size(), 12) << hop.name();  // 6 s / 500 ms
    double integral = 0, busy = 0;
    for (int b = 0; b < hop.time_series_size(); ++b) {
      const auto& p = hop.time_series(b);
      EXPECT_DOUBLE_EQ(p.t(), b * bucket_s);
      integral += p.rps() * bucket_s * replications;
      if (hop.has_utilization()) {
        ASSERT_TRUE(p.has_utilization()) << hop.name();
        busy += p.utilization();
      } else {
        EXPECT_FALSE(p.has_utilization()) << hop.name();
      }
      if (p.rps() > 0) {
        EXPECT_GT(p.p99_ms(), 0) << hop.name();
        EXPECT_LE(p.p50_ms(), p.p99_ms()) << hop.name();
      }
    }
    EXPECT_NEAR(integral, static_cast<double>(hop.requests()), 1e-6 * hop.requests()) << hop.name();
    if (hop.has_utilization()) {
      saw_server_hop = true;
      // Equal buckets: the mean of the per-bucket utilisation is the hop's utilisation.
      EXPECT_NEAR(busy / hop.time_series_size(), hop.utilization(), 1e-9) << hop.name();
      EXPECT_GT(hop.utilization(), 0) << hop.name();
    }
  }
  EXPECT_TRUE(saw_server_hop);
  // The pod hop's bucket p50 is near its overall p50 (coarse buckets: within 1/16 + noise).
  for (const auto& hop : r.hops()) {
    if (hop.name() != "pod") continue;
    double sum = 0;
    for (const auto& p : hop.time_series())
      sum += p.p50_ms();
    EXPECT_NEAR(sum / hop.time_series_size(), hop.latency_ms().p50(),
                0.15 * hop.latency_ms().p50());
  }
}

TEST(HopDetail, FaultsAppearOnTheTimelineAtTheirTimes) {
  std::string yaml = kChain;
  yaml += R"(
faults:
  events:
    - {at: 2s, kill_pod: {service: web, pod: 1, restart_after: 1500ms}}
    - {at: 3200ms, slow_pod: {service: web, pod: 2, factor: 4, duration: 1s}}
)";
  const auto r = run(yaml);
  // Warm-up 1 s: the kill at 2 s is at t = 1 s of the measured period.
  struct Expected {
    const char* kind;
    const char* target;
    double t;
  };
  // Crash at 1; endpoints updated 1 s later; restart 1.5 s after the crash; ready after the
  // readiness delay (2 s) plus endpoint propagation (1 s). Slow pod from 2.2 to 3.2.
  const Expected expected[] = {{"pod_crash", "web-1", 1.0},    {"endpoints_updated", "web-1", 2.0},
                               {"pod_slow", "web-2", 2.2},     {"pod_restart", "web-1", 2.5},
                               {"pod_slow_end", "web-2", 3.2}, {"pod_ready", "web-1", 5.5}};
  ASSERT_EQ(r.events_size(), 6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(r.events(i).kind(), expected[i].kind) << i;
    EXPECT_EQ(r.events(i).target(), expected[i].target) << i;
    EXPECT_NEAR(r.events(i).t(), expected[i].t, 1e-9) << i;
    EXPECT_FALSE(r.events(i).description().empty());
  }
}

TEST(HopDetail, NodeFailureListsTheNodeAndItsPods) {
  std::string yaml = kChain;
  yaml += R"(
faults:
  events:
    - {at: 2500ms, kill_node: {node: node-1}}
)";
  const auto r = run(yaml);
  std::map<std::string, int> kinds;
  for (const auto& e : r.events()) {
    ++kinds[e.kind()];
    if (e.kind() == "node_down") {
      EXPECT_EQ(e.target(), "node-1");
      EXPECT_NEAR(e.t(), 1.5, 1e-9);
    }
    if (e.kind() == "endpoints_updated") {
      EXPECT_NEAR(e.t(), 2.5, 1e-9);
    }
  }
  EXPECT_EQ(kinds["node_down"], 1);
  // Every pod on the node crashes (an ingress pod and backend pods) and leaves the endpoints.
  EXPECT_GE(kinds["pod_crash"], 2);
  EXPECT_EQ(kinds["pod_crash"], kinds["endpoints_updated"]);
}

}  // namespace
}  // namespace ingresslab::models
