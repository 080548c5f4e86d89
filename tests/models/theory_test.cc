// The simulator against queueing theory. Each scenario in scenarios/theory/ reduces the ingress
// chain to a classic system (zero network latency, a proxy that costs nothing, no TLS, long
// keep-alive); the simulated mean sojourn must be within 2% of the closed form and the 95% CI
// over the replications must cover it.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "models/simulate.h"
#include "scenarios/loader.h"

namespace ingresslab::models {
namespace {

struct SimRun {
  result::RunResult result;
  double mean_ms = 0, lower_ms = 0, upper_ms = 0;
};

SimRun simulate_file(const std::string& name,
                     std::vector<std::pair<std::string, std::string>> sets = {}) {
  const std::string path = std::string(INGRESSLAB_SOURCE_DIR) + "/scenarios/theory/" + name;
  const auto loaded = scenarios::load_scenario_file(path);
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  const auto resolved = scenarios::resolve_scenario(loaded, "", sets);
  EXPECT_TRUE(resolved.ok()) << resolved.diagnostics.to_string();
  SimulateOptions options;
  options.threads = 2;
  const SimulateOutput out = simulate(resolved.scenario, loaded.base_dir, options);
  EXPECT_TRUE(out.ok()) << out.error;
  SimRun r;
  r.result = out.result;
  const auto& l = out.result.end_to_end().latency_ms();
  r.mean_ms = l.mean();
  r.lower_ms = l.ci95_mean().lower();
  r.upper_ms = l.ci95_mean().upper();
  return r;
}

void expect_matches(const SimRun& r, double theory_ms, const char* what) {
  EXPECT_NEAR(r.mean_ms, theory_ms, 0.02 * theory_ms) << what;
  EXPECT_LE(r.lower_ms, theory_ms)
      << what << ": 95% CI [" << r.lower_ms << ", " << r.upper_ms << "]";
  EXPECT_GE(r.upper_ms, theory_ms)
      << what << ": 95% CI [" << r.lower_ms << ", " << r.upper_ms << "]";
}

double erlang_c(int c, double a) {
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < c; ++k)
    sum += (term *= a / k);
  const double top = term * a / c / (1.0 - a / c);
  return top / (sum + top);
}

// Pollaczek-Khinchine mean sojourn of M/G/1, in ms: E[S] + lambda E[S^2] / (2 (1 - rho)).
double pk_ms(double lambda_per_ms, double es_ms, double es2_ms2) {
  const double rho = lambda_per_ms * es_ms;
  return es_ms + lambda_per_ms * es2_ms2 / (2 * (1 - rho));
}

TEST(Theory, MM1) {
  expect_matches(simulate_file("mm1.yaml"), 1.0 / (1.0 - 0.8), "M/M/1");
}

TEST(Theory, MMcErlangC) {
  const int c = 4;
  const double lambda = 3.2, mu = 1.0;  // per ms
  const double theory = erlang_c(c, lambda / mu) / (c * mu - lambda) + 1.0 / mu;
  expect_matches(simulate_file("mmc.yaml"), theory, "M/M/4");
}

TEST(Theory, MD1PollaczekKhinchine) {
  expect_matches(simulate_file("md1.yaml"), pk_ms(0.8, 1.0, 1.0), "M/D/1");
}

TEST(Theory, MG1UniformServicePollaczekKhinchine) {
  // Uniform(0, 2 ms): E[S] = 1, E[S^2] = 4/3.
  expect_matches(simulate_file("mg1.yaml"), pk_ms(0.8, 1.0, 4.0 / 3.0), "M/G/1");
}

TEST(Theory, MM1KBlockingProbabilityAndSojourn) {
  const SimRun r = simulate_file("mm1k.yaml");
  const double rho = 0.9;
  const int k = 5;
  const double p_block = (1 - rho) * std::pow(rho, k) / (1 - std::pow(rho, k + 1));
  const auto& e = r.result.end_to_end();
  const double blocked =
      static_cast<double>(r.result.errors().http_503()) / static_cast<double>(e.requests());
  // Binomial standard error over ~1.8M requests is ~2.5e-4; allow 2% relative.
  EXPECT_NEAR(blocked, p_block, 0.02 * p_block);
  // Little's law on the admitted requests: L = rho/(1-rho) - (K+1) rho^(K+1) / (1 - rho^(K+1)).
  const double l = rho / (1 - rho) - (k + 1) * std::pow(rho, k + 1) / (1 - std::pow(rho, k + 1));
  const double w_ms = l / (0.9 * (1 - p_block));
  expect_matches(r, w_ms, "M/M/1/K admitted sojourn");
}

TEST(Theory, ProcessorSharingIsInsensitive) {
  // M/D/1-PS: E[T] = S / (1 - rho) = 5 ms, where FIFO gives 3 ms.
  expect_matches(simulate_file("ps.yaml"), 1.0 / (1 - 0.8), "M/D/1-PS");
}

TEST(Theory, TandemJacksonNetwork) {
  const SimRun r = simulate_file("tandem.yaml");
  expect_matches(r, 1.0 / (2.0 - 0.8) + 1.0 / (1.0 - 0.8), "tandem");
  // Each station is M/M/1 in a Jackson network: utilisations 0.4 and 0.8.
  for (const auto& hop : r.result.hops()) {
    if (hop.name() == "ingress_proxy") {
      EXPECT_NEAR(hop.utilization(), 0.4, 0.01);
    }
    if (hop.name() == "pod") {
      EXPECT_NEAR(hop.utilization(), 0.8, 0.01);
    }
  }
}

// Ten identical exponential backends at rho = 0.9 (in service times of 1 ms).
TEST(LoadBalancing, RandomIsMM1PerBackend) {
  expect_matches(simulate_file("lb-random.yaml", {{"run.duration", "100s"}}), 10.0, "random");
}

TEST(LoadBalancing, RoundRobinIsErlang10OverM1) {
  // E10/M/1: sigma solves sigma = A*(mu (1 - sigma)) with A* the Laplace transform of the
  // Erlang-10 interarrival time (mean 10/9 ms): sigma = (k lambda' / (k lambda' + mu(1-sigma)))^k.
  const double k = 10, lambda_per_backend = 0.9, mu = 1.0;
  double sigma = 0.5;
  for (int i = 0; i < 200; ++i) {
    sigma = std::pow(k * lambda_per_backend / (k * lambda_per_backend + mu * (1 - sigma)), k);
  }
  const double theory = 1.0 / (mu * (1 - sigma));  // 5.66 service times
  EXPECT_NEAR(theory, 5.66, 0.01);
  expect_matches(simulate_file("lb-round-robin.yaml", {{"run.duration", "100s"}}), theory,
                 "round robin");
}

TEST(LoadBalancing, PowerOfTwoChoicesLandsInTheKnownRange) {
  const SimRun r = simulate_file("lb-p2c.yaml", {{"run.duration", "100s"}});
  EXPECT_GE(r.mean_ms, 2.6);
  EXPECT_LE(r.mean_ms, 3.1);
}

}  // namespace
}  // namespace ingresslab::models
