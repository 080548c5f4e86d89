// `realproxy serve`: the ingress proxy process.
//
// Threads:
//   - N workers, each with its own h2o event loop, h2o_context_t and SO_REUSEPORT listening
//     sockets (HTTP and, if configured, TLS); a worker serves a connection from accept to close.
//   - one admin thread (if --admin): GET /metrics (Prometheus), GET /healthz.
//   - the main thread: waits for signals. SIGHUP reloads the configuration (a bad one is logged
//     and the running one kept); SIGTERM / SIGINT stop accepting, let requests in flight finish
//     (up to the drain timeout) and exit 0.
//
// Per request (worker.cc): RouteTable::match(Host, path) → 404 if nothing matches; 503 if the
// backend has no ready endpoint; else the load-balancing policy picks an endpoint, realproxy
// connects to it through that worker's keep-alive pool for the endpoint (retrying another endpoint
// when connecting fails), and hands the request to h2o's reverse proxy with
// h2o_req_overrides_t.socketpool set to that pool (h2o_reprocess_request).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/time.h"
#include "realproxy/config/proxy_config.h"
#include "realproxy/server/load_balancer.h"

namespace ingresslab::realproxy {

// What the consistent_hash policy hashes.
struct HashOn {
  enum class Kind : uint8_t { kSource, kHeader, kCookie };
  Kind kind = Kind::kSource;
  std::string name;  // header (lowercase) or cookie name

  // "source", "header:NAME", "cookie:NAME". nullopt (and *error) if malformed.
  static std::optional<HashOn> parse(std::string_view text, std::string* error);
};

struct ServeOptions {
  std::vector<std::string> config_paths;
  LoadOptions load;
  std::string listen = "127.0.0.1:8080";
  std::optional<std::string> tls_listen;
  std::optional<std::string> admin_listen;
  int workers = 1;
  LbPolicy lb = LbPolicy::kRoundRobin;
  HashOn hash_on;
  engine::Duration connect_timeout = engine::Duration::seconds(5);      // ingress-nginx default
  engine::Duration upstream_timeout = engine::Duration::seconds(60);    // first byte and idle I/O
  engine::Duration upstream_keepalive = engine::Duration::seconds(60);  // idle pooled connections
  engine::Duration unhealthy_for = engine::Duration::seconds(10);       // nginx fail_timeout
  engine::Duration drain_timeout = engine::Duration::seconds(10);
  int max_tries = 3;  // endpoints tried per request when connecting fails (ingress-nginx: 3)
  // Passive outlier detection: eject an endpoint after this many consecutive 5xx (0: never).
  int eject_after_5xx = 5;  // Envoy outlier_detection.consecutive_5xx
  // Downstream: time to receive a request's headers, and keep-alive idle time (h2o req_timeout).
  engine::Duration header_timeout = engine::Duration::seconds(10);
  std::optional<std::string> access_log;
  // 80-byte session-ticket key file shared by every instance (tls.h load_session_ticket_key).
  std::optional<std::string> session_ticket_key;
};

// Runs the proxy until SIGTERM / SIGINT. Returns the exit code: 0 after a clean shutdown, 2 if the
// configuration is bad, 1 if the proxy cannot start (e.g. the address is in use).
int serve(const ServeOptions& options);

}  // namespace ingresslab::realproxy
