// The analytic model (models/analytic.h) against closed forms and against the simulator.
//   1. The theory scenarios are exact cases: the analytic mean equals the closed form to 1e-6.
//   2. scenarios/theory/analytic-check.yaml, an open network of 4 ingress workers and 6 pods of
//      three Services: utilisations within 2% absolute and the end-to-end mean within 5% of the
//      simulated value; the fixed delays (network, LB, NAT, TLS round trips, upstream connects)
//      term by term at low load on a richer topology.
//   3. Saturation: 0.99 x the predicted saturation keeps every station stable, 1.01 x makes the
//      bottleneck unstable; the bottleneck is the simulator's.
#include "models/analytic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "models/simulate.h"
#include "scenarios/loader.h"

namespace ingresslab::models {
namespace {

using Sets = std::vector<std::pair<std::string, std::string>>;

struct Loaded {
  scenario::Scenario scenario;
  std::string base_dir;
};

Loaded load_theory(const std::string& name, const std::string& variant = "",
                   const Sets& sets = {}) {
  const std::string path = std::string(INGRESSLAB_SOURCE_DIR) + "/scenarios/theory/" + name;
  const auto loaded = scenarios::load_scenario_file(path);
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  const auto resolved = scenarios::resolve_scenario(loaded, variant, sets);
  EXPECT_TRUE(resolved.ok()) << resolved.diagnostics.to_string();
  return {resolved.scenario, loaded.base_dir};
}

Loaded load_text(const char* text, const Sets& sets = {}) {
  const auto loaded =
      scenarios::load_scenario_text(text, scenarios::Format::kYaml, "inline.yaml", ".");
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  const auto resolved = scenarios::resolve_scenario(loaded, "", sets);
  EXPECT_TRUE(resolved.ok()) << resolved.diagnostics.to_string();
  return {resolved.scenario, loaded.base_dir};
}

AnalyticResult analyze_ok(const Loaded& l, const AnalyzeOptions& options = {}) {
  AnalyticResult r = analyze(l.scenario, l.base_dir, options);
  EXPECT_TRUE(r.ok()) << r.error;
  return r;
}

result::RunResult simulate_ok(const Loaded& l) {
  SimulateOptions options;
  options.threads = 4;
  const SimulateOutput out = simulate(l.scenario, l.base_dir, options);
  EXPECT_TRUE(out.ok()) << out.error;
  return out.result;
}

const StationResult* station(const AnalyticResult& r, const std::string& name) {
  for (const auto& st : r.stations) {
    if (st.name == name) return &st;
  }
  ADD_FAILURE() << "no station " << name;
  return nullptr;
}

const result::Hop* sim_hop(const result::RunResult& r, const std::string& name) {
  for (const auto& h : r.hops()) {
    if (h.name() == name) return &h;
  }
  return nullptr;
}

double erlang_c(int c, double a) {
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < c; ++k) {
    sum += (term *= a / k);
  }
  const double top = term * a / c / (1.0 - a / c);
  return top / (sum + top);
}

// Pollaczek-Khinchine mean sojourn of M/G/1: E[S] + lambda E[S^2] / (2 (1 - rho)).
double pk(double lambda, double es, double es2) {
  return es + lambda * es2 / (2 * (1 - lambda * es));
}

void expect_exact(const AnalyticResult& r, double theory_s, const char* what) {
  EXPECT_NEAR(r.mean_response_s, theory_s, 1e-6 * theory_s) << what;
  EXPECT_TRUE(r.stable) << what;
  for (const auto& st : r.stations) {
    EXPECT_TRUE(st.exact) << what << ": " << st.name;
  }
}

// --- 1. Closed forms -----------------------------------------------------------------------

TEST(AnalyticTheory, MM1) {
  expect_exact(analyze_ok(load_theory("mm1.yaml")), 1.0 / (1000 - 800), "M/M/1");
}

TEST(AnalyticTheory, MMcErlangC) {
  const double lambda = 3200, mu = 1000;
  const double theory = erlang_c(4, lambda / mu) / (4 * mu - lambda) + 1 / mu;
  const AnalyticResult r = analyze_ok(load_theory("mmc.yaml"));
  expect_exact(r, theory, "M/M/4");
  EXPECT_NEAR(r.stations[r.bottleneck].offered_load, 0.8, 1e-12);
}

TEST(AnalyticTheory, MD1PollaczekKhinchine) {
  expect_exact(analyze_ok(load_theory("md1.yaml")), pk(800, 1e-3, 1e-6), "M/D/1");
}

TEST(AnalyticTheory, MG1UniformServicePollaczekKhinchine) {
  expect_exact(analyze_ok(load_theory("mg1.yaml")), pk(800, 1e-3, 4.0 / 3.0 * 1e-6), "M/G/1");
}

TEST(AnalyticTheory, ProcessorSharingIsInsensitive) {
  // M/D/1-PS: S / (1 - rho), not the FIFO M/D/1 value.
  expect_exact(analyze_ok(load_theory("ps.yaml")), 1e-3 / (1 - 0.8), "M/D/1-PS");
}

TEST(AnalyticTheory, TandemJacksonNetwork) {
  const AnalyticResult r = analyze_ok(load_theory("tandem.yaml"));
  expect_exact(r, 1.0 / (2000 - 800) + 1.0 / (1000 - 800), "tandem");
  EXPECT_NEAR(r.hops[kIngressProxy].utilization, 0.4, 1e-12);
  EXPECT_NEAR(r.hops[kPod].utilization, 0.8, 1e-12);
  // The pod is the bottleneck: saturation at 1000/s.
  EXPECT_EQ(r.stations[r.bottleneck].kind, StationKind::kPod);
  EXPECT_NEAR(r.saturation_rps, 1000, 1e-9);
}

TEST(AnalyticTheory, MM1KBlockingAndAdmittedSojourn) {
  const AnalyticResult r = analyze_ok(load_theory("mm1k.yaml"));
  const double rho = 0.9;
  const int k = 5;
  const double p_block = (1 - rho) * std::pow(rho, k) / (1 - std::pow(rho, k + 1));
  const double l = rho / (1 - rho) - (k + 1) * std::pow(rho, k + 1) / (1 - std::pow(rho, k + 1));
  const double w = l / (900 * (1 - p_block));
  expect_exact(r, w, "M/M/1/K");
  const StationResult& pod = r.stations[r.bottleneck];
  EXPECT_NEAR(pod.blocking_probability, p_block, 1e-12);
  EXPECT_NEAR(r.succeeded_rps, 900 * (1 - p_block), 1e-9);
}

TEST(AnalyticTheory, MultiCoreProcessorSharingIsMMcInsensitive) {
  // Unbounded sharing on 2 cores is a symmetric queue: the M/M/2 law for any service time.
  const Loaded l = load_theory("ps.yaml", "",
                               {{"services[backend].pod.cpu_cores", "2"},
                                {"workload.clients[poisson].open_loop.rate", "1600/s"}});
  const double theory = 1e-3 + erlang_c(2, 1.6) / (2000 - 1600);
  expect_exact(analyze_ok(l), theory, "M/D/2-PS");
}

// --- Model properties ----------------------------------------------------------------------

TEST(AnalyticModel, TrafficEquationsAndVisitRatios) {
  const AnalyticResult r = analyze_ok(load_theory("analytic-check.yaml"));
  ASSERT_EQ(r.stations.size(), 4u + 6u);
  EXPECT_DOUBLE_EQ(r.offered_rps, 2000);
  EXPECT_NEAR(r.succeeded_rps, 0.95 * 2000, 1e-9);  // 5% match no rule
  // Each worker: a request job per request, a response job per routed request.
  for (int w = 0; w < 4; ++w) {
    EXPECT_NEAR(r.stations[static_cast<size_t>(w)].arrival_rate_per_s, 500 * (1 + 0.95), 1e-9);
    EXPECT_NEAR(r.stations[static_cast<size_t>(w)].visit_ratio, 1.95 / 4, 1e-12);
  }
  EXPECT_NEAR(station(r, "web-0")->arrival_rate_per_s, 2000 * 0.45 / 3, 1e-9);
  EXPECT_NEAR(station(r, "api-1")->arrival_rate_per_s, 2000 * 0.25 / 2, 1e-9);
  EXPECT_NEAR(station(r, "img-0")->arrival_rate_per_s, 2000 * 0.25, 1e-9);
  // Worker service time: a mixture of request jobs (300 us + 25 us/KiB x exp(2 KiB)) and
  // response jobs (25 us/KiB x 4 KiB, exp(2 KiB), 16 KiB), every job cost exponential.
  const double req1 = 350e-6, req2 = 2 * (req1 * req1 + 50e-6 * 50e-6);
  const double web = 100e-6, api = 50e-6, img = 400e-6;
  const double resp1 = (0.45 * web + 0.25 * api + 0.25 * img) / 0.95;
  const double resp2 =
      (0.45 * 2 * web * web + 0.25 * 2 * (2 * api * api) + 0.25 * 2 * img * img) / 0.95;
  const double es = (req1 + 0.95 * resp1) / 1.95, es2 = (req2 + 0.95 * resp2) / 1.95;
  const StationResult& w0 = r.stations[0];
  EXPECT_NEAR(w0.mean_service_s, es, 1e-15);
  EXPECT_NEAR(w0.service_scv, es2 / (es * es) - 1, 1e-9);
  EXPECT_NEAR(w0.mean_response_s, pk(975, es, es2), 1e-12);
  EXPECT_FALSE(w0.exact);  // request and response streams share the worker
  // End to end = sum of visit ratio x response time (+ no fixed delays here), per successful
  // request; the 404s spend one request-job visit (wait + request job).
  double all = 0;
  for (const auto& st : r.stations) {
    all += st.visit_ratio * st.mean_response_s;
  }
  const double not_found = 0.05 * (w0.mean_wait_s + req1);
  EXPECT_NEAR(r.mean_response_s, (all - not_found) / 0.95, 1e-12);
  EXPECT_NEAR(r.mean_fixed_delay_s, 0, 1e-9);
}

TEST(AnalyticModel, TlsHandshakesAreJobsOnNewConnections) {
  // The default profile (deterministic costs); half the connections use TLS, half of those
  // resume; 4 requests per connection; empty bodies and pooled upstream connections, so the
  // response job costs nothing. Per request at a worker: a request job, and with probability
  // 0.5 / 4 a handshake (accept + full ECDSA, or accept + resumed, each half the time).
  const Loaded l =
      load_theory("tandem.yaml", "",
                  {{"ingress.cost_profile", ""},
                   {"workload.clients[poisson].tls.share", "50%"},
                   {"workload.clients[poisson].tls.resumption_ratio", "50%"},
                   {"workload.clients[poisson].connections.requests_per_connection", "4"},
                   {"workload.clients[poisson].open_loop.rate", "100/s"}});
  profile::CostProfile costs;
  std::string error;
  ASSERT_TRUE(load_cost_profile(l.scenario, l.base_dir, &costs, &error)) << error;
  ASSERT_EQ(costs.variability(), profile::CostProfile::DETERMINISTIC);
  const AnalyticResult r = analyze_ok(l);
  const StationResult& w = r.stations[0];
  const double lambda = 100;
  // One Ingress rule: log2(1 + 1) = 1.
  const double req =
      (costs.request_base_us() + costs.route_base_us() + costs.route_per_log2_rules_us()) * 1e-6;
  const double resp = 0;
  const double full = (costs.accept_us() + costs.tls_full_ecdsa_p256_us()) * 1e-6;
  const double resumed = (costs.accept_us() + costs.tls_resumed_us()) * 1e-6;
  const double share = 0.5 / 4;
  const double rate = lambda * (1 + share);
  const double es = (lambda * req + lambda * share * 0.5 * (full + resumed)) / rate;
  const double es2 =
      (lambda * req * req + lambda * share * 0.5 * (full * full + resumed * resumed)) / rate;
  EXPECT_NEAR(w.arrival_rate_per_s, rate, 1e-9);
  EXPECT_NEAR(w.mean_service_s, es, 1e-15);
  EXPECT_NEAR(w.service_scv, es2 / (es * es) - 1, 1e-9);
  const double wait = rate * es2 / (2 * (1 - rate * es));
  EXPECT_NEAR(w.mean_wait_s, wait, 1e-15);
  // The handshake hop: a share of requests pays the handshake's wait + service (zero latency).
  EXPECT_NEAR(r.hops[kIngressTls].mean_s, share * (wait + 0.5 * (full + resumed)), 1e-15);
  EXPECT_NEAR(r.hops[kIngressProxy].mean_s, wait + req + resp, 1e-15);
}

TEST(AnalyticModel, LargeNetworksUseTheSparseSolver) {
  // 600 web pods: more routing nodes than the dense LU takes; the same answer.
  const Loaded l = load_theory(
      "analytic-check.yaml", "",
      {{"services[web].deployment.replicas", "600"}, {"services[web].pod.cpu_cores", "0.1"}});
  const AnalyticResult r = analyze_ok(l);
  ASSERT_EQ(r.stations.size(), 4u + 603u);
  EXPECT_NEAR(station(r, "web-599")->arrival_rate_per_s, 900.0 / 600, 1e-9);
  EXPECT_NEAR(station(r, "img-0")->arrival_rate_per_s, 500, 1e-9);
  EXPECT_NEAR(r.stations[0].arrival_rate_per_s, 975, 1e-9);
  EXPECT_EQ(r.stations[static_cast<size_t>(r.bottleneck)].name, "img-0");
}

TEST(AnalyticModel, UnstableStationsAreInfiniteNeverNaN) {
  AnalyzeOptions twice;
  twice.rate_scale = 2;
  const AnalyticResult r = analyze_ok(load_theory("analytic-check.yaml"), twice);
  EXPECT_FALSE(r.stable);
  EXPECT_TRUE(std::isinf(r.mean_response_s));
  EXPECT_FALSE(std::isnan(r.mean_fixed_delay_s));
  int unstable = 0;
  for (const auto& st : r.stations) {
    EXPECT_FALSE(std::isnan(st.mean_response_s) || std::isnan(st.mean_wait_s)) << st.name;
    if (!st.stable) {
      ++unstable;
      EXPECT_TRUE(std::isinf(st.mean_response_s)) << st.name;
      EXPECT_EQ(st.utilization, 1.0) << st.name;
    }
  }
  EXPECT_EQ(unstable, 4);  // web x 3 at rho 1.2, img at 1.5; api at 0.75 and workers hold
  for (const auto& h : r.hops) {
    EXPECT_FALSE(std::isnan(h.mean_s)) << hop_name(h.hop);
  }
  for (const auto& g : r.groups) {
    EXPECT_TRUE(std::isinf(g.mean_response_s));
  }
}

TEST(AnalyticModel, ClosedLoopIsNotAnOpenNetwork) {
  const AnalyticResult r = analyze(
      load_theory("mm1.yaml", "", {{"workload.clients[poisson].closed_loop.users", "10"}}).scenario,
      std::string(INGRESSLAB_SOURCE_DIR) + "/scenarios/theory");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("closed-loop"), std::string::npos) << r.error;
}

// --- 2. Against the simulator --------------------------------------------------------------

const result::RunResult& analytic_check_simulated() {
  static const result::RunResult r = simulate_ok(load_theory("analytic-check.yaml"));
  return r;
}

TEST(AnalyticVsSimulator, OpenNetworkUtilisationAndEndToEnd) {
  const AnalyticResult a = analyze_ok(load_theory("analytic-check.yaml"));
  const result::RunResult& sim = analytic_check_simulated();
  // Per station: backend pods directly; an ingress pod's utilisation is its workers' mean.
  for (const auto& comp : sim.components()) {
    double expected = 0;
    if (comp.kind() == "pod") {
      expected = station(a, comp.name())->utilization;
    } else {
      for (const auto& st : a.stations) {
        if (st.kind == StationKind::kIngressWorker && st.name.rfind(comp.name() + "/", 0) == 0) {
          expected += st.utilization / 2;
        }
      }
    }
    EXPECT_NEAR(comp.utilization(), expected, 0.02) << comp.name();
  }
  for (const char* hop : {"ingress_proxy", "pod"}) {
    const result::Hop* h = sim_hop(sim, hop);
    ASSERT_NE(h, nullptr) << hop;
    const HopResult& ah = std::string(hop) == "pod" ? a.hops[kPod] : a.hops[kIngressProxy];
    EXPECT_NEAR(h->utilization(), ah.utilization, 0.02) << hop;
    // Every successful request passes both hops: the hop means compare directly.
    EXPECT_NEAR(h->latency_ms().mean(), ah.mean_s * 1e3, 0.05 * ah.mean_s * 1e3) << hop;
  }
  const auto& e2e = sim.end_to_end().latency_ms();
  const double analytic_ms = a.mean_response_s * 1e3;
  EXPECT_NEAR(e2e.mean(), analytic_ms, 0.05 * e2e.mean());
  // The 95% CI covers the analytic mean, or misses it by less than 1%.
  EXPECT_GE(analytic_ms, e2e.ci95_mean().lower() - 0.01 * e2e.mean());
  EXPECT_LE(analytic_ms, e2e.ci95_mean().upper() + 0.01 * e2e.mean());
  EXPECT_NEAR(sim.end_to_end().success_ratio(), a.succeeded_rps / a.offered_rps, 0.005);
}

TEST(AnalyticVsSimulator, KeepAliveConnections) {
  // With keep-alive a request takes the most recently freed idle connection, so the split over
  // ingress pods follows a few busy connections (uneven within one run; the analytic equal split
  // is its mean over runs) and is not compared per pod. What holds: the ingress hop's total load,
  // the backend pods (the LB split is per request), the end-to-end mean.
  const Loaded l = load_theory("analytic-check.yaml", "keep-alive");
  const AnalyticResult a = analyze_ok(l);
  const result::RunResult sim = simulate_ok(l);
  for (const auto& comp : sim.components()) {
    if (comp.kind() == "pod") {
      EXPECT_NEAR(comp.utilization(), station(a, comp.name())->utilization, 0.02) << comp.name();
    }
  }
  EXPECT_NEAR(sim_hop(sim, "ingress_proxy")->utilization(), a.hops[kIngressProxy].utilization,
              0.02);
  EXPECT_NEAR(sim_hop(sim, "pod")->utilization(), a.hops[kPod].utilization, 0.02);
  const double mean_ms = sim.end_to_end().latency_ms().mean();
  EXPECT_NEAR(mean_ms, a.mean_response_s * 1e3, 0.05 * mean_ms);
}

// Three ingress pods behind a cloud LB over two zones, TLS (full and resumed), iptables NAT,
// a new upstream connection per request, bandwidth-limited links, two Services, light load:
// the fixed delays dominate and must add up as the simulator charges them.
constexpr const char* kFixedDelays = R"(
name: fixed-delays
cluster:
  zones: [{name: a}, {name: b}]
  nodes: [{name: a, zone: a, count: 2, cores: 8}, {name: b, zone: b, count: 2, cores: 8}]
  network:
    same_node_latency: 20us
    same_zone_latency: 150us
    cross_zone_latency: 1ms
    client_latency: 2ms
    node_bandwidth: 1Gbps
  kube_proxy: {mode: iptables, other_services: 2000}
entry: {kind: load_balancer, load_balancer: {latency: 300us}}
ingress:
  replicas: 3
  cpu_cores: 2
  workers: 2
  upstream_pool: {max_idle_per_endpoint: 0}
  load_balancing: {algorithm: random}
routing:
  ingresses:
    - metadata: {name: shop}
      spec:
        rules:
          - host: shop.example.com
            http:
              paths:
                - {path: /web, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
                - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
services:
  - name: web
    ports: [{port: 80}]
    deployment: {replicas: 3}
    pod: {concurrency: 64, service_time: constant 1ms, response_size: 64KiB}
  - name: api
    ports: [{port: 80}]
    deployment: {replicas: 2}
    pod: {concurrency: 64, service_time: {uniform: {min: 1ms, max: 3ms}}, response_size: 1KiB}
workload:
  clients:
    - name: users
      open_loop: {rate: 200/s}
      mix:
        - {host: shop.example.com, path: /web/a, weight: 3}
        - {host: shop.example.com, path: /api/b, weight: 1}
      request_size: 4KiB
      connections: {requests_per_connection: 4}
      tls: {share: 50%, resumption_ratio: 50%}
run: {duration: 30s, replications: 2, seed: 11, warmup: {fixed: 1s}}
)";

TEST(AnalyticVsSimulator, FixedDelaysAddUpAsTheSimulatorChargesThem) {
  const Loaded l = load_text(kFixedDelays);
  const AnalyticResult a = analyze_ok(l);
  const result::RunResult sim = simulate_ok(l);
  ASSERT_GT(a.mean_fixed_delay_s, 0.5 * a.mean_response_s);  // delays dominate, by design
  const double succeeded = static_cast<double>(sim.end_to_end().succeeded());
  for (int h = 0; h < kHopCount; ++h) {
    const HopResult& ah = a.hops[static_cast<size_t>(h)];
    const result::Hop* sh = sim_hop(sim, hop_name(static_cast<Hop>(h)));
    // The simulator's hop mean is over the requests that passed it; amortise it.
    const double sim_ms =
        sh ? sh->latency_ms().mean() * static_cast<double>(sh->requests()) / succeeded : 0;
    // 2% of the hop, or 3 us for hops that are nearly zero; the simulator's histogram
    // resolution is ~1%.
    EXPECT_NEAR(sim_ms, ah.mean_s * 1e3, std::max(0.02 * ah.mean_s * 1e3, 0.003))
        << hop_name(static_cast<Hop>(h));
  }
  const double mean_ms = sim.end_to_end().latency_ms().mean();
  EXPECT_NEAR(mean_ms, a.mean_response_s * 1e3, 0.02 * mean_ms);
}

// --- 3. Saturation -------------------------------------------------------------------------

TEST(AnalyticSaturation, BottleneckReachesRhoOneAtTheSaturationRate) {
  const Loaded l = load_theory("analytic-check.yaml");
  const AnalyticResult a = analyze_ok(l);
  ASSERT_GE(a.bottleneck, 0);
  const StationResult& b = a.stations[static_cast<size_t>(a.bottleneck)];
  EXPECT_EQ(b.name, "img-0");
  EXPECT_NEAR(a.saturation_scale, 1 / 0.75, 1e-9);
  EXPECT_NEAR(a.saturation_rps, 2000 / 0.75, 1e-6);

  AnalyzeOptions below, above;
  below.rate_scale = 0.99 * a.saturation_scale;
  above.rate_scale = 1.01 * a.saturation_scale;
  const AnalyticResult lo = analyze_ok(l, below);
  const AnalyticResult hi = analyze_ok(l, above);
  EXPECT_TRUE(lo.stable);
  for (const auto& st : lo.stations) {
    EXPECT_TRUE(st.stable && std::isfinite(st.mean_response_s)) << st.name;
  }
  EXPECT_TRUE(std::isfinite(lo.mean_response_s));
  EXPECT_FALSE(hi.stable);
  EXPECT_FALSE(hi.stations[static_cast<size_t>(a.bottleneck)].stable);
  EXPECT_NEAR(hi.stations[static_cast<size_t>(a.bottleneck)].offered_load, 1.01, 1e-9);
  // Only the bottleneck tips over.
  for (size_t k = 0; k < hi.stations.size(); ++k) {
    if (static_cast<int>(k) != a.bottleneck) {
      EXPECT_TRUE(hi.stations[k].stable) << hi.stations[k].name;
    }
  }

  // The simulator agrees on the bottleneck: its busiest component and its bottleneck hop.
  const result::RunResult& sim = analytic_check_simulated();
  const result::Component* busiest = nullptr;
  for (const auto& c : sim.components()) {
    if (busiest == nullptr || c.utilization() > busiest->utilization()) busiest = &c;
  }
  ASSERT_NE(busiest, nullptr);
  EXPECT_EQ(busiest->name(), b.name);
  std::string sim_bottleneck;
  for (const auto& h : sim.hops()) {
    if (h.bottleneck()) sim_bottleneck = h.name();
  }
  EXPECT_EQ(sim_bottleneck, hop_name(a.bottleneck_hop));
  EXPECT_EQ(a.bottleneck_hop, b.hop);
}

}  // namespace
}  // namespace ingresslab::models
