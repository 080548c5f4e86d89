// The analytic model: traffic equations (Eigen), per-station queueing formulas, fixed delays,
// bottleneck and saturation. analytic.h states the model and its sources; the numbers below
// follow chain.cc's cost and delay accounting term by term.
#include "models/analytic.h"

#include <Eigen/Dense>
#include <Eigen/SparseCore>
#include <Eigen/SparseLU>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "models/arrivals.h"
#include "models/kube_proxy.h"
#include "models/simulate.h"

namespace ingresslab::models {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Relay cost covers the body plus this many header bytes on the backend leg (chain.cc).
constexpr double kUpstreamHeaderBytes = 200;
// Response size of a request rejected by a full pod queue (chain.cc: pod_admit).
constexpr double kRejectBytes = 200;
// Dense LU up to this many routing nodes, sparse LU beyond.
constexpr int kDenseNodes = 512;

double seconds_of(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) + d.nanos() * 1e-9;
}
double ns_to_s(int64_t ns) {
  return static_cast<double>(ns) * 1e-9;
}

// First and second moment of a non-negative random quantity.
struct Moments {
  double m1 = 0, m2 = 0;
};

// Mean and variance of a distribution as the simulator samples it.
struct MeanVar {
  double mean = 0, var = 0;
  bool zero() const { return mean == 0 && var == 0; }
};
MeanVar mean_var(const engine::Distribution& d) {
  return {d.mean(), d.variance()};
}

// The CPU cost figure a + b X (microseconds), X with mean/variance mx: moments in seconds.
// `exponential`: the job's cost is exponential with the figure as its mean (CostProfile
// EXPONENTIAL), which doubles the second moment. `free` when the figure is identically zero (the
// job bypasses the worker queue, as chain.cc's enqueue_cpu does).
struct JobCost {
  Moments s;  // seconds
  bool free = true;
};
JobCost job_cost(double a_us, double b_us, const MeanVar& x, bool exponential) {
  JobCost c;
  c.free = a_us == 0 && (b_us == 0 || x.zero());
  if (c.free) return c;
  const double m1 = (a_us + b_us * x.mean) * 1e-6;
  const double m2 = m1 * m1 + b_us * b_us * x.var * 1e-12;
  c.s = {m1, exponential ? 2 * m2 : m2};
  return c;
}

// --- Queueing formulas ---------------------------------------------------------------------

// Erlang C: probability of waiting in M/M/c with offered load a < c, from the Erlang B recursion
// B(k) = a B(k-1) / (k + a B(k-1)) (numerically stable for large c).
double erlang_c(int c, double a) {
  double b = 1.0;
  for (int k = 1; k <= c; ++k) {
    b = a * b / (k + a * b);
  }
  const double rho = a / c;
  return b / (1.0 - rho * (1.0 - b));
}

// Birth-death queue: arrivals at rate lambda, service rate min(n, s) mu with n in system, at
// most `capacity` in system (+inf: unbounded). In units of a = lambda / mu.
struct BirthDeath {
  double mean_n = 0;
  double p_empty = 1;
  double p_full = 0;   // pi_capacity (0 when unbounded)
  double p_above = 0;  // P(N > threshold)
  bool stable = true;
};
BirthDeath birth_death(double a, double s, double capacity, double threshold) {
  BirthDeath out;
  if (a <= 0) return out;
  const bool unbounded = !std::isfinite(capacity);
  const double r = a / s;
  if (unbounded && r >= 1) {
    out.stable = false;
    out.mean_n = kInf;
    out.p_empty = 0;
    out.p_above = 1;
    return out;
  }
  // pi_n is proportional to a^n / n! for n <= m = floor(s), then pi_m r^(n - m). Work in logs,
  // normalised by the largest term.
  const double m = std::min(std::floor(s), capacity);
  const auto m_int = static_cast<int64_t>(m);
  std::vector<double> log_terms;
  log_terms.reserve(static_cast<size_t>(m_int) + 1);
  for (int64_t n = 0; n <= m_int; ++n) {
    log_terms.push_back(static_cast<double>(n) * std::log(a) -
                        std::lgamma(static_cast<double>(n) + 1));
  }
  const double log_m = log_terms.back();
  // The tail n = m + 1 .. capacity: log pi_n = log_m + j log r with j = n - m.
  const double tail_len = capacity - m;
  // Unbounded (r < 1): geometric sums in closed form. Bounded: summed term by term.
  double max_log = *std::max_element(log_terms.begin(), log_terms.end());
  const bool tail_closed = unbounded || tail_len > 1e7;
  if (!tail_closed && tail_len > 0) max_log = std::max(max_log, log_m + tail_len * std::log(r));
  double z = 0, sum_n = 0, above = 0;
  for (int64_t n = 0; n <= m_int; ++n) {
    const double t = std::exp(log_terms[static_cast<size_t>(n)] - max_log);
    z += t;
    sum_n += static_cast<double>(n) * t;
    if (static_cast<double>(n) > threshold) above += t;
  }
  const double t_m = std::exp(log_m - max_log);
  double t_last = 0;
  if (tail_closed) {
    if (r < 1) {
      // sum_{j>=1} r^j = r/(1-r); sum_{j>=1} (m+j) r^j = m r/(1-r) + r/(1-r)^2.
      z += t_m * r / (1 - r);
      sum_n += t_m * (m * r / (1 - r) + r / ((1 - r) * (1 - r)));
      const double j0 = std::max(0.0, std::floor(threshold) - m);  // first tail index above
      above += t_m * std::pow(r, j0 + 1) / (1 - r);
    } else {
      out.stable = false;
      out.mean_n = kInf;
      return out;
    }
  } else {
    const double log_r = std::log(r);
    const auto len = static_cast<int64_t>(tail_len);
    for (int64_t j = 1; j <= len; ++j) {
      const double n = m + static_cast<double>(j);
      const double t = std::exp(log_m + static_cast<double>(j) * log_r - max_log);
      z += t;
      sum_n += n * t;
      if (n > threshold) above += t;
      t_last = t;
    }
    if (len == 0) t_last = t_m;
  }
  out.mean_n = sum_n / z;
  out.p_empty = std::exp(log_terms.front() - max_log) / z;
  out.p_full = unbounded ? 0 : t_last / z;
  out.p_above = above / z;
  return out;
}

// One station's queue: arrivals lambda (Poisson), service moments, discipline.
struct QueueSpec {
  double lambda = 0;
  Moments service;
  bool processor_sharing = false;
  double servers = 1;        // FIFO servers, or PS cores
  double concurrency = 1;    // PS: jobs sharing at once
  double queue_limit = 0;    // waiting room beyond the jobs in service; 0 = unbounded
  bool exponential = false;  // service time exponential
};

void solve_queue(const QueueSpec& q, StationResult* st) {
  const double es = q.service.m1;
  st->arrival_rate_per_s = q.lambda;
  st->mean_service_s = es;
  st->service_scv = es > 0 ? std::max(0.0, q.service.m2 / (es * es) - 1.0) : 0;
  if (q.lambda <= 0 || es <= 0) {
    st->formula = StationFormula::kIdle;
    st->servers = q.processor_sharing ? std::min(q.servers, q.concurrency) : q.servers;
    st->mean_response_s = es;
    return;
  }
  const double a = q.lambda * es;
  // PS with no more sharers than cores: every admitted job runs at full speed, i.e. FIFO with
  // `concurrency` servers.
  const bool ps = q.processor_sharing && q.concurrency > q.servers;
  const double c = q.processor_sharing ? std::min(q.servers, q.concurrency) : q.servers;
  st->servers = c;
  st->offered_load = a / c;
  if (!ps && q.queue_limit == 0) {
    st->formula = StationFormula::kAllenCunneen;
    const int servers = static_cast<int>(std::lround(c));
    st->exact = servers == 1 || q.exponential;
    if (!(st->offered_load < 1)) {
      st->stable = false;
      st->utilization = 1;
      st->throughput_per_s = q.lambda;
      st->mean_wait_s = st->mean_response_s = kInf;
      return;
    }
    const double w = erlang_c(servers, a) * es / (c - a) * (1 + st->service_scv) / 2;
    st->utilization = st->offered_load;
    st->throughput_per_s = q.lambda;
    st->mean_wait_s = w;
    st->mean_response_s = w + es;
    return;
  }
  // Birth-death: M/M/c/K (FIFO with a queue limit) or processor sharing.
  const double cap_in_service = ps ? q.concurrency : c;
  const double capacity = q.queue_limit > 0 ? cap_in_service + q.queue_limit : kInf;
  const BirthDeath bd = birth_death(a, c, capacity, ps ? q.concurrency : kInf);
  st->formula = ps ? StationFormula::kProcessorSharing : StationFormula::kFiniteBirthDeath;
  st->exact = q.exponential || (ps && q.queue_limit == 0 && bd.p_above < 1e-9);
  if (!bd.stable) {
    st->stable = false;
    st->utilization = 1;
    st->throughput_per_s = q.lambda;
    st->mean_wait_s = st->mean_response_s = kInf;
    return;
  }
  st->blocking_probability = bd.p_full;
  st->throughput_per_s = q.lambda * (1 - bd.p_full);
  st->mean_response_s = bd.mean_n / st->throughput_per_s;
  st->mean_wait_s = std::max(0.0, st->mean_response_s - es);
  st->utilization = ps ? 1 - bd.p_empty : st->throughput_per_s * es / c;
}

// Heuristic share of requests that open a new upstream connection when the pool keeps up to m
// idle connections and the mean in-flight count is `a` (analytic.h): P(N - N' >= m) with N, N'
// independent Poisson(a).
double new_connection_share(double a, uint32_t m) {
  if (m == 0) return 1;
  if (!(a > 0)) return 0;
  if (!std::isfinite(a)) return 0.5;
  if (a > 50) return 0.5 * std::erfc((m - 0.5) / std::sqrt(2 * 2 * a));
  const int n_max = static_cast<int>(a + 20 * std::sqrt(a) + 40);
  if (static_cast<double>(m) > n_max) return 0;
  std::vector<double> pmf(static_cast<size_t>(n_max) + 1);
  pmf[0] = std::exp(-a);
  for (int n = 1; n <= n_max; ++n) {
    pmf[static_cast<size_t>(n)] = pmf[static_cast<size_t>(n) - 1] * a / n;
  }
  // tail[n] = P(N >= n)
  std::vector<double> tail(static_cast<size_t>(n_max) + 2, 0.0);
  for (int n = n_max; n >= 0; --n) {
    tail[static_cast<size_t>(n)] = tail[static_cast<size_t>(n) + 1] + pmf[static_cast<size_t>(n)];
  }
  double p = 0;
  for (int k = 0; k + static_cast<int>(m) <= n_max; ++k) {
    p += pmf[static_cast<size_t>(k)] * tail[static_cast<size_t>(k) + m];
  }
  return std::min(1.0, p);
}

// Mean cost of kube-proxy's NAT decision on a new connection's first packet (kube_proxy.cc).
double nat_mean_s(const scenario::KubeProxy& kp, uint32_t service_ports) {
  double base = ns_to_s(kNatBaseCost.ns());
  double per_rule = ns_to_s(kIptablesPerRuleCost.ns());
  if (kp.has_first_packet_cost()) {
    if (kp.first_packet_cost().has_base()) base = seconds_of(kp.first_packet_cost().base());
    if (kp.first_packet_cost().has_per_rule()) {
      per_rule = seconds_of(kp.first_packet_cost().per_rule());
    }
  }
  if (kp.mode() == scenario::KubeProxy::IPVS || kp.mode() == scenario::KubeProxy::NFTABLES) {
    return base;
  }
  // iptables: the Service's position is uniform over 1..rules.
  return service_ports == 0 ? base : base + per_rule * (service_ports + 1) / 2.0;
}

// --- The network ---------------------------------------------------------------------------

// What a client group contributes, at unit rate scale.
struct Group {
  double rate = 0;            // requests/s offered
  double accepted = 0;        // share not refused at the entry
  std::vector<double> share;  // per ingress pod, given accepted
  double one_way_s = 0;       // mean client <-> ingress one-way delay of a connection (incl. LB)
  double lb_s = 0;            // LB part of it
  double per_connection = 1;  // 1 / requests_per_connection
  double tls = 0;             // share of connections (and requests) on TLS
  double resumed = 0;         // share of TLS handshakes resumed
  MeanVar request_bytes;
  std::vector<double> class_p;     // request class probabilities
  std::vector<int> class_service;  // Service index if the class can succeed, else -1
};

class Network {
 public:
  explicit Network(const ChainSpec& spec) : spec_(spec) {}
  std::string build();
  AnalyticResult evaluate(double scale) const;
  AnalyticResult analyze(const AnalyzeOptions& options) const;

 private:
  int worker_station(int ingress, int worker) const { return ingress * workers_ + worker; }
  int ingress_of(int ws) const { return ws / workers_; }
  double lat_s(int a, int b) const {
    return ns_to_s(spec_.latency_ns[static_cast<size_t>(a)][static_cast<size_t>(b)]);
  }
  double bw(int a, int b) const {
    return spec_.bandwidth_bytes_per_s[static_cast<size_t>(a)][static_cast<size_t>(b)];
  }

  const ChainSpec& spec_;
  const scenario::Scenario* sc_ = nullptr;
  int workers_ = 1;
  int n_ingress_ = 0, n_ws_ = 0, n_pods_ = 0;
  std::vector<Group> groups_;
  std::vector<std::string> notes_;
  // Traffic equations at unit scale: per routing node, the arrival rate.
  // Node layout: 4 per worker station (kTlsFull, kTlsResumed, kRequest, kResponse), then pods.
  enum NodeKind { kTlsFull, kTlsResumed, kRequest, kResponse, kNodeKinds };
  int node(int ws, NodeKind k) const { return ws * kNodeKinds + k; }
  int pod_node(int p) const { return n_ws_ * kNodeKinds + p; }
  Eigen::VectorXd lambda_;
  // Requests/s from worker station ws to pod p at unit scale.
  Eigen::MatrixXd flow_;
  double nat_s_ = 0;
  double tls_full_us_ = 0, tls_resumed_us_ = 0;
  double tls_client_full_s_ = 0, tls_client_resumed_s_ = 0;  // the client's handshake CPU
  double request_fixed_us_ = 0;
  bool exponential_costs_ = false;
  std::vector<MeanVar> response_bytes_;  // per Service
  std::vector<int> pods_alive_;          // per Service: pod count
};

std::string Network::build() {
  const scenario::Scenario& sc = spec_.scenario;
  sc_ = &sc;
  workers_ = std::max<int>(1, static_cast<int>(sc.ingress().workers()));
  n_ingress_ = static_cast<int>(spec_.ingress_pods.size());
  n_ws_ = n_ingress_ * workers_;
  n_pods_ = static_cast<int>(spec_.pods.size());
  const auto& costs = spec_.costs;
  exponential_costs_ = costs.variability() == profile::CostProfile::EXPONENTIAL;
  request_fixed_us_ =
      costs.request_base_us() + costs.route_base_us() +
      costs.route_per_log2_rules_us() * std::log2(std::max(1u, spec_.rule_count) + 1.0);
  tls_full_us_ = costs.accept_us() + (sc.ingress().tls().key_type() == scenario::IngressTls::RSA2048
                                          ? costs.tls_full_rsa2048_us()
                                          : costs.tls_full_ecdsa_p256_us());
  tls_resumed_us_ = costs.accept_us() + costs.tls_resumed_us();
  tls_client_full_s_ = 1e-6 * (sc.ingress().tls().key_type() == scenario::IngressTls::RSA2048
                                   ? costs.tls_client_full_rsa2048_us()
                                   : costs.tls_client_full_ecdsa_p256_us());
  tls_client_resumed_s_ = 1e-6 * costs.tls_client_resumed_us();
  for (const auto& svc : spec_.services) {
    response_bytes_.push_back(mean_var(*svc.response_size));
    pods_alive_.push_back(static_cast<int>(svc.pods.size()));
  }

  const auto& entry = sc.entry();
  const bool local = entry.external_traffic_policy() == scenario::Entry::LOCAL;
  const bool host_network = entry.kind() == scenario::Entry::HOST_NETWORK;
  const bool lb = entry.kind() == scenario::Entry::LOAD_BALANCER;
  const double lb_s = lb ? seconds_of(entry.load_balancer().latency()) : 0;
  nat_s_ = host_network ? 0 : nat_mean_s(sc.cluster().kube_proxy(), spec_.service_ports);
  const size_t n_nodes = spec_.nodes.size();
  auto has_ingress = [&](int node) {
    return std::any_of(spec_.ingress_pods.begin(), spec_.ingress_pods.end(),
                       [&](const PodSpec& p) { return p.node == node; });
  };

  bool non_poisson = false;
  for (const GroupSpec& gs : spec_.groups) {
    const scenario::ClientGroup& cfg = *gs.config;
    if (!cfg.has_open_loop()) {
      return "workload.clients[" + gs.name +
             "]: closed-loop groups are not an open network; the analytic model needs open_loop";
    }
    std::string error;
    const auto arrivals = make_arrival_process(cfg.open_loop(), gs.replay.get(), &error);
    if (!arrivals) return "workload.clients[" + gs.name + "]: " + error;
    const auto process = cfg.open_loop().process();
    if (process != scenario::OpenLoop::POISSON &&
        process != scenario::OpenLoop::PROCESS_UNSPECIFIED) {
      non_poisson = true;
    }
    Group g;
    g.rate = arrivals->mean_rate();
    g.per_connection = 1.0 / std::max(1u, cfg.connections().requests_per_connection());
    g.tls = std::clamp(cfg.tls().share(), 0.0, 1.0);
    g.resumed = sc.ingress().tls().session_tickets()
                    ? std::clamp(cfg.tls().resumption_ratio(), 0.0, 1.0)
                    : 0;
    g.request_bytes = mean_var(*gs.request_size);

    // Entry nodes (chain.cc: open_connection), each equally likely.
    std::vector<int> entries;
    if (entry.nodes_size() > 0) {
      for (const auto& name : entry.nodes()) {
        for (size_t n = 0; n < n_nodes; ++n) {
          if (spec_.nodes[n].name == name) entries.push_back(static_cast<int>(n));
        }
      }
    } else {
      for (size_t n = 0; n < n_nodes; ++n) {
        if (!host_network || has_ingress(static_cast<int>(n))) {
          entries.push_back(static_cast<int>(n));
        }
      }
    }
    if (lb) {
      std::erase_if(entries, [&](int n) { return local && !has_ingress(n); });
      if (!entry.load_balancer().cross_zone()) {
        std::vector<int> same;
        for (int n : entries) {
          if (spec_.nodes[static_cast<size_t>(n)].zone == gs.zone) same.push_back(n);
        }
        if (!same.empty()) entries = same;
      }
    }
    if (!entries.empty() && entry.node_selection() == scenario::Entry::SINGLE_NODE && !lb) {
      entries.resize(1);
    }
    g.share.assign(static_cast<size_t>(n_ingress_), 0.0);
    double accepted = 0, one_way = 0;
    for (int e : entries) {
      std::vector<int> candidates;
      for (int i = 0; i < n_ingress_; ++i) {
        if ((local || host_network) && spec_.ingress_pods[static_cast<size_t>(i)].node != e) {
          continue;
        }
        candidates.push_back(i);
      }
      if (candidates.empty()) continue;  // refused
      const double p_entry = 1.0 / static_cast<double>(entries.size());
      for (int i : candidates) {
        const double p = p_entry / static_cast<double>(candidates.size());
        const int in = spec_.ingress_pods[static_cast<size_t>(i)].node;
        const double forward = e == in ? 0 : lat_s(e, in);
        g.share[static_cast<size_t>(i)] += p;
        accepted += p;
        one_way += p * (ns_to_s(spec_.client_latency_ns) + lb_s + forward);
      }
    }
    g.accepted = accepted;
    if (accepted > 0) {
      for (double& s : g.share) {
        s /= accepted;
      }
      g.one_way_s = one_way / accepted;
    }
    g.lb_s = lb_s;
    for (const RequestClassSpec& rc : gs.classes) {
      g.class_p.push_back(0);
      const bool routable =
          rc.route >= 0 && rc.service >= 0 && pods_alive_[static_cast<size_t>(rc.service)] > 0;
      g.class_service.push_back(routable ? rc.service : -1);
    }
    double prev = 0;
    for (size_t c = 0; c < gs.class_cdf.size(); ++c) {
      g.class_p[c] = gs.class_cdf[c] - prev;
      prev = gs.class_cdf[c];
    }
    groups_.push_back(std::move(g));
  }
  double total = 0;
  for (const Group& g : groups_) {
    total += g.rate;
  }
  if (!(total > 0)) return "the workload offers no traffic";

  // Traffic equations lambda = gamma + P^T lambda over the routing nodes.
  const int n = n_ws_ * kNodeKinds + n_pods_;
  Eigen::VectorXd gamma = Eigen::VectorXd::Zero(n);
  std::vector<Eigen::Triplet<double>> routing;  // (from, to, probability)
  Eigen::VectorXd requests = Eigen::VectorXd::Zero(n_ws_);
  flow_ = Eigen::MatrixXd::Zero(n_ws_, n_pods_);
  for (const Group& g : groups_) {
    for (int i = 0; i < n_ingress_; ++i) {
      const double r = g.rate * g.accepted * g.share[static_cast<size_t>(i)] / workers_;
      if (r <= 0) continue;
      for (int w = 0; w < workers_; ++w) {
        const int ws = worker_station(i, w);
        const double new_tls = g.tls * g.per_connection;
        gamma(node(ws, kTlsFull)) += r * new_tls * (1 - g.resumed);
        gamma(node(ws, kTlsResumed)) += r * new_tls * g.resumed;
        gamma(node(ws, kRequest)) += r * (1 - new_tls);
        requests(ws) += r;
        for (size_t c = 0; c < g.class_p.size(); ++c) {
          const int s = g.class_service[c];
          if (s < 0) continue;
          const auto& pods = spec_.services[static_cast<size_t>(s)].pods;
          for (int p : pods) {
            flow_(ws, p) += r * g.class_p[c] / static_cast<double>(pods.size());
          }
        }
      }
    }
  }
  const Eigen::VectorXd into_pod = flow_.colwise().sum().transpose();
  for (int ws = 0; ws < n_ws_; ++ws) {
    routing.emplace_back(node(ws, kTlsFull), node(ws, kRequest), 1.0);
    routing.emplace_back(node(ws, kTlsResumed), node(ws, kRequest), 1.0);
    if (requests(ws) <= 0) continue;
    double to_pods = 0;
    for (int p = 0; p < n_pods_; ++p) {
      const double q = flow_(ws, p) / requests(ws);
      if (q <= 0) continue;
      to_pods += q;
      routing.emplace_back(node(ws, kRequest), pod_node(p), q);
      // The pod answers the worker that sent the request.
      routing.emplace_back(pod_node(p), node(ws, kResponse), flow_(ws, p) / into_pod(p));
    }
    if (1 - to_pods > 1e-15) {
      routing.emplace_back(node(ws, kRequest), node(ws, kResponse), 1 - to_pods);
    }
  }
  // (I - P^T) lambda = gamma.
  Eigen::SparseMatrix<double> a(n, n);
  {
    std::vector<Eigen::Triplet<double>> entries;
    entries.reserve(routing.size() + static_cast<size_t>(n));
    for (int k = 0; k < n; ++k) {
      entries.emplace_back(k, k, 1.0);
    }
    for (const auto& t : routing) {
      entries.emplace_back(t.col(), t.row(), -t.value());
    }
    a.setFromTriplets(entries.begin(), entries.end());
  }
  if (n <= kDenseNodes) {
    lambda_ = Eigen::PartialPivLU<Eigen::MatrixXd>(Eigen::MatrixXd(a)).solve(gamma);
  } else {
    Eigen::SparseLU<Eigen::SparseMatrix<double>> lu;
    lu.compute(a);
    if (lu.info() != Eigen::Success) return "traffic equations: sparse LU failed";
    lambda_ = lu.solve(gamma);
  }
  const double residual = (a * lambda_ - gamma).norm() / std::max(1.0, gamma.norm());
  if (!(residual < 1e-9)) {
    return "traffic equations: no solution (residual " + std::to_string(residual) + ")";
  }

  // Notes on what the model leaves out.
  if (non_poisson) {
    notes_.push_back("non-Poisson arrival processes are analysed as Poisson at their mean rate");
  }
  if (sc.ingress().cpu_limit_cores() > 0) {
    notes_.push_back("CFS throttling (ingress.cpu_limit_cores) is not modelled");
  }
  if (sc.faults().events_size() > 0) {
    notes_.push_back("faults are not modelled (steady state without them)");
  }
  const bool client_retries =
      std::any_of(sc.workload().clients().begin(), sc.workload().clients().end(),
                  [](const scenario::ClientGroup& g) { return g.retries() > 0; });
  if (client_retries || sc.ingress().retries().attempts() > 0) {
    notes_.push_back("retries are not modelled (no failures in the steady state)");
  }
  if (sc.ingress().outlier_detection().consecutive_failures() > 0) {
    notes_.push_back("passive outlier ejection is not modelled");
  }
  const auto alg = sc.ingress().load_balancing().algorithm();
  if (sc.ingress().upstream_mode() == scenario::IngressController::CLUSTER_IP) {
    notes_.push_back("upstream through the ClusterIP: endpoints taken as an equal random split");
  } else if (alg == scenario::LoadBalancing::CONSISTENT_HASH) {
    notes_.push_back("consistent hashing taken as an equal split over a Service's pods");
  } else if (alg != scenario::LoadBalancing::RANDOM) {
    notes_.push_back(
        "load balancing taken as a random split: pessimistic for round robin, least request, p2c "
        "and ewma");
  }
  return {};
}

AnalyticResult Network::evaluate(double scale) const {
  AnalyticResult out;
  const scenario::Scenario& sc = *sc_;
  const auto& costs = spec_.costs;
  const bool cluster_ip = sc.ingress().upstream_mode() == scenario::IngressController::CLUSTER_IP;
  const uint32_t max_idle = sc.ingress().upstream_pool().max_idle_per_endpoint();
  const double relay_us = costs.relay_per_kib_us() / 1024.0;
  const double record_us = costs.tls_record_per_kib_us() / 1024.0;
  const double client_bw = spec_.client_bandwidth_bytes_per_s;
  for (const Group& g : groups_) {
    out.offered_rps += g.rate * scale;
  }

  // Backend pods: arrivals from the traffic equations.
  std::vector<StationResult> pods(static_cast<size_t>(n_pods_));
  for (int p = 0; p < n_pods_; ++p) {
    const PodSpec& ps = spec_.pods[static_cast<size_t>(p)];
    const ServiceSpec& svc = spec_.services[static_cast<size_t>(ps.service)];
    const scenario::Pod& cfg = svc.config->pod();
    StationResult& st = pods[static_cast<size_t>(p)];
    st.name = ps.name;
    st.kind = StationKind::kPod;
    st.hop = kPod;
    st.pod = p;
    st.node = ps.node;
    QueueSpec q;
    q.lambda = lambda_(pod_node(p)) * scale;
    const MeanVar s = mean_var(*svc.service_time);
    q.service = {s.mean, s.var + s.mean * s.mean};
    q.processor_sharing = cfg.queue_discipline() == scenario::Pod::PROCESSOR_SHARING;
    q.concurrency = std::max<uint32_t>(1, cfg.concurrency());
    q.servers = q.processor_sharing ? cfg.cpu_cores() : q.concurrency;
    q.queue_limit = cfg.queue_limit();
    q.exponential = cfg.service_time().has_exponential();
    solve_queue(q, &st);
  }

  // Mean request size over the traffic (for the in-flight estimate of the upstream pools).
  double req_bytes = 0, req_rate = 0;
  for (const Group& g : groups_) {
    req_bytes += g.rate * g.request_bytes.mean;
    req_rate += g.rate;
  }
  req_bytes /= req_rate;

  // Share of requests from worker station ws to pod p on a new upstream connection.
  Eigen::MatrixXd new_share = Eigen::MatrixXd::Zero(n_ws_, n_pods_);
  auto upstream_time = [&](int ws, int p) {
    const int in = spec_.ingress_pods[static_cast<size_t>(ingress_of(ws))].node;
    const int pn = spec_.pods[static_cast<size_t>(p)].node;
    const double y =
        response_bytes_[static_cast<size_t>(spec_.pods[static_cast<size_t>(p)].service)].mean;
    return 2 * lat_s(in, pn) + (req_bytes + kUpstreamHeaderBytes) / bw(in, pn) +
           (y + kUpstreamHeaderBytes) / bw(pn, in) + pods[static_cast<size_t>(p)].mean_response_s;
  };
  for (int ws = 0; ws < n_ws_; ++ws) {
    if (cluster_ip) {
      // Pooled connections are pinned per Service.
      for (size_t s = 0; s < spec_.services.size(); ++s) {
        double in_flight = 0;
        for (int p : spec_.services[s].pods) {
          in_flight += flow_(ws, p) * scale * upstream_time(ws, p);
        }
        const double share = new_connection_share(in_flight, max_idle);
        for (int p : spec_.services[s].pods) {
          new_share(ws, p) = share;
        }
      }
    } else {
      for (int p = 0; p < n_pods_; ++p) {
        if (flow_(ws, p) <= 0) continue;
        new_share(ws, p) =
            new_connection_share(flow_(ws, p) * scale * upstream_time(ws, p), max_idle);
      }
    }
  }

  // Ingress workers: the mixture of their jobs. Job kinds, per worker station:
  //   TLS full / resumed handshakes on new TLS connections; request jobs per group and TLS or not;
  //   response jobs per group, class, TLS or not, pod, admitted or blocked, new upstream or not.
  struct Mix {
    double rate = 0, s1 = 0, s2 = 0;  // positive-cost jobs: rate, rate-weighted moments
    bool client_driven = false;       // TLS or request jobs cost CPU
    bool pod_driven = false;          // response jobs cost CPU
    void add(double r, const JobCost& c, bool response) {
      if (c.free || r <= 0) return;
      rate += r;
      s1 += r * c.s.m1;
      s2 += r * c.s.m2;
      (response ? pod_driven : client_driven) = true;
    }
  };
  const JobCost tls_full = job_cost(tls_full_us_, 0, {}, exponential_costs_);
  const JobCost tls_resumed = job_cost(tls_resumed_us_, 0, {}, exponential_costs_);
  auto request_cost = [&](const Group& g, bool tls) {
    return job_cost(request_fixed_us_, relay_us + (tls ? record_us : 0), g.request_bytes,
                    exponential_costs_);
  };
  auto response_cost = [&](int service, bool tls, bool blocked, bool fresh) {
    const MeanVar y =
        blocked ? MeanVar{kRejectBytes, 0} : response_bytes_[static_cast<size_t>(service)];
    return job_cost(fresh ? costs.upstream_connect_us() : 0, relay_us + (tls ? record_us : 0), y,
                    exponential_costs_);
  };
  std::vector<StationResult> workers(static_cast<size_t>(n_ws_));
  for (int ws = 0; ws < n_ws_; ++ws) {
    const int i = ingress_of(ws);
    Mix mix;
    mix.add(lambda_(node(ws, kTlsFull)) * scale, tls_full, false);
    mix.add(lambda_(node(ws, kTlsResumed)) * scale, tls_resumed, false);
    for (const Group& g : groups_) {
      const double r = g.rate * scale * g.accepted * g.share[static_cast<size_t>(i)] / workers_;
      if (r <= 0) continue;
      for (int tls = 0; tls < 2; ++tls) {
        const double rt = r * (tls ? g.tls : 1 - g.tls);
        if (rt <= 0) continue;
        mix.add(rt, request_cost(g, tls), false);
        for (size_t c = 0; c < g.class_p.size(); ++c) {
          const int s = g.class_service[c];
          if (s < 0) continue;  // 404 / 503 from the proxy: a response job that costs nothing
          const auto& sp = spec_.services[static_cast<size_t>(s)].pods;
          for (int p : sp) {
            const double rp = rt * g.class_p[c] / static_cast<double>(sp.size());
            const double pb = pods[static_cast<size_t>(p)].blocking_probability;
            const double fn = new_share(ws, p);
            for (int blocked = 0; blocked < 2; ++blocked) {
              const double rb = rp * (blocked ? pb : 1 - pb);
              mix.add(rb * (1 - fn), response_cost(s, tls, blocked, false), true);
              mix.add(rb * fn, response_cost(s, tls, blocked, true), true);
            }
          }
        }
      }
    }
    StationResult& st = workers[static_cast<size_t>(ws)];
    st.name = spec_.ingress_pods[static_cast<size_t>(i)].name + "/worker-" +
              std::to_string(ws % workers_);
    st.kind = StationKind::kIngressWorker;
    st.hop = kIngressProxy;
    st.pod = i;
    st.worker = ws % workers_;
    st.node = spec_.ingress_pods[static_cast<size_t>(i)].node;
    QueueSpec q;
    q.lambda = mix.rate;
    if (mix.rate > 0) q.service = {mix.s1 / mix.rate, mix.s2 / mix.rate};
    q.servers = 1;
    solve_queue(q, &st);
    // Poisson arrivals hold for the client-driven jobs alone (a random thinning of Poisson
    // arrivals); with the pods' output (responses) costing CPU too the worker is approximate.
    if (mix.client_driven && mix.pod_driven) st.exact = false;
  }

  // Per successful request: expected time in each hop, averaged over groups, classes, ingress
  // pods, workers and backend pods.
  auto visit = [](const StationResult& st, const JobCost& c) {
    return c.free ? 0.0 : st.mean_wait_s + c.s.m1;
  };
  std::array<double, kHopCount> hop_sum{};
  double station_sum = 0, fixed_sum = 0, weight_sum = 0;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const Group& g = groups_[gi];
    const GroupSpec& gs = spec_.groups[gi];
    GroupResult gr;
    gr.name = gs.name;
    gr.offered_rps = g.rate * scale;
    std::array<double, kHopCount> ghop{};
    double g_station = 0, g_fixed = 0, g_weight = 0;
    // Client side: the same for every request of the group.
    const double client_way = g.one_way_s - g.lb_s;
    const double req_transfer = g.request_bytes.mean / client_bw;
    for (int i = 0; i < n_ingress_; ++i) {
      const double pi = g.share[static_cast<size_t>(i)];
      if (pi <= 0) continue;
      const int in = spec_.ingress_pods[static_cast<size_t>(i)].node;
      for (int w = 0; w < workers_; ++w) {
        const int ws = worker_station(i, w);
        const StationResult& wst = workers[static_cast<size_t>(ws)];
        for (size_t c = 0; c < g.class_p.size(); ++c) {
          const int s = g.class_service[c];
          if (s < 0 || g.class_p[c] <= 0) continue;
          const auto& sp = spec_.services[static_cast<size_t>(s)].pods;
          const MeanVar& y = response_bytes_[static_cast<size_t>(s)];
          for (int p : sp) {
            const StationResult& pst = pods[static_cast<size_t>(p)];
            const double weight = g.rate * scale * g.accepted * pi / workers_ * g.class_p[c] /
                                  static_cast<double>(sp.size()) * (1 - pst.blocking_probability);
            if (weight <= 0) continue;
            const int pn = spec_.pods[static_cast<size_t>(p)].node;
            const double fn = new_share(ws, p);
            std::array<double, kHopCount> t{};
            t[kClientNetwork] = 2 * client_way + req_transfer + y.mean / client_bw +
                                g.per_connection * 2 * client_way;
            t[kLoadBalancer] = 2 * g.lb_s + g.per_connection * 2 * g.lb_s;
            t[kKubeProxy] = g.per_connection * nat_s_;
            double cpu = 0;  // station time at the worker and the pod
            if (g.tls > 0) {
              const double handshake =
                  g.resumed * visit(wst, tls_resumed) + (1 - g.resumed) * visit(wst, tls_full);
              const double client =
                  g.resumed * tls_client_resumed_s_ + (1 - g.resumed) * tls_client_full_s_;
              t[kIngressTls] = g.tls * g.per_connection * (2 * g.one_way_s + handshake + client);
              cpu += g.tls * g.per_connection * handshake;
            }
            double proxy = 0;
            for (int tls = 0; tls < 2; ++tls) {
              const double pt = tls ? g.tls : 1 - g.tls;
              if (pt <= 0) continue;
              proxy += pt * (visit(wst, request_cost(g, tls)) +
                             (1 - fn) * visit(wst, response_cost(s, tls, false, false)) +
                             fn * visit(wst, response_cost(s, tls, false, true)));
            }
            t[kIngressProxy] = proxy;
            cpu += proxy;
            t[kUpstreamConnect] = fn * (2 * lat_s(in, pn) + (cluster_ip ? nat_s_ : 0));
            t[kPodNetwork] = lat_s(in, pn) +
                             (g.request_bytes.mean + kUpstreamHeaderBytes) / bw(in, pn) +
                             lat_s(pn, in) + (y.mean + kUpstreamHeaderBytes) / bw(pn, in);
            t[kPod] = pst.mean_response_s;
            cpu += pst.mean_response_s;
            for (int h = 0; h < kHopCount; ++h) {
              ghop[static_cast<size_t>(h)] += weight * t[static_cast<size_t>(h)];
            }
            g_station += weight * cpu;
            g_fixed += weight * (t[kClientNetwork] + t[kLoadBalancer] + t[kKubeProxy] +
                                 g.tls * g.per_connection * 2 * g.one_way_s + t[kUpstreamConnect] +
                                 t[kPodNetwork]);
            g_weight += weight;
          }
        }
      }
    }
    double total = 0;
    for (int h = 0; h < kHopCount; ++h) {
      hop_sum[static_cast<size_t>(h)] += ghop[static_cast<size_t>(h)];
      total += ghop[static_cast<size_t>(h)];
    }
    station_sum += g_station;
    fixed_sum += g_fixed;
    weight_sum += g_weight;
    gr.success_ratio = gr.offered_rps > 0 ? g_weight / gr.offered_rps : 0;
    gr.mean_response_s = g_weight > 0 ? total / g_weight : 0;
    out.groups.push_back(std::move(gr));
  }
  out.succeeded_rps = weight_sum;
  for (int h = 0; h < kHopCount; ++h) {
    HopResult& hr = out.hops[static_cast<size_t>(h)];
    hr.hop = static_cast<Hop>(h);
    hr.mean_s = weight_sum > 0 ? hop_sum[static_cast<size_t>(h)] / weight_sum : 0;
    out.mean_response_s += hr.mean_s;
  }
  out.mean_station_s = weight_sum > 0 ? station_sum / weight_sum : 0;
  out.mean_fixed_delay_s = weight_sum > 0 ? fixed_sum / weight_sum : 0;

  // Stations, visit ratios, hop loads, bottleneck.
  out.stations = std::move(workers);
  out.stations.insert(out.stations.end(), pods.begin(), pods.end());
  HopResult& ingress_hop = out.hops[kIngressProxy];
  HopResult& pod_hop = out.hops[kPod];
  ingress_hop.has_servers = pod_hop.has_servers = true;
  double ingress_busy = 0, pod_busy = 0;
  for (size_t k = 0; k < out.stations.size(); ++k) {
    StationResult& st = out.stations[k];
    st.visit_ratio = out.offered_rps > 0 ? st.arrival_rate_per_s / out.offered_rps : 0;
    out.stable = out.stable && st.stable;
    HopResult& hr = out.hops[st.hop];
    hr.stable = hr.stable && st.stable;
    hr.max_offered_load = std::max(hr.max_offered_load, st.offered_load);
    (st.hop == kPod ? pod_busy : ingress_busy) += st.utilization;
    if (out.bottleneck < 0 || st.offered_load > out.max_offered_load) {
      out.bottleneck = static_cast<int>(k);
      out.max_offered_load = st.offered_load;
    }
  }
  const double cores = sc.ingress().cpu_cores();
  const double ingress_capacity =
      n_ingress_ * std::min<double>(workers_, cores > 0 ? cores : workers_);
  ingress_hop.utilization = ingress_capacity > 0 ? ingress_busy / ingress_capacity : 0;
  pod_hop.utilization = n_pods_ > 0 ? pod_busy / n_pods_ : 0;
  out.bottleneck_hop = pod_hop.utilization > ingress_hop.utilization ? kPod : kIngressProxy;
  out.saturation_scale = out.max_offered_load > 0 ? 1 / out.max_offered_load : kInf;
  out.saturation_rps = out.offered_rps * out.saturation_scale;

  int approximate = 0;
  for (const auto& st : out.stations) {
    approximate += st.exact ? 0 : 1;
  }
  out.notes = notes_;
  if (approximate > 0) {
    out.notes.push_back(std::to_string(approximate) +
                        " station(s) use an approximation (StationResult::exact is false)");
  }
  return out;
}

AnalyticResult Network::analyze(const AnalyzeOptions& options) const {
  AnalyticResult out = evaluate(options.rate_scale);
  if (!options.refine_saturation || !(out.max_offered_load > 0)) return out;
  // Fixed point: scale until the bottleneck's offered load is 1 (the job mix moves a little
  // with the load through the upstream-connection share).
  double s = out.saturation_scale;
  for (int it = 0; it < 50; ++it) {
    const AnalyticResult at = evaluate(options.rate_scale * s);
    if (!(at.max_offered_load > 0)) break;
    const double next = s / at.max_offered_load;
    if (std::abs(next - s) <= 1e-13 * s) {
      s = next;
      break;
    }
    s = next;
  }
  out.saturation_scale = s;
  out.saturation_rps = out.offered_rps * s;
  return out;
}

}  // namespace

const char* formula_name(StationFormula formula) {
  switch (formula) {
    case StationFormula::kIdle:
      return "idle";
    case StationFormula::kAllenCunneen:
      return "M/G/c (Allen-Cunneen; P-K for c = 1, Erlang C for exponential)";
    case StationFormula::kFiniteBirthDeath:
      return "M/M/c/K";
    case StationFormula::kProcessorSharing:
      return "processor sharing (symmetric queue)";
  }
  return "?";
}

AnalyticResult analyze(const ChainSpec& spec, const AnalyzeOptions& options) {
  Network network(spec);
  if (std::string e = network.build(); !e.empty()) {
    AnalyticResult out;
    out.error = e;
    return out;
  }
  return network.analyze(options);
}

AnalyticResult analyze(const scenario::Scenario& scenario, const std::string& base_dir,
                       const AnalyzeOptions& options) {
  AnalyticResult out;
  ChainSpec spec;
  if (std::string e = prepare_chain_spec(scenario, base_dir, &spec); !e.empty()) {
    out.error = e;
    return out;
  }
  return analyze(spec, options);
}

}  // namespace ingresslab::models
