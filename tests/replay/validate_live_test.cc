// validate-live's comparison rows: relative errors, and hops compared as time per request (the
// same quantity whether a hop is paid per request, per handshake or per new connection).
#include "cli/replay/validate_live.h"

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

}  // namespace
}  // namespace ingresslab::replay
