// Warm-up (initial transient) deletion for steady-state output analysis.
//
// Two ways: a fixed warm-up chosen by the user (delete everything before a simulated time, or the
// first k observations), or MSER-5, which picks the truncation point from the data.
//
// Thread-safety: pure functions, safe to call concurrently.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "engine/time.h"

namespace ingresslab::engine {

// Result of an MSER truncation search.
struct MserResult {
  // Number of leading raw observations to delete (a multiple of batch_size).
  size_t truncation = 0;
  size_t batch_size = 0;
  // The minimal MSER statistic (see mser_truncation); 0 when fewer than two batches.
  double statistic = 0.0;
  // True when the minimum lies at the end of the search window (half the batches): the transient
  // may be longer than the window, and the run is probably too short for a trustworthy estimate.
  bool at_search_limit = false;
};

// MSER-m: the Marginal Standard Error Rule of White (1997), "An effective truncation heuristic for
// bias reduction in simulation output", Simulation 69(6); batched form MSER-5 from White, Cobb &
// Spratt (2000) and Franklin & White (2008).
//
// The observations are grouped into m = floor(n / batch_size) consecutive batches (a remainder at
// the end is ignored) with means Z_1..Z_m. For each d in [0, floor(m / 2)],
//   MSER(d) = 1 / (m - d)^2 * sum_{j = d+1..m} (Z_j - mean(Z_{d+1..m}))^2,
// and d* is the smallest d minimising it; the result deletes batch_size * d* observations.
// Fewer than two batches (or batch_size == 0) gives truncation 0. O(n) time, O(n / batch_size)
// memory.
MserResult mser_truncation(std::span<const double> observations, size_t batch_size);

// MSER-5: the number of leading observations to delete (5 * d*). See mser_truncation().
size_t mser5_truncation(const std::vector<double>& observations);

// Fixed warm-up by count: the observations after the first k (all of them deleted if k >= size).
// Returns a view into `observations`.
std::span<const double> delete_first(std::span<const double> observations, size_t k);

// Fixed warm-up by time: the number of leading observations taken before `start + warmup`, i.e.
// those to delete. REQUIRES: `times` is sorted in non-decreasing order. O(log n).
size_t warmup_count(std::span<const Time> times, Duration warmup, Time start = Time::zero());

}  // namespace ingresslab::engine
