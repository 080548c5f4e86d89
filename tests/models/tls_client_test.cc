// The client's own TLS handshake CPU (CostProfile.tls_client_*): a delay of a new connection's
// first request between the server's flight and the client's Finished, outside every queue. With
// no other cost (zero-cost profile, so nothing else waits) and a new connection per request, it
// adds exactly its figure to every request: the ingress_tls hop per handshake and the end-to-end
// mean grow by it, and the pods see the same arrivals shifted, so nothing else changes.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/models/simulate_yaml.h"

namespace ingresslab::models {
namespace {

constexpr const char* kScenario = R"(
name: tls-client
cluster:
  nodes: [{name: node, count: 2, cores: 8}]
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
    deployment: {replicas: 2}
    pod: {concurrency: 8, service_time: exponential 1ms}
workload:
  clients:
    - open_loop: {rate: 500/s}
      mix: [{host: web.example.com, path: /}]
      connections: {requests_per_connection: 1}
      tls: {share: 100%, resumption_ratio: 0%}
run: {duration: 20s, warmup: {fixed: 1s}, replications: 2, seed: 11}
)";

class TlsClientCost : public testing::WithTempDir {
 protected:
  // The run with a zero-cost profile plus `extra` (textproto lines).
  result::RunResult run(const std::string& extra,
                        std::vector<std::pair<std::string, std::string>> sets = {}) {
    const std::string profile = dir_ + "/p" + std::to_string(++n_) + ".textproto";
    std::ofstream(profile) << "source: \"test\"\n" << extra;
    sets.emplace_back("ingress.cost_profile", profile);
    return testing::run_yaml(kScenario, sets, "tls-client.yaml");
  }

  static const result::Hop* hop(const result::RunResult& r, const std::string& name) {
    for (const auto& h : r.hops())
      if (h.name() == name) return &h;
    return nullptr;
  }

  int n_ = 0;
};

TEST_F(TlsClientCost, FullHandshakeClientCpuDelaysEveryNewConnectionsFirstRequest) {
  const result::RunResult base = run("");
  const result::RunResult with = run("tls_client_full_ecdsa_p256_us: 800\n");
  const result::Hop* tls0 = hop(base, "ingress_tls");
  const result::Hop* tls1 = hop(with, "ingress_tls");
  ASSERT_TRUE(tls0 && tls1);
  // The client latency (each way) is the same in both runs: only the client's 0.8 ms is new.
  EXPECT_NEAR(tls1->latency_ms().mean() - tls0->latency_ms().mean(), 0.8, 0.8 * 0.01);
  EXPECT_NEAR(with.end_to_end().latency_ms().mean() - base.end_to_end().latency_ms().mean(), 0.8,
              0.8 * 0.02);
  // The pods' work is the same: their hop is unchanged.
  const result::Hop* pod0 = hop(base, "pod");
  const result::Hop* pod1 = hop(with, "pod");
  ASSERT_TRUE(pod0 && pod1);
  EXPECT_NEAR(pod1->latency_ms().mean(), pod0->latency_ms().mean(),
              pod0->latency_ms().mean() * 0.02);
}

TEST_F(TlsClientCost, ResumedHandshakesUseTheResumedFigure) {
  const std::vector<std::pair<std::string, std::string>> resumed = {
      {"workload.clients[0].tls.resumption_ratio", "100%"}};
  const result::RunResult base = run("", resumed);
  const result::RunResult with =
      run("tls_client_full_ecdsa_p256_us: 800\ntls_client_resumed_us: 300\n", resumed);
  EXPECT_EQ(with.connections().tls_full_handshakes(), 0u);
  EXPECT_NEAR(with.end_to_end().latency_ms().mean() - base.end_to_end().latency_ms().mean(), 0.3,
              0.3 * 0.02);
}

}  // namespace
}  // namespace ingresslab::models
