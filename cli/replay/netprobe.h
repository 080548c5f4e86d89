// The netns testbed's own network latencies, measured, for the simulation's side of
// validate-live. The testbed cannot add the scenario's `cluster.network.*_latency` (no netem on
// our kernels) but its veth/bridge/NAT path is not free either; validate-live gives the simulation
// what the testbed's path actually takes instead of the scenario's emulated-but-not-applied values.
//
// Method: HTTP/1.1 round trips on one keep-alive connection, from a thread of this process in the
// source network namespace (setns) to a server that answers at once: realproxy's admin
// `/healthz`, and realpod with the header `X-Realpod-Probe` (no service time). A round trip is
// two traversals, each the kernel path (veth, bridge, routing, netfilter) plus the wake-up of the
// receiving process and its event loop — what every request pays between two processes of the
// testbed, and neither the scenario's latencies nor the cost profile's CPU contain (answering at
// once costs the server a few microseconds of HTTP handling, counted here as latency). The
// round trips are 1 ms apart (a connection's requests are not back to back, and waking a thread
// on an idle CPU costs more than on a busy one). One-way latency = median round trip / 2.
//
//   client     the client namespace -> each realproxy pod's admin /healthz (routed via the pod's
//              node, no NAT)
//   same_node  each realproxy pod -> each realpod on the same node
//   cross_node each realproxy pod -> each realpod on another node
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/testbed/state.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::replay {

// Round trips of one kind of path, pooled over its pairs.
struct PathLatency {
  std::string kind;  // "client", "same_node", "cross_node"
  int pairs = 0;
  std::vector<double> rtt_us;  // every timed round trip
  // Quantile q of rtt_us (0 if empty).
  double rtt_quantile_us(double q) const;
  double one_way_us() const { return rtt_quantile_us(0.5) / 2; }
};

struct TestbedLatency {
  std::vector<PathLatency> paths;   // the kinds that were measured (pairs > 0)
  std::vector<std::string> errors;  // pairs that could not be measured, in words
  const PathLatency* find(const std::string& kind) const;
};

// Measures every path of the testbed described by `state` with `round_trips` timed round trips
// per pair (after 20 untimed ones), 1 ms apart. Needs root (setns). Paths the state file does not
// allow (no pod addresses: a state file of an older version) are absent, and said so in errors.
TestbedLatency measure_testbed_latency(const testbed::TestbedState& state, int round_trips);

// How measure_testbed_latency measures, in one line (for reports).
inline constexpr const char* kTestbedLatencyMethod =
    "one-way latency = median / 2 of HTTP round trips to a server answering at once, 1 ms apart "
    "(client namespace -> realproxy's admin /healthz; realproxy's namespace -> realpod with "
    "X-Realpod-Probe), which includes the receiving process's wake-up";

// The scenario's network latencies replaced by the measured ones: client_latency by `client`,
// same_node_latency by `same_node`, same_zone_latency, cross_zone_latency and every
// links[].latency by `cross_node` (the testbed has one bridge: zones are not distinguished).
// A kind that was not measured leaves its fields as they are. Returns one line saying what was
// set, and from what ("" if nothing was measured).
std::string apply_testbed_latency(const TestbedLatency& measured, scenario::Scenario* scenario);

}  // namespace ingresslab::replay
