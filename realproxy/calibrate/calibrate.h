// `realproxy calibrate`: measures what the proxy's work costs on this machine and writes it as a
// CostProfile textproto (scenarios/proto/cost_profile.proto), the figures the models charge to
// the ingress workers' CPU.
//
// Measured (CPU time, not wall time, so a busy machine slows the run but not the figures):
//   - TLS handshakes end to end: TLS connections with one GET each to a real `realproxy serve`
//     (SNI selects an RSA-2048 or an ECDSA P-256 certificate; resumed = offering the previous
//     connection's ticket); the profile's handshake figure is the proxy's CPU per such connection
//     minus that of a plain new connection with one GET. Also in-process (OpenSSL over a memory
//     BIO pair, the server side's CLOCK_THREAD_CPUTIME_ID): the handshake alone, kept as a
//     comment and as the fallback; and TLS record encryption per KiB (server SSL_write).
//   - upstream connect: socket + connect + close to a loopback listener, thread CPU time.
//   - route matching: RouteTable::match over tables of 2 to ~16k rules; fitted as
//     base + per_log2_rules * log2(rules).
//   - per request: the same `realproxy serve` (1 worker) in front of realpods on 127.0.0.1,
//     loaded by in-process keep-alive clients with responses of 256 B to 64 KiB; the proxy's CPU
//     time is the sum over its threads of /proc/PID/task/TID/schedstat (ns; /proc/PID/stat ticks
//     as a fallback); fitted as base + per_kib * KiB. A run with a new connection per request
//     gives the cost of accepting (and closing) a connection.
//   Figures that other load on the machine can inflate keep the lowest of several passes.
// Lines are fitted by least squares (Eigen).
#pragma once

#include <span>
#include <string>

namespace ingresslab::realproxy::calibrate {

struct CalibrateOptions {
  std::string output;          // file to write; empty: standard output
  bool quick = false;          // a tiny budget (seconds): for tests and smoke runs
  std::string realproxy_path;  // this binary (for `serve`)
  std::string realpod_path;    // the realpod binary (default: next to realproxy)
};

// Runs every measurement and writes the profile. Returns the exit code (0, or 1 with a message on
// stderr if a measurement could not run, e.g. realpod missing).
int run(const CalibrateOptions& options);

// Least-squares line y = intercept + slope * x (Eigen). REQUIRES: x.size() == y.size() >= 2 and
// not all x equal.
struct Line {
  double intercept = 0;
  double slope = 0;
};
Line fit_line(std::span<const double> x, std::span<const double> y);

}  // namespace ingresslab::realproxy::calibrate
