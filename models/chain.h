// The ingress chain as simulation components, for one replication (internal to models/).
//
// ChainSpec is the immutable description built once from a resolved scenario (placements, the
// network latency matrix, the compiled route table, costs); run_replication() builds fresh
// mutable state on it and simulates one independent replication. Replications share only the
// spec, read-only, so they run in parallel threads.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/distributions.h"
#include "engine/histogram.h"
#include "engine/statistics.h"
#include "engine/time.h"
#include "models/arrivals.h"
#include "realproxy/routing/route_table.h"
#include "scenarios/proto/cost_profile.pb.h"
#include "scenarios/proto/result.pb.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::models {

// The hops of the path, in the order a request meets them.
enum Hop : uint8_t {
  kClientNetwork,    // client <-> edge (LB, node, forwarding to a remote ingress pod), both ways
  kLoadBalancer,     // the cloud LB's own latency, both ways
  kKubeProxy,        // NAT decision for a new connection's first packet (and upstream ClusterIP)
  kIngressTls,       // TLS handshake: round trip + CPU on the ingress worker
  kIngressProxy,     // parse + route + relay on the ingress worker CPU (queue + service)
  kUpstreamConnect,  // new upstream connection: round trip + connect
  kPodNetwork,       // ingress pod <-> backend pod, both ways, latency + size/bandwidth
  kPod,              // backend pod: queue + service
  kHopCount
};
const char* hop_name(Hop hop);

struct NodeSpec {
  std::string name;
  int zone = 0;
  double cores = 0;
};

struct PodSpec {
  std::string name;
  int service = -1;  // -1 for ingress pods
  int node = 0;
};

struct ServiceSpec {
  std::string name;
  std::string namespace_;
  std::vector<int> pods;  // indices into ChainSpec::pods
  const scenario::Service* config = nullptr;
  std::shared_ptr<const engine::Distribution> service_time;   // seconds on one core
  std::shared_ptr<const engine::Distribution> response_size;  // bytes
};

// A request class of a client group: host, path, and what the route table says about it.
struct RequestClassSpec {
  std::string host, path, method;
  double weight = 1;
  int route = -1;    // index into ChainSpec::routes, -1 = 404
  int service = -1;  // index into ChainSpec::services, -1 = no backend (404/503)
};

struct GroupSpec {
  std::string name;
  const scenario::ClientGroup* config = nullptr;
  std::vector<RequestClassSpec> classes;
  std::vector<double> class_cdf;                             // cumulative weights, normalised
  std::shared_ptr<const engine::Distribution> request_size;  // bytes
  std::shared_ptr<const engine::Distribution> think_time;    // seconds (closed loop)
  int zone = 0;
  // Process replay: the CSV's arrivals, and the request class (index into `classes`) of each of
  // its keys. Classes from the CSV have weight 0: the mix never draws them.
  std::shared_ptr<const ReplayTrace> replay;
  std::vector<uint32_t> replay_class;
};

struct RouteSpec {
  std::string host, path, service;
};

struct ChainSpec {
  scenario::Scenario scenario;
  profile::CostProfile costs;
  std::shared_ptr<const routing::RouteTable> routes_table;
  std::vector<NodeSpec> nodes;
  std::vector<std::string> zones;
  std::vector<ServiceSpec> services;
  std::vector<PodSpec> pods;          // backend pods
  std::vector<PodSpec> ingress_pods;  // ingress controller pods
  std::vector<RouteSpec> routes;
  std::vector<GroupSpec> groups;
  // One-way latency (ns) and bandwidth (bytes/s) between nodes, from the Boost.Graph topology.
  std::vector<std::vector<int64_t>> latency_ns;
  std::vector<std::vector<double>> bandwidth_bytes_per_s;
  int64_t client_latency_ns = 0;
  double client_bandwidth_bytes_per_s = 0;
  uint32_t rule_count = 0;     // Ingress path rules, for the route cost
  uint32_t service_ports = 0;  // kube-proxy rule-table size
  std::string base_dir;
  // Keep every n-th measured request's span (0 = no trace).
  uint32_t trace_every = 0;
  // Optional: when it becomes true a running replication stops within a quarter of a simulated
  // second and throws engine::ReplicationCancelled (SimulateOptions::abandon).
  const std::atomic<bool>* abandon = nullptr;
};

// Builds the spec; returns an error message (and leaves *spec partial) if the scenario cannot be
// simulated.
std::string build_chain_spec(const scenario::Scenario& scenario, const profile::CostProfile& costs,
                             const std::string& base_dir, ChainSpec* spec);

// A coarse view of engine::LatencyHistogram for per-time-bucket percentiles: every 16 adjacent
// buckets of the engine's grid are one counter (8 per power of two, so a quantile is off by at
// most 1/16 of its value). The counters (1.2 KiB) are allocated on the first record, so a hop a
// time bucket never sees costs nothing.
class CoarseHistogram {
 public:
  static constexpr size_t kMerge = 16;
  static constexpr size_t kCount = engine::LatencyHistogram::kBucketCount / kMerge;
  void record_ns(int64_t value_ns) {
    if (counts_.empty()) counts_.assign(kCount, 0);
    const int64_t v = std::clamp<int64_t>(value_ns, 0, engine::LatencyHistogram::kMaxTrackableNs);
    ++counts_[engine::LatencyHistogram::bucket_index(v) / kMerge];
    ++count_;
  }
  void merge(const CoarseHistogram& other);
  uint64_t count() const { return count_; }
  // The midpoint of the coarse bucket holding the ceil(q * count())-th smallest value; 0 if empty.
  int64_t quantile(double q) const;

 private:
  std::vector<uint32_t> counts_;
  uint64_t count_ = 0;
};

// One hop in one time bucket (of the measured window; completions after it count in the last).
struct HopTimeBucket {
  uint64_t requests = 0;      // successful requests that passed the hop, by completion time
  CoarseHistogram latency;    // their time in the hop
  double busy_seconds = 0;    // servers' busy time in the bucket (CPU hops)
  double server_seconds = 0;  // capacity in the bucket
};

struct HopStats {
  engine::LatencyHistogram latency, queueing, service;
  uint64_t requests = 0;
  double busy_seconds = 0;            // servers' busy time in the window (CPU hops)
  double server_seconds = 0;          // capacity: servers x window
  std::vector<HopTimeBucket> series;  // one per time bucket
};

struct RouteStats {
  engine::LatencyHistogram latency;
  uint64_t requests = 0, succeeded = 0;
};

struct ComponentStats {
  std::string name, kind, node, zone;
  double busy_seconds = 0, capacity_seconds = 0, queue_area = 0;
  uint64_t requests = 0;
};

struct ErrorCounts {
  uint64_t timeout = 0, refused = 0, http_503 = 0, no_route = 0, upstream_timeout = 0;
  uint64_t total() const { return timeout + refused + http_503 + no_route + upstream_timeout; }
};

struct ConnectionCounts {
  uint64_t client = 0, tls_full = 0, tls_resumed = 0, nat_first_packets = 0, upstream_opened = 0,
           upstream_reused = 0, retries = 0, forwarded = 0;
  uint64_t client_retries = 0;  // client-side retries (workload.clients[].retries)
};

struct TimeBucket {
  uint64_t completed = 0, errors = 0;
  engine::LatencyHistogram latency;
};

struct ReplicationStats {
  engine::LatencyHistogram end_to_end;
  engine::RunningStats end_to_end_s;
  uint64_t offered = 0;    // measured requests sent
  uint64_t completed = 0;  // measured requests answered (any status) or failed
  uint64_t succeeded = 0;
  uint64_t unfinished = 0;  // measured requests still in flight when the drain ended
  std::array<HopStats, kHopCount> hops;
  std::vector<RouteStats> routes;
  std::vector<ComponentStats> components;
  ErrorCounts errors;
  ConnectionCounts connections;
  uint64_t cross_zone_bytes = 0;
  std::vector<TimeBucket> time_series;
  double window_s = 0;
  uint64_t events = 0;
  // Spans of the traced requests (ChainSpec::trace_every), in completion order.
  std::vector<result::Span> spans;
  // Faults and endpoint changes, in time order (t relative to the start of the window).
  std::vector<result::Event> timeline;
  // Per time bucket mean latency in the warm-up search region (for MSER-5).
  std::vector<double> bucket_mean_latency_s;
};

// Loads the scenario's cost profile and builds the spec; returns an error message or "".
std::string prepare_chain_spec(const scenario::Scenario& scenario, const std::string& base_dir,
                               ChainSpec* spec);

// Simulates one replication: arrivals from `warmup` to `warmup + duration` are measured.
ReplicationStats run_replication(const ChainSpec& spec, uint64_t seed, int replication,
                                 engine::Duration warmup, engine::Duration duration);

}  // namespace ingresslab::models
