#include "cli/replay/netprobe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <future>
#include <map>
#include <thread>

#include "cli/testbed/exec.h"
#include "cli/testbed/plan.h"
#include "engine/monotonic_clock.h"

namespace ingresslab::replay {
namespace {

constexpr int kWarmupRoundTrips = 20;
// Between timed round trips: requests on a testbed connection are not back to back, and a
// receiver woken from an idle CPU is slower than one that just ran (here: 22 vs 11 us on
// loopback, 44 vs 13 us client -> pod).
constexpr auto kGap = std::chrono::milliseconds(1);
constexpr int kTimeoutMs = 2000;

// Closes the descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

bool wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, kTimeoutMs) == 1;
}

sockaddr_in address(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

bool send_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

// Reads one HTTP/1.1 response (Content-Length or chunked body) from a keep-alive connection.
bool read_response(int fd, std::string* status_line) {
  std::string in;
  char buf[4096];
  size_t header_end = std::string::npos;
  size_t need = 0;
  bool chunked = false;
  for (;;) {
    if (header_end == std::string::npos) {
      header_end = in.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::string head = in.substr(0, header_end);
        *status_line = head.substr(0, head.find("\r\n"));
        for (char& c : head)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const size_t cl = head.find("\r\ncontent-length:");
        if (cl != std::string::npos) {
          need = header_end + 4 + std::strtoul(head.c_str() + cl + 17, nullptr, 10);
        } else {
          chunked = head.find("chunked") != std::string::npos;
          need = header_end + 4;
        }
      }
    }
    if (header_end != std::string::npos) {
      if (!chunked && in.size() >= need) return true;
      if (chunked && in.size() >= 5 && in.compare(in.size() - 5, 5, "0\r\n\r\n") == 0) return true;
    }
    if (!wait_for(fd, POLLIN)) return false;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    in.append(buf, static_cast<size_t>(n));
  }
}

// `count` timed HTTP requests (after kWarmupRoundTrips untimed ones, kGap apart) on one keep-alive
// connection from a thread in `from_netns` to ip:port; the round trips in us, or an error.
std::vector<double> round_trips(const std::string& from_netns, const std::string& ip, uint16_t port,
                                const std::string& request, int count, std::string* error) {
  std::vector<double> out;
  std::thread client([&] {
    std::string why;
    if (!testbed::enter_netns(from_netns, &why)) {
      *error = why;
      return;
    }
    const std::string where = ip + ":" + std::to_string(port) + " from " + from_netns;
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const sockaddr_in a = address(ip, port);
    if (fd.fd < 0 || ::connect(fd.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      *error = "connect to " + where + ": " + std::strerror(errno);
      return;
    }
    const int one = 1;
    setsockopt(fd.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    out.reserve(static_cast<size_t>(count));
    std::string status;
    for (int i = 0; i < kWarmupRoundTrips + count; ++i) {
      if (i >= kWarmupRoundTrips) std::this_thread::sleep_for(kGap);
      const int64_t start = engine::monotonic_ns();
      if (!send_all(fd.fd, request) || !read_response(fd.fd, &status)) {
        *error = "request to " + where + " failed";
        out.clear();
        return;
      }
      if (i >= kWarmupRoundTrips)
        out.push_back(static_cast<double>(engine::monotonic_ns() - start) / 1e3);
      if (status.find(" 200") == std::string::npos) {
        *error = where + " answered '" + status + "', not 200";
        out.clear();
        return;
      }
    }
  });
  client.join();
  return out;
}

std::string format_us(double us) {
  char buf[32];
  if (us >= 1000) {
    std::snprintf(buf, sizeof buf, "%.2fms", us / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fus", us);
  }
  return buf;
}

std::string format_duration(const google::protobuf::Duration& d) {
  return format_us(static_cast<double>(d.seconds()) * 1e6 + d.nanos() / 1e3);
}

void set_us(double us, google::protobuf::Duration* d) {
  const int64_t ns = std::llround(us * 1e3);
  d->set_seconds(ns / 1'000'000'000);
  d->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
}

}  // namespace

double PathLatency::rtt_quantile_us(double q) const {
  if (rtt_us.empty()) return 0;
  std::vector<double> v = rtt_us;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

const PathLatency* TestbedLatency::find(const std::string& kind) const {
  for (const auto& p : paths) {
    if (p.kind == kind) return &p;
  }
  return nullptr;
}

TestbedLatency measure_testbed_latency(const testbed::TestbedState& state, int round_trips_n) {
  TestbedLatency out;
  std::vector<const testbed::ProcessRecord*> ingress, backends;
  for (const auto& p : state.pids) {
    if (p.ip.empty() || p.netns.empty()) continue;
    (p.role == "realproxy" ? ingress : backends).push_back(&p);
  }
  if (ingress.empty()) {
    out.errors.push_back(
        "the state file gives no pod addresses (a testbed brought up by an older ingresslab: "
        "bring it up again)");
    return out;
  }
  std::map<std::string, PathLatency> kinds;
  const auto measure = [&](const std::string& kind, const std::string& from, const std::string& ip,
                           uint16_t port, const std::string& request) {
    std::string error;
    std::vector<double> rtt = round_trips(from, ip, port, request, round_trips_n, &error);
    if (!error.empty()) {
      out.errors.push_back(kind + ": " + error);
      return;
    }
    PathLatency& p = kinds[kind];
    p.kind = kind;
    ++p.pairs;
    p.rtt_us.insert(p.rtt_us.end(), rtt.begin(), rtt.end());
  };
  const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: probe\r\n\r\n";
  const std::string pod_probe = "GET /probe HTTP/1.1\r\nHost: probe\r\nX-Realpod-Probe: 1\r\n\r\n";
  for (const auto* i : ingress) {
    if (!state.client_netns.empty()) {
      measure("client", state.client_netns, i->ip, testbed::kAdminPort, healthz);
    }
    for (const auto* b : backends) {
      if (b->port <= 0) continue;
      measure(b->node == i->node ? "same_node" : "cross_node", i->netns, b->ip,
              static_cast<uint16_t>(b->port), pod_probe);
    }
  }
  for (const char* kind : {"client", "same_node", "cross_node"}) {
    auto it = kinds.find(kind);
    if (it != kinds.end()) out.paths.push_back(std::move(it->second));
  }
  return out;
}

std::string apply_testbed_latency(const TestbedLatency& measured, scenario::Scenario* scenario) {
  auto* net = scenario->mutable_cluster()->mutable_network();
  std::vector<std::string> set;
  if (const PathLatency* p = measured.find("client")) {
    const double us = p->one_way_us();
    set.push_back("client_latency " + format_us(us) + " (was " +
                  format_duration(net->client_latency()) + ")");
    set_us(us, net->mutable_client_latency());
  }
  if (const PathLatency* p = measured.find("same_node")) {
    const double us = p->one_way_us();
    set.push_back("same_node_latency " + format_us(us) + " (was " +
                  format_duration(net->same_node_latency()) + ")");
    set_us(us, net->mutable_same_node_latency());
  }
  if (const PathLatency* p = measured.find("cross_node")) {
    const double us = p->one_way_us();
    set.push_back("same_zone_latency and cross_zone_latency " + format_us(us) + " (were " +
                  format_duration(net->same_zone_latency()) + ", " +
                  format_duration(net->cross_zone_latency()) + ")");
    set_us(us, net->mutable_same_zone_latency());
    set_us(us, net->mutable_cross_zone_latency());
    int links = 0;
    for (auto& link : *net->mutable_links()) {
      if (!link.has_latency()) continue;
      set_us(us, link.mutable_latency());
      ++links;
    }
    if (links > 0) set.back() += ", and " + std::to_string(links) + " links[].latency";
  }
  if (set.empty()) return "";
  std::string line = "simulated with the testbed's measured one-way latencies: ";
  for (size_t i = 0; i < set.size(); ++i)
    line += (i ? "; " : "") + set[i];
  return line;
}

}  // namespace ingresslab::replay
