// The proxy's failure handling against what the failure model predicts: first-byte and client
// timeouts (the M/M/1 sojourn tail P(T > t) = e^{-(mu - lambda) t}), retries to another endpoint
// after a pod crash (nginx proxy_next_upstream), and passive outlier ejection (Envoy consecutive
// failures with a fixed ejection time; docs/models.md).
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "engine/replications.h"
#include "engine/statistics.h"
#include "models/chain.h"
#include "models/simulate.h"
#include "scenarios/loader.h"

namespace ingresslab::models {
namespace {

const std::string kTheoryDir = std::string(INGRESSLAB_SOURCE_DIR) + "/scenarios/theory";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `swap` replaces one line's text of the file (e.g. the open loop by a closed one).
scenario::Scenario load(const std::string& file, const std::string& extra_yaml,
                        const std::vector<std::pair<std::string, std::string>>& sets,
                        const std::pair<std::string, std::string>& swap = {}) {
  std::string text = read_file(kTheoryDir + "/" + file);
  if (!swap.first.empty()) {
    const size_t at = text.find(swap.first);
    EXPECT_NE(at, std::string::npos) << swap.first;
    if (at != std::string::npos) text.replace(at, swap.first.size(), swap.second);
  }
  text += extra_yaml;
  const auto loaded =
      scenarios::load_scenario_text(text, scenarios::Format::kYaml, file, kTheoryDir);
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  const auto resolved = scenarios::resolve_scenario(loaded, "", sets);
  EXPECT_TRUE(resolved.ok()) << resolved.diagnostics.to_string();
  return resolved.scenario;
}

result::RunResult run(const std::string& file, const std::string& extra_yaml,
                      const std::vector<std::pair<std::string, std::string>>& sets = {}) {
  SimulateOptions options;
  options.threads = 2;
  const SimulateOutput out = simulate(load(file, extra_yaml, sets), kTheoryDir, options);
  EXPECT_TRUE(out.ok()) << out.error;
  return out.result;
}

// Per-replication share of requests failing with `errors(stats)`, and its 95% CI.
template <typename Fn>
engine::ConfidenceInterval error_share_ci(const scenario::Scenario& sc, int replications,
                                          Fn errors) {
  ChainSpec spec;
  EXPECT_EQ(prepare_chain_spec(sc, kTheoryDir, &spec), "");
  const auto warmup = engine::Duration::seconds(sc.run().warmup().fixed().seconds());
  const auto duration = engine::Duration::seconds(sc.run().duration().seconds());
  std::vector<double> shares;
  for (int r = 0; r < replications; ++r) {
    const ReplicationStats s = run_replication(spec, sc.run().seed(), r, warmup, duration);
    shares.push_back(static_cast<double>(errors(s)) / static_cast<double>(s.completed));
  }
  return engine::student_t_ci(shares, 0.95);
}

void expect_share(const engine::ConfidenceInterval& ci, double theory, double tolerance,
                  const char* what) {
  EXPECT_NEAR(ci.mean, theory, tolerance * theory) << what;
  EXPECT_LE(ci.lower, theory) << what << ": CI [" << ci.lower << ", " << ci.upper << "]";
  EXPECT_GE(ci.upper, theory) << what << ": CI [" << ci.lower << ", " << ci.upper << "]";
}

// M/M/1 at rho = 0.8 (mm1.yaml): the sojourn is exponential with rate mu - lambda = 200/s, so a
// 10 ms deadline is missed by e^{-2} = 13.5% of the requests. The pod finishes the work of a
// request the proxy or client gave up on, so the queue is the same M/M/1 with or without it.
constexpr double kMissed10ms = 0.1353352832366127;  // e^{-200/s x 10ms}

TEST(Timeouts, FirstByteTimeoutMatchesTheMM1SojournTail) {
  const auto sc = load("mm1.yaml", "",
                       {{"ingress.timeouts.first_byte", "10ms"},
                        {"run.duration", "40s"},
                        {"run.warmup.fixed", "2s"}});
  const auto ci = error_share_ci(sc, 8, [](const ReplicationStats& s) {
    EXPECT_EQ(s.errors.timeout, 0u);
    return s.errors.upstream_timeout;
  });
  expect_share(ci, kMissed10ms, 0.03, "first-byte timeouts");
}

TEST(Timeouts, ClientTimeoutMatchesTheMM1SojournTail) {
  const auto sc = load("mm1.yaml", "",
                       {{"workload.clients[poisson].timeout", "10ms"},
                        {"run.duration", "40s"},
                        {"run.warmup.fixed", "2s"}});
  const auto ci = error_share_ci(sc, 8, [](const ReplicationStats& s) {
    EXPECT_EQ(s.errors.upstream_timeout, 0u);
    return s.errors.timeout;
  });
  expect_share(ci, kMissed10ms, 0.03, "client timeouts");
}

TEST(Timeouts, ServiceLongerThanTheFirstByteTimeoutAlwaysTimesOut) {
  const auto r = run("resilience.yaml", "",
                     {{"services[backend].pod.service_time", "constant 20ms"},
                      {"ingress.timeouts.first_byte", "10ms"},
                      {"workload.clients[poisson].open_loop.rate", "20/s"}});
  ASSERT_GT(r.end_to_end().requests(), 500u);
  EXPECT_EQ(r.errors().upstream_timeout(), r.end_to_end().requests());
  EXPECT_EQ(r.end_to_end().succeeded(), 0u);
  // A 504 after exactly the timeout (zero network, a free proxy): nothing succeeded, so the
  // end-to-end latency has no samples; retries try every other endpoint and fail the same way.
  const auto retried = run("resilience.yaml", "",
                           {{"ingress.retries.attempts", "2"},
                            {"services[backend].pod.service_time", "constant 20ms"},
                            {"ingress.timeouts.first_byte", "10ms"},
                            {"workload.clients[poisson].open_loop.rate", "20/s"}});
  EXPECT_EQ(retried.errors().upstream_timeout(), retried.end_to_end().requests());
  EXPECT_EQ(retried.connections().retries(), 2 * retried.end_to_end().requests());
}

// node-2 (backend-1 and backend-3; the ingress pod is on node-1) dies at 5 s; the endpoints
// update 2 s later. Without pooled upstream connections every request connects: half of them go
// to the dead node's pods in those 2 s, get no SYN-ACK and end with the 100 ms connect timeout
// (504); the requests inside those pods (E[N] = 1 each) end with the 1 s first-byte timeout.
// Retries (connect failure and timeout by default) take all of them to the live pods.
constexpr const char* kNodeDown = R"(
faults:
  events:
    - {at: 5s, kill_node: {node: node-2}}
)";

TEST(Timeouts, ConnectTimeoutsWhileADeadNodeIsListed) {
  const std::vector<std::pair<std::string, std::string>> sets = {
      {"entry.node_selection", "single_node"},  // clients enter on node-1
      {"ingress.upstream_pool.max_idle_per_endpoint", "0"},
      {"ingress.timeouts.connect", "100ms"},
      {"ingress.timeouts.first_byte", "1s"}};
  const auto r = run("resilience.yaml", kNodeDown, sets);
  const double expected = 3 * (2000.0 * 2.0 / 2.0 + 2.0);
  EXPECT_NEAR(static_cast<double>(r.errors().upstream_timeout()), expected, 0.06 * expected);
  EXPECT_EQ(r.errors().refused(), 0u);
  EXPECT_EQ(r.errors().upstream_timeout(), r.end_to_end().requests() - r.end_to_end().succeeded());
  std::vector<std::pair<std::string, std::string>> retry_sets = sets;
  retry_sets.push_back({"ingress.retries.attempts", "2"});
  const auto retried = run("resilience.yaml", kNodeDown, retry_sets);
  EXPECT_EQ(retried.end_to_end().succeeded(), retried.end_to_end().requests());
  // A retry can hit the other dead pod (1 in 3) before the update: 1 to 4/3 retries each.
  EXPECT_GE(static_cast<double>(retried.connections().retries()), 0.94 * expected);
  EXPECT_LE(static_cast<double>(retried.connections().retries()), 1.34 * expected);
}

// The same failure with pooled upstream connections and the default 60 s first-byte timeout: the
// requests written to the dead node are lost, and the clients' 500 ms timeout ends them first
// (the proxy drops the upstream request with the client, as nginx does). Nothing stays in flight.
TEST(Timeouts, ClientGivesUpFirstOnADeadNode) {
  const auto r = run(
      "resilience.yaml", kNodeDown,
      {{"entry.node_selection", "single_node"}, {"workload.clients[poisson].timeout", "500ms"}});
  const double expected = 3 * (2000.0 * 2.0 / 2.0 + 2.0);
  EXPECT_NEAR(static_cast<double>(r.errors().timeout()), expected, 0.06 * expected);
  EXPECT_EQ(r.errors().upstream_timeout(), 0u);
  EXPECT_EQ(r.errors().timeout(), r.end_to_end().requests() - r.end_to_end().succeeded());
  for (const auto& note : r.run().notes())
    EXPECT_EQ(note.find("in flight"), std::string::npos) << note;
}

// A request retried after a first-byte timeout still accounts for all of its latency in its hops
// (the abandoned attempt's time is charged to the pod it waited for), while the pod goes on
// serving the abandoned attempt.
TEST(Timeouts, RetriedAfterATimeoutTheHopsStillAddUp) {
  char path[] = "/tmp/ingresslab-resilience-trace-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  SimulateOptions options;
  options.trace_path = path;
  options.duration_s = 3;
  const auto sc = load("resilience.yaml", "",
                       {{"ingress.timeouts.first_byte", "5ms"},
                        {"ingress.retries.attempts", "1"},
                        {"cluster.network.same_node_latency", "100us"},
                        {"cluster.network.same_zone_latency", "200us"}});
  const SimulateOutput out = simulate(sc, kTheoryDir, options);
  ASSERT_TRUE(out.ok()) << out.error;
  const int in = ::open(path, O_RDONLY);
  ASSERT_GE(in, 0);
  google::protobuf::io::FileInputStream stream(in);
  uint64_t ok = 0, spans = 0;
  for (;;) {
    result::Span span;
    bool clean_eof = false;
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&span, &stream, &clean_eof)) {
      EXPECT_TRUE(clean_eof);
      break;
    }
    ++spans;
    if (span.status() != "ok") {
      EXPECT_EQ(span.status(), "upstream_timeout");
      continue;
    }
    ++ok;
    int64_t sum = 0;
    for (const auto& hop : span.hops()) {
      EXPECT_GE(hop.queue_ns(), 0);
      EXPECT_GE(hop.service_ns(), 0);
      sum += hop.queue_ns() + hop.service_ns();
    }
    ASSERT_EQ(sum, span.end_ns() - span.start_ns()) << span.DebugString();
  }
  ::close(in);
  std::remove(path);
  const auto& r = out.result;
  EXPECT_EQ(spans, r.end_to_end().requests());
  EXPECT_EQ(ok, r.end_to_end().succeeded());
  // About P(sojourn > 5 ms) = e^{-500/s x 5 ms} = 8% of the first attempts time out (a little
  // more: the pods also finish the abandoned attempts); most retries succeed.
  EXPECT_GT(r.connections().retries(), r.end_to_end().requests() / 20);
  EXPECT_LT(r.errors().upstream_timeout(), r.connections().retries() / 2);
}

// Pod 0 of 4 crashes at 5 s and stays down; the endpoints update 2 s later. Without retries the
// requests it held fail (reset) and random balancing sends it a quarter of the traffic until the
// update: per replication lambda x 2 s / 4 = 1000 refused, plus E[N] = rho / (1 - rho) = 1
// in its M/M/1 system at the crash.
constexpr const char* kCrash = R"(
faults:
  events:
    - {at: 5s, kill_pod: {service: backend, pod: 0}}
)";

TEST(Retries, CrashWithoutRetriesFailsWhatTheEndpointDelayPredicts) {
  const auto r = run("resilience.yaml", kCrash);
  const double expected = 3 * (2000.0 * 2.0 / 4.0 + 1.0);  // 3 replications
  EXPECT_NEAR(static_cast<double>(r.errors().refused()), expected, 0.06 * expected);
  EXPECT_EQ(r.connections().retries(), 0u);
}

TEST(Retries, CrashWithRetriesFailsNoIdempotentRequest) {
  const auto r = run("resilience.yaml", kCrash, {{"ingress.retries.attempts", "2"}});
  EXPECT_EQ(r.end_to_end().succeeded(), r.end_to_end().requests());
  EXPECT_EQ(r.errors().refused(), 0u);
  // Each request the dead pod would have failed was retried once.
  const double expected = 3 * (2000.0 * 2.0 / 4.0 + 1.0);
  EXPECT_NEAR(static_cast<double>(r.connections().retries()), expected, 0.06 * expected);
}

TEST(Retries, SentNonIdempotentRequestsAreNotRetried) {
  // POST: connect failures (nothing sent) are retried, the requests reset inside the crashed pod
  // are not (about E[N] = 1 per replication).
  const auto r =
      run("resilience.yaml", kCrash,
          {{"ingress.retries.attempts", "2"}, {"workload.clients[poisson].mix[0].method", "POST"}});
  EXPECT_GT(r.connections().retries(), 2500u);
  EXPECT_LE(r.errors().refused(), 15u);
  EXPECT_EQ(r.errors().refused(), r.end_to_end().requests() - r.end_to_end().succeeded());
}

// Each pod holds one request in service and one waiting (queue_limit 1) and answers 503 beyond:
// with random balancing each is M/M/1/2, blocking (1 - rho) rho^2 / (1 - rho^3) at rho = 0.85.
// 503s are retried only when `on` lists http_503.
TEST(Retries, PodRejectionsAreRetriedOnlyOnHttp503) {
  const std::vector<std::pair<std::string, std::string>> sets = {
      {"services[backend].pod.queue_limit", "1"},
      {"workload.clients[poisson].open_loop.rate", "3400/s"},
      {"ingress.retries.attempts", "2"}};
  const double rho = 0.85;
  const double blocking = (1 - rho) * rho * rho / (1 - rho * rho * rho);
  const auto plain = run("resilience.yaml", "", sets);
  const double share = static_cast<double>(plain.errors().http_503()) /
                       static_cast<double>(plain.end_to_end().requests());
  EXPECT_NEAR(share, blocking, 0.04 * blocking);
  EXPECT_EQ(plain.connections().retries(), 0u);  // default conditions: connect_failure, timeout

  auto with_503 = sets;
  with_503.push_back({"ingress.retries.on", "[http_503]"});
  const auto retried = run("resilience.yaml", "", with_503);
  EXPECT_GT(retried.connections().retries(), retried.errors().http_503());
  EXPECT_LT(static_cast<double>(retried.errors().http_503()),
            0.6 * static_cast<double>(plain.errors().http_503()));
}

// Pod 0 is dead from the start and stays listed (the endpoint update never comes). With
// outlier detection (5 consecutive failures eject it for 1 s) each cycle is: 1 s ejected, in
// which the 2000/s go to the other pods, then on average 5 x 4 = 20 requests until it has
// failed 5 more. Error share 5 / (2000 x 1 + 20); without detection it is 1/4.
constexpr const char* kDeadPod = R"(
faults:
  events:
    - {at: 0s, kill_pod: {service: backend, pod: 0}}
)";

TEST(OutlierDetection, EjectionCutsTheErrorsOfADeadEndpointToTheWindowShare) {
  const std::vector<std::pair<std::string, std::string>> sets = {
      {"cluster.kube_proxy.endpoint_update_delay", "1h"}, {"run.duration", "20s"}};
  const auto without = run("resilience.yaml", kDeadPod, sets);
  const double share_without = static_cast<double>(without.errors().refused()) /
                               static_cast<double>(without.end_to_end().requests());
  EXPECT_NEAR(share_without, 0.25, 0.01);

  auto with_sets = sets;
  with_sets.push_back({"ingress.outlier_detection.consecutive_failures", "5"});
  with_sets.push_back({"ingress.outlier_detection.ejection_time", "1s"});
  const auto with = run("resilience.yaml", kDeadPod, with_sets);
  const double share = static_cast<double>(with.errors().refused()) /
                       static_cast<double>(with.end_to_end().requests());
  const double theory = 5.0 / (2000.0 * 1.0 + 5.0 * 4.0);
  EXPECT_NEAR(share, theory, 0.1 * theory);
  int ejections = 0;
  for (const auto& e : with.events()) {
    if (e.kind() != "endpoint_ejected") continue;
    EXPECT_EQ(e.target(), "backend-0");
    ++ejections;
  }
  // About one per second of the 21 s run (ejection time + the ~10 ms to fail 5 more).
  EXPECT_GE(ejections, 19);
  EXPECT_LE(ejections, 21);
}

TEST(OutlierDetection, NeverEjectsMoreThanTheMaximumShare) {
  // Two dead pods of 4, at most 25%: one is ejected, the other keeps failing its share.
  const std::string faults = R"(
faults:
  events:
    - {at: 0s, kill_pod: {service: backend, pod: 0}}
    - {at: 0s, kill_pod: {service: backend, pod: 1}}
)";
  const auto r = run("resilience.yaml", faults,
                     {{"cluster.kube_proxy.endpoint_update_delay", "1h"},
                      {"ingress.outlier_detection.consecutive_failures", "5"},
                      {"ingress.outlier_detection.ejection_time", "100s"},
                      {"ingress.outlier_detection.max_ejection_percent", "25%"}});
  const double share =
      static_cast<double>(r.errors().refused()) / static_cast<double>(r.end_to_end().requests());
  // One dead pod of the 3 endpoints left takes 1/3 of the traffic, all failing.
  EXPECT_NEAR(share, 1.0 / 3.0, 0.02);
}

// Client-side retries (workload.clients[].retries): a failed idempotent request is sent again as
// a new request, up to `retries` times. Pod 0 of 4 is dead and stays listed (kDeadPod, endpoint
// update 1 h): with random balancing each attempt independently hits it with p = 1/4 and is
// refused (502), whatever the load the retries add. With 2 retries a request fails for good with
// p^3 and the client sends lambda (1 + p + p^2) attempts for lambda requests.
TEST(ClientRetries, IndependentFailuresLeaveP3AndAddPPlusP2Attempts) {
  const double p = 0.25;
  const auto sc = load("resilience.yaml", kDeadPod,
                       {{"cluster.kube_proxy.endpoint_update_delay", "1h"},
                        {"workload.clients[poisson].retries", "2"}});
  ChainSpec spec;
  ASSERT_EQ(prepare_chain_spec(sc, kTheoryDir, &spec), "");
  std::vector<double> failed, extra;
  for (int rep = 0; rep < 6; ++rep) {
    const ReplicationStats s = run_replication(
        spec, sc.run().seed(), rep, engine::Duration::seconds(1), engine::Duration::seconds(10));
    EXPECT_EQ(s.errors.total(), s.errors.refused);
    EXPECT_EQ(s.connections.retries, 0u);  // the proxy does not retry (ingress.retries off)
    failed.push_back(static_cast<double>(s.errors.refused) / static_cast<double>(s.completed));
    extra.push_back(static_cast<double>(s.connections.client_retries) /
                    static_cast<double>(s.offered));
  }
  expect_share(engine::student_t_ci(failed, 0.95), p * p * p, 0.08, "final failures");
  expect_share(engine::student_t_ci(extra, 0.95), p + p * p, 0.02, "retries per request");

  // The same through simulate(): the result counts the attempts; no "not simulated" note.
  const auto r = run("resilience.yaml", kDeadPod,
                     {{"cluster.kube_proxy.endpoint_update_delay", "1h"},
                      {"workload.clients[poisson].retries", "2"}});
  ASSERT_TRUE(r.connections().has_client_retries());
  EXPECT_NEAR(static_cast<double>(r.connections().client_retries()),
              (p + p * p) * static_cast<double>(r.end_to_end().requests()),
              0.03 * (p + p * p) * static_cast<double>(r.end_to_end().requests()));
  for (const auto& note : r.run().notes())
    EXPECT_EQ(note.find("not simulated"), std::string::npos);
}

TEST(ClientRetries, NonIdempotentRequestsAreNotRetried) {
  const auto r = run("resilience.yaml", kDeadPod,
                     {{"cluster.kube_proxy.endpoint_update_delay", "1h"},
                      {"workload.clients[poisson].retries", "2"},
                      {"workload.clients[poisson].mix[0].method", "POST"}});
  EXPECT_EQ(r.connections().client_retries(), 0u);
  const double share =
      static_cast<double>(r.errors().refused()) / static_cast<double>(r.end_to_end().requests());
  EXPECT_NEAR(share, 0.25, 0.01);
}

// Client timeouts: pods with 100000 servers (M/M/inf, exponential 1 ms) behind a chain that
// costs nothing, client timeout T = 1 ms, 2 retries. An attempt times out iff its service time
// exceeds T, independently, with q = e^{-T/m} = e^{-1}; the pods finish the abandoned work without
// delaying anyone. Final timeouts: q^3. A request that succeeds at attempt k (k = 0..2, weight
// q^k) took k T plus a service time below T, E[S | S < T] = m - T q / (1 - q): the end-to-end
// latency spans every attempt.
constexpr double kQ = 0.36787944117144233;  // e^{-1}
const std::vector<std::pair<std::string, std::string>> kInfiniteServerTimeouts = {
    {"services[backend].pod.concurrency", "100000"},
    {"workload.clients[poisson].timeout", "1ms"},
    {"workload.clients[poisson].retries", "2"}};

TEST(ClientRetries, TimeoutsAreRetriedAndLatencySpansEveryAttempt) {
  const auto sc = load("resilience.yaml", "", kInfiniteServerTimeouts);
  ChainSpec spec;
  ASSERT_EQ(prepare_chain_spec(sc, kTheoryDir, &spec), "");
  std::vector<double> timeouts, extra, latency_ms;
  for (int rep = 0; rep < 10; ++rep) {
    const ReplicationStats s = run_replication(
        spec, sc.run().seed(), rep, engine::Duration::seconds(1), engine::Duration::seconds(10));
    EXPECT_EQ(s.errors.total(), s.errors.timeout);
    timeouts.push_back(static_cast<double>(s.errors.timeout) / static_cast<double>(s.completed));
    extra.push_back(static_cast<double>(s.connections.client_retries) /
                    static_cast<double>(s.offered));
    latency_ms.push_back(s.end_to_end_s.mean() * 1e3);
  }
  expect_share(engine::student_t_ci(timeouts, 0.95), kQ * kQ * kQ, 0.05, "final timeouts");
  expect_share(engine::student_t_ci(extra, 0.95), kQ + kQ * kQ, 0.02, "retries per request");
  const double within = 1.0 - kQ / (1.0 - kQ);  // E[S | S < T] in ms (m = T = 1 ms)
  const double attempts_before = (kQ + 2 * kQ * kQ) / (1 + kQ + kQ * kQ);
  expect_share(engine::student_t_ci(latency_ms, 0.95), within + attempts_before, 0.02,
               "mean latency of the successful requests (ms)");
}

// Closed loop: the user waits for the retries. 8 users thinking exponential 2 ms, the same
// attempts as above; by the response time law X = N / (Z + R) with R the logical request's mean
// time: successes as above, final failures 3 T.
TEST(ClientRetries, ClosedLoopUsersWaitForTheRetry) {
  const auto sc = load("resilience.yaml", "", kInfiniteServerTimeouts,
                       {"open_loop: {rate: 2000/s, process: poisson}",
                        "closed_loop: {users: 8, think_time: exponential 2ms}"});
  ASSERT_TRUE(sc.workload().clients(0).has_closed_loop());
  ChainSpec spec;
  ASSERT_EQ(prepare_chain_spec(sc, kTheoryDir, &spec), "");
  const double success_ms = (1.0 - kQ / (1.0 - kQ)) + (kQ + 2 * kQ * kQ) / (1 + kQ + kQ * kQ);
  const double fail = kQ * kQ * kQ;
  const double response_ms = (1 - fail) * success_ms + fail * 3.0;
  const double throughput = 8.0 / ((2.0 + response_ms) * 1e-3);
  std::vector<double> x;
  for (int rep = 0; rep < 4; ++rep) {
    const ReplicationStats s = run_replication(
        spec, sc.run().seed(), rep, engine::Duration::seconds(1), engine::Duration::seconds(10));
    EXPECT_GT(s.connections.client_retries, s.completed / 3);
    x.push_back(static_cast<double>(s.completed) / s.window_s);
  }
  expect_share(engine::student_t_ci(x, 0.95), throughput, 0.02, "throughput (1/s)");
}

// Retries that are never needed change nothing: no failures, so the same seed gives the same
// result as without the field, except the (zero) attempt count it adds.
TEST(ClientRetries, UnusedRetriesReproduceTheRunWithoutThem) {
  auto plain = run("resilience.yaml", "");
  auto retried = run("resilience.yaml", "", {{"workload.clients[poisson].retries", "3"}});
  EXPECT_FALSE(plain.connections().has_client_retries());
  ASSERT_TRUE(retried.connections().has_client_retries());
  EXPECT_EQ(retried.connections().client_retries(), 0u);
  retried.mutable_connections()->clear_client_retries();
  plain.mutable_run()->clear_wall_seconds();
  retried.mutable_run()->clear_wall_seconds();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(plain, retried));
}

// Abandoning (a second Ctrl-C, the visualizer's Cancel) stops a replication while it runs, not
// only between replications: with the flag already set the replication throws after its first
// quarter of a simulated second; with it clear the same replication runs to the end.
TEST(Cancel, ARunningReplicationStopsWhenTheFlagIsSet) {
  const scenario::Scenario sc = load("resilience.yaml", "", {});
  ChainSpec spec;
  ASSERT_EQ(prepare_chain_spec(sc, kTheoryDir, &spec), "");
  std::atomic<bool> cancel{true};
  spec.abandon = &cancel;
  const auto duration = engine::Duration::seconds(3600);
  EXPECT_THROW(run_replication(spec, 1, 0, engine::Duration::zero(), duration),
               engine::ReplicationCancelled);
  cancel = false;
  const ReplicationStats s =
      run_replication(spec, 1, 0, engine::Duration::zero(), engine::Duration::seconds(2));
  EXPECT_GT(s.completed, 0u);

  // Through simulate(): the flag set from another thread while the only replication (an hour of
  // simulated time) runs ends it with the "cancelled" error instead of its result.
  SimulateOptions options;
  options.replications = 1;
  options.threads = 1;
  options.duration_s = 3600;
  options.cancel = &cancel;
  options.abandon = &cancel;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const SimulateOutput out = simulate(sc, kTheoryDir, options);
  stopper.join();
  EXPECT_FALSE(out.ok());
  EXPECT_NE(out.error.find("cancelled"), std::string::npos) << out.error;
}

}  // namespace
}  // namespace ingresslab::models
