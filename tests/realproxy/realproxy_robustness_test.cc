// realproxy against hostile or sloppy clients, as real processes on 127.0.0.1: malformed requests
// and oversized headers get a 4xx or a closed connection; a slowloris client is cut off by the
// header timeout while other clients are served; TLS garbage is closed; and 100k requests leave
// the proxy's file descriptors and resident memory where they were after warm-up.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/realproxy/http_client.h"
#include "tests/realproxy/test_process.h"
#include "tests/realproxy/testbed.h"

namespace ingresslab::realproxy::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class RobustnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bed_.add_pod("tea-svc", "tea-1");
    bed_.add_pod("tea-svc", "tea-2");
    bed_.route("cafe.example.com", "/tea", "tea-svc");
    cert_ = make_self_signed("cafe.example.com");
    bed_.tls("cafe.example.com", "cafe-secret", cert_, /*as_files=*/false);
    bed_.write_config();
    bed_.start_proxy({"--workers", "2", "--header-timeout", "1s"});
  }

  // A request through the proxy answers 200 from a tea pod.
  void expect_serving() {
    std::string error;
    const auto r = http_request(bed_.http_port(), "cafe.example.com", "/tea", &error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(bed_.pods_of("tea-svc").count(r->header("x-pod")));
    const TlsExchange tls = https_request(bed_.https_port(), "cafe.example.com", "cafe.example.com",
                                          "/tea", cert_.cert_pem);
    ASSERT_TRUE(tls.handshake_ok) << tls.error;
    ASSERT_TRUE(tls.response);
    EXPECT_EQ(tls.response->status, 200);
    EXPECT_TRUE(bed_.proxy().running());
  }

  Testbed bed_;
  SelfSignedCertificate cert_;
};

// The answer to a bad request: nothing (closed) or a 4xx; never a 2xx, never a pod's answer.
void expect_rejected(const std::string& answer, const std::string& what) {
  EXPECT_TRUE(answer.empty() || answer.rfind("HTTP/1.1 4", 0) == 0)
      << what << ": " << answer.substr(0, 300);
  EXPECT_EQ(answer.find("x-pod:"), std::string::npos) << what;
}

TEST_F(RobustnessTest, MalformedRequestsAndOversizedHeadersAreRejected) {
  const int port = bed_.http_port();
  expect_rejected(raw_exchange(port, "GARBAGE\r\n\r\n"), "no request line");
  expect_rejected(raw_exchange(port, "GET /tea HTTP/1.1\r\nHost cafe.example.com\r\n\r\n"),
                  "header without colon");
  expect_rejected(raw_exchange(port, "GET /tea HTTP/9.9\r\nHost: cafe.example.com\r\n\r\n"),
                  "unknown version");
  expect_rejected(raw_exchange(port, "GET\x01/tea HTTP/1.1\r\nHost: cafe.example.com\r\n\r\n"),
                  "control character in the method");
  expect_rejected(raw_exchange(port,
                               "POST /tea HTTP/1.1\r\nHost: cafe.example.com\r\n"
                               "Content-Length: abc\r\n\r\nxyz"),
                  "non-numeric Content-Length");
  expect_rejected(raw_exchange(port,
                               "POST /tea HTTP/1.1\r\nHost: cafe.example.com\r\n"
                               "Transfer-Encoding: chunked\r\n\r\nZZZ\r\nxyz\r\n0\r\n\r\n"),
                  "bad chunk size");
  // One 600 KB header (over h2o's 400 KB request head limit), and 200 headers (over its 100).
  expect_rejected(raw_exchange(port, "GET /tea HTTP/1.1\r\nHost: cafe.example.com\r\nX-Big: " +
                                         std::string(600 * 1024, 'a') + "\r\n\r\n"),
                  "oversized header");
  std::string many = "GET /tea HTTP/1.1\r\nHost: cafe.example.com\r\n";
  for (int i = 0; i < 200; ++i)
    many += "X-H" + std::to_string(i) + ": v\r\n";
  expect_rejected(raw_exchange(port, many + "\r\n"), "too many headers");
  // Cleartext HTTP/2 preface, then a frame longer than SETTINGS_MAX_FRAME_SIZE: the answer is
  // the server's frames (SETTINGS, then GOAWAY) and a close — never HEADERS.
  const std::string h2 =
      raw_exchange(port, std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
                             std::string("\xff\xff\xff\x09\x00\x00\x00\x00\x01", 9));
  bool goaway = false, headers = false;
  for (size_t at = 0; at + 9 <= h2.size();) {
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(h2[at + i]); };
    const size_t length = (size_t{byte(0)} << 16) | (size_t{byte(1)} << 8) | byte(2);
    goaway = goaway || byte(3) == 0x7;
    headers = headers || byte(3) == 0x1;
    at += 9 + length;
  }
  EXPECT_TRUE(goaway) << "bad HTTP/2 frame: no GOAWAY";
  EXPECT_FALSE(headers) << "bad HTTP/2 frame: answered with HEADERS";
  expect_serving();
}

// Sends `prefix`, then one byte of a never-ending header every 100 ms; returns how long the proxy
// kept the connection open (or the cap).
std::chrono::milliseconds slowloris(int port, std::chrono::milliseconds cap) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    close(fd);
    return 0ms;
  }
  const auto start = Clock::now();
  const std::string prefix = "GET /tea HTTP/1.1\r\nHost: cafe.example.com\r\nX-Slow: ";
  send(fd, prefix.data(), prefix.size(), MSG_NOSIGNAL);
  while (Clock::now() - start < cap) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {  // the proxy answered or closed: either way, done with us
      char buf[512];
      if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0) break;
      continue;
    }
    if (send(fd, "a", 1, MSG_NOSIGNAL) != 1) break;
  }
  close(fd);
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

TEST_F(RobustnessTest, SlowlorisIsCutOffByTheHeaderTimeoutWhileOthersAreServed) {
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::atomic<int64_t> worst_us{0};
  std::thread others([&] {
    while (!done.load()) {
      const auto t0 = Clock::now();
      std::string error;
      const auto r = http_request(bed_.http_port(), "cafe.example.com", "/tea", &error);
      const int64_t us =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
      if (r && r->status == 200) {
        ++ok;
      } else {
        ++failed;
      }
      if (us > worst_us.load()) worst_us = us;
      std::this_thread::sleep_for(20ms);
    }
  });
  // Four slow clients at once, each sending a byte per 100 ms: with --header-timeout 1s each is
  // closed after about 1 s, although it keeps sending.
  std::vector<std::chrono::milliseconds> lasted(4);
  std::vector<std::thread> slow;
  for (size_t i = 0; i < lasted.size(); ++i) {
    slow.emplace_back([&, i] { lasted[i] = slowloris(bed_.http_port(), 6000ms); });
  }
  for (std::thread& t : slow)
    t.join();
  done = true;
  others.join();
  for (const auto d : lasted) {
    EXPECT_GE(d, 900ms);
    EXPECT_LT(d, 3000ms) << "the slow client was not cut off";
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GE(ok.load(), 10);
  EXPECT_LT(worst_us.load(), 500'000) << "other clients waited on the slow ones";
  expect_serving();
}

TEST_F(RobustnessTest, TlsGarbageIsClosedAndTheProxyKeepsServing) {
  const int port = bed_.https_port();
  // Not TLS at all.
  const std::string plain = raw_exchange(port, "GET /tea HTTP/1.1\r\nHost: x\r\n\r\n", 2000ms);
  EXPECT_EQ(plain.find("HTTP/1.1 200"), std::string::npos);
  // A TLS record header announcing a handshake, then junk.
  std::string junk("\x16\x03\x01\x00\x40", 5);
  for (int i = 0; i < 64; ++i)
    junk += static_cast<char>((i * 37 + 11) & 0xff);
  const std::string answer = raw_exchange(port, junk, 2000ms);
  // Closed, perhaps after a TLS alert record (content type 21); no HTTP.
  EXPECT_TRUE(answer.empty() || answer[0] == '\x15') << answer.size() << " bytes";
  // Half a ClientHello, then silence: the handshake timeout (= header timeout, 1 s) closes it.
  const auto t0 = Clock::now();
  const std::string half = raw_exchange(port, std::string("\x16\x03\x01\x02\x00\x01", 6), 4000ms);
  EXPECT_LT(Clock::now() - t0, 3500ms) << "a stalled handshake was not timed out";
  EXPECT_TRUE(half.empty() || half[0] == '\x15');
  expect_serving();
}

// The state letter of /proc/PID/stat (R, S, T, ...); '?' if unreadable.
char process_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  const std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() ? text[paren + 2] : '?';
}

// Passive outlier detection with the upstream timeout: a pod that accepts connections but never
// answers (SIGSTOP) costs a few timed-out requests, then is ejected and the rest succeed.
TEST(RealproxyOutliers, FrozenPodIsEjectedAfterConsecutiveTimeouts) {
  Testbed bed;
  for (int i = 1; i <= 3; ++i)
    bed.add_pod("juice-svc", "juice-" + std::to_string(i));
  bed.route("cafe.example.com", "/juice", "juice-svc");
  bed.write_config();
  bed.start_proxy({"--workers", "1", "--upstream-timeout", "300ms", "--eject-after-5xx", "2",
                   "--unhealthy-for", "30s"});
  // Warm up: every pod answers (and has a pooled connection).
  for (int i = 0; i < 6; ++i) {
    std::string error;
    const auto r = http_request(bed.http_port(), "cafe.example.com", "/juice", &error);
    ASSERT_TRUE(r) << error;
    ASSERT_EQ(r->status, 200);
  }
  Pod& frozen = bed.pod("juice-2");
  frozen.process->signal(SIGSTOP);
  // kill(2) returns before the target has stopped: wait for state T in /proc/PID/stat.
  const auto stopped_by = Clock::now() + 2s;
  while (process_state(frozen.process->pid()) != 'T' && Clock::now() < stopped_by) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(process_state(frozen.process->pid()), 'T');
  int failures = 0, late_failures = 0;
  for (int i = 0; i < 30; ++i) {
    std::string error;
    const auto r = http_request(bed.http_port(), "cafe.example.com", "/juice", &error);
    ASSERT_TRUE(r) << error;
    if (r->status != 200) {
      EXPECT_GE(r->status, 500);
      ++failures;
      if (i >= 10) ++late_failures;
    } else {
      EXPECT_NE(r->header("x-pod"), "juice-2");
    }
  }
  frozen.process->signal(SIGCONT);
  // Round robin over 3 pods sends every third request to the frozen one until it is ejected
  // after the second timeout.
  EXPECT_EQ(failures, 2);
  EXPECT_EQ(late_failures, 0);
  std::string error;
  const auto m = http_request(bed.admin_port(), "localhost", "/metrics", &error);
  ASSERT_TRUE(m) << error;
  EXPECT_NE(m->body.find("realproxy_upstream_ejections_total{service=\"default/juice-svc\"} 1\n"),
            std::string::npos)
      << m->body;
  EXPECT_NE(bed.proxy().stderr_text().find("consecutive 5xx; ejected"), std::string::npos);
}

// The proxy's open file descriptors and resident memory (/proc/PID).
struct ProcessUsage {
  size_t fds = 0;
  long rss_kib = 0;
};
ProcessUsage usage_of(pid_t pid) {
  ProcessUsage u;
  const std::string proc = "/proc/" + std::to_string(pid);
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(proc + "/fd"))
    ++u.fds;
  std::ifstream status(proc + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) u.rss_kib = std::atol(line.c_str() + 6);
  }
  return u;
}

// `requests` GETs from 4 threads on keep-alive connections, a new connection every 50th request.
int run_load(int port, int requests) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto client = std::make_unique<KeepAliveClient>(port);
      for (int i = t; i < requests; i += 4) {
        if (i % 50 == 49) client = std::make_unique<KeepAliveClient>(port);
        std::string error;
        const auto r = client->get("cafe.example.com", "/tea", &error);
        if (!r || r->status != 200) ++failures;
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  return failures.load();
}

TEST_F(RobustnessTest, NoFdOrMemoryGrowthOver100kRequests) {
  const auto t0 = Clock::now();
  ASSERT_EQ(run_load(bed_.http_port(), 20'000), 0);  // warm-up: pools, allocator arenas
  std::this_thread::sleep_for(200ms);
  const ProcessUsage before = usage_of(bed_.proxy().pid());
  ASSERT_EQ(run_load(bed_.http_port(), 100'000), 0);
  std::this_thread::sleep_for(200ms);
  const ProcessUsage after = usage_of(bed_.proxy().pid());
  const auto elapsed = Clock::now() - t0;
  RecordProperty("fds_before", static_cast<int>(before.fds));
  RecordProperty("fds_after", static_cast<int>(after.fds));
  RecordProperty("rss_kib_before", static_cast<int>(before.rss_kib));
  RecordProperty("rss_kib_after", static_cast<int>(after.rss_kib));
  std::printf("fds %zu -> %zu, VmRSS %ld -> %ld KiB, %.1f s\n", before.fds, after.fds,
              before.rss_kib, after.rss_kib, std::chrono::duration<double>(elapsed).count());
  // Same load shape before and after. Pooled upstream connections come and go (at most one per
  // client thread per worker and endpoint: 4 x 2 x 2 = 16); a leak would be one per closed
  // connection, and 2000 connections are opened and closed.
  EXPECT_LE(after.fds, before.fds + 16);
  // A leak of even 16 bytes per request would be 1.6 MB.
  EXPECT_LE(after.rss_kib, before.rss_kib + 1024);
  EXPECT_LT(elapsed, 30s);
}

}  // namespace
}  // namespace ingresslab::realproxy::testing
