// The ingress chain as an open queueing network, solved in closed form (Eigen). Used by
// `ingresslab plan` to prune candidate configurations before simulating them, and by tests as an
// independent check of the simulator.
//
//   AnalyticResult r = analyze(spec);             // or analyze(scenario, base_dir)
//   if (!r.ok()) fail(r.error);
//   r.mean_response_s, r.stations[r.bottleneck], r.saturation_rps
//
// The network (same topology and costs as models/chain.cc; docs/models.md):
//   stations   one per ingress worker (a single FIFO server: connections are pinned to a worker)
//              and one per backend pod (FIFO with `concurrency` servers, or processor sharing).
//   nodes      the routing graph works on visit types: per worker a TLS-full, a TLS-resumed, a
//              request and a response node (the four kinds of CPU job of chain.cc; the response
//              relay is a SECOND VISIT to the same worker station with its own service time, not
//              folded into the request visit), per pod one node.
//   traffic    external arrivals gamma per node from the open-loop client groups' mean rates x
//              request-class mix x the ingress pod split (entry nodes uniform, as DNS round robin
//              or the cloud LB spread them; kube-proxy's choice uniform over the candidate
//              ingress pods, honouring externalTrafficPolicy Local and hostNetwork) x 1/workers
//              (a connection is accepted by a uniformly random worker); routing P: TLS -> request
//              (prob. 1), request -> pod (the Service's pods share its traffic equally), request ->
//              response (404 / 503 without a backend), pod -> response (back to the worker that
//              sent it). lambda = gamma + P^T lambda is solved with Eigen's PartialPivLU
//              (SparseLU beyond 512 nodes).
//   per station
//     FIFO, unbounded: Allen-Cunneen W = C(c, a) / (c mu - lambda) * (1 + SCV_s) / 2 with Poisson
//       arrivals (SCV_a = 1), C(c, a) the Erlang C probability of waiting (computed through the
//       Erlang B recursion, stable for large c). Exact for c = 1, where it is the
//       Pollaczek-Khinchine mean (M/G/1; Kleinrock, "Queueing Systems" vol. 1, 1975, ch. 5), and
//       for exponential service, where it is Erlang C (M/M/c); an approximation for c > 1
//       otherwise (Allen, "Probability, Statistics, and Queueing Theory", 2nd ed., 1990).
//     FIFO with queue_limit L: M/M/c/K with K = c + L (blocking probability pi_K, admitted
//       sojourn by Little's law; Gross & Harris, "Fundamentals of Queueing Theory"). Exact for
//       exponential service, an approximation otherwise.
//     Processor sharing (each of n jobs runs at min(1, cores / n) of a core, up to `concurrency`
//       jobs share): the total service rate is min(n, s) with s = min(cores, concurrency); the
//       number in system is that birth-death chain's. With unbounded sharing this is a
//       symmetric queue (Kelly, "Reversibility and Stochastic Networks", 1979), insensitive
//       to the service distribution: for one core E[T] = E[S] / (1 - rho) (M/G/1-PS), for
//       s > 1 the M/M/s number-in-system law. Exact when the chance of more than `concurrency`
//       jobs is negligible (< 1e-9) or service is exponential; otherwise (limited PS) an
//       approximation. concurrency <= cores is FIFO with `concurrency` servers and is treated
//       as such.
//   ingress worker service time: the mixture of its job kinds, with mean and second moment
//     computed exactly from the rates of each kind: request jobs (request_base + route + relay
//     (+ TLS record) per KiB of request body), response jobs (relay (+ TLS record) per KiB of
//     response, + upstream_connect when a new upstream connection was opened), TLS jobs on new
//     connections (accept + full handshake by key type, or resumed), each at its share. Cost
//     variability EXPONENTIAL doubles each job's second moment (E[S^2] = 2 E[figure^2]). Jobs
//     that cost exactly nothing bypass the CPU queue (as in chain.cc) and count as no visit.
//     Arrivals at a worker are treated as Poisson: exact for the request stream when every request
//     picks its ingress pod and worker afresh (a random thinning of Poisson arrivals); the
//     response stream is the pods' output, so with CPU cost on both jobs the worker is an
//     approximation (not product form; within 0.1% in tests/models/analytic_test.cc). With
//     keep-alive the choice is per connection and the simulator gives a request the most
//     recently freed idle connection: within one run the split over ingress pods follows a few
//     busy connections (the model's equal split is its mean over runs), and worker waits come out
//     a few percent shorter than with Poisson arrivals.
//   fixed delays per request (network, TLS round trips, kube-proxy NAT on a new connection,
//     upstream connect): as chain.cc charges them, averaged over the placements (entry node,
//     ingress pod, backend pod) with the probabilities above; connection set-up amortised over
//     requests_per_connection.
//   end-to-end mean: over SUCCESSFUL requests (as the simulator's end_to_end), i.e. routed to a
//     Service with pods, not refused at the entry and not blocked by a full pod queue. When every
//     request succeeds it equals sum over stations of visit ratio x mean response time + the mean
//     fixed delays.
//   saturation: the bottleneck is the station with the largest offered load rho = lambda E[S] / c
//     (servers c; cores for PS); the offered rate can be scaled by 1 / rho_max before it reaches
//     rho = 1. Computed by a fixed-point iteration of the whole analysis (the upstream-connection
//     share depends weakly on the load).
//
// Not modelled (listed in AnalyticResult::notes when the scenario uses them): closed-loop
// workloads (an error: not an open network), arrival processes other than Poisson (their mean
// rate is used), CFS throttling (cpu_limit_cores), faults, retries, passive outlier ejection.
// Client timeouts are ignored (not noted: every scenario has one, and a stable network rarely
// reaches it). Load balancing is treated as a Bernoulli split, equal over a Service's pods:
// exact for RANDOM; ROUND_ROBIN, LEAST_REQUEST, P2C and EWMA smooth arrivals or balance queues,
// so the model is pessimistic for them; CONSISTENT_HASH is taken as equal too (the simulator
// hashes per connection and class, which spreads evenly over many connections). The share of
// requests that open a new upstream connection (pool `max_idle_per_endpoint` m > 0) is a
// heuristic: P(N - N' >= m) with N, N' independent Poisson of the mean in-flight count to that
// endpoint (Skellam; normal approximation beyond a mean of 50); 1 for m = 0.
//
// Thread-safety: analyze() is a pure function of its arguments.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "models/chain.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::models {

enum class StationKind : uint8_t { kIngressWorker, kPod };

// How a station's waiting time was computed.
enum class StationFormula : uint8_t {
  kIdle,              // no job reaches it
  kAllenCunneen,      // FIFO unbounded: P-K (c = 1), Erlang C (exponential), Allen-Cunneen
  kFiniteBirthDeath,  // FIFO with a queue limit: M/M/c/K
  kProcessorSharing,  // PS: birth-death with service rate min(n, s)
};
const char* formula_name(StationFormula formula);

struct StationResult {
  std::string name;  // "<ingress pod>/worker-<w>" or the backend pod's name
  StationKind kind = StationKind::kIngressWorker;
  Hop hop = kIngressProxy;  // kIngressProxy (workers, TLS jobs included) or kPod
  int pod = -1;             // index into ChainSpec::ingress_pods or ChainSpec::pods
  int worker = -1;          // worker index within the ingress pod (workers only)
  int node = -1;            // index into ChainSpec::nodes
  StationFormula formula = StationFormula::kIdle;
  // Jobs per second reaching the server (all visits; jobs that cost nothing excluded).
  double arrival_rate_per_s = 0;
  // Jobs per second admitted (arrival rate x (1 - blocking probability)).
  double throughput_per_s = 0;
  // Visits per offered request: arrival_rate_per_s / AnalyticResult::offered_rps.
  double visit_ratio = 0;
  double mean_service_s = 0;  // E[S] of one job, on one server
  double service_scv = 0;     // Var[S] / E[S]^2
  double servers = 1;         // c: FIFO servers, or PS capacity min(cores, concurrency)
  // lambda E[S] / c before blocking: >= 1 means unstable (or, with a queue limit, overloaded).
  double offered_load = 0;
  // Long-run busy share as the simulator measures it (FIFO: admitted lambda E[S] / c; PS: the
  // probability that the pod is not empty); 1 when unstable.
  double utilization = 0;
  double blocking_probability = 0;  // queue_limit only
  // Mean time waiting before service (PS: the mean sojourn minus E[S], the slowdown), and mean
  // sojourn of an admitted job. +inf when unstable.
  double mean_wait_s = 0;
  double mean_response_s = 0;
  bool stable = true;
  // False when a formula above is an approximation for this station (see the header comment).
  bool exact = true;
};

struct HopResult {
  Hop hop = kClientNetwork;
  // Expected time in the hop per successful request (connection set-up amortised; a request
  // that does not pass the hop counts 0), so the hops sum to the end-to-end mean.
  double mean_s = 0;
  // CPU hops only (ingress_proxy: the workers, TLS work included; pod): busy share of the hop's
  // servers as the simulator reports it (ingress: sum of worker busy time over
  // sum of min(workers, cpu_cores) per ingress pod; pods: mean over pods) and the largest offered
  // load of one of its stations.
  bool has_servers = false;
  double utilization = 0;
  double max_offered_load = 0;
  bool stable = true;
};

struct GroupResult {
  std::string name;
  double offered_rps = 0;
  double success_ratio = 0;  // share of its requests that succeed
  double mean_response_s = 0;
};

struct AnalyticResult {
  std::string error;  // non-empty: the scenario cannot be analysed (says why); nothing else set
  bool ok() const { return error.empty(); }

  std::vector<StationResult> stations;  // workers first (by ingress pod, then worker), then pods
  std::array<HopResult, kHopCount> hops{};
  std::vector<GroupResult> groups;

  double offered_rps = 0;    // requests/s sent by all client groups (x AnalyzeOptions::rate_scale)
  double succeeded_rps = 0;  // requests/s that succeed
  double mean_response_s = 0;     // end-to-end mean over successful requests; +inf if unstable
  double mean_station_s = 0;      // of which: time at the stations (queueing + service)
  double mean_fixed_delay_s = 0;  // of which: network, TLS round trips, NAT, upstream connect
  bool stable = true;             // every station stable
  int bottleneck = -1;            // index into stations: the largest offered load
  Hop bottleneck_hop = kPod;      // the CPU hop with the highest utilisation (as the simulator
                                  // marks its bottleneck hop)
  double max_offered_load = 0;    // rho_max
  // Multiplier of the analysed load (offered_rps) at which rho_max reaches 1 (+inf: no load),
  // and the offered rate there.
  double saturation_scale = 0;
  double saturation_rps = 0;
  std::vector<std::string> notes;  // approximations and features left out, in words
};

struct AnalyzeOptions {
  // Multiplies every client group's rate (what-if load, as `sweep`/`plan` vary it).
  double rate_scale = 1.0;
  // Compute saturation_scale by the fixed-point iteration (off: 1 / rho_max at this load).
  bool refine_saturation = true;
};

// Analyses `spec` (built by build_chain_spec). Returns an error for what the model cannot
// express: closed-loop client groups, no traffic.
AnalyticResult analyze(const ChainSpec& spec, const AnalyzeOptions& options = {});

// The same from a resolved scenario (scenarios/loader.h): loads its cost profile
// (load_cost_profile) and builds the spec; `base_dir` resolves relative paths.
AnalyticResult analyze(const scenario::Scenario& scenario, const std::string& base_dir,
                       const AnalyzeOptions& options = {});

}  // namespace ingresslab::models
