// The kernel's contracts: time order, schedule-order tie-break, cancel, run_until/stop, and that
// both future-event-list designs agree with a plain reference (std::multiset) on random workloads.
#include "engine/simulation.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

namespace ingresslab::engine {
namespace {

using namespace literals;

template <class Q>
class SimulationTest : public ::testing::Test {};
using Queues = ::testing::Types<DaryHeap<4>, DaryHeap<2>, CalendarQueue>;
TYPED_TEST_SUITE(SimulationTest, Queues);

template <class Sim>
struct Log {
  Sim* sim;
  std::vector<std::pair<int64_t, uint64_t>> entries;
  void on(uint64_t arg) { entries.emplace_back(sim->now().ns(), arg); }
};

TYPED_TEST(SimulationTest, RunsInTimeOrderAndTiesInScheduleOrder) {
  BasicSimulation<TypeParam> sim;
  Log<BasicSimulation<TypeParam>> log{&sim, {}};
  using L = decltype(log);
  sim.template schedule_at<&L::on>(Time::from_ns(30), &log, 1);
  sim.template schedule_at<&L::on>(Time::from_ns(10), &log, 2);
  sim.template schedule_at<&L::on>(Time::from_ns(20), &log, 3);
  sim.template schedule_at<&L::on>(Time::from_ns(10), &log, 4);  // tie with arg 2: runs after it
  sim.template schedule_at<&L::on>(Time::from_ns(10), &log, 5);
  EXPECT_EQ(sim.run(), 5u);
  const std::vector<std::pair<int64_t, uint64_t>> expected = {
      {10, 2}, {10, 4}, {10, 5}, {20, 3}, {30, 1}};
  EXPECT_EQ(log.entries, expected);
  EXPECT_EQ(sim.now(), Time::from_ns(30));
  EXPECT_EQ(sim.pending_count(), 0u);
}

// An event scheduled from a handler for "now" runs after everything already scheduled for now.
TYPED_TEST(SimulationTest, ZeroDelayFromHandlerRunsAfterEarlierTies) {
  using Sim = BasicSimulation<TypeParam>;
  struct Chain {
    Sim* sim;
    std::vector<uint64_t> order;
    void on(uint64_t arg) {
      order.push_back(arg);
      if (arg == 1) sim->template schedule_in<&Chain::on>(Duration::zero(), this, 99);
    }
  };
  Sim sim;
  Chain c{&sim, {}};
  sim.template schedule_at<&Chain::on>(Time::from_ns(5), &c, 1);
  sim.template schedule_at<&Chain::on>(Time::from_ns(5), &c, 2);
  sim.template schedule_at<&Chain::on>(Time::from_ns(6), &c, 3);
  sim.run();
  EXPECT_EQ(c.order, (std::vector<uint64_t>{1, 2, 99, 3}));
}

TYPED_TEST(SimulationTest, CancelPreventsTheEventAndIsIdempotent) {
  BasicSimulation<TypeParam> sim;
  Log<BasicSimulation<TypeParam>> log{&sim, {}};
  using L = decltype(log);
  const EventId a = sim.template schedule_in<&L::on>(10_ns, &log, 1);
  const EventId b = sim.template schedule_in<&L::on>(20_ns, &log, 2);
  EXPECT_TRUE(sim.pending(a));
  EXPECT_TRUE(sim.cancel(a));
  EXPECT_FALSE(sim.pending(a));
  EXPECT_FALSE(sim.cancel(a));          // already cancelled
  EXPECT_FALSE(sim.cancel(EventId{}));  // invalid id
  EXPECT_EQ(sim.pending_count(), 1u);
  sim.run();
  EXPECT_EQ(log.entries, (std::vector<std::pair<int64_t, uint64_t>>{{20, 2}}));
  EXPECT_FALSE(sim.cancel(b));  // already ran
}

// A stale id must not cancel the event that later reused its slot.
TYPED_TEST(SimulationTest, StaleIdDoesNotCancelSlotReuser) {
  BasicSimulation<TypeParam> sim;
  Log<BasicSimulation<TypeParam>> log{&sim, {}};
  using L = decltype(log);
  const EventId a = sim.template schedule_in<&L::on>(10_ns, &log, 1);
  ASSERT_TRUE(sim.cancel(a));
  const EventId b = sim.template schedule_in<&L::on>(15_ns, &log, 2);  // reuses a's slot
  EXPECT_NE(a, b);
  EXPECT_FALSE(sim.cancel(a));
  EXPECT_TRUE(sim.pending(b));
  sim.run();
  EXPECT_EQ(log.entries.size(), 1u);
}

TYPED_TEST(SimulationTest, RunUntilStopsAtTheBoundaryInclusive) {
  BasicSimulation<TypeParam> sim;
  Log<BasicSimulation<TypeParam>> log{&sim, {}};
  using L = decltype(log);
  for (int t : {5, 10, 15})
    sim.template schedule_at<&L::on>(Time::from_ns(t), &log, t);
  EXPECT_EQ(sim.run_until(Time::from_ns(10)), 2u);
  EXPECT_EQ(sim.now(), Time::from_ns(10));
  EXPECT_EQ(sim.run_until(Time::from_ns(12)), 0u);
  EXPECT_EQ(sim.now(), Time::from_ns(12));  // the clock advances to the boundary
  EXPECT_EQ(sim.run(), 1u);
  EXPECT_EQ(sim.events_run(), 3u);
}

TYPED_TEST(SimulationTest, StopFromAHandlerEndsTheRunAndRunResumes) {
  using Sim = BasicSimulation<TypeParam>;
  struct Stopper {
    Sim* sim;
    int seen = 0;
    void on(uint64_t arg) {
      ++seen;
      if (arg == 2) sim->stop();
    }
  };
  Sim sim;
  Stopper s{&sim};
  for (uint64_t i = 1; i <= 4; ++i)
    sim.template schedule_at<&Stopper::on>(Time::from_ns(i), &s, i);
  EXPECT_EQ(sim.run(), 2u);
  EXPECT_EQ(sim.now(), Time::from_ns(2));
  EXPECT_EQ(sim.run(), 2u);
  EXPECT_EQ(s.seen, 4);
}

// Random schedule/cancel/run mix, compared step by step against a std::multiset reference.
TYPED_TEST(SimulationTest, AgreesWithReferenceOnRandomWorkload) {
  using Sim = BasicSimulation<TypeParam>;
  struct Driver {
    Sim* sim = nullptr;
    std::mt19937_64 rng{42};
    std::set<std::pair<int64_t, uint64_t>> reference;  // (time, schedule index)
    std::vector<EventId> ids;
    std::vector<std::pair<int64_t, uint64_t>> scheduled;  // by schedule index
    uint64_t executed = 0;
    bool mismatch = false;

    void schedule(int64_t at) {
      const uint64_t index = scheduled.size();
      ids.push_back(sim->template schedule_at<&Driver::on>(Time::from_ns(at), this, index));
      scheduled.emplace_back(at, index);
      reference.emplace(at, index);
    }
    void on(uint64_t index) {
      ++executed;
      if (reference.empty() || *reference.begin() != scheduled[index]) mismatch = true;
      reference.erase(scheduled[index]);
      // Hold-model mix: reschedule 0-2 events (clustered and spread delays), cancel sometimes.
      const int spawn = static_cast<int>(rng() % 3);
      for (int k = 0; k < spawn && scheduled.size() < 200000; ++k) {
        const int64_t delay = (rng() % 4 == 0) ? 0 : static_cast<int64_t>(rng() % 100000);
        schedule(sim->now().ns() + delay);
      }
      if (rng() % 4 == 0 && !ids.empty()) {
        const uint64_t victim = rng() % ids.size();
        if (sim->cancel(ids[victim])) reference.erase(scheduled[victim]);
      }
    }
  };
  Sim sim;
  Driver d;
  d.sim = &sim;
  for (int i = 0; i < 2000; ++i)
    d.schedule(static_cast<int64_t>(d.rng() % 1000000));
  sim.run();
  EXPECT_FALSE(d.mismatch);
  EXPECT_TRUE(d.reference.empty());
  EXPECT_GT(d.executed, 50000u);
  EXPECT_EQ(sim.pending_count(), 0u);
}

// Many cancellations (timeouts that never fire) must not grow the queue without bound.
TEST(SimulationCancel, CancelledTimeoutsArePurged) {
  struct Client {
    Simulation* sim = nullptr;
    EventId timeout;
    int requests = 0;
    void on_timeout() { ADD_FAILURE() << "timeout should have been cancelled"; }
    void on_response() {
      sim->cancel(timeout);
      if (++requests < 100000) send();
    }
    void send() {
      timeout = sim->schedule_in<&Client::on_timeout>(Duration::seconds(30), this);
      sim->schedule_in<&Client::on_response>(Duration::milliseconds(1), this);
    }
  };
  Simulation sim;
  Client c;
  c.sim = &sim;
  c.send();
  sim.run_until(Time::from_ns(Duration::seconds(1000).ns()));
  EXPECT_EQ(c.requests, 100000);
  EXPECT_EQ(sim.pending_count(), 0u);
}

}  // namespace
}  // namespace ingresslab::engine
