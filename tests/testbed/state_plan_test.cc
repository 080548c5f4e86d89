// The state file (what `down` and `replay --target testbed` read) and the testbed plan (scenario
// -> nodes, pods, Services, realproxy manifests, what is not emulated).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "cli/testbed/plan.h"
#include "cli/testbed/state.h"
#include "scenarios/loader.h"

namespace ingresslab::testbed {
namespace {

TestbedState sample_state() {
  TestbedState s;
  s.scenario = "/abs/cafe.yaml";
  s.kube_proxy_mode = "nftables";
  s.client_netns = "ilab-client";
  s.entries = {
      {"node-1", "172.31.250.10", "http://172.31.250.10:30080", "https://172.31.250.10:30443"}};
  s.not_emulated = {"latency \"quoted\"\n"};
  s.admin_urls = {"http://10.244.1.2:9901/metrics"};
  s.namespaces = {"ilab-fabric", "ilab-node-1"};
  s.links = {{"ilab-n1", "ilab-fabric"}, {"eth0", "ilab-node-1"}};
  s.pids = {{4242, 123456789012ull, "realpod", "coffee-0", "ilab-pod-coffee-0", "10.244.1.3", 8080,
             "node-1"}};
  s.rules = {{"ilab-node-1", {"nftables: table ip kube-proxy"}}};
  s.work_dir = "/run/ingresslab/work";
  s.phase = "up";
  return s;
}

TEST(TestbedState, JsonRoundTripKeepsEveryField) {
  const TestbedState s = sample_state();
  std::string error;
  const auto back = state_from_json(state_to_json(s), &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->scenario, s.scenario);
  EXPECT_EQ(back->kube_proxy_mode, s.kube_proxy_mode);
  EXPECT_EQ(back->client_netns, s.client_netns);
  ASSERT_EQ(back->entries.size(), 1u);
  EXPECT_EQ(back->entries[0].https_url, s.entries[0].https_url);
  EXPECT_EQ(back->entries[0].address, s.entries[0].address);
  EXPECT_EQ(back->not_emulated, s.not_emulated);
  EXPECT_EQ(back->admin_urls, s.admin_urls);
  EXPECT_EQ(back->namespaces, s.namespaces);
  ASSERT_EQ(back->links.size(), 2u);
  EXPECT_EQ(back->links[1].netns, "ilab-node-1");
  ASSERT_EQ(back->pids.size(), 1u);
  EXPECT_EQ(back->pids[0].pid, 4242);
  EXPECT_EQ(back->pids[0].start_time, 123456789012ull);
  EXPECT_EQ(back->pids[0].name, "coffee-0");
  EXPECT_EQ(back->pids[0].ip, "10.244.1.3");
  EXPECT_EQ(back->pids[0].port, 8080);
  EXPECT_EQ(back->pids[0].node, "node-1");
  EXPECT_EQ(back->rules, s.rules);
  EXPECT_EQ(back->phase, "up");
  // The contract's key names.
  const std::string json = state_to_json(s);
  for (const char* key : {"\"client_netns\"", "\"kube_proxy_mode\"", "\"http_url\"",
                          "\"https_url\"", "\"not_emulated\"", "\"admin_urls\"", "\"pids\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key;
  }
}

TEST(TestbedState, BadInputSaysWhatAndWhere) {
  std::string error;
  EXPECT_FALSE(state_from_json("{not json", &error));
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
  EXPECT_FALSE(state_from_json("[]", &error));
  EXPECT_FALSE(state_from_json(R"({"entries": [{"node": 3}]})", &error));
  EXPECT_EQ(error, "entries[0].node: must be a string");
  EXPECT_FALSE(state_from_json(R"({"pids": [{"pid": 1}]})", &error));
  EXPECT_NE(error.find("pids[0].pid"), std::string::npos) << error;
  EXPECT_FALSE(read_state_file("/nonexistent/testbed.json", &error));
  EXPECT_NE(error.find("no testbed is up"), std::string::npos) << error;
}

scenario::Scenario load(const std::string& variant,
                        std::vector<std::pair<std::string, std::string>> sets = {}) {
  const auto loaded =
      scenarios::load_scenario_file(std::string(INGRESSLAB_TESTBED_DATA) + "/small.yaml");
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  auto resolved = scenarios::resolve_scenario(loaded, variant, sets);
  EXPECT_TRUE(resolved.ok()) << resolved.diagnostics.to_string();
  return resolved.scenario;
}

TEST(TestbedPlan, SmallScenarioLayout) {
  std::string error;
  const auto plan = plan_testbed(load(""), std::nullopt, &error);
  ASSERT_TRUE(plan) << error;
  EXPECT_EQ(plan->mode, KubeProxyMode::kIptables);
  ASSERT_EQ(plan->nodes.size(), 2u);
  EXPECT_EQ(plan->nodes[0].name, "node-1");
  // 1 ingress + 3 coffee + 2 tea pods, round robin over the nodes (scenario placement).
  ASSERT_EQ(plan->pods.size(), 6u);
  std::set<std::string> ips;
  for (const auto& p : plan->pods) {
    EXPECT_TRUE(ips.insert(p.ip).second) << "duplicate " << p.ip;
    EXPECT_EQ(p.ip.rfind("10.244." + std::to_string(p.node + 1) + ".", 0), 0u) << p.ip;
  }
  EXPECT_TRUE(plan->pods[0].ingress);
  EXPECT_EQ(plan->pods[0].node, 0);
  EXPECT_EQ(plan->pods[1].name, "coffee-svc-0");
  EXPECT_EQ(plan->pods[2].node, 1);  // coffee-svc-1 on node-2
  // Service time constant 1ms -> realpod syntax; exponential 1ms likewise.
  EXPECT_EQ(plan->pods[1].realpod_args[1], "constant:1000000ns");
  EXPECT_EQ(plan->pods[4].realpod_args[1], "exponential:1000000ns");
  // Ingress NodePorts (http + https: the Ingress has spec.tls), 20 fillers, 2 scenario Services.
  EXPECT_TRUE(plan->https);
  // Session tickets on (the default): every realproxy gets the same ticket key.
  EXPECT_TRUE(plan->shared_ticket_key);
  EXPECT_EQ(plan->filler_services, 20u);
  EXPECT_EQ(plan->services.size(), 2u + 20u + 2u);
  // entry.node_ports' defaults.
  EXPECT_EQ(plan->services[0].node_port, 30080);
  EXPECT_EQ(plan->services[1].node_port, 30443);
  EXPECT_EQ(plan->http_node_port, 30080);
  EXPECT_EQ(plan->https_node_port, 30443);
  EXPECT_FALSE(plan->services[0].external_local);
  // The scenario's Services sit in the middle of the fillers.
  EXPECT_EQ(plan->services[12].service, "coffee-svc");
  EXPECT_EQ(plan->services[12].endpoints.size(), 3u);
  EXPECT_EQ(plan->services[12].endpoints[0].port, 8080);
  // realproxy's manifests carry the Ingress and an EndpointSlice per Service with the pod IPs.
  EXPECT_NE(plan->manifests.find("\"kind\":\"Ingress\""), std::string::npos);
  EXPECT_NE(plan->manifests.find("kubernetes.io/service-name: tea-svc"), std::string::npos);
  EXPECT_NE(plan->manifests.find(plan->pods[5].ip), std::string::npos);
  ASSERT_EQ(plan->tls_secrets.size(), 1u);
  EXPECT_EQ(plan->tls_secrets[0].hosts, std::vector<std::string>{"cafe.example.com"});
  EXPECT_FALSE(plan->not_emulated.empty());
}

// entry.node_ports: the ingress Service's NodePorts in kube-proxy's rules and the entry URLs.
TEST(TestbedPlan, NodePortsFollowTheScenario) {
  std::string error;
  const auto plan = plan_testbed(
      load("", {{"entry.node_ports.http", "31080"}, {"entry.node_ports.https", "31443"}}),
      std::nullopt, &error);
  ASSERT_TRUE(plan) << error;
  EXPECT_EQ(plan->http_node_port, 31080);
  EXPECT_EQ(plan->https_node_port, 31443);
  EXPECT_EQ(plan->services[0].node_port, 31080);
  EXPECT_EQ(plan->services[1].node_port, 31443);
}

TEST(TestbedPlan, VariantsAndModeOverride) {
  std::string error;
  const auto local = plan_testbed(load("local"), KubeProxyMode::kNftables, &error);
  ASSERT_TRUE(local) << error;
  EXPECT_EQ(local->mode, KubeProxyMode::kNftables);
  EXPECT_TRUE(local->services[0].external_local);
  EXPECT_EQ(plan_testbed(load("nftables"), std::nullopt, &error)->mode, KubeProxyMode::kNftables);
}

TEST(TestbedPlan, LinkBandwidthBecomesHtbClassesPerDestination) {
  const auto loaded =
      scenarios::load_scenario_file(std::string(INGRESSLAB_TESTBED_DATA) + "/link.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  const auto resolved = scenarios::resolve_scenario(loaded, "", {});
  ASSERT_TRUE(resolved.ok()) << resolved.diagnostics.to_string();
  std::string error;
  const auto plan = plan_testbed(resolved.scenario, std::nullopt, &error);
  ASSERT_TRUE(plan) << error;
  ASSERT_EQ(plan->links.size(), 1u);
  EXPECT_EQ(plan->links[0].a, 0);
  EXPECT_EQ(plan->links[0].b, 1);
  EXPECT_DOUBLE_EQ(plan->links[0].bandwidth_bps, 8e6);
  // node-2 sends to node-1 (address and pod CIDR) through an 8 Mbit/s class; the rest 10 Gbit/s.
  std::string all;
  for (const auto& argv : node_egress_shaping(*plan, 1)) {
    for (const auto& a : argv)
      all += a + " ";
    all += "\n";
  }
  EXPECT_NE(all.find("htb default 1"), std::string::npos) << all;
  EXPECT_NE(all.find("classid 1:1 htb rate 10000000000bit"), std::string::npos) << all;
  EXPECT_NE(all.find("classid 1:10 htb rate 8000000bit"), std::string::npos) << all;
  EXPECT_NE(all.find("match ip dst 172.31.250.10/32 flowid 1:10"), std::string::npos) << all;
  EXPECT_NE(all.find("match ip dst 10.244.1.0/24 flowid 1:10"), std::string::npos) << all;
  // Without links: one tbf at node_bandwidth.
  TestbedPlan no_links = *plan;
  no_links.links.clear();
  const auto tbf = node_egress_shaping(no_links, 1);
  ASSERT_EQ(tbf.size(), 1u);
  EXPECT_EQ(tbf[0][8], "tbf");
}

TEST(TestbedPlan, ServiceTimesInRealpodSyntax) {
  std::string approx, error;
  scenario::Distribution d;
  d.mutable_lognormal()->set_mean(0.002);
  d.mutable_lognormal()->set_p99(0.012);
  EXPECT_EQ(*realpod_service_time(d, &approx, &error), "lognormal:2000000ns,12000000ns");
  EXPECT_TRUE(approx.empty());
  // mu/sigma: mean = exp(mu + sigma^2/2), p99 = exp(mu + 2.326 sigma).
  d.mutable_lognormal()->Clear();
  d.mutable_lognormal()->set_mu(std::log(0.001));
  d.mutable_lognormal()->set_sigma(0.5);
  EXPECT_EQ(*realpod_service_time(d, &approx, &error), "lognormal:1133148ns,3200074ns");
  d.Clear();
  d.mutable_gamma()->set_shape(2);
  d.mutable_gamma()->set_scale(0.0015);
  EXPECT_EQ(*realpod_service_time(d, &approx, &error), "exponential:3000000ns");
  EXPECT_NE(approx.find("approximated"), std::string::npos);
}

}  // namespace
}  // namespace ingresslab::testbed
