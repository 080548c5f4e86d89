// The open-loop load generator behind `ingresslab replay`: a precomputed schedule of requests
// (intended send times) is played by worker threads, each an epoll event loop over non-blocking
// sockets (HTTP/1.1 keep-alive, or HTTP/2 through nghttp2 — ALPN h2 over TLS, prior knowledge in
// clear text — optionally TLS through OpenSSL with session resumption).
//
// No coordinated omission (as wrk2): every request's latency runs from its *intended* send time,
// so a request that waits for a free connection, or that the generator sends late, is charged
// the wait. When a request arrives and its key (TLS or not, Host) has no idle connection, a new
// connection is opened (up to `max_connections`); beyond that the request queues.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/histogram.h"

namespace ingresslab::replay {

// One address requests can be sent to (a node's NodePort, or the --target URL).
struct Entry {
  std::string name;  // for messages: "node-1" or the URL
  sockaddr_storage http_addr{};
  socklen_t http_addr_len = 0;  // 0: no plain-HTTP address
  sockaddr_storage https_addr{};
  socklen_t https_addr_len = 0;  // 0: no HTTPS address
};

// A request class: what is sent.
struct RequestClass {
  std::string method = "GET";
  std::string host;
  std::string path = "/";
  int route = -1;  // index into the result's routes, -1 = none (404 expected)
};

// One scheduled request.
struct Arrival {
  int64_t t_ns = 0;  // intended send time, since the start of the run
  uint32_t cls = 0;  // index into LoadPlan::classes
  uint32_t body_bytes = 0;
  bool tls = false;
  bool http2 = false;  // HTTP/2 streams on shared connections (else HTTP/1.1, one at a time)
};

struct LoadPlan {
  std::vector<Entry> entries;
  bool single_entry = false;  // every connection to entries[0] (else round robin over entries)
  std::vector<RequestClass> classes;
  size_t route_count = 0;
  std::vector<Arrival> arrivals;     // sorted by t_ns
  int64_t warmup_ns = 0;             // requests intended before this are sent but not measured
  int64_t duration_ns = 0;           // measured period after the warm-up
  int64_t timeout_ns = 0;            // per request, from its intended time; 0 = never
  int64_t drain_ns = 5'000'000'000;  // after the last arrival, wait this long for answers at most
  uint32_t requests_per_connection = 100;
  uint32_t max_concurrent_streams = 100;  // HTTP/2: streams open at once per connection (at most)
  double resumption_ratio = 0;            // share of TLS connections that offer a cached session
  int threads = 1;
  int max_connections = 10000;  // over all threads
  int64_t bucket_ns = 1'000'000'000;
  uint64_t seed = 1;
  // Called once, before the generator threads start, with time 0 of the schedule
  // (engine::monotonic_ns()): what must happen at scheduled times alongside (testbed faults)
  // starts.
  std::function<void(int64_t start_ns)> on_start;
};

enum ErrorCause : uint8_t {
  kErrTimeout,
  kErrRefused,
  kErr503,
  kErrNoRoute,
  kErr504,
  kErrOtherStatus,  // any other status >= 400
  kErrProtocol,     // malformed response, TLS failure, connection closed mid-response
  kErrCount
};
const char* error_cause_name(ErrorCause cause);

struct TimeBucket {
  uint64_t succeeded = 0;
  uint64_t errors = 0;
  engine::LatencyHistogram latency;
};

struct RouteCounters {
  engine::LatencyHistogram latency;
  uint64_t requests = 0;
  uint64_t succeeded = 0;
};

// What the generator measured (measured period only, except the lag and CPU figures).
struct LoadStats {
  engine::LatencyHistogram end_to_end;     // successful requests
  engine::LatencyHistogram tls_handshake;  // per TLS handshake (connect done → handshake done)
  engine::LatencyHistogram tcp_connect;    // per connection (connect() → writable)
  engine::LatencyHistogram send_lag;       // actual send - intended send, every request
  uint64_t offered = 0;                    // measured requests whose intended time passed
  uint64_t completed = 0;                  // measured requests that ended (success or error)
  uint64_t succeeded = 0;
  uint64_t unfinished = 0;  // measured requests still in flight at the end
  std::array<uint64_t, kErrCount> errors{};
  uint64_t connections = 0;        // opened over the run
  uint64_t http2_connections = 0;  // of which HTTP/2
  uint64_t peak_open = 0;          // most open at once (summed over threads' peaks)
  uint64_t connection_waits = 0;   // requests that waited because the connection limit was reached
  uint64_t tls_full = 0;
  uint64_t tls_resumed = 0;
  uint64_t tls_resumption_offered = 0;
  std::vector<RouteCounters> routes;
  std::vector<TimeBucket> series;         // by completion time in the measured period
  std::vector<std::string> first_errors;  // a few distinct error messages, for the user
  double wall_seconds = 0;
  double cpu_seconds = 0;  // the generator process's user + system CPU over the run

  void merge(LoadStats&& other);
};

// Plays the plan; blocks until the last request has ended or the drain time is over. Threads are
// created here; the caller's network namespace is theirs. Returns "" or why it could not start.
std::string run_load(const LoadPlan& plan, LoadStats* out);

}  // namespace ingresslab::replay
