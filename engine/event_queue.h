// Future event lists: priority queues of compact 16-byte keys ordered by (time, sequence).
//
// The simulation kernel (simulation.h) keeps the event payloads in a slot table and puts only a
// `QueuedEvent` key here, so the queue moves 16 bytes per operation and a 4-ary heap's four
// children share one 64-byte cache line. Two designs are provided and benchmarked against each
// other in bench/engine_bench.cc (see bench/RESULTS.md):
//   - DaryHeap<4>: an implicit 4-ary min-heap in one vector (the default; fastest here).
//   - CalendarQueue: Brown's (1988) calendar queue with automatic resizing; O(1) expected per
//     operation when event times are spread evenly, which makes it the classic rival of heaps.
// Both satisfy the `EventQueue` concept below. Neither is thread-safe.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ingresslab::engine {

// The ordering key of one pending event. `order` packs the schedule sequence number (high 40
// bits) with the payload slot index (low 24 bits); sequence numbers are unique, so comparing
// `order` compares sequence numbers, which gives first-scheduled-first-run among equal times.
struct QueuedEvent {
  int64_t time_ns;
  uint64_t order;

  static constexpr int kSlotBits = 24;
  static constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;
  static constexpr uint64_t kMaxSequence = (uint64_t{1} << (64 - kSlotBits)) - 1;

  uint32_t slot() const { return static_cast<uint32_t>(order & kSlotMask); }
  // Branch-free on purpose: heap sifts compare keys in unpredictable patterns.
  friend bool operator<(const QueuedEvent& a, const QueuedEvent& b) {
    return (a.time_ns < b.time_ns) | ((a.time_ns == b.time_ns) & (a.order < b.order));
  }
};
static_assert(sizeof(QueuedEvent) == 16);

template <class Q>
concept EventQueue = requires(Q q, const Q cq, QueuedEvent e) {
  {q.push(e)};
  { cq.top() } -> std::convertible_to<QueuedEvent>;  // REQUIRES: !empty()
  {q.pop()};                                         // REQUIRES: !empty()
  {q.replace_top(e)};  // pop() then push(e), fused where the design allows. REQUIRES: !empty()
  { cq.size() } -> std::convertible_to<size_t>;
  { cq.empty() } -> std::convertible_to<bool>;
  {q.clear()};
  // Removes every entry for which pred(entry) is true, in O(n). Used to purge cancelled events.
  {q.remove_if([](const QueuedEvent&) { return false; })};
};

// Implicit d-ary min-heap. Arity 4 halves the depth of a binary heap, and with 16-byte entries
// and a 64-byte-aligned array the children of a node sit in one cache line.
template <int Arity>
class DaryHeap {
  static_assert(Arity >= 2);

 public:
  void push(QueuedEvent e) {
    heap_.push_back(e);
    sift_up(heap_.size() - 1, e);
  }
  QueuedEvent top() const { return heap_.front(); }
  void pop() {
    const QueuedEvent last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0, last);
  }
  // Bottom-up replacement (Wegener 1993): walk the smallest-child path from the root to a leaf,
  // then sift `e` up from there. A newly scheduled event usually belongs near the bottom, so
  // this saves the comparison with `e` at every level of a plain sift-down.
  void replace_top(QueuedEvent e) {
    const size_t n = heap_.size();
    size_t i = 0;
    for (;;) {
      const size_t first = i * Arity + 1;
      if (first >= n) break;
      const size_t best = first + Arity <= n ? min_child_full(first) : min_child_partial(first, n);
      heap_[i] = heap_[best];
      i = best;
    }
    sift_up(i, e);
  }
  size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }
  void clear() { heap_.clear(); }
  template <class Pred>
  void remove_if(Pred pred) {
    std::erase_if(heap_, pred);
    // Floyd's bottom-up heapify, O(n).
    if (heap_.size() < 2) return;
    for (size_t i = (heap_.size() - 2) / Arity + 1; i-- > 0;)
      sift_down(i, heap_[i]);
  }

 private:
  // Index of the smallest of the Arity children starting at `first` (all present), branch-free.
  size_t min_child_full(size_t first) const {
    if constexpr (Arity == 4) {
      const size_t a = first + (heap_[first + 1] < heap_[first]);
      const size_t b = first + 2 + (heap_[first + 3] < heap_[first + 2]);
      return heap_[b] < heap_[a] ? b : a;
    } else {
      return min_child_partial(first, first + Arity);
    }
  }
  size_t min_child_partial(size_t first, size_t end) const {
    size_t best = first;
    for (size_t c = first + 1; c < end; ++c) {
      if (heap_[c] < heap_[best]) best = c;
    }
    return best;
  }

  // Moves `e` up from hole `i` to its place.
  void sift_up(size_t i, QueuedEvent e) {
    while (i > 0) {
      const size_t parent = (i - 1) / Arity;
      if (!(e < heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = e;
  }
  // Moves `e` down from hole `i` to its place.
  void sift_down(size_t i, QueuedEvent e) {
    const size_t n = heap_.size();
    for (;;) {
      const size_t first = i * Arity + 1;
      if (first >= n) break;
      const size_t best = first + Arity <= n ? min_child_full(first) : min_child_partial(first, n);
      if (!(heap_[best] < e)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = e;
  }

  std::vector<QueuedEvent> heap_;
};

// Brown's calendar queue (CACM 31(10), 1988): `buckets` "days" of `width` nanoseconds form a
// "year"; an event goes to bucket (time / width) % buckets, kept sorted. Dequeue scans forward
// from the current day for an event in the current year. The bucket count doubles/halves when the
// size crosses 2x/0.5x of it, and the width is re-estimated from the spacing of the earliest
// events, as in the paper.
class CalendarQueue {
 public:
  CalendarQueue() { resize(2); }

  void push(QueuedEvent e);
  QueuedEvent top() const;
  void pop();
  void replace_top(QueuedEvent e) {
    pop();
    push(e);
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() {
    buckets_.assign(2, Bucket{});
    size_ = 0;
    width_ = 1;
    current_ = 0;
    day_end_ = 1;
    min_cached_ = false;
  }
  template <class Pred>
  void remove_if(Pred pred) {
    for (auto& b : buckets_) {
      const size_t before = b.size();
      std::erase_if(b, pred);
      size_ -= before - b.size();
    }
    min_cached_ = false;
  }

 private:
  // Each bucket is sorted in descending order so its minimum is back() (cheap pop_back).
  using Bucket = std::vector<QueuedEvent>;

  size_t bucket_of(int64_t time_ns) const {
    return static_cast<size_t>(static_cast<uint64_t>(time_ns) / static_cast<uint64_t>(width_)) &
           (buckets_.size() - 1);
  }
  void locate_min() const;  // finds the minimum and caches its bucket. REQUIRES: !empty()
  // Rebuilds with `bucket_count` buckets (a power of two) and a width re-estimated from the
  // spacing of the earliest events. O(n); amortised O(1) because sizes double/halve.
  void resize(size_t bucket_count);

  std::vector<Bucket> buckets_;
  int64_t width_ = 1;  // nanoseconds per bucket ("day")
  size_t size_ = 0;
  // Position of the scan: the bucket holding the last minimum and the end of its current day.
  mutable size_t current_ = 0;
  mutable int64_t day_end_ = 0;
  mutable bool min_cached_ = false;
  mutable size_t min_bucket_ = 0;
};

inline void CalendarQueue::push(QueuedEvent e) {
  Bucket& b = buckets_[bucket_of(e.time_ns)];
  // Insert keeping the bucket in descending order; buckets hold ~1-3 events in steady state.
  auto it = b.end();
  while (it != b.begin() && *(it - 1) < e)
    --it;
  b.insert(it, e);
  ++size_;
  if (min_cached_ && e < buckets_[min_bucket_].back()) min_cached_ = false;
  if (e.time_ns < day_end_ - width_) {
    // Earlier than the day the scan is on: restart the scan from this event's day.
    current_ = bucket_of(e.time_ns);
    day_end_ = (e.time_ns / width_ + 1) * width_;
    min_cached_ = false;
  }
  if (size_ > 2 * buckets_.size()) resize(buckets_.size() * 2);
}

inline QueuedEvent CalendarQueue::top() const {
  locate_min();
  return buckets_[min_bucket_].back();
}

inline void CalendarQueue::pop() {
  locate_min();
  buckets_[min_bucket_].pop_back();
  --size_;
  min_cached_ = false;
  if (buckets_.size() > 2 && size_ < buckets_.size() / 2) resize(buckets_.size() / 2);
}

}  // namespace ingresslab::engine
