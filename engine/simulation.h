// The discrete-event kernel: a clock and a future event list.
//
// An event is a plain function pointer plus a context pointer and a 64-bit argument, stored in a
// recycled slot table, so scheduling never allocates once the tables have grown to the run's
// peak (no std::function per event). Components usually schedule one of their own member
// functions:
//
//   class Pod {
//     void finish(uint64_t request_id);
//     ...
//     sim.schedule_in<&Pod::finish>(service_time, this, request_id);
//   };
//
// Ordering contract: events run in increasing time; events with equal time run in the order
// they were scheduled. Nothing else (addresses, hash order, threads) affects the order, so the
// same inputs give a bit-identical run.
//
// Thread-safety: a Simulation is confined to one thread. Independent replications each own one
// (see replications.h).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "engine/event_queue.h"
#include "engine/time.h"

namespace ingresslab::engine {

// Identifies a scheduled event for cancel(). Cheap to copy; 0 is never a valid id.
class EventId {
 public:
  constexpr EventId() = default;
  constexpr bool valid() const { return value_ != 0; }
  constexpr auto operator<=>(const EventId&) const = default;

 private:
  template <EventQueue Q>
  friend class BasicSimulation;
  constexpr explicit EventId(uint64_t v) : value_(v) {}
  uint64_t value_ = 0;
};

// The type-erased callback of an event: `fn(context, arg)`.
using EventFn = void (*)(void* context, uint64_t arg);

template <EventQueue Queue>
class BasicSimulation {
 public:
  BasicSimulation() = default;
  BasicSimulation(const BasicSimulation&) = delete;
  BasicSimulation& operator=(const BasicSimulation&) = delete;

  // The current simulated time: the time of the event being run, or where the run stopped.
  Time now() const { return now_; }

  // Schedules fn(context, arg) at absolute time `at`. REQUIRES: at >= now().
  EventId schedule_at(Time at, EventFn fn, void* context, uint64_t arg = 0);
  // Schedules fn(context, arg) after `delay`. REQUIRES: delay >= 0.
  EventId schedule_in(Duration delay, EventFn fn, void* context, uint64_t arg = 0) {
    return schedule_at(now_ + delay, fn, context, arg);
  }
  // Schedules obj->Method(arg) (or obj->Method() for a method without parameters).
  template <auto Method, class T>
  EventId schedule_at(Time at, T* obj, uint64_t arg = 0) {
    return schedule_at(at, &trampoline<Method, T>, obj, arg);
  }
  template <auto Method, class T>
  EventId schedule_in(Duration delay, T* obj, uint64_t arg = 0) {
    return schedule_at(now_ + delay, &trampoline<Method, T>, obj, arg);
  }

  // Cancels a pending event; returns false (and does nothing) if it already ran, was already
  // cancelled, or `id` is invalid. O(1): the queue entry is dropped lazily.
  bool cancel(EventId id);
  // True if `id` is scheduled and has neither run nor been cancelled.
  bool pending(EventId id) const;

  // Runs events until none are left or stop() is called. Returns the number of events run.
  uint64_t run() { return run_until(Time::max()); }
  // Runs every event with time <= `end`, then sets now() = end (unless stopped earlier or
  // `end` is Time::max()). Returns the number of events run by this call.
  uint64_t run_until(Time end);
  // Called from an event: the current run()/run_until() returns once that event finishes, with
  // now() left at its time. The next run call resumes where it stopped.
  void stop() { stop_requested_ = true; }

  // Number of events scheduled and not yet run or cancelled.
  size_t pending_count() const { return live_; }
  uint64_t events_run() const { return events_run_; }

 private:
  struct Slot {
    EventFn fn;
    void* context;
    uint64_t arg;
    uint64_t order;  // the queue key's order while pending; 0 when free
  };

  template <auto Method, class T>
  static void trampoline(void* context, uint64_t arg) {
    if constexpr (requires(T * t) { (t->*Method)(arg); }) {
      (static_cast<T*>(context)->*Method)(arg);
    } else {
      (static_cast<T*>(context)->*Method)();
    }
  }

  [[noreturn]] static void fatal(const char* what) {
    std::fprintf(stderr, "ingresslab engine: %s\n", what);
    std::abort();
  }

  void purge_cancelled();

  Queue queue_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  Time now_;
  uint64_t next_sequence_ = 1;
  uint64_t events_run_ = 0;
  size_t live_ = 0;       // scheduled, not run, not cancelled
  size_t cancelled_ = 0;  // cancelled entries still in the queue
  bool stop_requested_ = false;
  // While an event runs, its queue entry is still at the top; the first event it schedules
  // replaces it in one sift instead of a pop plus a push (the hold pattern of most models).
  bool top_is_running_ = false;
};

// The kernel used by the models: the 4-ary heap measured fastest in bench/RESULTS.md.
using Simulation = BasicSimulation<DaryHeap<4>>;

// ---- implementation ----

template <EventQueue Queue>
EventId BasicSimulation<Queue>::schedule_at(Time at, EventFn fn, void* context, uint64_t arg) {
  if (at < now_) fatal("event scheduled in the past");
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    if (slots_.size() > QueuedEvent::kSlotMask)
      fatal("more than 16M simultaneously pending events");
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  if (next_sequence_ > QueuedEvent::kMaxSequence) fatal("event sequence space exhausted (2^40)");
  const uint64_t order = (next_sequence_++ << QueuedEvent::kSlotBits) | slot;
  slots_[slot] = Slot{fn, context, arg, order};
  const QueuedEvent key{at.ns(), order};
  if (top_is_running_) {
    top_is_running_ = false;
    queue_.replace_top(key);
  } else {
    queue_.push(key);
  }
  ++live_;
  return EventId(order);
}

template <EventQueue Queue>
bool BasicSimulation<Queue>::pending(EventId id) const {
  if (!id.valid()) return false;
  const uint64_t slot = id.value_ & QueuedEvent::kSlotMask;
  return slot < slots_.size() && slots_[slot].order == id.value_;
}

template <EventQueue Queue>
bool BasicSimulation<Queue>::cancel(EventId id) {
  if (!pending(id)) return false;
  const uint32_t slot = static_cast<uint32_t>(id.value_ & QueuedEvent::kSlotMask);
  slots_[slot].order = 0;
  free_slots_.push_back(slot);
  --live_;
  ++cancelled_;
  // Keep dead entries from dominating the queue (timeouts are mostly cancelled).
  if (cancelled_ > 1024 && cancelled_ > live_) purge_cancelled();
  return true;
}

template <EventQueue Queue>
void BasicSimulation<Queue>::purge_cancelled() {
  if (top_is_running_) {
    queue_.pop();
    top_is_running_ = false;
  }
  queue_.remove_if([this](const QueuedEvent& e) { return slots_[e.slot()].order != e.order; });
  cancelled_ = 0;
}

template <EventQueue Queue>
uint64_t BasicSimulation<Queue>::run_until(Time end) {
  stop_requested_ = false;
  uint64_t ran = 0;
  while (!stop_requested_ && !queue_.empty()) {
    const QueuedEvent top = queue_.top();
    Slot& s = slots_[top.slot()];
    if (s.order != top.order) {  // cancelled: drop lazily
      queue_.pop();
      --cancelled_;
      continue;
    }
    if (top.time_ns > end.ns()) break;
    now_ = Time::from_ns(top.time_ns);
    const EventFn fn = s.fn;
    void* const context = s.context;
    const uint64_t arg = s.arg;
    s.order = 0;
    free_slots_.push_back(top.slot());
    --live_;
    top_is_running_ = true;
    fn(context, arg);
    if (top_is_running_) {
      queue_.pop();
      top_is_running_ = false;
    }
    ++ran;
  }
  events_run_ += ran;
  if (!stop_requested_ && end != Time::max() && now_ < end) now_ = end;
  return ran;
}

}  // namespace ingresslab::engine
