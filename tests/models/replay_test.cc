// Data-driven workloads: arrivals replayed from a CSV of request timestamps (process replay) are
// sent at exactly those times, with the host/path/method each row names; empirical
// distributions read from a CSV resample the data (mean and median of the data); a bad file is an
// error that names the file and the line.
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "models/simulate.h"
#include "scenarios/loader.h"
#include "tests/models/simulate_yaml.h"

namespace ingresslab::models {
namespace {

// A reduced chain (zero network, a free proxy) with two routes to one Service.
constexpr const char* kScenario = R"(
name: replay
cluster:
  nodes: [{name: node, cores: 8}]
  network: {same_node_latency: 0s, same_zone_latency: 0s, client_latency: 0s, node_bandwidth: 1e18}
  kube_proxy: {mode: nftables, first_packet_cost: {base: 0s, per_rule: 0s}}
ingress:
  replicas: 1
  cpu_cores: 1
  workers: 1
  cost_profile: )" INGRESSLAB_SOURCE_DIR R"(/scenarios/theory/zero-costs.textproto
routing:
  ingresses:
    - metadata: {name: web}
      spec:
        rules:
          - host: web.example.com
            http:
              paths:
                - {path: /a, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
                - {path: /b, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
services:
  - name: web
    ports: [{port: 80, target_port: 8080}]
    deployment: {replicas: 2}
    pod: {concurrency: 4, service_time: exponential 1ms, response_size: 0B}
run: {duration: 20s, warmup: {fixed: 0s}, replications: 1, seed: 5}
)";

class DataFiles : public testing::WithTempDir {
 protected:
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }

  // Runs kScenario + `workload_yaml`, tracing every request; returns the error or "".
  std::string run(const std::string& workload_yaml,
                  const std::vector<std::pair<std::string, std::string>>& sets = {}) {
    SimulateOptions options;
    options.trace_path = dir_ + "/trace.bin";
    const SimulateOutput out = testing::simulate_yaml(std::string(kScenario) + workload_yaml, sets,
                                                      "replay.yaml", dir_, options);
    result_ = out.result;
    spans_.clear();
    if (!out.ok()) return out.error;
    const int fd = ::open(options.trace_path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    google::protobuf::io::FileInputStream in(fd);
    for (;;) {
      result::Span span;
      bool clean_eof = false;
      if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&span, &in, &clean_eof)) break;
      spans_.push_back(std::move(span));
    }
    ::close(fd);
    std::sort(spans_.begin(), spans_.end(), [](const result::Span& a, const result::Span& b) {
      return a.start_ns() < b.start_ns();
    });
    return "";
  }

  result::RunResult result_;
  std::vector<result::Span> spans_;
};

constexpr const char* kReplayWorkload = R"(
workload:
  clients:
    - name: log
      open_loop: {process: replay, replay: {csv: arrivals.csv}}
      mix: [{host: web.example.com, path: /a}]
      tls: {share: 0%}
)";

TEST_F(DataFiles, ReplayedArrivalsFallAtExactlyTheTimesOfTheCsv) {
  // Irregular times with nanosecond digits, out of order in two places (logs interleave).
  std::vector<int64_t> times_ns;
  std::string csv = "timestamp\n";
  for (int i = 0; i < 500; ++i) {
    const int64_t ns = int64_t{13'700'000} * i + 1'000'003 * (i % 7) + 17;
    times_ns.push_back(ns);
    char line[64];
    std::snprintf(line, sizeof line, "%lld.%09lld\n", static_cast<long long>(ns / 1'000'000'000),
                  static_cast<long long>(ns % 1'000'000'000));
    csv += line;
  }
  std::swap(times_ns[10], times_ns[11]);
  csv += "\n";  // a trailing empty line is fine
  write("arrivals.csv", csv);
  ASSERT_EQ(run(kReplayWorkload), "");
  std::sort(times_ns.begin(), times_ns.end());
  ASSERT_EQ(spans_.size(), times_ns.size());
  EXPECT_EQ(result_.end_to_end().requests(), times_ns.size());
  for (size_t i = 0; i < spans_.size(); ++i)
    ASSERT_EQ(spans_[i].start_ns(), times_ns[i]) << i;

  // Twice as fast: every time halved.
  ASSERT_EQ(run(kReplayWorkload, {{"workload.clients[log].open_loop.replay.speed", "2"}}), "");
  ASSERT_EQ(spans_.size(), times_ns.size());
  for (size_t i = 0; i < spans_.size(); ++i) {
    ASSERT_EQ(spans_[i].start_ns(),
              static_cast<int64_t>(std::llround(static_cast<double>(times_ns[i]) / 2)))
        << i;
  }
}

TEST_F(DataFiles, ReplayedRowsKeepTheirHostPathAndMethod) {
  // RFC 3339 times (relative to the earliest), per-row paths; /c matches no rule (404).
  write("arrivals.csv",
        "timestamp,host,path,method\n"
        "2026-03-01T10:00:00.250Z,web.example.com,/a,GET\n"
        "2026-03-01T10:00:00Z,web.example.com,/b/x,GET\n"
        "2026-03-01T10:00:01.5Z,web.example.com,/a,POST\n"
        "2026-03-01T12:00:02.000000001+02:00,web.example.com,/c,GET\n"
        "2026-03-01T10:00:03Z,,/b,GET\n");
  ASSERT_EQ(run(kReplayWorkload), "");
  ASSERT_EQ(spans_.size(), 5u);
  const int64_t expected[] = {0, 250'000'000, 1'500'000'000, 2'000'000'001, 3'000'000'000};
  for (size_t i = 0; i < 5; ++i)
    EXPECT_EQ(spans_[i].start_ns(), expected[i]) << i;
  std::map<std::string, uint64_t> by_path;
  for (const auto& route : result_.routes())
    by_path[route.path()] = route.requests();
  EXPECT_EQ(by_path["/a"], 2u);
  EXPECT_EQ(by_path["/b"], 2u);  // /b/x (Prefix) and /b with the default host
  EXPECT_EQ(result_.errors().no_route(), 1u);
  EXPECT_EQ(spans_[3].status(), "no_route");
}

TEST_F(DataFiles, BadReplayCsvNamesTheFileAndLine) {
  write("arrivals.csv", "timestamp\n0.1\n0.2\nsoon\n0.4\n");
  std::string error = run(kReplayWorkload);
  EXPECT_NE(error.find("arrivals.csv:4:"), std::string::npos) << error;
  EXPECT_NE(error.find("soon"), std::string::npos) << error;
  EXPECT_NE(error.find("workload.clients[log]"), std::string::npos) << error;

  write("arrivals.csv", "time,path\n0.1,/a\n");
  error = run(kReplayWorkload);
  EXPECT_NE(error.find("arrivals.csv:1:"), std::string::npos) << error;
  EXPECT_NE(error.find("timestamp"), std::string::npos) << error;

  write("arrivals.csv", "timestamp,path\n0.1,/a\n0.2\n");
  error = run(kReplayWorkload);
  EXPECT_NE(error.find("arrivals.csv:3:"), std::string::npos) << error;

  std::filesystem::remove(dir_ + "/arrivals.csv");
  error = run(kReplayWorkload);
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
}

constexpr const char* kEmpiricalWorkload = R"(
workload:
  clients:
    - name: poisson
      open_loop: {rate: 500/s}
      mix: [{host: web.example.com, path: /a}]
      tls: {share: 0%}
)";

TEST_F(DataFiles, EmpiricalCsvResamplesTheData) {
  // 2000 service times: a header, a comment, values with and without units (seconds).
  std::string csv = "service_time\n# measured on staging\n";
  double sum = 0;
  std::vector<double> values;
  for (int i = 0; i < 2000; ++i) {
    const double ms = 0.2 + 3.0 * std::pow(static_cast<double>((i * 7919) % 2000) / 2000.0, 2);
    values.push_back(ms);
    sum += ms;
    char line[64];
    if (i % 2 == 0) {
      std::snprintf(line, sizeof line, "%.6fms\n", ms);
    } else {
      std::snprintf(line, sizeof line, "%.9f\n", ms / 1e3);
    }
    csv += line;
  }
  write("service.csv", csv);
  ASSERT_EQ(run(kEmpiricalWorkload,
                {{"services[web].pod.service_time", "{empirical: {csv: service.csv}}"}}),
            "");
  const double data_mean_ms = sum / 2000;
  std::sort(values.begin(), values.end());
  const double data_median_ms = (values[999] + values[1000]) / 2;
  bool pod_hop = false;
  for (const auto& hop : result_.hops()) {
    if (hop.name() != "pod") continue;
    pod_hop = true;
    EXPECT_GT(hop.service_ms().count(), 9000u);
    EXPECT_NEAR(hop.service_ms().mean(), data_mean_ms, 0.02 * data_mean_ms);
    EXPECT_NEAR(hop.service_ms().p50(), data_median_ms, 0.03 * data_median_ms);
    EXPECT_LE(hop.service_ms().max(), values.back() * (1 + 1e-6));
  }
  EXPECT_TRUE(pod_hop);
}

TEST_F(DataFiles, BadEmpiricalCsvNamesTheFileAndLine) {
  write("service.csv", "ms\n1ms\n2ms\n\n3 apples\n");
  const std::string error = run(
      kEmpiricalWorkload, {{"services[web].pod.service_time", "{empirical: {csv: service.csv}}"}});
  EXPECT_NE(error.find("service.csv:5:"), std::string::npos) << error;
  EXPECT_NE(error.find("services[web].pod.service_time"), std::string::npos) << error;
}

}  // namespace
}  // namespace ingresslab::models
