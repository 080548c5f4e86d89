// The Kubernetes data path rules the models follow: kube-proxy's per-connection endpoint choice
// is uniform (iptables `--probability 1/(n-i)` chains, nftables `numgen random`);
// externalTrafficPolicy Local never forwards to another node, Cluster forwards with probability
// (n-1)/n when endpoints are spread evenly; and a run is a pure function of its seed.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "tests/models/simulate_yaml.h"

namespace ingresslab::models {
namespace {

// Three nodes, one ingress pod on each, a new connection per request (so every request is a
// kube-proxy decision), cheap backends.
constexpr const char* kScenario = R"(
name: data-path
cluster:
  nodes: [{name: node, count: 3, cores: 8}]
  kube_proxy: {mode: iptables, other_services: 1000}
entry: {kind: node_port, external_traffic_policy: cluster}
ingress: {replicas: 3, cpu_cores: 2, workers: 2}
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
    pod: {concurrency: 8, service_time: exponential 1ms}
workload:
  clients:
    - open_loop: {rate: 600/s}
      mix: [{host: web.example.com, path: /}]
      connections: {requests_per_connection: 1}
      tls: {share: 0%}
run: {duration: 20s, replications: 2, seed: 7}
)";

result::RunResult run(const std::vector<std::pair<std::string, std::string>>& sets) {
  return testing::run_yaml(kScenario, sets, "data-path.yaml");
}

// Chi-square goodness of fit of the connections per ingress pod against uniform.
void expect_uniform_connections(const result::RunResult& r) {
  std::vector<double> counts;
  double total = 0;
  for (const auto& c : r.components()) {
    if (c.kind() != "ingress_pod") continue;
    counts.push_back(static_cast<double>(c.requests()));
    total += static_cast<double>(c.requests());
  }
  ASSERT_EQ(counts.size(), 3u);
  double chi2 = 0;
  for (double c : counts)
    chi2 += (c - total / 3) * (c - total / 3) / (total / 3);
  // 2 degrees of freedom: P(chi2 > 13.82) = 0.001.
  EXPECT_LT(chi2, 13.82) << "connections per ingress pod are not uniform";
}

TEST(KubeProxy, IptablesChoosesEndpointsUniformlyPerConnection) {
  const auto r = run({});
  expect_uniform_connections(r);
  EXPECT_EQ(r.connections().nat_first_packets(), r.connections().client_connections());
}

TEST(KubeProxy, NftablesChoosesEndpointsUniformlyPerConnection) {
  expect_uniform_connections(run({{"cluster.kube_proxy.mode", "nftables"}}));
}

TEST(KubeProxy, IptablesFirstPacketCostGrowsWithRules) {
  // The NAT hop's mean grows with the KUBE-SERVICES chain; nftables stays flat.
  const auto small = run({{"cluster.kube_proxy.other_services", "100"}});
  const auto large = run({{"cluster.kube_proxy.other_services", "30000"}});
  const auto nft = run(
      {{"cluster.kube_proxy.mode", "nftables"}, {"cluster.kube_proxy.other_services", "30000"}});
  auto nat_ms = [](const result::RunResult& r) {
    for (const auto& h : r.hops()) {
      if (h.name() == "kube_proxy") return h.latency_ms().mean();
    }
    return -1.0;
  };
  EXPECT_GT(nat_ms(large), 10 * nat_ms(small));
  EXPECT_LT(nat_ms(nft), nat_ms(small));
}

TEST(ExternalTrafficPolicy, ClusterForwardsTwoThirdsOfConnections) {
  const auto r = run({});
  const double share = static_cast<double>(r.connections().forwarded_to_other_node()) /
                       static_cast<double>(r.connections().client_connections());
  // (n - 1) / n with n = 3; binomial standard error over ~24k connections is 0.003.
  EXPECT_NEAR(share, 2.0 / 3.0, 0.015);
}

TEST(ExternalTrafficPolicy, LocalNeverCrossesNodes) {
  const auto r = run({{"entry.external_traffic_policy", "local"}});
  EXPECT_GT(r.connections().client_connections(), 10000u);
  EXPECT_EQ(r.connections().forwarded_to_other_node(), 0u);
  EXPECT_EQ(r.end_to_end().success_ratio(), 1.0);
}

TEST(Determinism, SameSeedGivesIdenticalResults) {
  auto a = run({});
  auto b = run({});
  a.mutable_run()->clear_wall_seconds();
  b.mutable_run()->clear_wall_seconds();
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  auto c = run({{"run.seed", "8"}});
  c.mutable_run()->clear_wall_seconds();
  EXPECT_NE(a.SerializeAsString(), c.SerializeAsString());
}

}  // namespace
}  // namespace ingresslab::models
