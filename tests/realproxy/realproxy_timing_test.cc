// The per-request timing breakdown of realproxy (accept, TLS handshake, header parse, route,
// upstream connect, upstream first byte, total), checked on real requests through a real proxy to
// a realpod with a fixed service time: in the access log (per request) and in /metrics (histograms
// per phase).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/realproxy/http_client.h"
#include "tests/realproxy/test_process.h"
#include "tests/realproxy/testbed.h"

namespace ingresslab::realproxy::testing {
namespace {

using namespace std::chrono_literals;

// One access log line's timing fields, in microseconds; nullopt for "-".
struct LoggedTiming {
  std::string request_line;
  int status = 0;
  std::map<std::string, std::optional<double>> us;

  std::optional<double> get(const std::string& name) const {
    const auto it = us.find(name);
    return it == us.end() ? std::nullopt : it->second;
  }
};

std::vector<LoggedTiming> parse_access_log(const std::string& text) {
  std::vector<LoggedTiming> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    LoggedTiming t;
    const size_t q1 = line.find('"');
    const size_t q2 = line.find('"', q1 + 1);
    if (q1 == std::string::npos || q2 == std::string::npos) continue;
    t.request_line = line.substr(q1 + 1, q2 - q1 - 1);
    t.status = std::atoi(line.c_str() + q2 + 2);
    std::istringstream words(line.substr(q2));
    for (std::string word; words >> word;) {
      const size_t eq = word.find("_us=");
      if (eq == std::string::npos) continue;
      const std::string value = word.substr(eq + 4);
      t.us[word.substr(0, eq)] =
          value == "-" ? std::nullopt : std::optional<double>(std::strtod(value.c_str(), nullptr));
    }
    out.push_back(std::move(t));
  }
  return out;
}

// The value of one sample line of the exposition ("name{labels} value"); -1 if absent.
double sample(const std::string& metrics, const std::string& series) {
  const size_t at = metrics.find(series + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(metrics.c_str() + at + series.size() + 1, nullptr);
}

std::string get_metrics(const Testbed& bed) {
  std::string error;
  const auto r = http_request(bed.admin_port(), "localhost", "/metrics", &error);
  EXPECT_TRUE(r) << error;
  return r ? r->body : "";
}

TEST(RealproxyTiming, PhasesAreConsistentInAccessLogAndMetrics) {
  constexpr double kServiceUs = 20'000;  // the pod's fixed service time
  Testbed bed;
  bed.add_pod("slow-svc", "slow-1", {"--service-time", "constant:20ms"});
  bed.route("cafe.example.com", "/slow", "slow-svc");
  const SelfSignedCertificate cert = make_self_signed("cafe.example.com");
  bed.tls("cafe.example.com", "cafe-secret", cert, /*as_files=*/false);
  bed.write_config();
  bed.start_proxy({"--workers", "2"});

  // 4 requests on new plain connections, 4 on new TLS connections, 8 on one keep-alive
  // connection, 1 that no rule matches.
  constexpr int kPlain = 4, kTls = 4, kKeepAlive = 8;
  for (int i = 0; i < kPlain; ++i) {
    std::string error;
    const auto r = http_request(bed.http_port(), "cafe.example.com", "/slow/plain", &error);
    ASSERT_TRUE(r) << error;
    ASSERT_EQ(r->status, 200);
  }
  for (int i = 0; i < kTls; ++i) {
    const TlsExchange r = https_request(bed.https_port(), "cafe.example.com", "cafe.example.com",
                                        "/slow/tls", cert.cert_pem);
    ASSERT_TRUE(r.handshake_ok) << r.error;
    ASSERT_TRUE(r.response);
    ASSERT_EQ(r.response->status, 200);
  }
  KeepAliveClient client(bed.http_port());
  for (int i = 0; i < kKeepAlive; ++i) {
    std::string error;
    const auto r = client.get("cafe.example.com", "/slow/keepalive", &error);
    ASSERT_TRUE(r) << error;
    ASSERT_EQ(r->status, 200);
  }
  EXPECT_EQ(client.connections_opened(), 1);
  std::string error;
  const auto missing = http_request(bed.http_port(), "cafe.example.com", "/nothing", &error);
  ASSERT_TRUE(missing) << error;
  EXPECT_EQ(missing->status, 404);
  constexpr int kProxied = kPlain + kTls + kKeepAlive;
  constexpr int kRequests = kProxied + 1;

  // The access log: a line per request once it is done.
  std::vector<LoggedTiming> logged;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while ((logged = parse_access_log(read_file(bed.dir() + "/access.log"))).size() <
             static_cast<size_t>(kRequests) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(logged.size(), static_cast<size_t>(kRequests));
  int tls_lines = 0, accept_lines = 0, keepalive_lines = 0;
  for (const LoggedTiming& t : logged) {
    SCOPED_TRACE(t.request_line);
    const std::optional<double> total = t.get("total");
    ASSERT_TRUE(total);
    double sum = 0;
    for (const auto& [name, value] : t.us) {
      if (!value) continue;
      EXPECT_GE(*value, 0) << name;
      if (name != "total") sum += *value;
    }
    // The phases are disjoint parts of [start, end]: their sum is at most the total (0.1 us
    // rounding per field), and what is left (client think time on loopback, relaying the
    // response) is small.
    EXPECT_LE(sum, *total + 0.6);
    EXPECT_LT(*total - sum, 25'000) << "sum " << sum << " total " << *total;
    ASSERT_TRUE(t.get("parse"));
    ASSERT_TRUE(t.get("route"));
    if (t.get("tls")) {
      ++tls_lines;
      EXPECT_GT(*t.get("tls"), 0);
    }
    if (t.get("accept")) ++accept_lines;
    if (t.request_line == "GET /nothing HTTP/1.1") {
      EXPECT_EQ(t.status, 404);
      EXPECT_FALSE(t.get("connect"));
      EXPECT_FALSE(t.get("first_byte"));
      continue;
    }
    EXPECT_EQ(t.status, 200);
    ASSERT_TRUE(t.get("connect"));
    ASSERT_TRUE(t.get("first_byte"));
    // The pod sleeps 20 ms before answering: the upstream first byte cannot come sooner.
    EXPECT_GE(*t.get("first_byte"), kServiceUs);
    EXPECT_GE(*total, kServiceUs);
    if (t.request_line == "GET /slow/keepalive HTTP/1.1") ++keepalive_lines;
  }
  EXPECT_EQ(tls_lines, kTls);
  EXPECT_EQ(keepalive_lines, kKeepAlive);
  // accept is the first request's of each connection: plain + TLS + one keep-alive + the 404.
  EXPECT_EQ(accept_lines, kPlain + kTls + 1 + 1);

  // /metrics: the same observations as histograms.
  const std::string m = get_metrics(bed);
  const auto count = [&](const std::string& phase) {
    return sample(m, "realproxy_request_phase_seconds_count{phase=\"" + phase + "\"}");
  };
  const auto sum = [&](const std::string& phase) {
    return sample(m, "realproxy_request_phase_seconds_sum{phase=\"" + phase + "\"}");
  };
  EXPECT_EQ(count("total"), kRequests) << m;
  EXPECT_EQ(count("header_parse"), kRequests);
  EXPECT_EQ(count("route"), kRequests);
  EXPECT_EQ(count("accept"), kPlain + kTls + 2);
  EXPECT_EQ(count("tls_handshake"), kTls);
  EXPECT_EQ(count("upstream_connect"), kProxied);
  EXPECT_EQ(count("upstream_first_byte"), kProxied);
  EXPECT_GE(sum("upstream_first_byte"), kProxied * kServiceUs * 1e-6);
  EXPECT_GT(sum("tls_handshake"), 0);
  double phase_sum = 0;
  for (const char* phase : {"accept", "tls_handshake", "header_parse", "route", "upstream_connect",
                            "upstream_first_byte"}) {
    EXPECT_GE(sum(phase), 0) << phase;
    phase_sum += sum(phase);
  }
  EXPECT_LE(phase_sum, sum("total") + 1e-6);
  EXPECT_GE(phase_sum, 0.5 * sum("total"));
  EXPECT_NE(m.find("realproxy_request_phase_seconds_bucket{phase=\"upstream_first_byte\","
                   "le=\"0.01\"} 0\n"),
            std::string::npos)
      << "no first byte can take under 10 ms";
}

}  // namespace
}  // namespace ingresslab::realproxy::testing
