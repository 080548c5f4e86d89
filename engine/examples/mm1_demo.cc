// A small demonstration of the engine, run by `make run` until the ingresslab CLI exists:
// M/M/1 and M/M/4 stations at several loads, 10 replications on a thread pool, with the
// simulated mean sojourn time, its 95% confidence interval and p99, next to queueing theory.
#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <vector>

#include "engine/distributions.h"
#include "engine/histogram.h"
#include "engine/random.h"
#include "engine/replications.h"
#include "engine/simulation.h"
#include "engine/statistics.h"

using namespace ingresslab::engine;

namespace {

struct Run {
  RunningStats sojourn_s;
  LatencyHistogram sojourn;
};

class Station {
 public:
  Station(int servers, double lambda, double mu, uint64_t seed, int replication)
      : servers_(servers),
        arrivals_(Rng::for_stream(seed, static_cast<uint64_t>(replication), "arrivals")),
        services_(Rng::for_stream(seed, static_cast<uint64_t>(replication), "service")),
        interarrival_(make_exponential(1.0 / lambda).dist),
        service_(make_exponential(1.0 / mu).dist) {}

  Run run(int warmup, int measured) {
    warmup_ = warmup;
    end_ = warmup + measured;
    sim_.schedule_in<&Station::arrive>(sample_duration(*interarrival_, arrivals_), this);
    sim_.run();
    return std::move(run_);
  }

 private:
  void arrive() {
    sim_.schedule_in<&Station::arrive>(sample_duration(*interarrival_, arrivals_), this);
    waiting_.push_back(sim_.now());
    if (busy_ < servers_) start();
  }
  void start() {
    ++busy_;
    const Time arrived = waiting_.front();
    waiting_.pop_front();
    sim_.schedule_in<&Station::depart>(sample_duration(*service_, services_), this,
                                       static_cast<uint64_t>(arrived.ns()));
  }
  void depart(uint64_t arrived_ns) {
    --busy_;
    if (++departed_ > warmup_) {
      const Duration d = sim_.now() - Time::from_ns(static_cast<int64_t>(arrived_ns));
      run_.sojourn_s.add(d.to_seconds());
      run_.sojourn.record(d);
    }
    if (departed_ == end_) return sim_.stop();
    if (!waiting_.empty()) start();
  }

  int servers_;
  Simulation sim_;
  Rng arrivals_, services_;
  std::unique_ptr<Distribution> interarrival_, service_;
  std::deque<Time> waiting_;
  int busy_ = 0, departed_ = 0, warmup_ = 0, end_ = 0;
  Run run_;
};

double erlang_c(int c, double a) {
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < c; ++k)
    sum += (term *= a / k);
  const double top = term * a / c / (1.0 - a / c);
  return top / (sum + top);
}

}  // namespace

int main() {
  std::printf("ingresslab engine demo: M/M/c stations, mu = 1000/s per server, 10 replications\n");
  std::printf("(the scenario runner arrives with the ingresslab CLI; see README.md)\n\n");
  std::printf("%-7s %5s  %12s  %22s  %10s  %10s\n", "station", "rho", "theory mean",
              "simulated mean (95% CI)", "theory p99", "sim p99");
  for (int c : {1, 4}) {
    for (double rho : {0.5, 0.8, 0.9}) {
      const double mu = 1000, lambda = rho * c * mu;
      ReplicationOptions ro;
      ro.replications = 10;
      const auto runs = run_replications<Run>(
          ro, [&](int r) { return Station(c, lambda, mu, 2026, r).run(20'000, 200'000); });
      std::vector<double> means;
      LatencyHistogram all;
      for (const auto& r : runs) {
        means.push_back(r->sojourn_s.mean());
        all.merge(r->sojourn);
      }
      const ConfidenceInterval ci = student_t_ci(means);
      const double theory = erlang_c(c, lambda / mu) / (c * mu - lambda) + 1.0 / mu;
      char p99_theory[32] = "-";
      if (c == 1)
        std::snprintf(p99_theory, sizeof p99_theory, "%.3f ms",
                      std::log(100.0) / (mu - lambda) * 1e3);
      std::printf("M/M/%-3d %5.2f  %9.3f ms  %8.3f ms ± %6.3f ms  %10s  %7.3f ms\n", c, rho,
                  theory * 1e3, ci.mean * 1e3, ci.half_width * 1e3, p99_theory,
                  static_cast<double>(all.quantile(0.99)) * 1e-6);
    }
  }
  return 0;
}
