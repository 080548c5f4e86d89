// The machine's monotonic clock (CLOCK_MONOTONIC, via std::chrono::steady_clock) in nanoseconds,
// for the tools that measure real processes: realproxy, realpod, replay and its probes. The
// simulation itself never reads it (engine/time.h is the simulated clock).
#pragma once

#include <chrono>
#include <cstdint>

namespace ingresslab::engine {

inline int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace ingresslab::engine
