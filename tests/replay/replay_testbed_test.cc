// `ingresslab replay --target testbed` on a real netns testbed (needs root: label live): the
// request goes client namespace → node NodePort (kube-proxy's NAT) → realproxy → realpod with a
// fixed 50 ms service time, and replay measures that 50 ms within 5%, with the proxy hops read
// from realproxy's /metrics.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "scenarios/proto/result.pb.h"
#include "tests/realproxy/test_process.h"
#include "tests/replay/testbed_fixture.h"

namespace {

using namespace std::chrono_literals;
using ingresslab::realproxy::testing::run_command;
namespace result = ingresslab::result;

class ReplayTestbedTest : public ingresslab::testing::LiveTestbedTest {};

TEST_F(ReplayTestbedTest, FixedLatencyThroughNodePortAndRealproxy) {
  const std::string scenario = std::string(REPLAY_TEST_DATA) + "/fixed-latency.yaml";
  const auto up = testbed_up(scenario, "r");
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  const std::string json = dir_ + "/result.json";
  const auto r =
      run_command({INGRESSLAB_BIN, "replay", scenario, "--target", "testbed", "--state-dir", dir_,
                   "--duration", "3s", "--format", "json", "-o", json},
                  dir_ + "/replay", 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(json);
  std::stringstream text;
  text << in.rdbuf();
  result::RunResult res;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text.str(), &res).ok()) << text.str();
  const auto& e2e = res.end_to_end();
  EXPECT_EQ(res.run().source(), "replay");
  EXPECT_NEAR(static_cast<double>(e2e.requests()), 300, 1);  // 100/s constant x 3 s
  EXPECT_DOUBLE_EQ(e2e.success_ratio(), 1.0);
  EXPECT_NEAR(e2e.throughput_rps(), 100, 5);
  // The pod's fixed 50 ms through NAT and the proxy: within 5% (the path adds well under 1 ms).
  EXPECT_NEAR(e2e.latency_ms().p50(), 50, 0.05 * 50);
  EXPECT_GE(e2e.latency_ms().p50(), 50 * (1 - 1.0 / 256));
  // The proxy hops come from the testbed's realproxy admin /metrics.
  std::map<std::string, const result::Hop*> hops;
  for (const auto& h : res.hops())
    hops[h.name()] = &h;
  ASSERT_TRUE(hops.count("pod")) << text.str();
  EXPECT_TRUE(hops.count("ingress_proxy"));
  EXPECT_GE(hops["pod"]->latency_ms().mean(), 50 * (1 - 1e-3));
  // The testbed's not-emulated list travels into the result.
  bool target_note = false;
  for (const auto& n : res.run().notes())
    target_note |= n.rfind("target: testbed", 0) == 0;
  EXPECT_TRUE(target_note);
}

}  // namespace
