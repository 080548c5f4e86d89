// One replication of the ingress chain. Reads like the system it simulates: a client opens a
// connection (node NAT, TLS on an ingress worker), sends requests on it, the ingress worker
// parses and routes them and picks an endpoint, the pod queues and serves them, and the answer
// travels back. See docs/models.md for every assumption.
#include "models/chain.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <deque>

#include "engine/random.h"
#include "engine/replications.h"
#include "engine/simulation.h"
#include "models/arrivals.h"
#include "models/fixed_delay_timers.h"
#include "models/kube_proxy.h"
#include "models/load_balancer.h"

namespace ingresslab::models {
namespace {

using engine::Duration;
using engine::EventId;
using engine::Rng;
using engine::Time;

int64_t ns_of(const google::protobuf::Duration& d) {
  return d.seconds() * 1'000'000'000 + d.nanos();
}
int64_t us_to_ns(double us) {
  return static_cast<int64_t>(std::llround(us * 1e3));
}
std::string seconds_text(int64_t ns) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%gs", static_cast<double>(ns) * 1e-9);
  return buffer;
}

enum class Status : uint8_t { kPending, kOk, kTimeout, kRefused, k503, kNoRoute, kUpstreamTimeout };

// Why an upstream attempt failed (what the proxy saw); decides retries (Retries.on) and the answer.
enum class Failure : uint8_t {
  kConnectRefused,    // RST to the SYN: the pod's process is gone, its node is up
  kConnectTimeout,    // no answer to the SYN: the pod's node is down
  kReset,             // the connection reset after the request was sent (pod crashed)
  kFirstByteTimeout,  // no response header within timeouts.first_byte
  k503,               // the pod answered 503 (queue full)
};
constexpr uint32_t kNoConnection = UINT32_MAX;

// nginx's non-idempotent methods (proxy_next_upstream non_idempotent): POST, LOCK, PATCH. Both
// the proxy's and the client's retries of a request already sent honour it.
bool idempotent(const std::string& method) {
  return method != "POST" && method != "LOCK" && method != "PATCH";
}

// A request in flight. Pooled: ids are indices, recycled when the request ends.
struct Request {
  int64_t intended_ns = 0;       // when the client meant to send it (latency is measured from here)
  int64_t attempt_start_ns = 0;  // when the client sent the current attempt (its timeout counts)
  int64_t stage_start_ns = 0;    // when the current hop began (for queueing/service split)
  int64_t upstream_start_ns = 0;
  std::array<int64_t, kHopCount> queue_ns{};
  std::array<int64_t, kHopCount> service_ns{};
  uint32_t hop_mask = 0;
  uint32_t group = 0;
  uint32_t request_class = 0;
  uint32_t connection = kNoConnection;
  int32_t pod = -1;   // backend pod chosen
  int32_t user = -1;  // closed-loop user
  uint32_t request_bytes = 0;
  uint32_t response_bytes = 0;
  uint8_t attempts = 0;         // proxy retries of the current client attempt
  uint8_t client_attempts = 0;  // client retries so far (workload.clients[].retries)
  uint64_t tried_mask = 0;      // endpoints already tried (first 64)
  // Hop time charged since the current upstream attempt began (to re-attribute a timed-out one).
  int64_t attempt_added_ns = 0;
  EventId timeout;
  EventId pod_event;            // FIFO service completion at the pod (cancelled if the pod dies)
  uint64_t upstream_token = 0;  // the armed first-byte timeout of the current attempt (0: none)
  Status status = Status::kPending;
  Status failed_status = Status::kPending;  // the last failed attempt's answer (after retries)
  bool abandoned = false;                   // the client timed out; finish silently
  // The proxy gave up on this upstream attempt (first-byte timeout) and the request went on under
  // another id; this record only carries the attempt's leftover work (the pod still serves it).
  bool ghost = false;
  // The attempt's pod died with its node: nothing will answer; only the first-byte timeout ends it.
  bool lost = false;
  bool measured = false;
  bool upstream_new = false;
  bool active = false;
};
// The per-request record stays within 256 bytes (bench/RESULTS.md: memory per in-flight request).
static_assert(sizeof(Request) <= 256);

// A client connection, pinned to one ingress pod and worker.
struct Connection {
  int32_t ingress = -1;
  int32_t worker = 0;
  int32_t entry_node = 0;
  int64_t one_way_ns = 0;     // client <-> ingress pod, each way
  int64_t lb_one_way_ns = 0;  // part of one_way_ns spent in the LB
  int64_t tls_client_ns = 0;  // the client's handshake CPU (CostProfile.tls_client_*)
  uint32_t requests_left = 0;
  uint32_t in_flight = 0;
  uint32_t capacity = 1;
  bool tls = false;
  bool broken = false;
  bool available = false;  // listed in its group's available set
  bool open = false;
  bool cross_zone = false;
};

struct CpuJob {
  uint32_t request;
  uint8_t kind;  // JobKind
  int64_t cost_ns;
  int64_t enqueued_ns;
};
enum JobKind : uint8_t { kJobTls, kJobRequest, kJobResponse };

struct Worker {
  Worker() = default;
  Worker(const Worker&) = delete;
  Worker(Worker&&) noexcept = default;
  std::deque<CpuJob> queue;
  bool busy = false;
  int64_t busy_since_ns = 0;
  // Idle keep-alive upstream connections per backend pod (ENDPOINTS mode), or pinned-endpoint
  // connections per Service (CLUSTER_IP mode).
  std::vector<uint32_t> idle_upstream;
  std::vector<std::vector<int32_t>> idle_pinned;
  std::vector<std::unique_ptr<LoadBalancer>> lb;  // per Service (per-worker policies)
};

struct IngressPod {
  IngressPod() = default;
  IngressPod(const IngressPod&) = delete;
  IngressPod(IngressPod&&) noexcept = default;
  std::vector<Worker> workers;
  std::vector<int> active;          // per backend pod: requests in flight from this ingress pod
  std::vector<double> ewma_s;       // per backend pod
  std::vector<int64_t> ewma_at_ns;  // last update
  std::vector<std::unique_ptr<LoadBalancer>> shared_lb;  // per Service (pod-wide policies)
  // Passive outlier detection, per backend pod (this proxy instance's view).
  std::vector<uint32_t> consecutive_failures;
  std::vector<int64_t> ejected_until_ns;
  bool alive = true;
  bool ready = true;
  double busy_ns = 0;  // in window
  double queue_area = 0;
  uint64_t requests = 0;
  // CFS quota accounting.
  int64_t period_start_ns = 0;
  int64_t used_in_period_ns = 0;
};

struct Pod {
  Pod() = default;
  Pod(const Pod&) = delete;
  Pod(Pod&&) noexcept = default;
  std::deque<uint32_t> waiting;
  std::vector<uint32_t> in_service;  // FIFO: ids in service; PS: the sharing set
  std::vector<double> remaining_s;   // PS: remaining work per in_service entry
  int64_t ps_last_ns = 0;
  EventId ps_next;
  bool alive = true;
  bool ready = true;
  double slow_factor = 1.0;
  double busy_area = 0;   // integral of busy share (0..1) over the window, in ns
  double queue_area = 0;  // integral of waiting count over the window, in ns
  int64_t last_change_ns = 0;
  uint64_t requests = 0;
};

class Chain {
 public:
  Chain(const ChainSpec& spec, uint64_t seed, int replication, Duration warmup, Duration duration)
      : spec_(spec),
        sc_(spec.scenario),
        rng_arrivals_(
            Rng::for_stream(seed, static_cast<uint64_t>(replication), "workload.arrivals")),
        rng_mix_(Rng::for_stream(seed, static_cast<uint64_t>(replication), "workload.mix")),
        rng_conn_(
            Rng::for_stream(seed, static_cast<uint64_t>(replication), "workload.connections")),
        rng_net_(Rng::for_stream(seed, static_cast<uint64_t>(replication), "cluster.kube_proxy")),
        rng_lb_(
            Rng::for_stream(seed, static_cast<uint64_t>(replication), "ingress.load_balancing")),
        rng_pods_(Rng::for_stream(seed, static_cast<uint64_t>(replication), "services.pods")),
        rng_cpu_(Rng::for_stream(seed, static_cast<uint64_t>(replication), "ingress.cpu")),
        replication_(replication),
        window_start_ns_(warmup.ns()),
        window_end_ns_(warmup.ns() + duration.ns()) {}

  ReplicationStats run();

  // Event handlers (scheduled with sim_.schedule_*<&Chain::...>).
  void on_arrival(uint64_t group);
  void on_user_think_done(uint64_t user);
  void on_connected(uint64_t request);
  void on_tls_round_trip(uint64_t request);
  void on_request_at_ingress(uint64_t request);
  void on_cpu_done(uint64_t ingress_and_worker);
  void on_upstream_ready(uint64_t request);
  void on_connect_refused(uint64_t request);
  void on_connect_timeout(uint64_t request);
  void on_upstream_timeout(uint64_t request);
  void on_upstream_timers(uint64_t);
  void on_pod_arrival(uint64_t request);
  void on_pod_done(uint64_t request);
  void on_ps_done(uint64_t pod);
  void on_response_at_ingress(uint64_t request);
  void on_response_at_client(uint64_t request);
  void on_timeout(uint64_t request);
  // The client gave up on the request for good: the timeout error, the user's next think time.
  void timed_out(uint32_t id);
  void on_fault(uint64_t fault);
  void on_endpoint_update(uint64_t packed);
  void on_pod_restart(uint64_t packed);
  void on_fault_end(uint64_t fault);
  void on_cfs_period(uint64_t ingress);
  void on_free_job(uint64_t packed);
  // A backend pod index, or an ingress pod index | kIngressFlag.
  const std::string& pod_name(uint64_t packed) const;
  void after_cpu_job(int ingress, const CpuJob& job);

 private:
  // --- helpers ---
  uint32_t new_request();
  void free_request(uint32_t id);
  bool in_window(int64_t t) const { return t >= window_start_ns_ && t < window_end_ns_; }
  double window_overlap(int64_t a, int64_t b) const {
    return static_cast<double>(
        std::max<int64_t>(0, std::min(b, window_end_ns_) - std::max(a, window_start_ns_)));
  }
  void add_hop(Request& r, Hop hop, int64_t queue, int64_t service) {
    r.queue_ns[hop] += queue;
    r.service_ns[hop] += service;
    r.attempt_added_ns += queue + service;
    r.hop_mask |= 1u << hop;
  }
  // Adds `share` x the part of [from_ns, to_ns) inside the window to the hop's busy time, split
  // over the time buckets.
  void add_busy(Hop hop, int64_t from_ns, int64_t to_ns, double share);
  // Records an event for the result's timeline (faults, endpoint changes).
  void note_event(const char* kind, const std::string& target, std::string description);
  // A new request of `group` (from closed-loop `user`, or -1), of request class `forced_class`
  // (a replayed row's), or -1 to draw the group's mix.
  void start_request(uint32_t group, int32_t user, int32_t forced_class = -1);
  // Sends the request's current client attempt: arms the client timeout, then a connection with
  // spare capacity or a new one.
  void send_attempt(uint32_t id);
  // Client-side retry (workload.clients[].retries) of a request whose attempt ended in `failure`:
  // if allowed, the logical request continues as a new attempt under a new id (returned true) and
  // `id` is left without user and unmeasured, to be finished by the caller.
  bool client_retry(uint32_t id, Status failure);
  int32_t open_connection(uint32_t group, Request& r);
  void release_connection(Request& r);
  void enqueue_cpu(int ingress, int worker, CpuJob job);
  void start_next_job(int ingress, int worker);
  void after_request_job(uint32_t id);
  void choose_upstream(uint32_t id);
  // The current upstream attempt failed: passive health, then a retry on another endpoint or the
  // proxy's error answer.
  void fail_attempt(uint32_t id, Failure failure);
  void check_cancelled() const {
    if (spec_.abandon != nullptr && spec_.abandon->load(std::memory_order_relaxed)) {
      throw engine::ReplicationCancelled{};
    }
  }

  void cancel_upstream_timer(Request& r) {
    if (r.upstream_token == 0) return;
    r.upstream_token = 0;
    upstream_timers_.cancelled();
  }
  // Schedules the kernel event for the oldest armed first-byte timeout (if any).
  void schedule_upstream_timers();
  bool should_retry(const Request& r, Failure failure) const;
  // Moves the request to a new id, leaving `id` as a ghost that carries the abandoned attempt's
  // pending work (events, the pod's queue); returns the new id.
  uint32_t detach_upstream(uint32_t id);
  // Passive outlier detection at an ingress pod (OutlierDetection): failures and successes.
  void outlier_failure(int ingress, int pod);
  void outlier_success(int ingress, int pod) {
    if (outlier_on_)
      ingress_[static_cast<size_t>(ingress)].consecutive_failures[static_cast<size_t>(pod)] = 0;
  }
  void send_to_pod(uint32_t id);
  void pod_admit(uint32_t id);
  void pod_start_fifo(int pod);
  void pod_account(int pod);
  void ps_reschedule(int pod);
  void finish_at_pod(uint32_t id);
  void respond(uint32_t id, Status status);  // ingress answers (404/503/502) or relays
  void complete(uint32_t id);
  void trace(const Request& r, int64_t latency);
  int64_t transfer_ns(int from_node, int to_node, uint64_t bytes, bool count_cross_zone);
  // Time to push `bytes` through the client's link.
  int64_t client_transfer_ns(uint64_t bytes) const {
    return static_cast<int64_t>(static_cast<double>(bytes) / spec_.client_bandwidth_bytes_per_s *
                                1e9);
  }
  double ewma_decay_s() const;
  void update_ewma(IngressPod& ip, int pod, double rtt_s);
  std::vector<EndpointLoad>& candidates_for(int ingress, int service, const Request& r);

  const ChainSpec& spec_;
  const scenario::Scenario& sc_;
  engine::Simulation sim_;
  Rng rng_arrivals_, rng_mix_, rng_conn_, rng_net_, rng_lb_, rng_pods_, rng_cpu_;
  int replication_ = 0;
  int64_t window_start_ns_, window_end_ns_;

  std::vector<Request> requests_;
  std::vector<uint32_t> free_requests_;
  std::vector<Connection> connections_;
  std::vector<uint32_t> free_connections_;
  std::vector<std::vector<uint32_t>> available_;  // per group: connections with spare capacity
  std::vector<std::unique_ptr<ArrivalProcess>> arrivals_;
  std::vector<std::unique_ptr<KubeProxyMode>> kube_proxy_;  // per node
  std::vector<std::vector<int>> nat_active_;                // per node, per ingress pod
  std::vector<IngressPod> ingress_;
  std::vector<Pod> pods_;
  std::vector<bool> node_up_;
  std::vector<int64_t> extra_latency_ns_;  // per fault (link latency), active while set
  int64_t extra_latency_total_ns_ = 0;     // their sum, added to every node-to-node transfer
  std::vector<uint32_t> user_group_;
  std::vector<EndpointLoad> scratch_;
  std::vector<int> scratch_index_;
  ReplicationStats stats_;
  int64_t bucket_ns_ = 1'000'000'000;
  // First-byte timeouts (one duration for all: a FIFO, see fixed_delay_timers.h) and the one
  // kernel event for the oldest.
  FixedDelayTimers upstream_timers_;
  // add_busy's last time bucket (none yet: its start is past every time).
  size_t busy_bucket_ = 0;
  int64_t busy_bucket_start_ns_ = INT64_MAX / 2;
  EventId upstream_timers_event_;
  bool dispatching_timers_ = false;
  // Per group: whether a first-byte timeout can matter. Not when the client's own (shorter)
  // timeout always fires first — nginx then drops the upstream request with the client
  // (proxy_ignore_client_abort off) — unless outlier detection counts the timeouts.
  std::vector<bool> arm_first_byte_;
  bool arrivals_open_ = true;
  bool outlier_on_ = false;
  uint64_t measured_in_flight_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Setup and the run loop

ReplicationStats Chain::run() {
  const size_t n_nodes = spec_.nodes.size();
  node_up_.assign(n_nodes, true);
  kube_proxy_.reserve(n_nodes);
  for (size_t i = 0; i < n_nodes; ++i) {
    kube_proxy_.push_back(make_kube_proxy(sc_.cluster().kube_proxy(), spec_.service_ports));
  }
  nat_active_.assign(n_nodes, std::vector<int>(spec_.ingress_pods.size(), 0));
  const auto& ing = sc_.ingress();
  const int workers = std::max<int>(1, static_cast<int>(ing.workers()));
  ingress_.resize(spec_.ingress_pods.size());
  for (auto& ip : ingress_) {
    ip.workers.resize(static_cast<size_t>(workers));
    for (auto& w : ip.workers) {
      w.idle_upstream.assign(spec_.pods.size(), 0);
      w.idle_pinned.resize(spec_.services.size());
      for (const auto& svc : spec_.services) {
        w.lb.push_back(make_load_balancer(ing.load_balancing(), svc.pods.size()));
      }
    }
    ip.active.assign(spec_.pods.size(), 0);
    ip.ewma_s.assign(spec_.pods.size(), 0.0);
    ip.ewma_at_ns.assign(spec_.pods.size(), 0);
    ip.consecutive_failures.assign(spec_.pods.size(), 0);
    ip.ejected_until_ns.assign(spec_.pods.size(), 0);
    for (const auto& svc : spec_.services) {
      ip.shared_lb.push_back(make_load_balancer(ing.load_balancing(), svc.pods.size()));
    }
  }
  pods_.resize(spec_.pods.size());
  outlier_on_ = ing.outlier_detection().consecutive_failures() > 0 &&
                ing.upstream_mode() != scenario::IngressController::CLUSTER_IP;
  for (const auto& g : spec_.groups) {
    const int64_t client = ns_of(g.config->timeout());
    arm_first_byte_.push_back(outlier_on_ || client == 0 ||
                              client >= ns_of(ing.timeouts().first_byte()));
  }
  if (ing.cpu_limit_cores() > 0) {
    for (size_t i = 0; i < ingress_.size(); ++i) {
      sim_.schedule_in<&Chain::on_cfs_period>(Duration::nanoseconds(ns_of(ing.cfs_period())), this,
                                              i);
    }
  }
  bucket_ns_ = std::max<int64_t>(1'000'000, ns_of(sc_.outputs().time_series_bucket()));
  const auto buckets =
      static_cast<size_t>((window_end_ns_ - window_start_ns_ + bucket_ns_ - 1) / bucket_ns_);
  stats_.time_series.resize(buckets);
  for (auto& h : stats_.hops)
    h.series.resize(buckets);
  stats_.routes.resize(spec_.routes.size());

  // Workload.
  available_.resize(spec_.groups.size());
  for (size_t g = 0; g < spec_.groups.size(); ++g) {
    const auto& cfg = *spec_.groups[g].config;
    if (cfg.has_open_loop()) {
      std::string error;
      arrivals_.push_back(
          make_arrival_process(cfg.open_loop(), spec_.groups[g].replay.get(), &error));
      if (arrivals_.back()) {
        sim_.schedule_in<&Chain::on_arrival>(
            arrivals_.back()->next_gap(Time::zero(), rng_arrivals_), this, g);
      }
    } else {
      arrivals_.push_back(nullptr);
      for (uint32_t u = 0; u < cfg.closed_loop().users(); ++u) {
        const auto user = static_cast<uint32_t>(user_group_.size());
        user_group_.push_back(static_cast<uint32_t>(g));
        // Users start spread over one think time so they do not arrive in lockstep.
        const double offset = rng_arrivals_.uniform01() * spec_.groups[g].think_time->mean();
        sim_.schedule_in<&Chain::on_user_think_done>(Duration::from_seconds(offset), this, user);
      }
    }
  }
  // Faults.
  extra_latency_ns_.assign(static_cast<size_t>(sc_.faults().events_size()), 0);
  for (int f = 0; f < sc_.faults().events_size(); ++f) {
    sim_.schedule_at<&Chain::on_fault>(Time::from_ns(ns_of(sc_.faults().events(f).at())), this,
                                       static_cast<uint64_t>(f));
  }

  // Run the measured window, then drain the measured requests still in flight. In steps of a
  // quarter of a simulated second, to notice a cancellation (the events run are the same).
  for (Time step = sim_.now(); step.ns() < window_end_ns_;) {
    step = std::min(Time::from_ns(window_end_ns_), step + Duration::milliseconds(250));
    sim_.run_until(step);
    check_cancelled();
  }
  arrivals_open_ = false;
  int64_t drain_ns = 60'000'000'000;
  for (const auto& g : sc_.workload().clients()) {
    // Each client attempt ends by its timeout at the latest.
    if (ns_of(g.timeout()) > 0)
      drain_ns = std::min(drain_ns, ns_of(g.timeout()) * (g.retries() + 1) + 1'000'000'000);
  }
  const int64_t drain_end = window_end_ns_ + drain_ns;
  while (measured_in_flight_ > 0 && sim_.now().ns() < drain_end) {
    if (sim_.run_until(std::min(Time::from_ns(drain_end), sim_.now() + Duration::seconds(1))) ==
            0 &&
        sim_.pending_count() == 0) {
      break;
    }
    check_cancelled();
  }
  stats_.unfinished = measured_in_flight_;
  stats_.events = sim_.events_run();

  // Utilisation and components.
  const double window_ns = static_cast<double>(window_end_ns_ - window_start_ns_);
  stats_.window_s = window_ns * 1e-9;
  const double cores = ing.cpu_cores();
  for (size_t i = 0; i < ingress_.size(); ++i) {
    auto& ip = ingress_[i];
    for (size_t w = 0; w < ip.workers.size(); ++w) {
      if (ip.workers[w].busy) {
        ip.busy_ns += window_overlap(ip.workers[w].busy_since_ns, window_end_ns_);
        add_busy(kIngressProxy, ip.workers[w].busy_since_ns, window_end_ns_, 1.0);
      }
    }
    const double capacity =
        std::min<double>(static_cast<double>(ip.workers.size()), cores) * window_ns;
    const auto& ps = spec_.ingress_pods[i];
    stats_.components.push_back(
        {ps.name, "ingress_pod", spec_.nodes[static_cast<size_t>(ps.node)].name,
         spec_.zones[static_cast<size_t>(spec_.nodes[static_cast<size_t>(ps.node)].zone)],
         ip.busy_ns * 1e-9, capacity * 1e-9, ip.queue_area * 1e-9, ip.requests});
    stats_.hops[kIngressProxy].busy_seconds += ip.busy_ns * 1e-9;
    stats_.hops[kIngressProxy].server_seconds += capacity * 1e-9;
  }
  for (size_t p = 0; p < pods_.size(); ++p) {
    pod_account(static_cast<int>(p));
    const auto& ps = spec_.pods[p];
    stats_.components.push_back(
        {ps.name, "pod", spec_.nodes[static_cast<size_t>(ps.node)].name,
         spec_.zones[static_cast<size_t>(spec_.nodes[static_cast<size_t>(ps.node)].zone)],
         pods_[p].busy_area * 1e-9, window_ns * 1e-9, pods_[p].queue_area * 1e-9,
         pods_[p].requests});
    stats_.hops[kPod].busy_seconds += pods_[p].busy_area * 1e-9;
    stats_.hops[kPod].server_seconds += window_ns * 1e-9;
  }
  // Server capacity per time bucket: ingress worker cores and pods.
  double ingress_servers = 0;
  for (const auto& ip : ingress_)
    ingress_servers += std::min<double>(static_cast<double>(ip.workers.size()), cores);
  for (size_t b = 0; b < stats_.time_series.size(); ++b) {
    const int64_t start = window_start_ns_ + static_cast<int64_t>(b) * bucket_ns_;
    const double span_s = window_overlap(start, start + bucket_ns_) * 1e-9;
    stats_.hops[kIngressProxy].series[b].server_seconds = ingress_servers * span_s;
    stats_.hops[kPod].series[b].server_seconds = static_cast<double>(pods_.size()) * span_s;
  }
  for (const auto& b : stats_.time_series) {
    stats_.bucket_mean_latency_s.push_back(b.latency.count() > 0 ? b.latency.mean() * 1e-9 : 0.0);
  }
  return std::move(stats_);
}

void Chain::add_busy(Hop hop, int64_t from_ns, int64_t to_ns, double share) {
  from_ns = std::max(from_ns, window_start_ns_);
  to_ns = std::min(to_ns, window_end_ns_);
  auto& series = stats_.hops[hop].series;
  if (from_ns >= busy_bucket_start_ns_ && to_ns <= busy_bucket_start_ns_ + bucket_ns_ &&
      from_ns < to_ns) {
    // The common case: inside the bucket of the previous call.
    series[busy_bucket_].busy_seconds += share * static_cast<double>(to_ns - from_ns) * 1e-9;
    return;
  }
  while (from_ns < to_ns) {
    const auto b = static_cast<size_t>((from_ns - window_start_ns_) / bucket_ns_);
    if (b >= series.size()) break;
    const int64_t bucket_end = window_start_ns_ + static_cast<int64_t>(b + 1) * bucket_ns_;
    const int64_t end = std::min(to_ns, bucket_end);
    series[b].busy_seconds += share * static_cast<double>(end - from_ns) * 1e-9;
    busy_bucket_ = b;
    busy_bucket_start_ns_ = bucket_end - bucket_ns_;
    from_ns = end;
  }
}

void Chain::note_event(const char* kind, const std::string& target, std::string description) {
  result::Event& e = stats_.timeline.emplace_back();
  e.set_t(static_cast<double>(sim_.now().ns() - window_start_ns_) / 1e9);
  e.set_kind(kind);
  e.set_target(target);
  e.set_description(std::move(description));
}

// ---------------------------------------------------------------------------------------------
// Requests and connections

uint32_t Chain::new_request() {
  uint32_t id;
  if (!free_requests_.empty()) {
    id = free_requests_.back();
    free_requests_.pop_back();
    requests_[id] = Request{};
  } else {
    id = static_cast<uint32_t>(requests_.size());
    requests_.emplace_back();
  }
  requests_[id].active = true;
  return id;
}

void Chain::free_request(uint32_t id) {
  requests_[id].active = false;
  free_requests_.push_back(id);
}

void Chain::on_arrival(uint64_t group) {
  if (!arrivals_open_) return;
  const uint32_t key = arrivals_[group]->arrival_key();  // of this arrival: ask before next_gap
  const Duration gap = arrivals_[group]->next_gap(sim_.now(), rng_arrivals_);
  if (gap != Duration::max()) sim_.schedule_in<&Chain::on_arrival>(gap, this, group);
  start_request(static_cast<uint32_t>(group), -1,
                key == ReplayTrace::kFromMix
                    ? -1
                    : static_cast<int32_t>(spec_.groups[group].replay_class[key]));
}

void Chain::on_user_think_done(uint64_t user) {
  if (!arrivals_open_) return;
  start_request(user_group_[user], static_cast<int32_t>(user));
}

void Chain::start_request(uint32_t group, int32_t user, int32_t forced_class) {
  const GroupSpec& g = spec_.groups[group];
  const uint32_t id = new_request();
  Request& r = requests_[id];
  r.intended_ns = sim_.now().ns();
  r.group = group;
  r.user = user;
  r.measured = in_window(r.intended_ns);
  if (r.measured) {
    ++stats_.offered;
    ++measured_in_flight_;
  }
  if (forced_class >= 0) {
    r.request_class = static_cast<uint32_t>(forced_class);
  } else {
    const double u = rng_mix_.uniform01();
    r.request_class = static_cast<uint32_t>(
        std::upper_bound(g.class_cdf.begin(), g.class_cdf.end(), u) - g.class_cdf.begin());
    if (r.request_class >= g.class_cdf.size())
      r.request_class = static_cast<uint32_t>(g.class_cdf.size() - 1);
  }
  r.request_bytes = static_cast<uint32_t>(std::max(0.0, g.request_size->sample(rng_mix_)));
  send_attempt(id);
}

void Chain::send_attempt(uint32_t id) {
  Request& r = requests_[id];
  const uint32_t group = r.group;
  const GroupSpec& g = spec_.groups[group];
  r.attempt_start_ns = sim_.now().ns();
  r.stage_start_ns = r.attempt_start_ns;
  const int64_t timeout = ns_of(g.config->timeout());
  if (timeout > 0)
    r.timeout = sim_.schedule_in<&Chain::on_timeout>(Duration::nanoseconds(timeout), this, id);

  // A connection with spare capacity, or a new one.
  auto& avail = available_[group];
  while (!avail.empty()) {
    Connection& c = connections_[avail.back()];
    if (c.broken || !c.open || c.requests_left == 0 || c.in_flight >= c.capacity ||
        !ingress_[static_cast<size_t>(c.ingress)].alive) {
      c.available = false;
      avail.pop_back();
      continue;
    }
    break;
  }
  if (!avail.empty()) {
    const uint32_t cid = avail.back();
    Connection& c = connections_[cid];
    r.connection = cid;
    ++c.in_flight;
    --c.requests_left;
    if (c.in_flight >= c.capacity || c.requests_left == 0) {
      c.available = false;
      avail.pop_back();
    }
    // The request travels to the ingress pod.
    add_hop(r, kClientNetwork, 0, c.one_way_ns - c.lb_one_way_ns);
    if (c.lb_one_way_ns > 0) add_hop(r, kLoadBalancer, 0, c.lb_one_way_ns);
    const int64_t size_ns = client_transfer_ns(r.request_bytes);
    add_hop(r, kClientNetwork, 0, size_ns);
    sim_.schedule_in<&Chain::on_request_at_ingress>(Duration::nanoseconds(c.one_way_ns + size_ns),
                                                    this, id);
    return;
  }
  const int32_t cid = open_connection(group, r);
  if (cid < 0) return;  // refused; already completed
  r.connection = static_cast<uint32_t>(cid);
}

// The client sends the same request (class, size) again at once, as a new request: on its
// keep-alive connection if that is still usable, else on a new one. Only idempotent methods,
// after a client timeout or a 5xx/refused (never a 404). The logical request keeps its start
// (latency spans every attempt), its closed-loop user and whether it is measured.
bool Chain::client_retry(uint32_t id, Status failure) {
  const Request& old = requests_[id];
  const GroupSpec& g = spec_.groups[old.group];
  if (old.client_attempts >= g.config->retries()) return false;
  if (failure == Status::kOk || failure == Status::kPending || failure == Status::kNoRoute)
    return false;
  if (!idempotent(g.classes[old.request_class].method)) return false;
  const uint32_t n = new_request();  // may grow requests_: take references after
  Request& o = requests_[id];
  Request& r = requests_[n];
  r.intended_ns = o.intended_ns;
  r.group = o.group;
  r.request_class = o.request_class;
  r.request_bytes = o.request_bytes;
  r.user = o.user;
  r.measured = o.measured;
  r.client_attempts = static_cast<uint8_t>(o.client_attempts + 1);
  o.user = -1;
  o.measured = false;
  if (r.measured) ++stats_.connections.client_retries;  // like errors: measured requests only
  send_attempt(n);
  return true;
}

// Opens a client connection: entry node (LB or DNS), kube-proxy NAT to an ingress pod, TCP
// handshake; TLS continues in on_connected. Returns -1 if the connection was refused.
int32_t Chain::open_connection(uint32_t group, Request& r) {
  const uint32_t id = static_cast<uint32_t>(&r - requests_.data());
  const GroupSpec& g = spec_.groups[group];
  const auto& entry = sc_.entry();
  const bool local = entry.external_traffic_policy() == scenario::Entry::LOCAL;
  const bool host_network = entry.kind() == scenario::Entry::HOST_NETWORK;
  const bool lb = entry.kind() == scenario::Entry::LOAD_BALANCER;
  ++stats_.connections.client;

  // Candidate entry nodes.
  scratch_index_.clear();
  auto has_local_ingress = [&](int node) {
    for (size_t i = 0; i < ingress_.size(); ++i) {
      if (spec_.ingress_pods[i].node == node && ingress_[i].ready) return true;
    }
    return false;
  };
  if (entry.nodes_size() > 0) {
    for (const auto& name : entry.nodes()) {
      for (size_t n = 0; n < spec_.nodes.size(); ++n) {
        if (spec_.nodes[n].name == name) scratch_index_.push_back(static_cast<int>(n));
      }
    }
  } else {
    for (size_t n = 0; n < spec_.nodes.size(); ++n) {
      if (!host_network || has_local_ingress(static_cast<int>(n)))
        scratch_index_.push_back(static_cast<int>(n));
    }
  }
  if (lb) {
    // The LB's health checks take out nodes that are down, and with Local the nodes without a
    // ready local endpoint; without cross-zone balancing it stays in the client's zone.
    std::erase_if(scratch_index_, [&](int n) {
      return !node_up_[static_cast<size_t>(n)] || (local && !has_local_ingress(n));
    });
    if (!sc_.entry().load_balancer().cross_zone()) {
      std::vector<int> same;
      for (int n : scratch_index_) {
        if (spec_.nodes[static_cast<size_t>(n)].zone == g.zone) same.push_back(n);
      }
      if (!same.empty()) scratch_index_ = same;
    }
  }
  auto refuse = [&](int64_t after_ns) {
    add_hop(r, kClientNetwork, 0, after_ns);
    respond(id, Status::kRefused);
    return -1;
  };
  if (scratch_index_.empty()) return refuse(2 * spec_.client_latency_ns);
  int node;
  if (entry.node_selection() == scenario::Entry::SINGLE_NODE && !lb) {
    node = scratch_index_.front();
  } else {
    node = scratch_index_[rng_conn_.below(scratch_index_.size())];
  }
  const int64_t lb_ns = lb ? ns_of(entry.load_balancer().latency()) : 0;
  if (!node_up_[static_cast<size_t>(node)]) return refuse(2 * (spec_.client_latency_ns + lb_ns));

  // kube-proxy (or the host network) picks the ingress pod.
  scratch_.clear();
  scratch_index_.clear();
  for (size_t i = 0; i < ingress_.size(); ++i) {
    if (!ingress_[i].ready) continue;
    if ((local || host_network) && spec_.ingress_pods[i].node != node) continue;
    scratch_.push_back({static_cast<uint32_t>(i), nat_active_[static_cast<size_t>(node)][i], 0});
    scratch_index_.push_back(static_cast<int>(i));
  }
  if (scratch_.empty()) return refuse(2 * (spec_.client_latency_ns + lb_ns));
  int64_t nat_ns = 0;
  int ingress;
  if (host_network) {
    ingress = scratch_index_[rng_conn_.below(scratch_index_.size())];
  } else {
    const uint64_t source = (uint64_t{group} << 32) ^ connections_.size();
    ingress = scratch_index_[kube_proxy_[static_cast<size_t>(node)]->choose_endpoint(
        scratch_, source, rng_net_)];
    nat_ns = kube_proxy_[static_cast<size_t>(node)]->first_packet_cost(rng_net_).ns();
    ++stats_.connections.nat_first_packets;
  }
  IngressPod& ip = ingress_[static_cast<size_t>(ingress)];
  const int ingress_node = spec_.ingress_pods[static_cast<size_t>(ingress)].node;

  uint32_t cid;
  if (!free_connections_.empty()) {
    cid = free_connections_.back();
    free_connections_.pop_back();
  } else {
    cid = static_cast<uint32_t>(connections_.size());
    connections_.emplace_back();
  }
  Connection& c = connections_[cid];
  c = Connection{};
  c.open = true;
  c.ingress = ingress;
  c.worker = static_cast<int32_t>(rng_conn_.below(ip.workers.size()));  // accept by any worker
  c.entry_node = node;
  const int64_t forward_ns =
      node == ingress_node
          ? 0
          : spec_.latency_ns[static_cast<size_t>(node)][static_cast<size_t>(ingress_node)];
  c.cross_zone = spec_.nodes[static_cast<size_t>(node)].zone !=
                     spec_.nodes[static_cast<size_t>(ingress_node)].zone ||
                 spec_.nodes[static_cast<size_t>(node)].zone != g.zone;
  c.lb_one_way_ns = lb_ns;
  c.one_way_ns = spec_.client_latency_ns + lb_ns + forward_ns;
  if (node != ingress_node) ++stats_.connections.forwarded;
  const auto& conns = g.config->connections();
  c.requests_left = conns.requests_per_connection();
  c.capacity =
      conns.http() == scenario::IngressController::HTTP2 ? conns.max_concurrent_streams() : 1;
  c.tls = rng_conn_.uniform01() < g.config->tls().share();
  c.in_flight = 1;
  --c.requests_left;
  ++nat_active_[static_cast<size_t>(node)][static_cast<size_t>(ingress)];

  // TCP handshake: one round trip, plus the NAT decision on the first packet.
  add_hop(r, kClientNetwork, 0, 2 * (c.one_way_ns - lb_ns));
  if (lb_ns > 0) add_hop(r, kLoadBalancer, 0, 2 * lb_ns);
  if (nat_ns > 0 || !host_network) add_hop(r, kKubeProxy, 0, nat_ns);
  sim_.schedule_in<&Chain::on_connected>(Duration::nanoseconds(2 * c.one_way_ns + nat_ns), this,
                                         id);
  return static_cast<int32_t>(cid);
}

void Chain::on_connected(uint64_t id) {
  Request& r = requests_[id];
  if (r.abandoned) return complete(static_cast<uint32_t>(id));
  Connection& c = connections_[r.connection];
  if (!c.tls) {
    const int64_t size_ns = client_transfer_ns(r.request_bytes);
    add_hop(r, kClientNetwork, 0, c.one_way_ns - c.lb_one_way_ns + size_ns);
    if (c.lb_one_way_ns > 0) add_hop(r, kLoadBalancer, 0, c.lb_one_way_ns);
    sim_.schedule_in<&Chain::on_request_at_ingress>(Duration::nanoseconds(c.one_way_ns + size_ns),
                                                    this, id);
    return;
  }
  // TLS 1.3: ClientHello travels to the proxy, which does the handshake CPU work; the flight
  // back and the client's Finished (carrying the request) make the second round trip.
  const bool resumed =
      sc_.ingress().tls().session_tickets() &&
      rng_conn_.uniform01() < spec_.groups[r.group].config->tls().resumption_ratio();
  double cost_us = resumed ? spec_.costs.tls_resumed_us()
                           : (sc_.ingress().tls().key_type() == scenario::IngressTls::RSA2048
                                  ? spec_.costs.tls_full_rsa2048_us()
                                  : spec_.costs.tls_full_ecdsa_p256_us());
  cost_us += spec_.costs.accept_us();
  c.tls_client_ns =
      us_to_ns(resumed ? spec_.costs.tls_client_resumed_us()
                       : (sc_.ingress().tls().key_type() == scenario::IngressTls::RSA2048
                              ? spec_.costs.tls_client_full_rsa2048_us()
                              : spec_.costs.tls_client_full_ecdsa_p256_us()));
  resumed ? ++stats_.connections.tls_resumed : ++stats_.connections.tls_full;
  add_hop(r, kIngressTls, 0, c.one_way_ns);
  r.stage_start_ns = sim_.now().ns() + c.one_way_ns;
  // The job is enqueued when the ClientHello arrives.
  const int64_t arrive = c.one_way_ns;
  sim_.schedule_in<&Chain::on_tls_round_trip>(
      Duration::nanoseconds(arrive), this, id | (static_cast<uint64_t>(us_to_ns(cost_us)) << 32));
}

void Chain::on_tls_round_trip(uint64_t packed) {
  const auto id = static_cast<uint32_t>(packed & 0xffffffff);
  const auto cost = static_cast<int64_t>(packed >> 32);
  Request& r = requests_[id];
  if (r.abandoned) return complete(id);
  Connection& c = connections_[r.connection];
  if (!ingress_[static_cast<size_t>(c.ingress)].alive) return respond(id, Status::kRefused);
  enqueue_cpu(c.ingress, c.worker, {id, kJobTls, cost, sim_.now().ns()});
}

void Chain::on_request_at_ingress(uint64_t id) {
  Request& r = requests_[id];
  if (r.abandoned) return complete(static_cast<uint32_t>(id));
  Connection& c = connections_[r.connection];
  if (!ingress_[static_cast<size_t>(c.ingress)].alive)
    return respond(static_cast<uint32_t>(id), Status::kRefused);
  // parse + route + relay of the request body (+ TLS record work).
  double cost_us =
      spec_.costs.request_base_us() + spec_.costs.route_base_us() +
      spec_.costs.route_per_log2_rules_us() * std::log2(std::max(1u, spec_.rule_count) + 1.0) +
      spec_.costs.relay_per_kib_us() * r.request_bytes / 1024.0;
  if (c.tls) cost_us += spec_.costs.tls_record_per_kib_us() * r.request_bytes / 1024.0;
  enqueue_cpu(c.ingress, c.worker,
              {static_cast<uint32_t>(id), kJobRequest, us_to_ns(cost_us), sim_.now().ns()});
}

// ---------------------------------------------------------------------------------------------
// Ingress worker CPU: a FIFO single-server queue per worker; optional CFS quota per pod.

void Chain::enqueue_cpu(int ingress, int worker, CpuJob job) {
  IngressPod& ip = ingress_[static_cast<size_t>(ingress)];
  Worker& w = ip.workers[static_cast<size_t>(worker)];
  if (spec_.costs.variability() == profile::CostProfile::EXPONENTIAL && job.cost_ns > 0) {
    job.cost_ns = std::max<int64_t>(1, static_cast<int64_t>(-std::log(rng_cpu_.uniform_open01()) *
                                                            static_cast<double>(job.cost_ns)));
  }
  if (job.cost_ns == 0) {
    // Work that costs nothing does not wait for the worker (zero-cost profiles in theory checks).
    sim_.schedule_in<&Chain::on_free_job>(Duration::zero(), this,
                                          (uint64_t{job.kind} << 56) | (uint64_t(ingress) << 40) |
                                              (uint64_t(worker) << 32) | job.request);
    return;
  }
  w.queue.push_back(job);
  if (!w.busy) start_next_job(ingress, worker);
}

void Chain::start_next_job(int ingress, int worker) {
  IngressPod& ip = ingress_[static_cast<size_t>(ingress)];
  Worker& w = ip.workers[static_cast<size_t>(worker)];
  if (w.queue.empty()) return;
  const double limit = sc_.ingress().cpu_limit_cores();
  if (limit > 0) {
    // CFS: the pod's workers together may run limit x period per period; when the quota is
    // spent they wait for the next period (on_cfs_period restarts them).
    const int64_t quota =
        static_cast<int64_t>(limit * static_cast<double>(ns_of(sc_.ingress().cfs_period())));
    if (ip.used_in_period_ns >= quota) return;
    ip.used_in_period_ns += w.queue.front().cost_ns;
  }
  const CpuJob& job = w.queue.front();
  Request& r = requests_[job.request];
  const int64_t now = sim_.now().ns();
  const Hop hop = job.kind == kJobTls ? kIngressTls : kIngressProxy;
  add_hop(r, hop, now - job.enqueued_ns, job.cost_ns);
  w.busy = true;
  w.busy_since_ns = now;
  const uint64_t packed = (static_cast<uint64_t>(ingress) << 16) | static_cast<uint64_t>(worker);
  sim_.schedule_in<&Chain::on_cpu_done>(Duration::nanoseconds(job.cost_ns), this, packed);
}

void Chain::on_cfs_period(uint64_t ingress) {
  IngressPod& ip = ingress_[ingress];
  ip.used_in_period_ns = 0;
  sim_.schedule_in<&Chain::on_cfs_period>(Duration::nanoseconds(ns_of(sc_.ingress().cfs_period())),
                                          this, ingress);
  for (size_t w = 0; w < ip.workers.size(); ++w) {
    if (!ip.workers[w].busy) start_next_job(static_cast<int>(ingress), static_cast<int>(w));
  }
}

void Chain::on_cpu_done(uint64_t packed) {
  const int ingress = static_cast<int>(packed >> 16);
  const int worker = static_cast<int>(packed & 0xffff);
  IngressPod& ip = ingress_[static_cast<size_t>(ingress)];
  Worker& w = ip.workers[static_cast<size_t>(worker)];
  const CpuJob job = w.queue.front();
  w.queue.pop_front();
  w.busy = false;
  ip.busy_ns += window_overlap(w.busy_since_ns, sim_.now().ns());
  add_busy(kIngressProxy, w.busy_since_ns, sim_.now().ns(), 1.0);
  start_next_job(ingress, worker);
  after_cpu_job(ingress, job);
}

void Chain::on_free_job(uint64_t packed) {
  const CpuJob job{static_cast<uint32_t>(packed & 0xffffffff), static_cast<uint8_t>(packed >> 56),
                   0, sim_.now().ns()};
  const int ingress = static_cast<int>((packed >> 40) & 0xffff);
  const Hop hop = job.kind == kJobTls ? kIngressTls : kIngressProxy;
  add_hop(requests_[job.request], hop, 0, 0);
  after_cpu_job(ingress, job);
}

void Chain::after_cpu_job(int ingress, const CpuJob& job) {
  IngressPod& ip = ingress_[static_cast<size_t>(ingress)];
  Request& r = requests_[job.request];
  if (r.abandoned && job.kind != kJobResponse) return complete(job.request);
  if (!ip.alive) {
    if (job.kind == kJobResponse) {
      connections_[r.connection].broken = true;
      return complete(job.request);
    }
    return respond(job.request, Status::kRefused);
  }
  switch (job.kind) {
    case kJobTls: {
      // Server flight back to the client, the client's handshake work, client Finished + request
      // to the proxy.
      Connection& c = connections_[r.connection];
      const int64_t size_ns = client_transfer_ns(r.request_bytes);
      add_hop(r, kIngressTls, 0, c.one_way_ns + c.tls_client_ns);
      add_hop(r, kClientNetwork, 0, c.one_way_ns - c.lb_one_way_ns + size_ns);
      if (c.lb_one_way_ns > 0) add_hop(r, kLoadBalancer, 0, c.lb_one_way_ns);
      sim_.schedule_in<&Chain::on_request_at_ingress>(
          Duration::nanoseconds(2 * c.one_way_ns + c.tls_client_ns + size_ns), this, job.request);
      break;
    }
    case kJobRequest:
      ++ip.requests;
      after_request_job(job.request);
      break;
    case kJobResponse: {
      Connection& c = connections_[r.connection];
      const int64_t size_ns = client_transfer_ns(r.response_bytes);
      add_hop(r, kClientNetwork, 0, c.one_way_ns - c.lb_one_way_ns + size_ns);
      if (c.lb_one_way_ns > 0) add_hop(r, kLoadBalancer, 0, c.lb_one_way_ns);
      if (c.cross_zone) stats_.cross_zone_bytes += r.request_bytes + r.response_bytes;
      sim_.schedule_in<&Chain::on_response_at_client>(Duration::nanoseconds(c.one_way_ns + size_ns),
                                                      this, job.request);
      break;
    }
  }
}

// Routing was decided once per request class by the real matcher (ChainSpec); here the worker
// picks the endpoint.
void Chain::after_request_job(uint32_t id) {
  Request& r = requests_[id];
  const RequestClassSpec& rc = spec_.groups[r.group].classes[r.request_class];
  if (rc.route < 0) return respond(id, Status::kNoRoute);
  if (rc.service < 0) return respond(id, Status::k503);
  choose_upstream(id);
}

std::vector<EndpointLoad>& Chain::candidates_for(int ingress, int service, const Request& r) {
  const IngressPod& ip = ingress_[static_cast<size_t>(ingress)];
  const ServiceSpec& svc = spec_.services[static_cast<size_t>(service)];
  // Ejected endpoints are skipped, unless that leaves none (then they are used anyway, as
  // Envoy's panic mode does).
  const int64_t now = sim_.now().ns();
  for (const bool skip_ejected : {true, false}) {
    scratch_.clear();
    bool skipped = false;
    for (size_t k = 0; k < svc.pods.size(); ++k) {
      const auto pod = static_cast<size_t>(svc.pods[k]);
      if (!pods_[pod].ready) continue;
      if (k < 64 && (r.tried_mask >> k & 1)) continue;
      if (skip_ejected && outlier_on_ && ip.ejected_until_ns[pod] > now) {
        skipped = true;
        continue;
      }
      scratch_.push_back({static_cast<uint32_t>(k), ip.active[pod], ip.ewma_s[pod]});
    }
    if (!scratch_.empty() || !skipped) break;
  }
  return scratch_;
}

void Chain::choose_upstream(uint32_t id) {
  Request& r = requests_[id];
  const Connection& c = connections_[r.connection];
  const int service = spec_.groups[r.group].classes[r.request_class].service;
  const ServiceSpec& svc = spec_.services[static_cast<size_t>(service)];
  IngressPod& ip = ingress_[static_cast<size_t>(c.ingress)];
  Worker& w = ip.workers[static_cast<size_t>(c.worker)];
  const int ingress_node = spec_.ingress_pods[static_cast<size_t>(c.ingress)].node;
  const bool cluster_ip = sc_.ingress().upstream_mode() == scenario::IngressController::CLUSTER_IP;
  const uint32_t max_idle = sc_.ingress().upstream_pool().max_idle_per_endpoint();
  int pod = -1;
  r.upstream_new = true;
  int64_t nat_ns = 0;
  if (cluster_ip) {
    // The proxy talks to the ClusterIP: a pooled connection keeps the endpoint kube-proxy chose
    // when it was opened; a new one goes through NAT on the ingress pod's node (random choice).
    auto& pinned = w.idle_pinned[static_cast<size_t>(service)];
    while (!pinned.empty() && !pods_[static_cast<size_t>(pinned.back())].ready)
      pinned.pop_back();
    if (!pinned.empty() && max_idle > 0) {
      pod = pinned.back();
      pinned.pop_back();
      r.upstream_new = false;
    } else {
      auto& cand = candidates_for(c.ingress, service, r);
      if (cand.empty()) return respond(id, r.attempts > 0 ? r.failed_status : Status::k503);
      const size_t pick =
          kube_proxy_[static_cast<size_t>(ingress_node)]->choose_endpoint(cand, id, rng_net_);
      pod = svc.pods[cand[pick].endpoint];
      nat_ns = kube_proxy_[static_cast<size_t>(ingress_node)]->first_packet_cost(rng_net_).ns();
      ++stats_.connections.nat_first_packets;
    }
  } else {
    auto& cand = candidates_for(c.ingress, service, r);
    if (cand.empty()) return respond(id, r.attempts > 0 ? r.failed_status : Status::k503);
    const auto alg = sc_.ingress().load_balancing().algorithm();
    const bool per_worker = alg == scenario::LoadBalancing::ROUND_ROBIN ||
                            alg == scenario::LoadBalancing::ALGORITHM_UNSPECIFIED;
    LoadBalancer& lb = per_worker ? *w.lb[static_cast<size_t>(service)]
                                  : *ip.shared_lb[static_cast<size_t>(service)];
    const uint64_t key =
        (uint64_t{r.group} << 40) ^ (uint64_t{r.request_class} << 20) ^ r.connection;
    const size_t pick = lb.choose(cand, key, rng_lb_);
    pod = svc.pods[cand[pick].endpoint];
    if (w.idle_upstream[static_cast<size_t>(pod)] > 0) {
      --w.idle_upstream[static_cast<size_t>(pod)];
      r.upstream_new = false;
    }
  }
  r.pod = pod;
  const auto k =
      static_cast<size_t>(std::find(svc.pods.begin(), svc.pods.end(), pod) - svc.pods.begin());
  if (k < 64) r.tried_mask |= uint64_t{1} << k;
  ++ip.active[static_cast<size_t>(pod)];
  r.upstream_start_ns = sim_.now().ns();
  r.attempt_added_ns = 0;
  const int pod_node = spec_.pods[static_cast<size_t>(pod)].node;
  const int64_t one_way =
      spec_.latency_ns[static_cast<size_t>(ingress_node)][static_cast<size_t>(pod_node)];
  if (!pods_[static_cast<size_t>(pod)].alive) {
    if (node_up_[static_cast<size_t>(pod_node)]) {
      // A dead pod still listed as an endpoint: its node answers the SYN with a RST (on a pooled
      // connection the write is reset the same way).
      add_hop(r, kUpstreamConnect, 0, 2 * one_way);
      sim_.schedule_in<&Chain::on_connect_refused>(Duration::nanoseconds(2 * one_way), this, id);
      return;
    }
    if (r.upstream_new) {
      // The node is down: nothing answers the SYN; the proxy gives up after timeouts.connect.
      const int64_t wait = ns_of(sc_.ingress().timeouts().connect());
      if (wait > 0) {
        add_hop(r, kUpstreamConnect, 0, wait);
        sim_.schedule_in<&Chain::on_connect_timeout>(Duration::nanoseconds(wait), this, id);
      }
      return;  // without a connect timeout the attempt hangs (until the client's timeout)
    }
    // A pooled connection to a dead node: the request is written and lost; the first-byte
    // timeout (send_to_pod) ends the attempt.
  }
  if (r.upstream_new) {
    ++stats_.connections.upstream_opened;
    const int64_t connect = 2 * one_way + nat_ns;  // SYN / SYN-ACK (+ NAT for a ClusterIP)
    add_hop(r, kUpstreamConnect, 0, connect);
    if (nat_ns > 0) add_hop(r, kKubeProxy, 0, 0);
    sim_.schedule_in<&Chain::on_upstream_ready>(Duration::nanoseconds(connect), this, id);
  } else {
    ++stats_.connections.upstream_reused;
    send_to_pod(id);
  }
}

void Chain::on_connect_refused(uint64_t id) {
  if (requests_[id].ghost) return free_request(static_cast<uint32_t>(id));
  fail_attempt(static_cast<uint32_t>(id), Failure::kConnectRefused);
}

void Chain::on_connect_timeout(uint64_t id) {
  fail_attempt(static_cast<uint32_t>(id), Failure::kConnectTimeout);
}

// Retry conditions (Retries.on; empty = connect_failure and timeout) as nginx's
// proxy_next_upstream reads them: connect_failure is nginx's `error` (connect refused or reset),
// timeout covers connect and first-byte timeouts, http_50x the pod's status or the timeout the
// proxy turns into a 504. A request already sent is retried only if idempotent (unless
// idempotent_only is off); a failed connect is always retried (nothing was sent).
bool Chain::should_retry(const Request& r, Failure failure) const {
  const auto& retries = sc_.ingress().retries();
  if (r.abandoned || r.attempts >= retries.attempts()) return false;
  const bool sent = failure != Failure::kConnectRefused && failure != Failure::kConnectTimeout;
  if (sent && retries.idempotent_only()) {
    const std::string& m = spec_.groups[r.group].classes[r.request_class].method;
    if (!idempotent(m)) return false;
  }
  auto on = [&](scenario::Retries::Condition c) {
    if (retries.on_size() == 0)
      return c == scenario::Retries::CONNECT_FAILURE || c == scenario::Retries::TIMEOUT;
    return std::find(retries.on().begin(), retries.on().end(), c) != retries.on().end();
  };
  switch (failure) {
    case Failure::kConnectRefused:
      return on(scenario::Retries::CONNECT_FAILURE);
    case Failure::kConnectTimeout:
      return on(scenario::Retries::CONNECT_FAILURE) || on(scenario::Retries::TIMEOUT);
    case Failure::kReset:
      return on(scenario::Retries::CONNECT_FAILURE) || on(scenario::Retries::HTTP_502);
    case Failure::kFirstByteTimeout:
      return on(scenario::Retries::TIMEOUT) || on(scenario::Retries::HTTP_504);
    case Failure::k503:
      return on(scenario::Retries::HTTP_503);
  }
  return false;
}

void Chain::fail_attempt(uint32_t id, Failure failure) {
  Request& r = requests_[id];
  cancel_upstream_timer(r);
  const int ingress = connections_[r.connection].ingress;
  if (r.pod >= 0) {
    --ingress_[static_cast<size_t>(ingress)].active[static_cast<size_t>(r.pod)];
    outlier_failure(ingress, r.pod);
    r.pod = -1;
  }
  if (r.abandoned) return complete(id);
  const Status answer =
      failure == Failure::k503 ? Status::k503
      : failure == Failure::kConnectTimeout || failure == Failure::kFirstByteTimeout
          ? Status::kUpstreamTimeout
          : Status::kRefused;
  if (should_retry(r, failure)) {
    ++r.attempts;
    if (r.measured) ++stats_.connections.retries;  // like errors: measured requests only
    r.failed_status = answer;
    r.status = Status::kPending;
    return choose_upstream(id);
  }
  respond(id, answer);
}

// Envoy-style consecutive-failure ejection with a fixed ejection time (docs/models.md): after
// `consecutive_failures` failures in a row the endpoint is out for `ejection_time`, unless that
// would eject more than max_ejection_percent of the Service's endpoints (at least one may always
// be ejected).
void Chain::outlier_failure(int ingress, int pod) {
  if (!outlier_on_) return;
  IngressPod& ip = ingress_[static_cast<size_t>(ingress)];
  const auto p = static_cast<size_t>(pod);
  const auto& od = sc_.ingress().outlier_detection();
  const int64_t now = sim_.now().ns();
  if (ip.ejected_until_ns[p] > now) return;
  if (++ip.consecutive_failures[p] < od.consecutive_failures()) return;
  const ServiceSpec& svc = spec_.services[static_cast<size_t>(spec_.pods[p].service)];
  size_t ejected = 0;
  for (int q : svc.pods)
    ejected += ip.ejected_until_ns[static_cast<size_t>(q)] > now;
  const auto allowed = std::max<size_t>(
      1, static_cast<size_t>(od.max_ejection_percent() * static_cast<double>(svc.pods.size())));
  if (ejected >= allowed) return;
  ip.consecutive_failures[p] = 0;
  const int64_t duration = ns_of(od.ejection_time());
  ip.ejected_until_ns[p] = now + duration;
  note_event("endpoint_ejected", spec_.pods[p].name,
             spec_.ingress_pods[static_cast<size_t>(ingress)].name + " ejected it for " +
                 seconds_text(duration) + " after " + std::to_string(od.consecutive_failures()) +
                 " consecutive failures");
}

void Chain::schedule_upstream_timers() {
  if (dispatching_timers_) return;  // on_upstream_timers reschedules when it is done
  const auto* front = upstream_timers_.front([this](const FixedDelayTimers::Entry& e) {
    return requests_[e.owner].active && requests_[e.owner].upstream_token == e.token;
  });
  upstream_timers_event_ =
      front == nullptr ? EventId{}
                       : sim_.schedule_at<&Chain::on_upstream_timers>(
                             Time::from_ns(std::max(front->deadline_ns, sim_.now().ns())), this);
}

void Chain::on_upstream_timers(uint64_t) {
  upstream_timers_event_ = {};
  dispatching_timers_ = true;
  const auto live = [this](const FixedDelayTimers::Entry& e) {
    return requests_[e.owner].active && requests_[e.owner].upstream_token == e.token;
  };
  for (const auto* e = upstream_timers_.front(live);
       e != nullptr && e->deadline_ns <= sim_.now().ns(); e = upstream_timers_.front(live)) {
    const uint32_t owner = e->owner;
    upstream_timers_.pop_expired();
    requests_[owner].upstream_token = 0;
    on_upstream_timeout(owner);
  }
  dispatching_timers_ = false;
  schedule_upstream_timers();
}

// The first-byte timeout fired: the proxy closes the upstream connection and answers 504 or
// retries. The pod does not learn of it and finishes the work (the ghost record carries it).
void Chain::on_upstream_timeout(uint64_t id) {
  if (!requests_[id].active || requests_[id].ghost) return;
  if (requests_[id].lost) {
    // Nothing of the attempt is pending anywhere: no ghost needed.
    requests_[id].lost = false;
    return fail_attempt(static_cast<uint32_t>(id), Failure::kFirstByteTimeout);
  }
  const uint32_t n = detach_upstream(static_cast<uint32_t>(id));
  fail_attempt(n, Failure::kFirstByteTimeout);
}

uint32_t Chain::detach_upstream(uint32_t id) {
  const uint32_t n = new_request();  // may grow requests_: take references after
  requests_[n] = requests_[id];
  Request& r = requests_[n];
  Request& ghost = requests_[id];
  // The client's timeout follows the request.
  if (ghost.timeout.valid()) {
    sim_.cancel(ghost.timeout);
    const int64_t at = r.attempt_start_ns + ns_of(spec_.groups[r.group].config->timeout());
    r.timeout =
        sim_.schedule_at<&Chain::on_timeout>(Time::from_ns(std::max(at, sim_.now().ns())), this, n);
  }
  r.pod_event = {};
  r.upstream_token = 0;
  ghost.timeout = {};
  ghost.upstream_token = 0;
  ghost.ghost = true;
  ghost.measured = false;
  ghost.abandoned = true;
  ghost.user = -1;
  ghost.connection = kNoConnection;
  // The attempt took exactly now - upstream_start; what it charged to the hops ahead of time
  // (transfers and service booked when they began) is taken back, and waiting not yet booked
  // (a queue) is added, on the pod side of the path.
  int64_t excess = r.attempt_added_ns - (sim_.now().ns() - r.upstream_start_ns);
  for (int64_t* v : {&r.service_ns[kPod], &r.queue_ns[kPod], &r.service_ns[kPodNetwork],
                     &r.service_ns[kUpstreamConnect], &r.service_ns[kKubeProxy]}) {
    if (excess <= 0) break;
    const int64_t take = std::min(excess, *v);
    *v -= take;
    excess -= take;
  }
  if (excess < 0) add_hop(r, kPod, -excess, 0);
  return n;
}

void Chain::on_upstream_ready(uint64_t id) {
  Request& r = requests_[id];
  if (r.ghost) return free_request(static_cast<uint32_t>(id));
  if (r.abandoned) {
    ingress_[static_cast<size_t>(connections_[r.connection].ingress)]
        .active[static_cast<size_t>(r.pod)]--;
    return complete(static_cast<uint32_t>(id));
  }
  send_to_pod(static_cast<uint32_t>(id));
}

int64_t Chain::transfer_ns(int from_node, int to_node, uint64_t bytes, bool count_cross_zone) {
  const auto a = static_cast<size_t>(from_node), b = static_cast<size_t>(to_node);
  if (count_cross_zone && spec_.nodes[a].zone != spec_.nodes[b].zone)
    stats_.cross_zone_bytes += bytes;
  const int64_t extra = extra_latency_total_ns_;  // active link-latency faults (any pair)
  return spec_.latency_ns[a][b] + extra +
         static_cast<int64_t>(static_cast<double>(bytes) / spec_.bandwidth_bytes_per_s[a][b] * 1e9);
}

void Chain::send_to_pod(uint32_t id) {
  Request& r = requests_[id];
  const int ingress_node =
      spec_.ingress_pods[static_cast<size_t>(connections_[r.connection].ingress)].node;
  const int pod_node = spec_.pods[static_cast<size_t>(r.pod)].node;
  const int64_t t = transfer_ns(ingress_node, pod_node, r.request_bytes + 200, true);
  add_hop(r, kPodNetwork, 0, t);
  const int64_t first_byte = ns_of(sc_.ingress().timeouts().first_byte());
  if (first_byte > 0 && arm_first_byte_[r.group]) {
    r.upstream_token = upstream_timers_.arm(sim_.now().ns(), first_byte, id);
    if (!upstream_timers_event_.valid()) schedule_upstream_timers();
  }
  sim_.schedule_in<&Chain::on_pod_arrival>(Duration::nanoseconds(t), this, id);
}

// ---------------------------------------------------------------------------------------------
// Backend pods: FIFO with `concurrency` servers, or processor sharing; bounded waiting room.

void Chain::pod_account(int p) {
  Pod& pod = pods_[static_cast<size_t>(p)];
  const int64_t now = sim_.now().ns();
  const auto& cfg =
      spec_.services[static_cast<size_t>(spec_.pods[static_cast<size_t>(p)].service)].config->pod();
  const double overlap = window_overlap(pod.last_change_ns, now);
  double busy_share;
  if (cfg.queue_discipline() == scenario::Pod::PROCESSOR_SHARING) {
    busy_share = pod.in_service.empty() ? 0.0 : 1.0;
  } else {
    busy_share =
        static_cast<double>(pod.in_service.size()) / std::max<uint32_t>(1, cfg.concurrency());
  }
  pod.busy_area += busy_share * overlap;
  if (busy_share > 0 && overlap > 0) add_busy(kPod, pod.last_change_ns, now, busy_share);
  pod.queue_area += static_cast<double>(pod.waiting.size()) * overlap;
  pod.last_change_ns = now;
}

void Chain::on_pod_arrival(uint64_t id) {
  Request& r = requests_[id];
  Pod& pod = pods_[static_cast<size_t>(r.pod)];
  if (r.ghost) {
    // The proxy gave up, but the pod still gets the request and does the work.
    if (!pod.alive) return free_request(static_cast<uint32_t>(id));
    return pod_admit(static_cast<uint32_t>(id));
  }
  if (r.abandoned) {
    ingress_[static_cast<size_t>(connections_[r.connection].ingress)]
        .active[static_cast<size_t>(r.pod)]--;
    return complete(static_cast<uint32_t>(id));
  }
  if (!pod.alive) {
    // Its node is down: the request is lost and the first-byte timeout ends the attempt.
    if (!node_up_[static_cast<size_t>(spec_.pods[static_cast<size_t>(r.pod)].node)]) {
      r.lost = true;
      return;
    }
    // The pod died while the request was on the wire: the connection resets.
    return fail_attempt(static_cast<uint32_t>(id), Failure::kReset);
  }
  pod_admit(static_cast<uint32_t>(id));
}

void Chain::pod_admit(uint32_t id) {
  Request& r = requests_[id];
  const int p = r.pod;
  Pod& pod = pods_[static_cast<size_t>(p)];
  const auto& cfg =
      spec_.services[static_cast<size_t>(spec_.pods[static_cast<size_t>(p)].service)].config->pod();
  const uint32_t concurrency = std::max<uint32_t>(1, cfg.concurrency());
  pod_account(p);
  r.stage_start_ns = sim_.now().ns();
  if (pod.in_service.size() >= concurrency) {
    if (cfg.queue_limit() > 0 && pod.waiting.size() >= cfg.queue_limit()) {
      if (r.ghost) return free_request(id);
      // Rejected: the pod answers 503 at once.
      add_hop(r, kPod, 0, 0);
      const int ingress_node =
          spec_.ingress_pods[static_cast<size_t>(connections_[r.connection].ingress)].node;
      const int64_t back =
          transfer_ns(spec_.pods[static_cast<size_t>(p)].node, ingress_node, 200, true);
      add_hop(r, kPodNetwork, 0, back);
      r.status = Status::k503;
      r.response_bytes = 200;
      sim_.schedule_in<&Chain::on_response_at_ingress>(Duration::nanoseconds(back), this, id);
      return;
    }
    pod.waiting.push_back(id);
    return;
  }
  if (cfg.queue_discipline() == scenario::Pod::PROCESSOR_SHARING) {
    const ServiceSpec& svc =
        spec_.services[static_cast<size_t>(spec_.pods[static_cast<size_t>(p)].service)];
    // Advance everyone's remaining work to now, then add the newcomer.
    ps_reschedule(p);  // settles progress
    pod.in_service.push_back(id);
    pod.remaining_s.push_back(std::max(0.0, svc.service_time->sample(rng_pods_)) * pod.slow_factor);
    ++pod.requests;
    ps_reschedule(p);
    return;
  }
  pod.in_service.push_back(id);
  ++pod.requests;
  const ServiceSpec& svc =
      spec_.services[static_cast<size_t>(spec_.pods[static_cast<size_t>(p)].service)];
  const double work_s = std::max(0.0, svc.service_time->sample(rng_pods_)) * pod.slow_factor;
  const int64_t service_ns = Duration::from_seconds(work_s).ns();
  add_hop(r, kPod, 0, service_ns);
  r.pod_event = sim_.schedule_in<&Chain::on_pod_done>(Duration::nanoseconds(service_ns), this, id);
}

// Processor sharing: n jobs share the pod's cores; each progresses at min(1, cores / n) of a core.
void Chain::ps_reschedule(int p) {
  Pod& pod = pods_[static_cast<size_t>(p)];
  const int64_t now = sim_.now().ns();
  const auto& cfg =
      spec_.services[static_cast<size_t>(spec_.pods[static_cast<size_t>(p)].service)].config->pod();
  const double n = static_cast<double>(pod.in_service.size());
  if (n > 0) {
    const double rate = std::min(1.0, cfg.cpu_cores() / n);
    const double elapsed_s = static_cast<double>(now - pod.ps_last_ns) * 1e-9;
    for (double& rem : pod.remaining_s)
      rem = std::max(0.0, rem - elapsed_s * rate);
  }
  pod.ps_last_ns = now;
  sim_.cancel(pod.ps_next);
  pod.ps_next = {};
  if (pod.in_service.empty()) return;
  const double rate = std::min(1.0, cfg.cpu_cores() / static_cast<double>(pod.in_service.size()));
  const double min_rem = *std::min_element(pod.remaining_s.begin(), pod.remaining_s.end());
  pod.ps_next = sim_.schedule_in<&Chain::on_ps_done>(
      Duration::nanoseconds(static_cast<int64_t>(std::ceil(min_rem / rate * 1e9))), this,
      static_cast<uint64_t>(p));
}

void Chain::on_ps_done(uint64_t p) {
  Pod& pod = pods_[p];
  pod.ps_next = {};
  ps_reschedule(static_cast<int>(p));  // settles progress; reschedules for the rest
  // Every job whose work is done (within 1 ns) leaves.
  for (size_t i = 0; i < pod.in_service.size();) {
    if (pod.remaining_s[i] <= 1e-9) {
      const uint32_t id = pod.in_service[i];
      pod_account(static_cast<int>(p));
      pod.in_service.erase(pod.in_service.begin() + static_cast<std::ptrdiff_t>(i));
      pod.remaining_s.erase(pod.remaining_s.begin() + static_cast<std::ptrdiff_t>(i));
      Request& r = requests_[id];
      const int64_t waited = 0;
      add_hop(r, kPod, waited, sim_.now().ns() - r.stage_start_ns);
      finish_at_pod(id);
    } else {
      ++i;
    }
  }
  // Admit waiting requests into the sharing set.
  const auto& cfg = spec_.services[static_cast<size_t>(spec_.pods[p].service)].config->pod();
  while (!pod.waiting.empty() && pod.in_service.size() < std::max<uint32_t>(1, cfg.concurrency())) {
    const uint32_t id = pod.waiting.front();
    pod.waiting.pop_front();
    pod_account(static_cast<int>(p));
    Request& r = requests_[id];
    add_hop(r, kPod, sim_.now().ns() - r.stage_start_ns, 0);
    r.stage_start_ns = sim_.now().ns();
    const ServiceSpec& svc = spec_.services[static_cast<size_t>(spec_.pods[p].service)];
    pod.in_service.push_back(id);
    pod.remaining_s.push_back(std::max(0.0, svc.service_time->sample(rng_pods_)) * pod.slow_factor);
    ++pod.requests;
  }
  ps_reschedule(static_cast<int>(p));
}

void Chain::on_pod_done(uint64_t id) {
  Request& r = requests_[id];
  const int p = r.pod;
  Pod& pod = pods_[static_cast<size_t>(p)];
  pod_account(p);
  auto it = std::find(pod.in_service.begin(), pod.in_service.end(), static_cast<uint32_t>(id));
  if (it != pod.in_service.end()) pod.in_service.erase(it);
  finish_at_pod(static_cast<uint32_t>(id));
  // Next waiting request takes the free server.
  if (!pod.waiting.empty() && pod.alive) {
    const uint32_t next = pod.waiting.front();
    pod.waiting.pop_front();
    Request& n = requests_[next];
    add_hop(n, kPod, sim_.now().ns() - n.stage_start_ns, 0);
    pod.in_service.push_back(next);
    ++pod.requests;
    const ServiceSpec& svc =
        spec_.services[static_cast<size_t>(spec_.pods[static_cast<size_t>(p)].service)];
    const int64_t service_ns =
        Duration::from_seconds(std::max(0.0, svc.service_time->sample(rng_pods_)) * pod.slow_factor)
            .ns();
    add_hop(n, kPod, 0, service_ns);
    n.pod_event =
        sim_.schedule_in<&Chain::on_pod_done>(Duration::nanoseconds(service_ns), this, next);
  }
}

void Chain::finish_at_pod(uint32_t id) {
  Request& r = requests_[id];
  if (r.ghost) return free_request(id);
  const ServiceSpec& svc =
      spec_.services[static_cast<size_t>(spec_.pods[static_cast<size_t>(r.pod)].service)];
  r.response_bytes = static_cast<uint32_t>(std::max(0.0, svc.response_size->sample(rng_pods_)));
  r.status = Status::kOk;
  const int ingress_node =
      spec_.ingress_pods[static_cast<size_t>(connections_[r.connection].ingress)].node;
  const int64_t back = transfer_ns(spec_.pods[static_cast<size_t>(r.pod)].node, ingress_node,
                                   r.response_bytes + 200, true);
  add_hop(r, kPodNetwork, 0, back);
  sim_.schedule_in<&Chain::on_response_at_ingress>(Duration::nanoseconds(back), this, id);
}

void Chain::on_response_at_ingress(uint64_t id) {
  Request& r = requests_[id];
  if (r.ghost) return free_request(static_cast<uint32_t>(id));
  cancel_upstream_timer(r);  // the first byte is here
  Connection& c = connections_[r.connection];
  IngressPod& ip = ingress_[static_cast<size_t>(c.ingress)];
  if (r.pod >= 0) {
    if (r.status == Status::k503) {
      outlier_failure(c.ingress, r.pod);
    } else {
      outlier_success(c.ingress, r.pod);
    }
    --ip.active[static_cast<size_t>(r.pod)];
    update_ewma(ip, r.pod, static_cast<double>(sim_.now().ns() - r.upstream_start_ns) * 1e-9);
    // Keep the upstream connection for reuse if the pool has room.
    Worker& w = ip.workers[static_cast<size_t>(c.worker)];
    const uint32_t max_idle = sc_.ingress().upstream_pool().max_idle_per_endpoint();
    if (sc_.ingress().upstream_mode() == scenario::IngressController::CLUSTER_IP) {
      auto& pinned =
          w.idle_pinned[static_cast<size_t>(spec_.pods[static_cast<size_t>(r.pod)].service)];
      if (pinned.size() < max_idle) pinned.push_back(r.pod);
    } else if (w.idle_upstream[static_cast<size_t>(r.pod)] < max_idle) {
      ++w.idle_upstream[static_cast<size_t>(r.pod)];
    }
  }
  if (r.abandoned) return complete(static_cast<uint32_t>(id));
  if (!ip.alive) return respond(static_cast<uint32_t>(id), Status::kRefused);
  if (r.status == Status::k503 && r.pod >= 0 && should_retry(r, Failure::k503)) {
    r.pod = -1;
    ++r.attempts;
    if (r.measured) ++stats_.connections.retries;  // like errors: measured requests only
    r.failed_status = Status::k503;
    r.status = Status::kPending;
    return choose_upstream(static_cast<uint32_t>(id));
  }
  // Relay of the response body; a new upstream connection's setup work is charged here too.
  double cost_us = spec_.costs.relay_per_kib_us() * r.response_bytes / 1024.0 +
                   (r.upstream_new ? spec_.costs.upstream_connect_us() : 0.0);
  if (c.tls) cost_us += spec_.costs.tls_record_per_kib_us() * r.response_bytes / 1024.0;
  enqueue_cpu(c.ingress, c.worker,
              {static_cast<uint32_t>(id), kJobResponse, us_to_ns(cost_us), sim_.now().ns()});
}

double Chain::ewma_decay_s() const {
  const auto& d = sc_.ingress().load_balancing().ewma_decay();
  return std::max(1e-3, static_cast<double>(d.seconds()) + d.nanos() * 1e-9);
}

void Chain::update_ewma(IngressPod& ip, int pod, double rtt_s) {
  const auto p = static_cast<size_t>(pod);
  const double dt = static_cast<double>(sim_.now().ns() - ip.ewma_at_ns[p]) * 1e-9;
  const double w = std::exp(-dt / ewma_decay_s());
  ip.ewma_s[p] = ip.ewma_s[p] == 0 ? rtt_s : ip.ewma_s[p] * w + rtt_s * (1 - w);
  ip.ewma_at_ns[p] = sim_.now().ns();
}

// The ingress answers without a backend (404 no route, 503 no endpoint, 502 refused), or a
// connection-level failure ends the request.
void Chain::respond(uint32_t id, Status status) {
  Request& r = requests_[id];
  r.status = status;
  r.response_bytes = 150;
  // With a live connection the proxy's own answer (404, 503, 502) travels back like any
  // response; without one (refused, or the ingress pod died) the request ends here.
  if (r.connection != kNoConnection) {
    Connection& c = connections_[r.connection];
    if (c.open && ingress_[static_cast<size_t>(c.ingress)].alive) {
      enqueue_cpu(c.ingress, c.worker, {id, kJobResponse, 0, sim_.now().ns()});
      return;
    }
  }
  complete(id);
}

void Chain::on_response_at_client(uint64_t id) {
  complete(static_cast<uint32_t>(id));
}

void Chain::on_timeout(uint64_t id) {
  Request& r = requests_[id];
  r.timeout = {};
  if (!r.active || r.abandoned) return;
  // The client gives up: it retries (client_retry), or the timeout is recorded now; whatever is
  // still in flight finishes silently.
  r.abandoned = true;
  if (r.connection != kNoConnection) connections_[r.connection].broken = true;
  const bool drop_lost = r.lost && r.upstream_token == 0;
  if (!client_retry(static_cast<uint32_t>(id), Status::kTimeout))
    timed_out(static_cast<uint32_t>(id));
  if (drop_lost) {
    // Nothing will ever answer and no proxy timeout is armed: the proxy drops the upstream
    // request when the client goes away (nginx proxy_ignore_client_abort off).
    requests_[id].lost = false;
    fail_attempt(static_cast<uint32_t>(id), Failure::kFirstByteTimeout);  // abandoned: completes
  }
}

void Chain::timed_out(uint32_t id) {
  Request& r = requests_[id];
  if (r.measured) {
    ++stats_.completed;
    ++stats_.errors.timeout;
    --measured_in_flight_;
    r.measured = false;
    if (in_window(sim_.now().ns())) {
      const auto b = static_cast<size_t>((sim_.now().ns() - window_start_ns_) / bucket_ns_);
      if (b < stats_.time_series.size()) ++stats_.time_series[b].errors;
    }
  }
  if (r.user >= 0 && arrivals_open_) {
    const GroupSpec& g = spec_.groups[r.group];
    sim_.schedule_in<&Chain::on_user_think_done>(
        Duration::from_seconds(std::max(0.0, g.think_time->sample(rng_arrivals_))), this,
        static_cast<uint64_t>(r.user));
    r.user = -1;
  }
}

void Chain::release_connection(Request& r) {
  if (r.connection == kNoConnection) return;
  Connection& c = connections_[r.connection];
  if (!c.open) return;
  if (c.in_flight > 0) --c.in_flight;
  const bool dead = c.broken || !ingress_[static_cast<size_t>(c.ingress)].alive;
  if ((dead || c.requests_left == 0) && c.in_flight == 0) {
    c.open = false;
    --nat_active_[static_cast<size_t>(c.entry_node)][static_cast<size_t>(c.ingress)];
    if (!c.available) free_connections_.push_back(r.connection);
    return;
  }
  if (!dead && c.requests_left > 0 && c.in_flight < c.capacity && !c.available) {
    c.available = true;
    available_[r.group].push_back(r.connection);
  }
}

void Chain::complete(uint32_t id) {
  {
    Request& r = requests_[id];
    sim_.cancel(r.timeout);
    cancel_upstream_timer(r);
    release_connection(r);
    if (!r.abandoned && client_retry(id, r.status)) return free_request(id);
  }
  Request& r = requests_[id];
  if (r.measured) {
    --measured_in_flight_;
    ++stats_.completed;
    const int64_t latency = sim_.now().ns() - r.intended_ns;
    const bool ok = r.status == Status::kOk;
    const RequestClassSpec& rc = spec_.groups[r.group].classes[r.request_class];
    switch (r.status) {
      case Status::kOk:
        ++stats_.succeeded;
        break;
      case Status::kNoRoute:
        ++stats_.errors.no_route;
        break;
      case Status::k503:
        ++stats_.errors.http_503;
        break;
      case Status::kUpstreamTimeout:
        ++stats_.errors.upstream_timeout;
        break;
      default:
        ++stats_.errors.refused;
    }
    // The time bucket (completions after the window count in the last one).
    const int64_t t = std::min(sim_.now().ns(), window_end_ns_ - 1);
    const size_t b = t >= window_start_ns_
                         ? static_cast<size_t>((t - window_start_ns_) / bucket_ns_)
                         : stats_.time_series.size();
    const bool in_series = b < stats_.time_series.size();
    if (ok) {
      stats_.end_to_end.record_ns(latency);
      stats_.end_to_end_s.add(static_cast<double>(latency) * 1e-9);
      for (uint32_t mask = r.hop_mask; mask != 0; mask &= mask - 1) {
        const auto h = static_cast<size_t>(std::countr_zero(mask));
        HopStats& hs = stats_.hops[h];
        const int64_t in_hop = r.queue_ns[h] + r.service_ns[h];
        hs.latency.record_ns(in_hop);
        hs.queueing.record_ns(r.queue_ns[h]);
        hs.service.record_ns(r.service_ns[h]);
        ++hs.requests;
        if (in_series) {
          HopTimeBucket& hb = hs.series[b];
          ++hb.requests;
          hb.latency.record_ns(in_hop);
        }
      }
    }
    if (rc.route >= 0) {
      RouteStats& rs = stats_.routes[static_cast<size_t>(rc.route)];
      ++rs.requests;
      if (ok) {
        ++rs.succeeded;
        rs.latency.record_ns(latency);
      }
    }
    if (spec_.trace_every > 0 && stats_.completed % spec_.trace_every == 0) trace(r, latency);
    if (in_series) {
      TimeBucket& tb = stats_.time_series[b];
      ++tb.completed;
      if (ok) {
        tb.latency.record_ns(latency);
      } else {
        ++tb.errors;
      }
    }
  }
  if (r.user >= 0 && arrivals_open_) {
    const GroupSpec& g = spec_.groups[r.group];
    sim_.schedule_in<&Chain::on_user_think_done>(
        Duration::from_seconds(std::max(0.0, g.think_time->sample(rng_arrivals_))), this,
        static_cast<uint64_t>(r.user));
  }
  free_request(id);
}

void Chain::trace(const Request& r, int64_t latency) {
  static constexpr const char* kStatus[] = {"pending", "ok",       "timeout",         "refused",
                                            "503",     "no_route", "upstream_timeout"};
  result::Span& span = stats_.spans.emplace_back();
  span.set_replication(static_cast<uint32_t>(replication_));
  span.set_group(r.group);
  span.set_request_class(r.request_class);
  span.set_route(spec_.groups[r.group].classes[r.request_class].route);
  span.set_start_ns(r.intended_ns);
  span.set_end_ns(r.intended_ns + latency);
  span.set_status(kStatus[static_cast<int>(r.status)]);
  for (int h = 0; h < kHopCount; ++h) {
    if (!(r.hop_mask >> h & 1)) continue;
    auto* hop = span.add_hops();
    hop->set_hop(hop_name(static_cast<Hop>(h)));
    hop->set_queue_ns(r.queue_ns[static_cast<size_t>(h)]);
    hop->set_service_ns(r.service_ns[static_cast<size_t>(h)]);
  }
}

// ---------------------------------------------------------------------------------------------
// Faults

namespace {
constexpr uint64_t kIngressFlag = uint64_t{1} << 62;
}  // namespace

const std::string& Chain::pod_name(uint64_t packed) const {
  return packed & kIngressFlag ? spec_.ingress_pods[packed & 0xffffffff].name
                               : spec_.pods[packed].name;
}

void Chain::on_fault(uint64_t f) {
  const scenario::Fault& fault = sc_.faults().events(static_cast<int>(f));
  const int64_t update_ns = ns_of(sc_.cluster().kube_proxy().endpoint_update_delay());
  auto kill = [&](uint64_t packed, int64_t restart_ns) {
    note_event("pod_crash", pod_name(packed),
               std::string(packed & kIngressFlag ? "ingress pod" : "pod") + " crashed" +
                   (restart_ns > 0 ? "; restarts after " + seconds_text(restart_ns) : ""));
    if (packed & kIngressFlag) {
      IngressPod& ip = ingress_[packed & 0xffffffff];
      ip.alive = false;
    } else {
      Pod& pod = pods_[packed];
      pod_account(static_cast<int>(packed));
      pod.alive = false;
      // Requests at the pod fail: their connections reset.
      std::vector<uint32_t> lost(pod.in_service.begin(), pod.in_service.end());
      lost.insert(lost.end(), pod.waiting.begin(), pod.waiting.end());
      pod.in_service.clear();
      pod.remaining_s.clear();
      pod.waiting.clear();
      sim_.cancel(pod.ps_next);
      // A crashed process resets its connections; on a dead node they go silent and the
      // proxies' first-byte timeouts end them.
      const bool node_down = !node_up_[static_cast<size_t>(spec_.pods[packed].node)];
      for (uint32_t id : lost) {
        Request& r = requests_[id];
        if (!r.active) continue;
        sim_.cancel(r.pod_event);
        r.pod_event = {};
        if (r.ghost) {
          free_request(id);
          continue;
        }
        if (node_down) {
          r.lost = true;
        } else {
          fail_attempt(id, Failure::kReset);
        }
      }
    }
    sim_.schedule_in<&Chain::on_endpoint_update>(Duration::nanoseconds(update_ns), this, packed);
    if (restart_ns > 0)
      sim_.schedule_in<&Chain::on_pod_restart>(Duration::nanoseconds(restart_ns), this, packed);
  };
  auto find_pod = [&](const std::string& service, uint32_t index) -> int64_t {
    if (service == "ingress" || service == sc_.ingress().name()) {
      return index < ingress_.size() ? static_cast<int64_t>(kIngressFlag | index) : -1;
    }
    for (const auto& svc : spec_.services) {
      if (svc.name == service && index < svc.pods.size()) return svc.pods[index];
    }
    return -1;
  };
  switch (fault.kind_case()) {
    case scenario::Fault::kKillPod: {
      const int64_t p = find_pod(fault.kill_pod().service(), fault.kill_pod().pod());
      if (p >= 0) kill(static_cast<uint64_t>(p), ns_of(fault.kill_pod().restart_after()));
      break;
    }
    case scenario::Fault::kSlowPod: {
      const int64_t p = find_pod(fault.slow_pod().service(), fault.slow_pod().pod());
      if (p >= 0 && !(p & static_cast<int64_t>(kIngressFlag))) {
        char factor[32];
        std::snprintf(factor, sizeof factor, "%g", fault.slow_pod().factor());
        const int64_t d = ns_of(fault.slow_pod().duration());
        note_event("pod_slow", pod_name(static_cast<uint64_t>(p)),
                   std::string("service times x") + factor +
                       (d > 0 ? " for " + seconds_text(d) : std::string()));
        pods_[static_cast<size_t>(p)].slow_factor = fault.slow_pod().factor();
        if (ns_of(fault.slow_pod().duration()) > 0) {
          sim_.schedule_in<&Chain::on_fault_end>(
              Duration::nanoseconds(ns_of(fault.slow_pod().duration())), this, f);
        }
      }
      break;
    }
    case scenario::Fault::kKillNode: {
      for (size_t n = 0; n < spec_.nodes.size(); ++n) {
        if (spec_.nodes[n].name != fault.kill_node().node()) continue;
        const int64_t restart = ns_of(fault.kill_node().restart_after());
        note_event("node_down", spec_.nodes[n].name,
                   "node down" + (restart > 0 ? "; back after " + seconds_text(restart) : ""));
        node_up_[n] = false;
        for (size_t p = 0; p < spec_.pods.size(); ++p) {
          if (spec_.pods[p].node == static_cast<int>(n))
            kill(p, ns_of(fault.kill_node().restart_after()));
        }
        for (size_t i = 0; i < spec_.ingress_pods.size(); ++i) {
          if (spec_.ingress_pods[i].node == static_cast<int>(n))
            kill(kIngressFlag | i, ns_of(fault.kill_node().restart_after()));
        }
        if (ns_of(fault.kill_node().restart_after()) > 0) {
          sim_.schedule_in<&Chain::on_fault_end>(
              Duration::nanoseconds(ns_of(fault.kill_node().restart_after())), this, f);
        }
      }
      break;
    }
    case scenario::Fault::kLinkLatency:
      note_event("link_latency", "network",
                 "+" + seconds_text(ns_of(fault.link_latency().added())) +
                     " on every node-to-node link" +
                     (ns_of(fault.link_latency().duration()) > 0
                          ? " for " + seconds_text(ns_of(fault.link_latency().duration()))
                          : ""));
      extra_latency_ns_[f] = ns_of(fault.link_latency().added());
      extra_latency_total_ns_ += extra_latency_ns_[f];
      if (ns_of(fault.link_latency().duration()) > 0) {
        sim_.schedule_in<&Chain::on_fault_end>(
            Duration::nanoseconds(ns_of(fault.link_latency().duration())), this, f);
      }
      break;
    default:
      break;
  }
}

void Chain::on_fault_end(uint64_t f) {
  const scenario::Fault& fault = sc_.faults().events(static_cast<int>(f));
  switch (fault.kind_case()) {
    case scenario::Fault::kSlowPod:
      for (const auto& svc : spec_.services) {
        if (svc.name == fault.slow_pod().service() && fault.slow_pod().pod() < svc.pods.size()) {
          const int p = svc.pods[fault.slow_pod().pod()];
          pods_[static_cast<size_t>(p)].slow_factor = 1.0;
          note_event("pod_slow_end", spec_.pods[static_cast<size_t>(p)].name,
                     "service times back to normal");
        }
      }
      break;
    case scenario::Fault::kKillNode:
      for (size_t n = 0; n < spec_.nodes.size(); ++n) {
        if (spec_.nodes[n].name == fault.kill_node().node()) {
          node_up_[n] = true;
          note_event("node_up", spec_.nodes[n].name, "node back");
        }
      }
      break;
    case scenario::Fault::kLinkLatency:
      extra_latency_total_ns_ -= extra_latency_ns_[f];
      extra_latency_ns_[f] = 0;
      note_event("link_latency_end", "network", "added link latency removed");
      break;
    default:
      break;
  }
}

// Proxies and kube-proxy learn that the endpoint is gone (after endpoint_update_delay), or that
// it is ready again.
void Chain::on_endpoint_update(uint64_t packed) {
  bool& ready = packed & kIngressFlag ? ingress_[packed & 0xffffffff].ready : pods_[packed].ready;
  const bool alive =
      packed & kIngressFlag ? ingress_[packed & 0xffffffff].alive : pods_[packed].alive;
  if (ready == alive) return;
  ready = alive;
  if (ready) {
    note_event("pod_ready", pod_name(packed), "ready: back in the endpoints");
  } else {
    note_event("endpoints_updated", pod_name(packed),
               "removed from the endpoints (proxies and kube-proxy stop sending to it)");
  }
}

void Chain::on_pod_restart(uint64_t packed) {
  note_event("pod_restart", pod_name(packed), "running again (not ready yet)");
  if (packed & kIngressFlag) {
    ingress_[packed & 0xffffffff].alive = true;
  } else {
    pod_account(static_cast<int>(packed));
    pods_[packed].alive = true;
  }
  // Ready after the readiness delay (+ endpoint propagation).
  int64_t readiness = ns_of(sc_.cluster().kube_proxy().endpoint_update_delay());
  if (!(packed & kIngressFlag)) {
    readiness += ns_of(spec_.services[static_cast<size_t>(spec_.pods[packed].service)]
                           .config->pod()
                           .readiness_delay());
  }
  sim_.schedule_in<&Chain::on_endpoint_update>(Duration::nanoseconds(readiness), this, packed);
}

}  // namespace

void CoarseHistogram::merge(const CoarseHistogram& other) {
  if (other.count_ == 0) return;
  if (counts_.empty()) counts_.assign(kCount, 0);
  for (size_t i = 0; i < kCount; ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
}

int64_t CoarseHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const int64_t lower = engine::LatencyHistogram::bucket_lower_ns(i * kMerge);
      const int64_t upper = engine::LatencyHistogram::bucket_upper_ns(i * kMerge + kMerge - 1);
      return lower + (upper - lower) / 2;
    }
  }
  return engine::LatencyHistogram::bucket_lower_ns((kCount - 1) * kMerge);
}

ReplicationStats run_replication(const ChainSpec& spec, uint64_t seed, int replication,
                                 engine::Duration warmup, engine::Duration duration) {
  Chain chain(spec, seed, replication, warmup, duration);
  return chain.run();
}

}  // namespace ingresslab::models
