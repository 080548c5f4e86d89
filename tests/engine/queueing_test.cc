// Queueing systems written directly on the engine, checked against closed forms: the kernel, the
// random streams, the distributions, the statistics and the replication runner working together.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "engine/distributions.h"
#include "engine/histogram.h"
#include "engine/random.h"
#include "engine/replications.h"
#include "engine/simulation.h"
#include "engine/statistics.h"

namespace ingresslab::engine {
namespace {

// Erlang C: probability that an arrival waits in an M/M/c queue with offered load a = lambda/mu.
double erlang_c(int c, double a) {
  double term = 1.0;  // a^k / k!
  double sum = 1.0;   // sum_{k<c} a^k/k!
  for (int k = 1; k < c; ++k) {
    term *= a / k;
    sum += term;
  }
  const double top = term * a / c / (1.0 - a / c);  // a^c/c! * c/(c-a)
  return top / (sum + top);
}

// M/M/c FIFO station: Poisson arrivals, c identical exponential servers.
struct Station {
  struct Options {
    int servers = 1;
    double arrival_rate_per_s = 0;
    double mean_service_s = 0;
    int warmup_customers = 0;
    int measured_customers = 0;
  };
  struct Result {
    RunningStats sojourn_s;
    LatencyHistogram sojourn;
    uint64_t trace_hash = 1469598103934665603ULL;
  };

  Station(const Options& o, uint64_t seed, int replication)
      : options(o),
        arrivals_rng(Rng::for_stream(seed, static_cast<uint64_t>(replication), "arrivals")),
        service_rng(Rng::for_stream(seed, static_cast<uint64_t>(replication), "service")),
        interarrival(make_exponential(1.0 / o.arrival_rate_per_s).dist),
        service(make_exponential(o.mean_service_s).dist) {}

  Result run() {
    sim.schedule_in<&Station::arrive>(sample_duration(*interarrival, arrivals_rng), this);
    sim.run();
    return std::move(result);
  }

  void trace(uint64_t kind) {
    // FNV-1a over (time, kind): any change in order or timing changes the hash.
    for (uint64_t v : {static_cast<uint64_t>(sim.now().ns()), kind}) {
      result.trace_hash ^= v;
      result.trace_hash *= 1099511628211ULL;
    }
  }
  void arrive() {
    trace(1);
    sim.schedule_in<&Station::arrive>(sample_duration(*interarrival, arrivals_rng), this);
    waiting.push_back(sim.now());
    if (busy < options.servers) start();
  }
  void start() {
    ++busy;
    const Time arrived = waiting.front();
    waiting.pop_front();
    sim.schedule_in<&Station::depart>(sample_duration(*service, service_rng), this,
                                      static_cast<uint64_t>(arrived.ns()));
  }
  void depart(uint64_t arrived_ns) {
    trace(2);
    --busy;
    ++departed;
    if (departed > options.warmup_customers) {
      const Duration sojourn = sim.now() - Time::from_ns(static_cast<int64_t>(arrived_ns));
      result.sojourn_s.add(sojourn.to_seconds());
      result.sojourn.record(sojourn);
    }
    if (departed == options.warmup_customers + options.measured_customers) {
      sim.stop();
      return;
    }
    if (!waiting.empty()) start();
  }

  Options options;
  Simulation sim;
  Rng arrivals_rng;
  Rng service_rng;
  std::unique_ptr<Distribution> interarrival;
  std::unique_ptr<Distribution> service;
  std::deque<Time> waiting;
  int busy = 0;
  int departed = 0;
  Result result;
};

struct Replicated {
  ConfidenceInterval mean_sojourn_s;
  LatencyHistogram sojourn;
  std::vector<uint64_t> hashes;
};

Replicated replicate(const Station::Options& o, uint64_t seed, int replications, int threads) {
  ReplicationOptions ro;
  ro.replications = replications;
  ro.threads = threads;
  const auto results =
      run_replications<Station::Result>(ro, [&](int r) { return Station(o, seed, r).run(); });
  Replicated out;
  std::vector<double> means;
  for (const auto& r : results) {
    means.push_back(r->sojourn_s.mean());
    out.sojourn.merge(r->sojourn);
    out.hashes.push_back(r->trace_hash);
  }
  out.mean_sojourn_s = student_t_ci(means, 0.95);
  return out;
}

TEST(Queueing, MM1MeanSojournMatchesTheory) {
  // lambda = 800/s, mu = 1000/s, rho = 0.8: E[T] = 1/(mu - lambda) = 5 ms.
  const Station::Options o{.servers = 1,
                           .arrival_rate_per_s = 800,
                           .mean_service_s = 1e-3,
                           .warmup_customers = 20'000,
                           .measured_customers = 300'000};
  const double theory_s = 1.0 / (1000.0 - 800.0);
  const Replicated r = replicate(o, 7, 10, 2);
  EXPECT_TRUE(r.mean_sojourn_s.contains(theory_s))
      << "CI [" << r.mean_sojourn_s.lower << ", " << r.mean_sojourn_s.upper << "] vs " << theory_s;
  EXPECT_NEAR(r.mean_sojourn_s.mean, theory_s, 0.02 * theory_s);
  // FIFO M/M/1 sojourn time is exponential with rate mu - lambda: p99 = ln(100) / 200 s.
  const double p99_theory_s = std::log(100.0) / 200.0;
  EXPECT_NEAR(static_cast<double>(r.sojourn.quantile(0.99)) * 1e-9, p99_theory_s,
              0.03 * p99_theory_s);
}

TEST(Queueing, MMcMeanSojournMatchesErlangC) {
  // c = 4, mu = 1000/s per server, lambda = 3200/s: rho = 0.8.
  const int c = 4;
  const double lambda = 3200, mu = 1000;
  const Station::Options o{.servers = c,
                           .arrival_rate_per_s = lambda,
                           .mean_service_s = 1.0 / mu,
                           .warmup_customers = 20'000,
                           .measured_customers = 300'000};
  const double theory_s = erlang_c(c, lambda / mu) / (c * mu - lambda) + 1.0 / mu;
  const Replicated r = replicate(o, 11, 10, 2);
  EXPECT_TRUE(r.mean_sojourn_s.contains(theory_s))
      << "CI [" << r.mean_sojourn_s.lower << ", " << r.mean_sojourn_s.upper << "] vs " << theory_s;
  EXPECT_NEAR(r.mean_sojourn_s.mean, theory_s, 0.02 * theory_s);
}

TEST(Queueing, ErlangCFormulaKnownValue) {
  // Textbook value: c = 2, a = 1 (rho = 0.5): C = 1/3.
  EXPECT_NEAR(erlang_c(2, 1.0), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(erlang_c(1, 0.8), 0.8, 1e-12);  // M/M/1: P(wait) = rho
}

TEST(Determinism, SameSeedSameTraceDifferentSeedDifferentTrace) {
  const Station::Options o{.servers = 2,
                           .arrival_rate_per_s = 1500,
                           .mean_service_s = 1e-3,
                           .warmup_customers = 0,
                           .measured_customers = 50'000};
  const Replicated a = replicate(o, 42, 4, 1);
  const Replicated b = replicate(o, 42, 4, 2);  // thread count must not matter
  const Replicated c = replicate(o, 43, 4, 2);
  EXPECT_EQ(a.hashes, b.hashes);
  EXPECT_EQ(a.mean_sojourn_s.mean, b.mean_sojourn_s.mean);  // bit-identical, not just close
  for (size_t i = 0; i < a.hashes.size(); ++i)
    EXPECT_NE(a.hashes[i], c.hashes[i]);
  // Replications are independent runs: their traces differ from each other.
  EXPECT_NE(a.hashes[0], a.hashes[1]);
}

TEST(Replications, ResultsInIndexOrderAndExceptionsPropagate) {
  ReplicationOptions ro;
  ro.replications = 16;
  ro.threads = 2;
  int progress_calls = 0;
  ro.on_progress = [&](int, int total) {
    ++progress_calls;
    EXPECT_EQ(total, 16);
  };
  const auto results = run_replications<int>(ro, [](int i) { return i * i; });
  ASSERT_EQ(results.size(), 16u);
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(*results[static_cast<size_t>(i)], i * i);
  EXPECT_EQ(progress_calls, 16);

  ro.on_progress = nullptr;
  EXPECT_THROW(run_replications<int>(ro,
                                     [](int i) -> int {
                                       if (i == 3) throw std::runtime_error("boom");
                                       return i;
                                     }),
               std::runtime_error);

  std::atomic<bool> cancel{true};
  ro.cancel = &cancel;
  const auto none = run_replications<int>(ro, [](int i) { return i; });
  for (const auto& r : none)
    EXPECT_FALSE(r.has_value());

  // A body that sees the flag while it runs abandons its replication: no result, no error.
  cancel = false;
  const auto some = run_replications<int>(ro, [](int i) -> int {
    if (i % 2 == 1) throw ReplicationCancelled{};
    return i;
  });
  ASSERT_EQ(some.size(), 16u);
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(some[static_cast<size_t>(i)].has_value(), i % 2 == 0) << i;
}

}  // namespace
}  // namespace ingresslab::engine
