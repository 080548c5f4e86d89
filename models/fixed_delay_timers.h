// Timers that all have the same duration (a proxy's first-byte timeout): they expire in the
// order they were armed, so they need no priority queue. A FIFO of deadlines with one kernel
// event for the oldest live timer replaces one heap push and one cancellation per request;
// cancelling is clearing the owner's token, and cancelled entries are dropped when they reach the
// front (or compacted away when they dominate).
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>

namespace ingresslab::models {

class FixedDelayTimers {
 public:
  struct Entry {
    int64_t deadline_ns;
    uint64_t token;  // the owner holds it while the timer is armed; 0 is never a token
    uint32_t owner;
  };

  // Arms a timer for `owner` that expires at now_ns + delay_ns; returns its token. REQUIRES:
  // delay_ns is the same for every timer of this list and now_ns never decreases.
  uint64_t arm(int64_t now_ns, int64_t delay_ns, uint32_t owner) {
    fifo_.push_back({now_ns + delay_ns, ++last_token_, owner});
    ++armed_;
    return last_token_;
  }
  // One armed timer was cancelled (its owner cleared the token).
  void cancelled() {
    if (armed_ > 0) --armed_;
  }

  // Drops cancelled entries at the front (`live(entry)` says whether the owner still holds the
  // token) and, when cancelled entries outnumber the live ones, everywhere. Returns the front, or
  // nullptr when no timer is armed.
  template <typename Live>
  const Entry* front(Live&& live) {
    while (!fifo_.empty() && !live(fifo_.front()))
      fifo_.pop_front();
    if (fifo_.size() > 1024 && fifo_.size() > 2 * armed_) {
      std::erase_if(fifo_, [&](const Entry& e) { return !live(e); });
    }
    return fifo_.empty() ? nullptr : &fifo_.front();
  }
  // Removes the front entry (it expired). REQUIRES: front() returned an entry.
  void pop_expired() {
    fifo_.pop_front();
    if (armed_ > 0) --armed_;
  }
  size_t size() const { return fifo_.size(); }

 private:
  std::deque<Entry> fifo_;
  uint64_t last_token_ = 0;
  size_t armed_ = 0;  // armed, not cancelled, not expired
};

}  // namespace ingresslab::models
