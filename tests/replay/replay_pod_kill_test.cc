// A backend pod killed mid-replay with ingress retries on (label live: needs root). A netns testbed
// (`ingresslab testbed up`, one node, realproxy with --max-tries 3 and a 250 ms connect timeout,
// 3 realpods) gets an open-loop replay of GETs at 200/s for 6 s; about 2 s in, one realpod is
// killed with SIGKILL by the PID the state file records. Every request must still succeed (the
// issue: "a pod killed mid-replay with retries on → no failed idempotent request"), the killed pod
// must have served requests before the kill and sent no response byte after it (an iptables
// counter of payload-carrying TCP segments in the pod's namespace), and realproxy must have
// counted the retries in /metrics. Then the scenario's own faults (faults.events), injected by
// `replay --target testbed`: a pod killed and restarted, a node cut off and brought back.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "cli/replay/prometheus.h"
#include "cli/testbed/exec.h"
#include "cli/testbed/state.h"
#include "scenarios/proto/result.pb.h"
#include "tests/realproxy/test_process.h"
#include "tests/replay/testbed_fixture.h"

namespace {

using namespace std::chrono_literals;
namespace result = ingresslab::result;
namespace tb = ingresslab::testbed;
using ingresslab::realproxy::testing::ChildProcess;
using ingresslab::realproxy::testing::read_file;
using ingresslab::realproxy::testing::run_command;

class ReplayPodKillTest : public ingresslab::testing::LiveTestbedTest {};

// TCP segments with payload that the pod sent, counted by an iptables rule in the pod's own
// network namespace (OUTPUT, IP length >= 100: a TCP/IP header with options is at most 60 bytes,
// so only segments with >= 40 payload bytes count; every response carries a 200-byte body). The
// kernel's payload-less ACK/FIN/RST segments for the pod's sockets after it died are not counted.
constexpr const char* kPayloadRule[] = {"OUTPUT", "-p",       "tcp",      "-m",
                                        "length", "--length", "100:65535"};

void add_payload_counter(const std::string& netns) {
  std::vector<std::string> argv = {"ip", "netns", "exec", netns, "iptables", "-A"};
  argv.insert(argv.end(), std::begin(kPayloadRule), std::end(kPayloadRule));
  const tb::ExecResult r = tb::run(argv);
  ASSERT_TRUE(r.ok()) << r.err;
}

struct TxCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

TxCounters payload_sent(const std::string& netns) {
  const tb::ExecResult r =
      tb::run({"ip", "netns", "exec", netns, "iptables", "-L", "OUTPUT", "-v", "-x", "-n"});
  EXPECT_TRUE(r.ok()) << r.err;
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);  // Chain OUTPUT (policy ACCEPT ...)
  std::getline(in, line);  // pkts bytes target ...
  TxCounters c;
  in >> c.packets >> c.bytes;
  EXPECT_TRUE(in) << r.out;
  return c;
}

double metric_sum(const std::vector<ingresslab::replay::Sample>& samples, const std::string& name) {
  double sum = 0;
  for (const auto& s : samples)
    if (s.name == name) sum += s.value;
  return sum;
}

TEST_F(ReplayPodKillTest, KilledPodMidReplayFailsNoIdempotentRequest) {
  const std::string scenario = std::string(REPLAY_TEST_DATA) + "/pod-kill.yaml";
  const auto up = testbed_up(scenario, "k");
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  std::string error;
  const auto state = tb::read_state_file(tb::state_file_path(dir_), &error);
  ASSERT_TRUE(state) << error;
  ASSERT_EQ(state->admin_urls.size(), 1u);
  std::vector<tb::ProcessRecord> pods;
  for (const auto& p : state->pids)
    if (p.role == "realpod") pods.push_back(p);
  ASSERT_EQ(pods.size(), 3u);
  const tb::ProcessRecord victim = pods[1];
  ASSERT_TRUE(tb::process_alive(victim.pid, victim.start_time));

  add_payload_counter(victim.netns);
  if (HasFatalFailure()) return;
  const TxCounters at_start = payload_sent(victim.netns);
  const std::string json = dir_ + "/result.json";
  ChildProcess replay({INGRESSLAB_BIN, "replay", scenario, "--target", "testbed", "--state-dir",
                       dir_, "--duration", "6s", "--format", "json", "-o", json},
                      dir_ + "/replay");
  ASSERT_GT(replay.pid(), 0);
  std::this_thread::sleep_for(2s);
  ASSERT_TRUE(replay.running()) << replay.stderr_text();
  const TxCounters before_kill = payload_sent(victim.netns);
  ASSERT_EQ(kill(victim.pid, SIGKILL), 0);
  for (int i = 0; i < 200 && tb::process_alive(victim.pid, victim.start_time); ++i)
    std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(tb::process_alive(victim.pid, victim.start_time));
  const TxCounters after_kill = payload_sent(victim.netns);

  const auto code = replay.wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << "replay did not finish";
  ASSERT_EQ(*code, 0) << replay.stderr_text();
  const TxCounters at_end = payload_sent(victim.netns);

  // Every request succeeded.
  result::RunResult res;
  const std::string text = read_file(json);
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &res).ok()) << text;
  const auto& e2e = res.end_to_end();
  EXPECT_NEAR(static_cast<double>(e2e.requests()), 200 * 6, 200 * 6 * 0.05);  // 200/s for 6 s
  EXPECT_EQ(e2e.succeeded(), e2e.requests());
  EXPECT_DOUBLE_EQ(e2e.success_ratio(), 1.0);
  EXPECT_EQ(res.errors().timeout(), 0u);
  EXPECT_EQ(res.errors().refused(), 0u);
  EXPECT_EQ(res.errors().http_503(), 0u);
  EXPECT_EQ(res.errors().no_route(), 0u);
  EXPECT_EQ(res.errors().upstream_timeout(), 0u);

  // The killed pod served its share before the kill (about a third of 2 s x 200/s; at least half
  // of that, in case the kill came a little early), and no response byte left it afterwards.
  EXPECT_GE(before_kill.packets - at_start.packets, 2u * 200 / 3 / 2)
      << "the pod served (almost) nothing before the kill";
  EXPECT_EQ(at_end.packets, after_kill.packets)
      << "the killed pod sent " << (at_end.bytes - after_kill.bytes) << " bytes after the kill";

  // realproxy retried the connects to the dead pod on another endpoint, and counted it.
  const tb::ExecResult metrics = tb::run(
      {"ip", "netns", "exec", state->client_netns, "curl", "-sS", "-m", "5", state->admin_urls[0]});
  ASSERT_TRUE(metrics.ok()) << metrics.err;
  const auto samples = ingresslab::replay::parse_prometheus(metrics.out);
  EXPECT_GE(metric_sum(samples, "realproxy_upstream_retries_total"), 1) << metrics.out;
  EXPECT_GE(metric_sum(samples, "realproxy_upstream_connect_errors_total"), 1);
  // Every proxied answer was a 2xx (h2o answers 502 for an upstream connection lost mid-request).
  for (const auto& s : samples) {
    if (s.name != "realproxy_requests_total") continue;
    const auto c = s.labels.find("code");
    if (c != s.labels.end() && c->second != "2xx") {
      EXPECT_EQ(s.value, 0) << c->second;
    }
  }
  // realproxy logs each retry after the hand-over (a request in flight on the killed pod).
  std::string proxy_log;
  for (const auto& p : state->pids) {
    if (p.role == "realproxy") proxy_log = read_file(state->work_dir + "/logs/" + p.name + ".log");
  }
  size_t retried_in_flight = 0;
  for (size_t at = 0; (at = proxy_log.find("on another endpoint", at)) != std::string::npos; ++at)
    ++retried_in_flight;
  // At 200/s round-robin each pod gets a request every 15 ms, each in service 20 ms: the kill
  // always finds one in service, so the retry after the hand-over must have happened.
  EXPECT_GE(retried_in_flight, 1u) << "no request in service on the killed pod was retried:\n"
                                   << proxy_log;
  std::cout << "replay: " << e2e.requests() << " requests, " << e2e.succeeded()
            << " succeeded; killed pod sent " << (before_kill.bytes - at_start.bytes)
            << " payload bytes in " << (before_kill.packets - at_start.packets)
            << " segments before the kill, " << (at_end.packets - after_kill.packets)
            << " after; retries " << metric_sum(samples, "realproxy_upstream_retries_total") << " ("
            << retried_in_flight << " after the hand-over)\n";
}

// The scenario's own fault (pod-restart.yaml: faults.events kill_pod with restart_after), injected
// by `replay --target testbed`: the pod's process is SIGKILLed at 2 s and started again 1.5 s later
// with the same command line; retries keep every request successful; the pod sends nothing while it
// is dead and serves again after the restart; the state file records the new PID (TearDown's
// `testbed down` must stop it), and a fault naming a pod the testbed lacks is a usage error.
TEST_F(ReplayPodKillTest, ScenarioFaultKillsAndRestartsThePod) {
  const std::string scenario = std::string(REPLAY_TEST_DATA) + "/pod-restart.yaml";
  const auto up = testbed_up(scenario, "f");
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  std::string error;
  const auto state = tb::read_state_file(tb::state_file_path(dir_), &error);
  ASSERT_TRUE(state) << error;
  std::vector<tb::ProcessRecord> pods;
  for (const auto& p : state->pids)
    if (p.role == "realpod") pods.push_back(p);
  ASSERT_EQ(pods.size(), 3u);
  const tb::ProcessRecord victim = pods[1];
  ASSERT_EQ(victim.name, "web-1");

  const auto bad =
      run_command({INGRESSLAB_BIN, "replay", scenario, "--target", "testbed", "--state-dir", dir_,
                   "--set", "faults.events=[{at: 1s, kill_pod: {service: web, pod: 7}}]"},
                  dir_ + "/bad", 30s);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("no pod 7"), std::string::npos) << bad.err;

  add_payload_counter(victim.netns);
  if (HasFatalFailure()) return;
  const std::string json = dir_ + "/result.json";
  ChildProcess replay({INGRESSLAB_BIN, "replay", scenario, "--target", "testbed", "--state-dir",
                       dir_, "--duration", "6s", "--format", "json", "-o", json},
                      dir_ + "/replay");
  ASSERT_GT(replay.pid(), 0);
  // Killed at 2 s into the schedule, restarted 1.5 s later: nothing sent in between.
  for (int i = 0; i < 2000 && tb::process_alive(victim.pid, victim.start_time); ++i)
    std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(tb::process_alive(victim.pid, victim.start_time)) << "the fault did not kill it";
  std::this_thread::sleep_for(100ms);
  const TxCounters dead_a = payload_sent(victim.netns);
  std::this_thread::sleep_for(800ms);
  const TxCounters dead_b = payload_sent(victim.netns);
  const auto code = replay.wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << "replay did not finish";
  ASSERT_EQ(*code, 0) << replay.stderr_text();
  const TxCounters at_end = payload_sent(victim.netns);
  EXPECT_FALSE(tb::process_alive(victim.pid, victim.start_time))
      << "the old process was not killed";
  EXPECT_EQ(dead_b.packets, dead_a.packets) << "the killed pod sent data while it was down";
  EXPECT_GT(at_end.packets, dead_b.packets) << "the restarted pod served nothing";

  result::RunResult res;
  const std::string text = read_file(json);
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &res).ok()) << text;
  EXPECT_DOUBLE_EQ(res.end_to_end().success_ratio(), 1.0);
  bool killed = false, restarted = false;
  for (const auto& note : res.run().notes()) {
    killed |=
        note.find("SIGKILL realpod web-1 (pid " + std::to_string(victim.pid)) != std::string::npos;
    restarted |= note.find("started realpod web-1 again") != std::string::npos;
  }
  EXPECT_TRUE(killed && restarted) << text;

  // The state file has the new process, alive.
  const auto after = tb::read_state_file(tb::state_file_path(dir_), &error);
  ASSERT_TRUE(after) << error;
  bool recorded = false;
  for (const auto& p : after->pids) {
    if (p.name != victim.name) continue;
    recorded = p.pid != victim.pid && tb::process_alive(p.pid, p.start_time);
  }
  EXPECT_TRUE(recorded) << "the restarted pod's PID is not in the state file";
}

// A node fault (node-kill.yaml: kill_node node-2 at 2 s, back after 1.5 s): node-2's uplink goes
// down and its pod's process is killed, then both come back. Requests on connections to the dead
// node wait for the proxy's 1 s first-byte timeout (as with a real dead machine) and may fail;
// the others succeed. Afterwards the link is up, the pod runs again under a new recorded PID, and
// the testbed serves normally.
TEST_F(ReplayPodKillTest, ScenarioNodeFaultCutsTheNodeOffAndBringsItBack) {
  const std::string scenario = std::string(REPLAY_TEST_DATA) + "/node-kill.yaml";
  const auto up = testbed_up(scenario, "n");
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;
  std::string error;
  const auto state = tb::read_state_file(tb::state_file_path(dir_), &error);
  ASSERT_TRUE(state) << error;
  std::optional<tb::ProcessRecord> victim;
  for (const auto& p : state->pids)
    if (p.name == "web-1") victim = p;
  ASSERT_TRUE(victim);
  std::string node_netns;
  for (const auto& ns : state->namespaces)
    if (ns.find("node-2") != std::string::npos) node_netns = ns;
  ASSERT_FALSE(node_netns.empty());

  const std::string json = dir_ + "/result.json";
  ChildProcess replay({INGRESSLAB_BIN, "replay", scenario, "--target", "testbed", "--state-dir",
                       dir_, "--duration", "6s", "--format", "json", "-o", json},
                      dir_ + "/replay");
  ASSERT_GT(replay.pid(), 0);
  for (int i = 0; i < 2000 && tb::process_alive(victim->pid, victim->start_time); ++i)
    std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(tb::process_alive(victim->pid, victim->start_time)) << "the fault did not kill it";
  const tb::ExecResult down = tb::run({"ip", "-n", node_netns, "link", "show", "eth0"});
  EXPECT_EQ(down.out.find("state UP"), std::string::npos) << down.out;
  const auto code = replay.wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << "replay did not finish";
  ASSERT_EQ(*code, 0) << replay.stderr_text();
  const tb::ExecResult back = tb::run({"ip", "-n", node_netns, "link", "show", "eth0"});
  EXPECT_NE(back.out.find("state UP"), std::string::npos) << back.out;

  result::RunResult res;
  const std::string text = read_file(json);
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &res).ok()) << text;
  // At most the requests in flight on node-2 when it went down, plus those sent on its pooled
  // connections before the proxy gave up on them, fail: far fewer than 1 in 10.
  EXPECT_GT(res.end_to_end().success_ratio(), 0.9) << text;
  bool link_down = false, link_up = false, restarted = false;
  for (const auto& note : res.run().notes()) {
    link_down |= note.find(node_netns + " eth0 down") != std::string::npos;
    link_up |= note.find(node_netns + " eth0 up") != std::string::npos;
    restarted |= note.find("started realpod web-1 again") != std::string::npos;
  }
  EXPECT_TRUE(link_down && link_up && restarted) << text;
  const auto after = tb::read_state_file(tb::state_file_path(dir_), &error);
  ASSERT_TRUE(after) << error;
  for (const auto& p : after->pids) {
    EXPECT_TRUE(tb::process_alive(p.pid, p.start_time)) << p.name << " is not running";
  }
  // The testbed serves again: a short replay with no fault succeeds in full.
  const auto again = run_command(
      {INGRESSLAB_BIN, "replay", scenario, "--target", "testbed", "--state-dir", dir_, "--duration",
       "1s", "--set", "faults.events=[]", "--format", "json", "-o", dir_ + "/again.json"},
      dir_ + "/again", 60s);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  result::RunResult res2;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(read_file(dir_ + "/again.json"), &res2).ok());
  EXPECT_DOUBLE_EQ(res2.end_to_end().success_ratio(), 1.0);
}

}  // namespace
