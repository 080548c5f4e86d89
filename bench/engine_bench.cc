// Engine benchmarks (Google Benchmark). Results and the commands that produced them are in
// bench/RESULTS.md.
//
// BM_Hold<Queue>/N — the classic hold model (Jones 1986; Vaucher & Duval 1975): N events pending;
// each event, when run, schedules one new event after an exponential delay, so the queue stays at
// N. items_per_second = events/s through the whole kernel (slot table, queue, dispatch, RNG draw).
// BM_MM1 — an M/M/1 queue at rho = 0.9 written on the kernel; items_per_second = customers/s.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <vector>

#include "engine/random.h"
#include "engine/simulation.h"

namespace ingresslab::engine {
namespace {

// Mean hold time. Large enough that ties (equal nanosecond timestamps) stay rare at N = 1e6.
constexpr double kMeanHoldNs = 1e6;
constexpr int kEventsPerIteration = 1000;

template <class Sim>
struct Hold {
  Sim* sim = nullptr;
  Rng rng = Rng::for_stream(1, 0, "bench.hold");
  int budget = 0;
  Duration delay() {
    return Duration::nanoseconds(
        static_cast<int64_t>(-kMeanHoldNs * std::log(rng.uniform_open01())));
  }
  void fire() {
    sim->template schedule_in<&Hold::fire>(delay(), this);
    if (--budget == 0) sim->stop();
  }
};

template <class Queue>
void BM_Hold(benchmark::State& state) {
  using Sim = BasicSimulation<Queue>;
  Sim sim;
  Hold<Sim> hold;
  hold.sim = &sim;
  const int64_t n = state.range(0);
  for (int64_t i = 0; i < n; ++i)
    sim.template schedule_in<&Hold<Sim>::fire>(hold.delay(), &hold);
  // Warm-up: let the time distribution of pending events reach its steady state.
  hold.budget = static_cast<int>(std::min<int64_t>(2 * n, 2'000'000));
  sim.run();
  for (auto _ : state) {
    hold.budget = kEventsPerIteration;
    sim.run();
  }
  state.SetItemsProcessed(state.iterations() * kEventsPerIteration);
}

// The default kernel (4-ary heap): the name the issue and RESULTS.md refer to.
void BM_Hold(benchmark::State& state) {
  BM_Hold<DaryHeap<4>>(state);
}
BENCHMARK(BM_Hold)->Arg(100)->Arg(10'000)->Arg(1'000'000);
BENCHMARK_TEMPLATE(BM_Hold, DaryHeap<2>)
    ->Name("BM_HoldBinaryHeap")
    ->Arg(100)
    ->Arg(10'000)
    ->Arg(1'000'000);
BENCHMARK_TEMPLATE(BM_Hold, CalendarQueue)
    ->Name("BM_HoldCalendarQueue")
    ->Arg(100)
    ->Arg(10'000)
    ->Arg(1'000'000);

// The pattern of the ingress models: N requests in flight, each with a response after an
// exponential time (mean 1 ms) and a 30 s client timeout that is almost always cancelled when the
// response arrives. Far-future timeouts are what hurt calendar queues.
template <class Queue>
void BM_TimeoutMix(benchmark::State& state) {
  using Sim = BasicSimulation<Queue>;
  struct Requests {
    Sim* sim = nullptr;
    Rng rng = Rng::for_stream(1, 0, "bench.timeouts");
    std::vector<EventId> timeouts;
    int budget = 0;
    void send(uint64_t id) {
      timeouts[id] =
          sim->template schedule_in<&Requests::on_timeout>(Duration::seconds(30), this, id);
      const auto rt = static_cast<int64_t>(-kMeanHoldNs * std::log(rng.uniform_open01()));
      sim->template schedule_in<&Requests::on_response>(Duration::nanoseconds(rt), this, id);
    }
    void on_response(uint64_t id) {
      sim->cancel(timeouts[id]);
      send(id);
      if (--budget == 0) sim->stop();
    }
    void on_timeout(uint64_t id) { send(id); }
  };
  Sim sim;
  Requests r;
  r.sim = &sim;
  const auto n = static_cast<uint64_t>(state.range(0));
  r.timeouts.resize(n);
  for (uint64_t i = 0; i < n; ++i)
    r.send(i);
  r.budget = static_cast<int>(std::min<uint64_t>(2 * n, 2'000'000));
  sim.run();
  for (auto _ : state) {
    r.budget = kEventsPerIteration;
    sim.run();
  }
  state.SetItemsProcessed(state.iterations() * kEventsPerIteration);  // responses/s
}
BENCHMARK_TEMPLATE(BM_TimeoutMix, DaryHeap<4>)
    ->Name("BM_TimeoutMix4aryHeap")
    ->Arg(1'000)
    ->Arg(100'000);
BENCHMARK_TEMPLATE(BM_TimeoutMix, CalendarQueue)
    ->Name("BM_TimeoutMixCalendarQueue")
    ->Arg(1'000)
    ->Arg(100'000);

// Baseline without our kernel: std::priority_queue of (time, seq, std::function) entries, the
// way a first simulator is usually written. Shows what the slot table + compact keys buy.
void BM_HoldStdPriorityQueue(benchmark::State& state) {
  struct Entry {
    int64_t time;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Entry& o) const {
      return time > o.time || (time == o.time && seq > o.seq);
    }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
  Rng rng = Rng::for_stream(1, 0, "bench.hold");
  int64_t now = 0;
  uint64_t seq = 0;
  std::function<void()> fire;
  auto delay = [&] { return static_cast<int64_t>(-kMeanHoldNs * std::log(rng.uniform_open01())); };
  fire = [&] { queue.push(Entry{now + delay(), seq++, fire}); };
  for (int64_t i = 0; i < state.range(0); ++i)
    queue.push(Entry{delay(), seq++, fire});
  for (auto _ : state) {
    for (int k = 0; k < kEventsPerIteration; ++k) {
      Entry e = queue.top();
      queue.pop();
      now = e.time;
      e.fn();
    }
  }
  state.SetItemsProcessed(state.iterations() * kEventsPerIteration);
}
BENCHMARK(BM_HoldStdPriorityQueue)->Arg(10'000)->Arg(1'000'000);

// M/M/1 at rho = 0.9 (arrival, service completion events; FIFO queue of arrival times).
void BM_MM1(benchmark::State& state) {
  struct Station {
    Simulation sim;
    Rng arrivals = Rng::for_stream(1, 0, "bench.mm1.arrivals");
    Rng services = Rng::for_stream(1, 0, "bench.mm1.services");
    std::deque<Time> waiting;
    bool busy = false;
    int64_t completed = 0;
    int64_t target = 0;
    double sojourn_sum_s = 0;
    static Duration exp(Rng& r, double mean_s) {
      return Duration::from_seconds(-mean_s * std::log(r.uniform_open01()));
    }
    void arrive() {
      sim.schedule_in<&Station::arrive>(exp(arrivals, 1.0 / 0.9e6), this);
      waiting.push_back(sim.now());
      if (!busy) start();
    }
    void start() {
      busy = true;
      sim.schedule_in<&Station::depart>(exp(services, 1e-6), this);
    }
    void depart() {
      sojourn_sum_s += (sim.now() - waiting.front()).to_seconds();
      waiting.pop_front();
      busy = false;
      if (!waiting.empty()) start();
      if (++completed == target) sim.stop();
    }
  };
  Station s;
  s.sim.schedule_in<&Station::arrive>(Duration::zero(), &s);
  for (auto _ : state) {
    s.target = s.completed + kEventsPerIteration;
    s.sim.run();
  }
  benchmark::DoNotOptimize(s.sojourn_sum_s);
  state.SetItemsProcessed(state.iterations() * kEventsPerIteration);
}
BENCHMARK(BM_MM1);

}  // namespace
}  // namespace ingresslab::engine

BENCHMARK_MAIN();
