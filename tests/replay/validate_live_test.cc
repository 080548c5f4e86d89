// validate-live's comparison rows: relative errors, and hops compared as time per request (the
// same quantity whether a hop is paid per request, per handshake or per new connection).
#include "cli/replay/validate_live.h"

#include "cli/replay/netprobe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace ingresslab::replay {
namespace {

result::Hop* add_hop(result::RunResult* r, const std::string& name, double mean_ms,
                     uint64_t requests) {
  auto* h = r->add_hops();
  h->set_name(name);
  h->mutable_latency_ms()->set_mean(mean_ms);
  h->set_requests(requests);
  return h;
}

TEST(ValidateLiveTest, RowsAndRelativeErrors) {
  result::RunResult sim, live;
  sim.mutable_end_to_end()->mutable_latency_ms()->set_p50(3);
  live.mutable_end_to_end()->mutable_latency_ms()->set_p50(2);
  sim.mutable_end_to_end()->set_throughput_rps(990);
  live.mutable_end_to_end()->set_throughput_rps(1000);
  sim.mutable_end_to_end()->set_requests(1000);
  live.mutable_end_to_end()->set_requests(2000);
  // TLS: the simulation has 50 handshakes of 2 ms in 1000 requests (0.1 ms per request); the
  // replay 100 handshakes of 4 ms in 2000 requests (0.2 ms per request).
  add_hop(&sim, "ingress_tls", 2, 50);
  add_hop(&live, "ingress_tls", 4, 100);
  // Pod: the simulation's pod_network + pod against the replay's pod (proxy → first byte).
  add_hop(&sim, "pod_network", 0.1, 1000);
  add_hop(&sim, "pod", 2.0, 1000);
  add_hop(&live, "pod", 2.5, 2000);
  // A hop only one side has is not compared.
  add_hop(&sim, "kube_proxy", 0.01, 1000);

  std::map<std::string, LiveRow> rows;
  for (const LiveRow& r : compare_live(sim, live))
    rows[r.metric] = r;
  ASSERT_TRUE(rows.count("p50 (ms)"));
  EXPECT_DOUBLE_EQ(rows["p50 (ms)"].relative_error(), 0.5);
  EXPECT_DOUBLE_EQ(rows["throughput (req/s)"].relative_error(), -0.01);
  ASSERT_TRUE(rows.count("hop ingress_tls (ms/request)"));
  EXPECT_DOUBLE_EQ(rows["hop ingress_tls (ms/request)"].sim, 0.1);
  EXPECT_DOUBLE_EQ(rows["hop ingress_tls (ms/request)"].live, 0.2);
  ASSERT_TRUE(rows.count("hop pod (+ pod_network) (ms/request)"));
  EXPECT_DOUBLE_EQ(rows["hop pod (+ pod_network) (ms/request)"].sim, 2.1);
  EXPECT_DOUBLE_EQ(rows["hop pod (+ pod_network) (ms/request)"].live, 2.5);
  EXPECT_FALSE(rows.count("hop ingress_proxy (ms/request)"));
  for (const auto& [name, row] : rows)
    EXPECT_EQ(name.find("kube_proxy"), std::string::npos);
  // live = 0: no relative error (not a division by zero).
  EXPECT_TRUE(std::isnan(LiveRow{"x", 1, 0}.relative_error()));

  LiveLevel level;
  level.share = 0.5;
  level.offered_rps = 1000;
  level.rows = compare_live(sim, live);
  const std::string text = render_live_text("title", {level}, {"a note"});
  EXPECT_NE(text.find("load 50% of saturation: 1000 req/s offered"), std::string::npos) << text;
  EXPECT_NE(text.find("+50.0%"), std::string::npos) << text;
  EXPECT_NE(text.find("note: a note"), std::string::npos);
  const std::string csv = render_live_csv({level});
  EXPECT_EQ(csv.rfind("load_share,offered_rps,metric,sim,live,relative_error\n", 0), 0u);
  EXPECT_NE(csv.find("0.50,1000.0,\"p50 (ms)\",3,2,0.5\n"), std::string::npos) << csv;
}

// validate-live's simulation side takes the testbed's measured latencies: one-way = median round
// trip / 2; cross-node sets same_zone, cross_zone and every link latency; a path not measured
// leaves its fields alone.
TEST(NetprobeTest, MeasuredLatenciesReplaceTheScenarios) {
  TestbedLatency m;
  m.paths.push_back({"client", 2, {40, 50, 60, 1000}});  // median 60 us: one-way 30 us
  m.paths.push_back({"cross_node", 4, {30, 20, 10}});    // median 20 us: one-way 10 us
  EXPECT_DOUBLE_EQ(m.find("client")->rtt_quantile_us(0.5), 60);
  EXPECT_DOUBLE_EQ(m.find("client")->one_way_us(), 30);
  EXPECT_EQ(m.find("same_node"), nullptr);
  scenario::Scenario sc;
  auto* net = sc.mutable_cluster()->mutable_network();
  net->mutable_client_latency()->set_nanos(1'000'000);
  net->mutable_same_node_latency()->set_nanos(20'000);
  net->mutable_same_zone_latency()->set_nanos(100'000);
  net->mutable_cross_zone_latency()->set_nanos(1'000'000);
  auto* with_latency = net->add_links();
  with_latency->mutable_latency()->set_seconds(1);
  net->add_links()->set_bandwidth(1e9);  // no latency: stays without one
  const std::string line = apply_testbed_latency(m, &sc);
  EXPECT_EQ(net->client_latency().seconds(), 0);
  EXPECT_EQ(net->client_latency().nanos(), 30'000);
  EXPECT_EQ(net->same_node_latency().nanos(), 20'000);  // not measured: unchanged
  EXPECT_EQ(net->same_zone_latency().nanos(), 10'000);
  EXPECT_EQ(net->cross_zone_latency().nanos(), 10'000);
  EXPECT_EQ(net->links(0).latency().seconds(), 0);
  EXPECT_EQ(net->links(0).latency().nanos(), 10'000);
  EXPECT_FALSE(net->links(1).has_latency());
  EXPECT_NE(line.find("client_latency 30us (was 1.00ms)"), std::string::npos) << line;
  EXPECT_NE(line.find("1 links[].latency"), std::string::npos) << line;
  EXPECT_EQ(line.find("same_node_latency"), std::string::npos) << line;
  // Nothing measured: nothing said, nothing changed.
  scenario::Scenario untouched = sc;
  EXPECT_EQ(apply_testbed_latency(TestbedLatency{}, &untouched), "");
  EXPECT_EQ(untouched.SerializeAsString(), sc.SerializeAsString());
}

// A state file of an older version has no pod addresses: nothing is measured (no namespace is
// entered), and the error says to bring the testbed up again.
TEST(NetprobeTest, StateWithoutPodAddressesMeasuresNothing) {
  testbed::TestbedState state;
  state.client_netns = "ilab-client";
  state.pids = {{4242, 1, "realproxy", "ingress-0", "ilab-pod-ingress-0", "", 0, ""}};
  const TestbedLatency m = measure_testbed_latency(state, 10);
  EXPECT_TRUE(m.paths.empty());
  ASSERT_EQ(m.errors.size(), 1u);
  EXPECT_NE(m.errors[0].find("bring it up again"), std::string::npos) << m.errors[0];
}

}  // namespace
}  // namespace ingresslab::replay
