// The testbed's network latencies, measured (cli/replay/netprobe.h), on a real netns testbed
// (needs root: label live): tests/data/testbed/small.yaml has its ingress pod on node-1 and
// backend pods on both nodes, so every kind of path is there; and validate-live says it simulates
// with them.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "cli/replay/netprobe.h"
#include "cli/testbed/state.h"
#include "tests/realproxy/test_process.h"
#include "tests/replay/testbed_fixture.h"

namespace {

using namespace std::chrono_literals;
using ingresslab::realproxy::testing::run_command;
namespace tb = ingresslab::testbed;
namespace rp = ingresslab::replay;

class NetprobeLiveTest : public ingresslab::testing::LiveTestbedTest {};

TEST_F(NetprobeLiveTest, MeasuresEveryPathAndValidateLiveUsesIt) {
  const std::string scenario = std::string(INGRESSLAB_TESTBED_DATA) + "/small.yaml";
  const auto up = testbed_up(scenario, "n");
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  std::string error;
  const auto state = tb::read_state_file(tb::state_file_path(dir_), &error);
  ASSERT_TRUE(state) << error;
  for (const auto& p : state->pids) {
    EXPECT_FALSE(p.ip.empty()) << p.name;
    EXPECT_FALSE(p.node.empty()) << p.name;
  }

  const rp::TestbedLatency m = rp::measure_testbed_latency(*state, 50);
  EXPECT_TRUE(m.errors.empty()) << m.errors.front();
  ASSERT_NE(m.find("client"), nullptr);
  ASSERT_NE(m.find("same_node"), nullptr);
  ASSERT_NE(m.find("cross_node"), nullptr);
  EXPECT_EQ(m.find("client")->pairs, 1);                                   // one ingress pod
  EXPECT_EQ(m.find("same_node")->pairs + m.find("cross_node")->pairs, 5);  // 3 coffee + 2 tea
  for (const auto& p : m.paths) {
    EXPECT_EQ(p.rtt_us.size(), static_cast<size_t>(50 * p.pairs)) << p.kind;
    // An HTTP round trip through veths on one machine, answered at once (realpod's service time
    // is 1 ms here, and skipped): more than nothing, well under a millisecond even on a busy
    // machine (the median).
    EXPECT_GT(p.rtt_quantile_us(0.5), 1) << p.kind;
    EXPECT_LT(p.rtt_quantile_us(0.5), 900) << p.kind;
  }

  const auto r = run_command({INGRESSLAB_BIN, "validate-live", scenario, "--state-dir", dir_,
                              "--levels", "50", "--duration", "1s", "--warmup", "200ms"},
                             dir_ + "/validate-live", 120s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("note: load 50%: simulated with the testbed's measured one-way latencies"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("note: network latencies of the simulation measured on the testbed"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("client_latency"), std::string::npos) << r.out;
}

}  // namespace
