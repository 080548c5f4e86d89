// realproxy and realpod as real processes on 127.0.0.1: routing (checked against
// `realproxy route`), load balancing, retry after a pod dies, TLS with SNI, HTTP/2, hot reload,
// malformed input, admin endpoints, graceful shutdown, bad configuration.
//
// Each test case starts what it needs (pods on port 0, a proxy on port 0) and stops it by PID, so
// cases are independent and may run in parallel (ctest -j).
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/realproxy/http_client.h"
#include "tests/realproxy/test_process.h"
#include "tests/realproxy/testbed.h"

namespace ingresslab::realproxy::testing {
namespace {

using namespace std::chrono_literals;

HttpResponse get(int port, const std::string& host, const std::string& path) {
  std::string error;
  std::optional<HttpResponse> r = http_request(port, host, path, &error);
  EXPECT_TRUE(r) << host << path << ": " << error;
  return r.value_or(HttpResponse{});
}

// The cafe example (NGINX kubernetes-ingress): /coffee → coffee-svc (2 pods), /tea → tea-svc
// (3 pods) on cafe.example.com; bar.example.org/ → tea-svc; /empty → a Service whose only endpoint
// is not ready. TLS for cafe.example.com (Secret data) and bar.example.org (PEM files).
class CafeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bed_.add_pod("coffee-svc", "coffee-1");
    bed_.add_pod("coffee-svc", "coffee-2");
    bed_.add_pod("tea-svc", "tea-1");
    bed_.add_pod("tea-svc", "tea-2");
    bed_.add_pod("tea-svc", "tea-3");
    bed_.add_unready_endpoint("empty-svc");
    bed_.route("cafe.example.com", "/tea", "tea-svc");
    bed_.route("cafe.example.com", "/coffee", "coffee-svc");
    bed_.route("cafe.example.com", "/empty", "empty-svc");
    bed_.route("bar.example.org", "/", "tea-svc");
    cafe_cert_ = make_self_signed("cafe.example.com");
    bar_cert_ = make_self_signed("bar.example.org");
    bed_.tls("cafe.example.com", "cafe-secret", cafe_cert_, /*as_files=*/false);
    bed_.tls("bar.example.org", "bar-secret", bar_cert_, /*as_files=*/true);
    bed_.write_config();
    bed_.start_proxy({"--workers", "2"});
  }

  Testbed bed_;
  SelfSignedCertificate cafe_cert_, bar_cert_;
};

TEST_F(CafeTest, RoutesAgreeWithRealproxyRoute) {
  struct Case {
    std::string host, path, expected;  // expected: "service:port" or "404"
  };
  const std::vector<Case> cases = {
      {"cafe.example.com", "/coffee", "coffee-svc:80"},
      {"cafe.example.com", "/coffee/mocha?size=large", "coffee-svc:80"},
      {"cafe.example.com", "/tea", "tea-svc:80"},
      {"cafe.example.com", "/tea/green", "tea-svc:80"},
      {"CAFE.Example.com:80", "/tea", "tea-svc:80"},
      {"cafe.example.com", "/teapot", "404"},  // Prefix matches whole path elements only
      {"cafe.example.com", "/juice", "404"},
      {"cafe.example.com", "/", "404"},
      {"unknown.example.com", "/coffee", "404"},
      {"bar.example.org", "/anything", "tea-svc:80"},
      {"cafe.example.com", "/coffee/../tea", "tea-svc:80"},  // h2o's normalised path is routed
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.host + c.path);
    const CommandResult route = bed_.route_command(c.host, c.path);
    ASSERT_EQ(route.exit_code, 0) << route.err;
    EXPECT_EQ(route.out, c.expected + "\n");
    const HttpResponse r = get(bed_.http_port(), c.host, c.path);
    if (c.expected == "404") {
      EXPECT_EQ(r.status, 404);
      EXPECT_EQ(r.header("x-pod"), "");
    } else {
      EXPECT_EQ(r.status, 200);
      const std::string service = c.expected.substr(0, c.expected.find(':'));
      EXPECT_TRUE(bed_.pods_of(service).count(r.header("x-pod")))
          << "x-pod " << r.header("x-pod") << " is not a pod of " << service;
    }
  }
}

TEST_F(CafeTest, ForwardsRequestLineHostAndForwardedHeaders) {
  const HttpResponse r = get(bed_.http_port(), "cafe.example.com", "/coffee/latte?milk=oat");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("method GET\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("host cafe.example.com\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("path /coffee/latte?milk=oat\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("x-forwarded-for: 127.0.0.1\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("x-forwarded-proto: http\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("x-forwarded-host: cafe.example.com\n"), std::string::npos) << r.body;

  std::string error;
  const auto post =
      http_request(bed_.http_port(), "cafe.example.com", "/tea/order", &error, "POST");
  ASSERT_TRUE(post) << error;
  EXPECT_EQ(post->status, 200);
  EXPECT_NE(post->body.find("method POST\n"), std::string::npos) << post->body;

  // The access log (--access-log) gets a line per request once it is finished.
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  std::string log;
  while ((log = read_file(bed_.dir() + "/access.log")).find("POST /tea/order") ==
             std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(log.find("\"GET /coffee/latte?milk=oat HTTP/1.1\" 200"), std::string::npos) << log;
}

TEST_F(CafeTest, ServiceWithoutReadyEndpointsAnswers503) {
  EXPECT_EQ(get(bed_.http_port(), "cafe.example.com", "/empty").status, 503);
  EXPECT_EQ(bed_.route_command("cafe.example.com", "/empty").out, "empty-svc:80\n");
}

TEST_F(CafeTest, TlsServesTheCertificateSniSelects) {
  TlsExchange cafe = https_request(bed_.https_port(), "cafe.example.com", "cafe.example.com",
                                   "/coffee", cafe_cert_.cert_pem);
  ASSERT_TRUE(cafe.handshake_ok) << cafe.error;
  EXPECT_EQ(cafe.verify_result, X509_V_OK) << X509_verify_cert_error_string(cafe.verify_result);
  EXPECT_TRUE(cafe.peer_matches_trusted);
  EXPECT_EQ(cafe.peer_subject_cn, "cafe.example.com");
  EXPECT_EQ(cafe.alpn, "http/1.1");
  ASSERT_TRUE(cafe.response);
  EXPECT_EQ(cafe.response->status, 200);
  EXPECT_TRUE(bed_.pods_of("coffee-svc").count(cafe.response->header("x-pod")));
  EXPECT_NE(cafe.response->body.find("x-forwarded-proto: https\n"), std::string::npos);

  TlsExchange bar = https_request(bed_.https_port(), "bar.example.org", "bar.example.org", "/x",
                                  bar_cert_.cert_pem);
  ASSERT_TRUE(bar.handshake_ok) << bar.error;
  EXPECT_EQ(bar.verify_result, X509_V_OK) << X509_verify_cert_error_string(bar.verify_result);
  EXPECT_TRUE(bar.peer_matches_trusted);
  ASSERT_TRUE(bar.response);
  EXPECT_TRUE(bed_.pods_of("tea-svc").count(bar.response->header("x-pod")));

  // The cafe certificate does not verify for bar.example.org: SNI really selects.
  TlsExchange wrong = https_request(bed_.https_port(), "bar.example.org", "bar.example.org", "/x",
                                    cafe_cert_.cert_pem);
  ASSERT_TRUE(wrong.handshake_ok) << wrong.error;
  EXPECT_NE(wrong.verify_result, X509_V_OK);
  EXPECT_EQ(wrong.peer_subject_cn, "bar.example.org");

  // Session tickets: the second connection resumes the first one's session.
  SSL_SESSION* session = nullptr;
  TlsExchange first = https_request(bed_.https_port(), "cafe.example.com", "cafe.example.com",
                                    "/tea", cafe_cert_.cert_pem, &session);
  ASSERT_TRUE(first.handshake_ok) << first.error;
  EXPECT_FALSE(first.session_reused);
  TlsExchange resumed = https_request(bed_.https_port(), "cafe.example.com", "cafe.example.com",
                                      "/tea", cafe_cert_.cert_pem, &session);
  ASSERT_TRUE(resumed.handshake_ok) << resumed.error;
  EXPECT_TRUE(resumed.session_reused);
  SSL_SESSION_free(session);

  // No SNI, or a name without a certificate: the default (first) certificate.
  TlsExchange none =
      https_request(bed_.https_port(), "", "cafe.example.com", "/tea", cafe_cert_.cert_pem);
  ASSERT_TRUE(none.handshake_ok) << none.error;
  EXPECT_TRUE(none.peer_matches_trusted);
  ASSERT_TRUE(none.response);
  EXPECT_EQ(none.response->status, 200);
}

bool curl_has_http2(const std::string& log_prefix) {
  const CommandResult v = run_command({"/bin/sh", "-c", "curl -V"}, log_prefix);
  return v.exit_code == 0 && v.out.find("HTTP2") != std::string::npos;
}

TEST_F(CafeTest, Http2OverTlsAndCleartext) {
  if (!curl_has_http2(bed_.dir() + "/curl-version")) {
    GTEST_SKIP() << "curl with HTTP/2 support is not installed (scripts/install-deps.sh: curl)";
  }
  const std::string ca = bed_.dir() + "/cafe-ca.pem";
  write_file(ca, cafe_cert_.cert_pem);
  const std::string port = std::to_string(bed_.https_port());
  const CommandResult h2 =
      run_command({"/usr/bin/env", "curl", "-sS", "--http2", "--cacert", ca, "--resolve",
                   "cafe.example.com:" + port + ":127.0.0.1", "-o", "/dev/null", "-w",
                   "%{http_version} %{http_code}", "https://cafe.example.com:" + port + "/coffee"},
                  bed_.dir() + "/curl-h2");
  EXPECT_EQ(h2.exit_code, 0) << h2.err;
  EXPECT_EQ(h2.out, "2 200");
  const CommandResult h2c = run_command(
      {"/usr/bin/env", "curl", "-sS", "--http2-prior-knowledge", "-H", "Host: cafe.example.com",
       "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
       "http://127.0.0.1:" + std::to_string(bed_.http_port()) + "/tea"},
      bed_.dir() + "/curl-h2c");
  EXPECT_EQ(h2c.exit_code, 0) << h2c.err;
  EXPECT_EQ(h2c.out, "2 200");
}

TEST_F(CafeTest, MalformedRequestIsRejectedAndTheProxyKeepsServing) {
  static constexpr char kGarbage[] = "\x16\x03\x01 GARBAGE \x00\xff\r\n\r\n";
  const std::string answer =
      raw_exchange(bed_.http_port(), std::string(kGarbage, sizeof kGarbage - 1));
  // h2o answers 400 and closes, or just closes: both are fine; a 2xx is not.
  EXPECT_TRUE(answer.empty() || answer.rfind("HTTP/1.1 400", 0) == 0) << answer;
  const std::string bad_header =
      raw_exchange(bed_.http_port(), "GET /coffee HTTP/1.1\r\nHost cafe.example.com\r\n\r\n");
  EXPECT_TRUE(bad_header.empty() || bad_header.rfind("HTTP/1.1 400", 0) == 0) << bad_header;
  EXPECT_TRUE(bed_.proxy().running());
  EXPECT_EQ(get(bed_.http_port(), "cafe.example.com", "/coffee").status, 200);
}

TEST_F(CafeTest, AdminServesHealthAndMetrics) {
  for (int i = 0; i < 5; ++i)
    get(bed_.http_port(), "cafe.example.com", "/coffee");
  get(bed_.http_port(), "cafe.example.com", "/nothing-here");
  EXPECT_EQ(get(bed_.admin_port(), "localhost", "/healthz").body, "ok\n");
  const HttpResponse m = get(bed_.admin_port(), "localhost", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(
      m.body.find("realproxy_requests_total{service=\"default/coffee-svc\",code=\"2xx\"} 5\n"),
      std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("realproxy_requests_total{service=\"\",code=\"4xx\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("realproxy_request_duration_seconds_bucket{service=\"default/coffee-svc\","
                        "le=\"+Inf\"} 5\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("# TYPE realproxy_active_connections gauge\nrealproxy_active_connections "),
            std::string::npos);
  EXPECT_NE(
      m.body.find("realproxy_upstream_connect_errors_total{service=\"default/coffee-svc\"} 0"),
      std::string::npos);
}

TEST(RealproxyLoadBalancing, RoundRobinTouchesEveryEndpoint) {
  Testbed bed;
  for (int i = 1; i <= 10; ++i)
    bed.add_pod("menu-svc", "menu-" + std::to_string(i));
  bed.route("cafe.example.com", "/menu", "menu-svc");
  bed.write_config();
  bed.start_proxy({"--workers", "2", "--lb", "round_robin"});
  std::map<std::string, int> hits;
  for (int i = 0; i < 100; ++i) {
    const HttpResponse r = get(bed.http_port(), "cafe.example.com", "/menu");
    ASSERT_EQ(r.status, 200);
    ++hits[r.header("x-pod")];
  }
  EXPECT_EQ(hits.size(), 10u);
  // Each worker cycles through the 10 endpoints, so every endpoint gets 10 ± 2 of 100.
  for (const auto& [pod, n] : hits) {
    EXPECT_GE(n, 8) << pod;
    EXPECT_LE(n, 12) << pod;
  }
}

TEST(RealproxyLoadBalancing, EveryPolicyServesAndConsistentHashIsSticky) {
  Testbed bed;
  for (int i = 1; i <= 4; ++i)
    bed.add_pod("menu-svc", "menu-" + std::to_string(i));
  bed.route("cafe.example.com", "/menu", "menu-svc");
  bed.write_config();
  for (const std::string policy : {"least_request", "p2c", "ewma", "random"}) {
    SCOPED_TRACE(policy);
    Testbed* b = &bed;
    b->start_proxy({"--workers", "1", "--lb", policy});
    std::set<std::string> seen;
    for (int i = 0; i < 40; ++i) {
      const HttpResponse r = get(b->http_port(), "cafe.example.com", "/menu");
      ASSERT_EQ(r.status, 200);
      seen.insert(r.header("x-pod"));
    }
    EXPECT_GE(seen.size(), 2u);  // not stuck on one endpoint
    b->proxy().stop();
  }
  bed.start_proxy({"--workers", "2", "--lb", "consistent_hash", "--hash-on", "header:X-User"});
  std::set<std::string> pods_for_alice, all;
  for (int i = 0; i < 20; ++i) {
    std::string error;
    const std::string request =
        "GET /menu HTTP/1.1\r\nHost: cafe.example.com\r\nX-User: alice\r\n"
        "Connection: close\r\n\r\n";
    const auto r = parse_response(raw_exchange(bed.http_port(), request));
    ASSERT_TRUE(r);
    pods_for_alice.insert(r->header("x-pod"));
    const std::string other = "GET /menu HTTP/1.1\r\nHost: cafe.example.com\r\nX-User: user" +
                              std::to_string(i) + "\r\nConnection: close\r\n\r\n";
    const auto o = parse_response(raw_exchange(bed.http_port(), other));
    ASSERT_TRUE(o);
    all.insert(o->header("x-pod"));
  }
  EXPECT_EQ(pods_for_alice.size(), 1u);
  EXPECT_GE(all.size(), 2u);
}

TEST(RealproxyResilience, KilledPodRequestsStillSucceed) {
  Testbed bed;
  for (int i = 1; i <= 3; ++i)
    bed.add_pod("juice-svc", "juice-" + std::to_string(i));
  bed.route("cafe.example.com", "/juice", "juice-svc");
  bed.write_config();
  bed.start_proxy({"--workers", "2"});
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(get(bed.http_port(), "cafe.example.com", "/juice").status, 200);

  Pod& victim = bed.pod("juice-2");
  victim.process->signal(SIGKILL);
  ASSERT_TRUE(victim.process->wait_exit(2s));
  std::map<std::string, int> hits;
  for (int i = 0; i < 30; ++i) {
    const HttpResponse r = get(bed.http_port(), "cafe.example.com", "/juice");
    EXPECT_EQ(r.status, 200) << r.body;
    ++hits[r.header("x-pod")];
  }
  EXPECT_EQ(hits.count("juice-2"), 0u);
  EXPECT_GT(hits["juice-1"], 0);
  EXPECT_GT(hits["juice-3"], 0);
  const HttpResponse m = get(bed.admin_port(), "localhost", "/metrics");
  EXPECT_EQ(
      m.body.find("realproxy_upstream_connect_errors_total{service=\"default/juice-svc\"} 0\n"),
      std::string::npos)
      << "expected connect errors to be counted";
  EXPECT_EQ(m.body.find("realproxy_upstream_retries_total{service=\"default/juice-svc\"} 0\n"),
            std::string::npos)
      << "requests that met the dead pod were retried on another endpoint";
}

TEST(RealproxyReload, SighupChangesRoutingWithoutFailingRequests) {
  Testbed bed;
  bed.add_pod("coffee-svc", "coffee-1", {"--service-time", "constant:30ms"});
  bed.add_pod("coffee-svc", "coffee-2", {"--service-time", "constant:30ms"});
  bed.add_pod("tea-svc", "tea-1", {"--service-time", "constant:30ms"});
  bed.add_pod("tea-svc", "tea-2", {"--service-time", "constant:30ms"});
  bed.route("cafe.example.com", "/drink", "coffee-svc");
  bed.write_config();
  bed.start_proxy({"--workers", "2"});

  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, served_by_tea{0}, total{0};
  std::mutex mu;
  std::vector<std::string> failure_details;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        std::string error;
        const auto r = http_request(bed.http_port(), "cafe.example.com", "/drink", &error);
        ++total;
        if (!r || r->status != 200) {
          ++failures;
          std::lock_guard<std::mutex> lock(mu);
          failure_details.push_back(r ? std::to_string(r->status) : error);
        } else if (r->header("x-pod").rfind("tea-", 0) == 0) {
          ++served_by_tea;
        }
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(served_by_tea.load(), 0);
  bed.clear_routes();
  bed.route("cafe.example.com", "/drink", "tea-svc");
  bed.write_config();
  bed.proxy().signal(SIGHUP);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (served_by_tea.load() < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  stop = true;
  for (std::thread& t : clients)
    t.join();
  EXPECT_GE(served_by_tea.load(), 20) << "the reload did not take effect";
  EXPECT_EQ(failures.load(), 0) << "of " << total.load() << ", e.g. "
                                << (failure_details.empty() ? "" : failure_details[0]);

  // A broken configuration is refused; the running one stays.
  write_file(bed.config_dir() + "/cafe.yaml", "kind: [unterminated\n");
  bed.proxy().signal(SIGHUP);
  std::this_thread::sleep_for(300ms);
  const HttpResponse r = get(bed.http_port(), "cafe.example.com", "/drink");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(bed.pods_of("tea-svc").count(r.header("x-pod")));
  EXPECT_NE(bed.proxy().stderr_text().find("reload failed"), std::string::npos);
  const HttpResponse m = get(bed.admin_port(), "localhost", "/metrics");
  EXPECT_NE(m.body.find("realproxy_config_reloads_total{result=\"failure\"} 1\n"),
            std::string::npos);
}

TEST(RealproxyShutdown, SigtermLetsRequestsInFlightFinish) {
  Testbed bed;
  bed.add_pod("slow-svc", "slow-1", {"--service-time", "constant:300ms"});
  bed.route("cafe.example.com", "/slow", "slow-svc");
  bed.write_config();
  bed.start_proxy({"--workers", "1"});
  std::optional<HttpResponse> slow;
  std::thread client([&] {
    std::string error;
    slow = http_request(bed.http_port(), "cafe.example.com", "/slow", &error);
  });
  std::this_thread::sleep_for(100ms);  // the request is now waiting for the pod
  bed.proxy().signal(SIGTERM);
  client.join();
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->status, 200);
  EXPECT_EQ(bed.proxy().wait_exit(3s), 0);
}

TEST(RealproxyConfig, BadConfigurationExitsWith2NamingFileObjectAndField) {
  Testbed bed;
  const std::string file = bed.config_dir() + "/broken.yaml";
  write_file(file,
             "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: broken\n"
             "spec:\n  rules:\n  - host: cafe.example.com\n    http:\n      paths:\n"
             "      - path: /tea\n        pathType: Prefx\n        backend:\n          service:\n"
             "            name: tea-svc\n            port:\n              number: 80\n");
  const CommandResult route = run_command(
      {realproxy_binary(), "route", "--config", bed.config_dir(), "cafe.example.com", "/tea"},
      bed.dir() + "/route");
  EXPECT_EQ(route.exit_code, 2);
  EXPECT_NE(route.err.find(file + ":11"), std::string::npos) << route.err;
  EXPECT_NE(route.err.find("Ingress default/broken"), std::string::npos) << route.err;
  EXPECT_NE(route.err.find("spec.rules[0].http.paths[0].pathType"), std::string::npos) << route.err;
  const CommandResult serve = run_command(
      {realproxy_binary(), "serve", "--config", bed.config_dir(), "--listen", "127.0.0.1:0"},
      bed.dir() + "/serve");
  EXPECT_EQ(serve.exit_code, 2);
  EXPECT_NE(serve.err.find("pathType"), std::string::npos) << serve.err;
}

// Two realproxy instances — two ingress pods — behind which a client lands on either: with one
// --session-ticket-key file for both, a session from one resumes on the other; with keys of their
// own (the default) it cannot, and the client does a full handshake.
TEST(RealproxyTls, SharedSessionTicketKeyResumesOnAnotherInstance) {
  const SelfSignedCertificate cert = make_self_signed("cafe.example.com");
  std::vector<std::unique_ptr<Testbed>> beds;
  for (int i = 0; i < 3; ++i) {
    beds.push_back(std::make_unique<Testbed>());
    beds.back()->add_pod("tea-svc", "tea-" + std::to_string(i));
    beds.back()->route("cafe.example.com", "/tea", "tea-svc");
    beds.back()->tls("cafe.example.com", "cafe-secret", cert, /*as_files=*/false);
    beds.back()->write_config();
  }
  std::string key;
  std::random_device random;
  for (int i = 0; i < 80; ++i)
    key += static_cast<char>(random() & 0xff);
  const std::string key_file = beds[0]->dir() + "/ticket.key";
  write_file(key_file, key);
  beds[0]->start_proxy({"--session-ticket-key", key_file});
  beds[1]->start_proxy({"--session-ticket-key", key_file});
  beds[2]->start_proxy();  // its own random keys

  SSL_SESSION* session = nullptr;
  const TlsExchange first = https_request(beds[0]->https_port(), "cafe.example.com",
                                          "cafe.example.com", "/tea", cert.cert_pem, &session);
  ASSERT_TRUE(first.handshake_ok) << first.error;
  ASSERT_NE(session, nullptr);
  SSL_SESSION* copy = session;
  SSL_SESSION_up_ref(copy);
  const TlsExchange other = https_request(beds[1]->https_port(), "cafe.example.com",
                                          "cafe.example.com", "/tea", cert.cert_pem, &session);
  ASSERT_TRUE(other.handshake_ok) << other.error;
  EXPECT_TRUE(other.session_reused) << "a ticket from instance 0 must resume on instance 1";
  ASSERT_TRUE(other.response);
  EXPECT_EQ(other.response->status, 200);
  const TlsExchange unshared = https_request(beds[2]->https_port(), "cafe.example.com",
                                             "cafe.example.com", "/tea", cert.cert_pem, &copy);
  ASSERT_TRUE(unshared.handshake_ok) << unshared.error;
  EXPECT_FALSE(unshared.session_reused) << "an instance with its own keys cannot resume it";
  SSL_SESSION_free(session);
  SSL_SESSION_free(copy);

  // A key file of the wrong size: exit 2 naming the file.
  const std::string bad = beds[0]->dir() + "/short.key";
  write_file(bad, key.substr(0, 48));
  const CommandResult serve =
      run_command({realproxy_binary(), "serve", "--config", beds[0]->config_dir(), "--listen",
                   "127.0.0.1:0", "--tls-listen", "127.0.0.1:0", "--session-ticket-key", bad},
                  beds[0]->dir() + "/bad-key");
  EXPECT_EQ(serve.exit_code, 2);
  EXPECT_NE(serve.err.find(bad), std::string::npos) << serve.err;
  EXPECT_NE(serve.err.find("expected 80 bytes"), std::string::npos) << serve.err;
}

TEST(Realpod, AnswersWithNameBodySizeAndServiceTime) {
  Testbed bed;
  Pod& pod = bed.add_pod("x", "pod-7", {"--service-time", "constant:50ms", "--body-bytes", "1000"});
  const auto start = std::chrono::steady_clock::now();
  const HttpResponse r = get(pod.port, "x.example", "/hello");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-pod"), "pod-7");
  EXPECT_EQ(r.body.size(), 1000u);
  EXPECT_EQ(r.body.rfind("pod pod-7\nmethod GET\nhost x.example\npath /hello\n", 0), 0u) << r.body;
  EXPECT_GE(elapsed, 45ms);

  // --concurrency 1: three requests at once are served one after the other.
  Pod& single =
      bed.add_pod("y", "pod-8", {"--service-time", "constant:100ms", "--concurrency", "1"});
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&] {
      std::string error;
      const auto r = http_request(single.port, "y.example", "/", &error);
      if (r && r->status == 200) ++ok;
    });
  }
  for (std::thread& t : clients)
    t.join();
  EXPECT_EQ(ok.load(), 3);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 290ms);
  EXPECT_EQ(run_command({realpod_binary(), "--listen", "127.0.0.1:0", "--name", "p",
                         "--service-time", "lognormal:10ms,5ms"},
                        bed.dir() + "/badpod")
                .exit_code,
            2);
}

}  // namespace
}  // namespace ingresslab::realproxy::testing
