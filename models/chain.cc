// One replication of the ingress chain. Reads like the system it simulates: a client opens a
// connection (node NAT, TLS on an ingress worker), sends requests on it, the ingress worker
// parses and routes them and picks an endpoint, the pod queues and serves them, and the answer
// travels back. See docs/models.md for every assumption.
#include "models/chain.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "engine/random.h"
#include "engine/simulation.h"
#include "models/arrivals.h"
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

enum class Status : uint8_t { kPending, kOk, kTimeout, kRefused, k503, kNoRoute };
constexpr uint32_t kNoConnection = UINT32_MAX;

// A request in flight. Pooled: ids are indices, recycled when the request ends.
struct Request {
  int64_t intended_ns = 0;     // when the client meant to send it (latency is measured from here)
  int64_t stage_start_ns = 0;  // when the current hop began (for queueing/service split)
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
  uint8_t attempts = 0;
  uint64_t tried_mask = 0;  // endpoints already tried (first 64)
  EventId timeout;
  EventId pod_event;  // FIFO service completion at the pod (cancelled if the pod dies)
  Status status = Status::kPending;
  bool abandoned = false;  // the client timed out; finish silently
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
  void on_pod_arrival(uint64_t request);
  void on_pod_done(uint64_t request);
  void on_ps_done(uint64_t pod);
  void on_response_at_ingress(uint64_t request);
  void on_response_at_client(uint64_t request);
  void on_timeout(uint64_t request);
  void on_fault(uint64_t fault);
  void on_endpoint_update(uint64_t packed);
  void on_pod_restart(uint64_t packed);
  void on_fault_end(uint64_t fault);
  void on_cfs_period(uint64_t ingress);
  void on_free_job(uint64_t packed);
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
    r.hop_mask |= 1u << hop;
  }
  void start_request(uint32_t group, int32_t user);
  int32_t open_connection(uint32_t group, Request& r);
  void release_connection(Request& r);
  void enqueue_cpu(int ingress, int worker, CpuJob job);
  void start_next_job(int ingress, int worker);
  void after_request_job(uint32_t id);
  void choose_upstream(uint32_t id);
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
  bool arrivals_open_ = true;
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
    for (const auto& svc : spec_.services) {
      ip.shared_lb.push_back(make_load_balancer(ing.load_balancing(), svc.pods.size()));
    }
  }
  pods_.resize(spec_.pods.size());
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
  stats_.routes.resize(spec_.routes.size());

  // Workload.
  available_.resize(spec_.groups.size());
  for (size_t g = 0; g < spec_.groups.size(); ++g) {
    const auto& cfg = *spec_.groups[g].config;
    if (cfg.has_open_loop()) {
      std::string error;
      arrivals_.push_back(make_arrival_process(cfg.open_loop(), spec_.base_dir, &error));
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

  // Run the measured window, then drain the measured requests still in flight.
  sim_.run_until(Time::from_ns(window_end_ns_));
  arrivals_open_ = false;
  int64_t drain_ns = 60'000'000'000;
  for (const auto& g : sc_.workload().clients()) {
    if (ns_of(g.timeout()) > 0) drain_ns = std::min(drain_ns, ns_of(g.timeout()) + 1'000'000'000);
  }
  const int64_t drain_end = window_end_ns_ + drain_ns;
  while (measured_in_flight_ > 0 && sim_.now().ns() < drain_end) {
    if (sim_.run_until(std::min(Time::from_ns(drain_end), sim_.now() + Duration::seconds(1))) ==
            0 &&
        sim_.pending_count() == 0) {
      break;
    }
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
      if (ip.workers[w].busy)
        ip.busy_ns += window_overlap(ip.workers[w].busy_since_ns, window_end_ns_);
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
  for (const auto& b : stats_.time_series) {
    stats_.bucket_mean_latency_s.push_back(b.latency.count() > 0 ? b.latency.mean() * 1e-9 : 0.0);
  }
  return std::move(stats_);
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
  const Duration gap = arrivals_[group]->next_gap(sim_.now(), rng_arrivals_);
  if (gap != Duration::max()) sim_.schedule_in<&Chain::on_arrival>(gap, this, group);
  start_request(static_cast<uint32_t>(group), -1);
}

void Chain::on_user_think_done(uint64_t user) {
  if (!arrivals_open_) return;
  start_request(user_group_[user], static_cast<int32_t>(user));
}

void Chain::start_request(uint32_t group, int32_t user) {
  const GroupSpec& g = spec_.groups[group];
  const uint32_t id = new_request();
  Request& r = requests_[id];
  r.intended_ns = sim_.now().ns();
  r.stage_start_ns = r.intended_ns;
  r.group = group;
  r.user = user;
  r.measured = in_window(r.intended_ns);
  if (r.measured) {
    ++stats_.offered;
    ++measured_in_flight_;
  }
  const double u = rng_mix_.uniform01();
  r.request_class = static_cast<uint32_t>(
      std::upper_bound(g.class_cdf.begin(), g.class_cdf.end(), u) - g.class_cdf.begin());
  if (r.request_class >= g.classes.size())
    r.request_class = static_cast<uint32_t>(g.classes.size() - 1);
  r.request_bytes = static_cast<uint32_t>(std::max(0.0, g.request_size->sample(rng_mix_)));
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
      // Server flight back to the client, client Finished + request to the proxy.
      Connection& c = connections_[r.connection];
      const int64_t size_ns = client_transfer_ns(r.request_bytes);
      add_hop(r, kIngressTls, 0, c.one_way_ns);
      add_hop(r, kClientNetwork, 0, c.one_way_ns - c.lb_one_way_ns + size_ns);
      if (c.lb_one_way_ns > 0) add_hop(r, kLoadBalancer, 0, c.lb_one_way_ns);
      sim_.schedule_in<&Chain::on_request_at_ingress>(
          Duration::nanoseconds(2 * c.one_way_ns + size_ns), this, job.request);
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
  scratch_.clear();
  for (size_t k = 0; k < svc.pods.size(); ++k) {
    const int pod = svc.pods[k];
    if (!pods_[static_cast<size_t>(pod)].ready) continue;
    if (k < 64 && (r.tried_mask >> k & 1)) continue;
    scratch_.push_back({static_cast<uint32_t>(k), ip.active[static_cast<size_t>(pod)],
                        ip.ewma_s[static_cast<size_t>(pod)]});
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
      if (cand.empty()) return respond(id, Status::k503);
      const size_t pick =
          kube_proxy_[static_cast<size_t>(ingress_node)]->choose_endpoint(cand, id, rng_net_);
      pod = svc.pods[cand[pick].endpoint];
      nat_ns = kube_proxy_[static_cast<size_t>(ingress_node)]->first_packet_cost(rng_net_).ns();
      ++stats_.connections.nat_first_packets;
    }
  } else {
    auto& cand = candidates_for(c.ingress, service, r);
    if (cand.empty()) return respond(id, Status::k503);
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
  const int pod_node = spec_.pods[static_cast<size_t>(pod)].node;
  const int64_t one_way =
      spec_.latency_ns[static_cast<size_t>(ingress_node)][static_cast<size_t>(pod_node)];
  if (!pods_[static_cast<size_t>(pod)].alive) {
    // Connection refused / reset by a dead pod still listed as an endpoint.
    add_hop(r, kUpstreamConnect, 0, 2 * one_way);
    sim_.schedule_in<&Chain::on_connect_refused>(Duration::nanoseconds(2 * one_way), this, id);
    return;
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
  Request& r = requests_[id];
  IngressPod& ip = ingress_[static_cast<size_t>(connections_[r.connection].ingress)];
  --ip.active[static_cast<size_t>(r.pod)];
  r.pod = -1;
  if (r.abandoned) return complete(static_cast<uint32_t>(id));
  const auto& retries = sc_.ingress().retries();
  if (r.attempts < retries.attempts()) {
    ++r.attempts;
    ++stats_.connections.retries;
    return choose_upstream(static_cast<uint32_t>(id));
  }
  respond(static_cast<uint32_t>(id), Status::kRefused);
}

void Chain::on_upstream_ready(uint64_t id) {
  Request& r = requests_[id];
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
  pod.queue_area += static_cast<double>(pod.waiting.size()) * overlap;
  pod.last_change_ns = now;
}

void Chain::on_pod_arrival(uint64_t id) {
  Request& r = requests_[id];
  if (r.abandoned) {
    ingress_[static_cast<size_t>(connections_[r.connection].ingress)]
        .active[static_cast<size_t>(r.pod)]--;
    return complete(static_cast<uint32_t>(id));
  }
  Pod& pod = pods_[static_cast<size_t>(r.pod)];
  if (!pod.alive) {
    // Died while the request was on the wire: the connection resets.
    return on_connect_refused(id);
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
  Connection& c = connections_[r.connection];
  IngressPod& ip = ingress_[static_cast<size_t>(c.ingress)];
  if (r.pod >= 0) {
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
  // The client gives up: record the timeout now; whatever is still in flight finishes silently.
  r.abandoned = true;
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
  if (r.connection != kNoConnection) connections_[r.connection].broken = true;
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
  Request& r = requests_[id];
  sim_.cancel(r.timeout);
  release_connection(r);
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
      default:
        ++stats_.errors.refused;
    }
    if (ok) {
      stats_.end_to_end.record_ns(latency);
      stats_.end_to_end_s.add(static_cast<double>(latency) * 1e-9);
      for (int h = 0; h < kHopCount; ++h) {
        if (!(r.hop_mask >> h & 1)) continue;
        HopStats& hs = stats_.hops[static_cast<size_t>(h)];
        hs.latency.record_ns(r.queue_ns[static_cast<size_t>(h)] +
                             r.service_ns[static_cast<size_t>(h)]);
        hs.queueing.record_ns(r.queue_ns[static_cast<size_t>(h)]);
        hs.service.record_ns(r.service_ns[static_cast<size_t>(h)]);
        ++hs.requests;
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
    const int64_t t = std::min(sim_.now().ns(), window_end_ns_ - 1);
    if (t >= window_start_ns_) {
      const auto b = static_cast<size_t>((t - window_start_ns_) / bucket_ns_);
      if (b < stats_.time_series.size()) {
        TimeBucket& tb = stats_.time_series[b];
        ++tb.completed;
        if (ok) {
          tb.latency.record_ns(latency);
        } else {
          ++tb.errors;
        }
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
  static constexpr const char* kStatus[] = {"pending", "ok",  "timeout",
                                            "refused", "503", "no_route"};
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
}

void Chain::on_fault(uint64_t f) {
  const scenario::Fault& fault = sc_.faults().events(static_cast<int>(f));
  const int64_t update_ns = ns_of(sc_.cluster().kube_proxy().endpoint_update_delay());
  auto kill = [&](uint64_t packed, int64_t restart_ns) {
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
      for (uint32_t id : lost) {
        Request& r = requests_[id];
        if (!r.active) continue;
        sim_.cancel(r.pod_event);
        --ingress_[static_cast<size_t>(connections_[r.connection].ingress)].active[packed];
        r.pod = -1;
        respond(id, Status::kRefused);
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
          pods_[static_cast<size_t>(svc.pods[fault.slow_pod().pod()])].slow_factor = 1.0;
        }
      }
      break;
    case scenario::Fault::kKillNode:
      for (size_t n = 0; n < spec_.nodes.size(); ++n) {
        if (spec_.nodes[n].name == fault.kill_node().node()) node_up_[n] = true;
      }
      break;
    case scenario::Fault::kLinkLatency:
      extra_latency_total_ns_ -= extra_latency_ns_[f];
      extra_latency_ns_[f] = 0;
      break;
    default:
      break;
  }
}

// Proxies and kube-proxy learn that the endpoint is gone (after endpoint_update_delay), or that
// it is ready again.
void Chain::on_endpoint_update(uint64_t packed) {
  if (packed & kIngressFlag) {
    IngressPod& ip = ingress_[packed & 0xffffffff];
    ip.ready = ip.alive;
  } else {
    pods_[packed].ready = pods_[packed].alive;
  }
}

void Chain::on_pod_restart(uint64_t packed) {
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

ReplicationStats run_replication(const ChainSpec& spec, uint64_t seed, int replication,
                                 engine::Duration warmup, engine::Duration duration) {
  Chain chain(spec, seed, replication, warmup, duration);
  return chain.run();
}

}  // namespace ingresslab::models
