// Keep-alive on both sides of realproxy (realproxy/server/upstream_pool.h, and the HTTP/1 client
// connection kept polled while its request is proxied, worker.cc keep_polled): requests reuse one
// upstream connection; one the pod closes is dropped before a request can take it; idle ones
// expire; pipelined requests arriving while one is proxied are answered in order.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
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

// TCP connections in state ESTABLISHED to 127.0.0.1:port, from the kernel's table (the proxy's
// side of its upstream connections; the pod's side has `port` as its local port).
int established_to(int port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const auto colon = remote.find(':');
    if (colon == std::string::npos || state != "01") continue;
    if (std::stoi(remote.substr(colon + 1), nullptr, 16) == port) ++n;
  }
  return n;
}

// realproxy_upstream_keepalive_total{event="<event>"} from /metrics (-1 if absent).
long keepalive_counter(int admin_port, const std::string& event) {
  std::string error;
  const auto m = http_request(admin_port, "localhost", "/metrics", &error);
  if (!m) return -1;
  const std::string key = "realproxy_upstream_keepalive_total{event=\"" + event + "\"} ";
  const auto at = m->body.find(key);
  return at == std::string::npos ? -1 : std::stol(m->body.substr(at + key.size()));
}

// Sends `first`, then — while the proxy is busy with it — `rest`, on one connection; reads until
// the peer closes or `timeout` passes.
std::string staged_exchange(int port, const std::string& first, const std::string& rest,
                            std::chrono::milliseconds pause, std::chrono::milliseconds timeout) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const auto send_all = [fd](const std::string& bytes) {
      for (size_t off = 0; off < bytes.size();) {
        const ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += static_cast<size_t>(n);
      }
    };
    send_all(first);
    std::this_thread::sleep_for(pause);
    send_all(rest);
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[16384];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
      answer.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

std::string metrics_text(int admin_port) {
  std::string error;
  const auto m = http_request(admin_port, "localhost", "/metrics", &error);
  return m ? m->body : error;
}

// One pod "juice-1" of juice-svc behind cafe.example.com/juice, and realproxy with one worker.
void start_one_pod(Testbed& bed, std::vector<std::string> pod_args,
                   std::vector<std::string> proxy_args = {}) {
  bed.add_pod("juice-svc", "juice-1", std::move(pod_args));
  bed.route("cafe.example.com", "/juice", "juice-svc");
  bed.write_config();
  proxy_args.insert(proxy_args.begin(), {"--workers", "1"});
  bed.start_proxy(std::move(proxy_args));
}

TEST(RealproxyKeepAlive, RequestsReuseOneUpstreamConnectionAndAClosedOneIsDropped) {
  Testbed bed;
  start_one_pod(bed, {});
  const int pod_port = bed.pod("juice-1").port;

  for (int i = 0; i < 20; ++i) {
    std::string error;
    const auto r = http_request(bed.http_port(), "cafe.example.com", "/juice", &error);
    ASSERT_TRUE(r) << error;
    ASSERT_EQ(r->status, 200) << r->body;
  }
  // 20 requests, one after another, over one connection to the pod (a new client connection per
  // request: only the upstream side is kept alive here).
  EXPECT_EQ(established_to(pod_port), 1);
  EXPECT_EQ(keepalive_counter(bed.admin_port(), "reused"), 20) << metrics_text(bed.admin_port());
  EXPECT_EQ(keepalive_counter(bed.admin_port(), "closed_by_endpoint"), 0);

  // The pod dies with the connection idle, and comes back on the same port. The proxy sees the
  // close in its event loop and drops the connection, so a POST — which is never retried — goes
  // over a new connection and succeeds, instead of failing on the dead one (502).
  bed.pod("juice-1").process->signal(SIGKILL);
  ASSERT_TRUE(bed.pod("juice-1").process->wait_exit(2s));
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (keepalive_counter(bed.admin_port(), "closed_by_endpoint") < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(keepalive_counter(bed.admin_port(), "closed_by_endpoint"), 1);
  bed.respawn_pod("juice-1");
  std::string error;
  const auto post = http_request(bed.http_port(), "cafe.example.com", "/juice", &error, "POST");
  ASSERT_TRUE(post) << error;
  EXPECT_EQ(post->status, 200) << post->body;
  EXPECT_NE(post->body.find("method POST"), std::string::npos) << post->body;
}

TEST(RealproxyKeepAlive, IdleUpstreamConnectionsCloseAfterUpstreamKeepalive) {
  Testbed bed;
  start_one_pod(bed, {}, {"--upstream-keepalive", "1s"});
  const int pod_port = bed.pod("juice-1").port;
  std::string error;
  const auto r = http_request(bed.http_port(), "cafe.example.com", "/juice", &error);
  ASSERT_TRUE(r) << error;
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(established_to(pod_port), 1);
  // Idle for 1 s, closed by the once-a-second sweep: gone within 2 s, and not before ~1 s.
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(established_to(pod_port), 1) << "closed before --upstream-keepalive";
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (established_to(pod_port) > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(established_to(pod_port), 0);
  EXPECT_EQ(keepalive_counter(bed.admin_port(), "expired"), 1) << metrics_text(bed.admin_port());
  // And the next request opens a new one.
  const auto again = http_request(bed.http_port(), "cafe.example.com", "/juice", &error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(again->status, 200);
}

// Requests pipelined behind one that the pod takes 50 ms to answer: they arrive 15 ms later, while
// the proxy waits for the pod (the client connection is still polled then, and must not be read
// into the buffer the request being proxied points into), more than the proxy's 8 KiB read
// buffer, and must all be answered, in order, with nothing lost or corrupted.
TEST(RealproxyKeepAlive, PipelinedRequestsWhileOneIsProxiedAreAnsweredInOrder) {
  Testbed bed;
  start_one_pod(bed, {"--service-time", "constant:50ms"});
  std::string first, bytes;
  const int n = 12;
  const std::string padding(1500, 'p');
  for (int i = 0; i < n; ++i) {
    (i == 0 ? first : bytes) += "GET /juice/" + std::to_string(i) +
                                " HTTP/1.1\r\nHost: cafe.example.com\r\nX-Padding: " + padding +
                                "\r\n" + (i == n - 1 ? "Connection: close\r\n" : "") + "\r\n";
  }
  ASSERT_GT(bytes.size(), 16u * 1024u);
  const std::string answer = staged_exchange(bed.http_port(), first, bytes, 15ms, 10000ms);
  size_t at = 0;
  for (int i = 0; i < n; ++i) {
    const size_t status = answer.find("HTTP/1.1 200", at);
    ASSERT_NE(status, std::string::npos) << "response " << i << " missing:\n" << answer;
    const size_t path = answer.find("path /juice/" + std::to_string(i) + "\n", status);
    ASSERT_NE(path, std::string::npos) << "response " << i << " out of order:\n" << answer;
    at = path;
  }
  EXPECT_EQ(answer.find("HTTP/1.1", at), std::string::npos) << "extra responses";
  // The proxy keeps serving.
  std::string error;
  const auto r = http_request(bed.http_port(), "cafe.example.com", "/juice", &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->status, 200);
}

// A client that closes its connection while its request is being proxied: the proxy finishes
// with the pod and keeps serving others.
TEST(RealproxyKeepAlive, ClientClosingWhileItsRequestIsProxiedIsHarmless) {
  Testbed bed;
  start_one_pod(bed, {"--service-time", "constant:100ms"});
  for (int i = 0; i < 5; ++i) {
    raw_exchange(bed.http_port(), "GET /juice HTTP/1.1\r\nHost: cafe.example.com\r\n\r\n", 20ms);
  }
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(bed.proxy().running());
  for (int i = 0; i < 5; ++i) {
    std::string error;
    const auto r = http_request(bed.http_port(), "cafe.example.com", "/juice", &error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(keepalive_counter(bed.admin_port(), "closed_by_endpoint"), 0);
}

}  // namespace
}  // namespace ingresslab::realproxy::testing
