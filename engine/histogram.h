// Latency histogram: HdrHistogram-style log-linear buckets over integer nanoseconds.
//
// Values 0..255 ns each have their own bucket (exact). Above that, every power-of-two range
// [2^k, 2^(k+1)) is split into 128 equal sub-buckets, so a bucket is never wider than 1/128 of its
// lower bound. Quantiles report the bucket midpoint, hence the relative error of any quantile is at
// most 1/256 (0.39%) for values inside the trackable range [0, kMaxTrackableNs] (about 73 minutes).
//
// Memory is constant (kBucketCount 64-bit counters, allocated once in the constructor); record()
// is O(1) and allocation-free. Histograms are mergeable exactly: merging the histograms of the
// parts of a sample gives the histogram of the whole sample, bucket for bucket, including min, max,
// mean.
//
// Thread-safety: none. Keep one histogram per thread (or per replication) and merge() at the end.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "engine/time.h"

namespace ingresslab::engine {

class LatencyHistogram {
 public:
  // 2^kSubBucketBits sub-buckets per power of two.
  static constexpr int kSubBucketBits = 7;
  static constexpr int64_t kSubBucketCount = int64_t{1} << kSubBucketBits;  // 128
  // Largest value kept at full precision: 2^42 - 1 ns (~73.3 minutes). Larger values are clamped
  // to it and counted in overflow_count().
  static constexpr int kMaxValueBits = 42;
  static constexpr int64_t kMaxTrackableNs = (int64_t{1} << kMaxValueBits) - 1;
  // Number of counters (4608, i.e. 36 KiB per histogram).
  static constexpr size_t kBucketCount = static_cast<size_t>(
      (kMaxValueBits - kSubBucketBits - 1) * kSubBucketCount + 2 * kSubBucketCount);
  // Bound on |quantile(q) - exact| / exact for exact values in [1, kMaxTrackableNs].
  static constexpr double kMaxRelativeError = 1.0 / (2.0 * static_cast<double>(kSubBucketCount));

  // One non-empty bucket: `count` recorded values v with lower_ns <= v < upper_ns.
  struct Bucket {
    int64_t lower_ns;
    int64_t upper_ns;  // exclusive
    uint64_t count;
    bool operator==(const Bucket&) const = default;
  };

  // Allocates the counters; the histogram starts empty.
  LatencyHistogram();
  // Copyable and movable. A moved-from histogram may only be assigned to or destroyed.

  // Records one value. Negative values are recorded as 0 (and counted in negative_count());
  // values above kMaxTrackableNs go to the last bucket (and are counted in overflow_count()), but
  // min(), max() and mean() still see the exact value.
  void record(Duration latency) { record_ns(latency.ns()); }
  void record_ns(int64_t value_ns) {
    if (value_ns < 0) [[unlikely]] {
      value_ns = 0;
      ++negative_count_;
    }
    min_ns_ = std::min(min_ns_, value_ns);
    max_ns_ = std::max(max_ns_, value_ns);
    sum_ns_ += static_cast<Uint128>(value_ns);
    ++count_;
    if (value_ns > kMaxTrackableNs) [[unlikely]] {
      value_ns = kMaxTrackableNs;
      ++overflow_count_;
    }
    ++counts_[bucket_index(value_ns)];
  }
  // Records `count` copies of `value_ns` (same clamping as record_ns). count == 0 is a no-op.
  void record_n(int64_t value_ns, uint64_t count);

  // Number of recorded values.
  uint64_t count() const { return count_; }
  // Number of values that were negative (recorded as 0) / above kMaxTrackableNs.
  uint64_t negative_count() const { return negative_count_; }
  uint64_t overflow_count() const { return overflow_count_; }
  // Exact smallest / largest recorded value (after clamping negatives to 0); 0 when empty.
  int64_t min() const { return count_ == 0 ? 0 : min_ns_; }
  int64_t max() const { return count_ == 0 ? 0 : max_ns_; }
  // Exact arithmetic mean of the recorded values (rounded once to double); 0 when empty.
  double mean() const;

  // Returns an estimate of the ceil(q * count())-th smallest recorded value (the smallest value for
  // q == 0): the midpoint of the bucket holding that value, clamped to [min(), max()]. q == 0 and
  // q == 1 therefore return min() and max() exactly; otherwise the relative error is at most
  // kMaxRelativeError unless the value is in the overflow bucket (then the result is a lower
  // bound). q outside [0, 1] is clamped, NaN is treated as 0. Returns 0 when empty.
  // O(kBucketCount).
  int64_t quantile(double q) const;

  // Adds every value recorded in `other` to this histogram. Exact: afterwards *this equals the
  // histogram that would have recorded both sequences. `other` may be *this.
  void merge(const LatencyHistogram& other);
  // Forgets every recorded value (e.g. at the end of the warm-up period); keeps the memory.
  void reset();

  // Calls fn(const Bucket&) for every non-empty bucket, in increasing order of value.
  template <typename Fn>
  void for_each_bucket(Fn&& fn) const {
    for (size_t i = 0; i < kBucketCount; ++i) {
      if (counts_[i] != 0) fn(Bucket{bucket_lower_ns(i), bucket_upper_ns(i), counts_[i]});
    }
  }
  // The non-empty buckets, in increasing order of value (for CDF plots and serialisation).
  std::vector<Bucket> buckets() const;

  // Index of the bucket that holds `value_ns`. REQUIRES: 0 <= value_ns <= kMaxTrackableNs.
  static size_t bucket_index(int64_t value_ns) {
    const auto v = static_cast<uint64_t>(value_ns);
    // shift == 0 for v < 256 (one bucket per value), else v's bit width minus 8.
    const int shift = static_cast<int>(std::bit_width(v | uint64_t{2 * kSubBucketCount - 1})) -
                      (kSubBucketBits + 1);
    return static_cast<size_t>(shift) * kSubBucketCount + static_cast<size_t>(v >> shift);
  }
  // Bounds of bucket `index`: it holds lower <= v < upper. REQUIRES: index < kBucketCount.
  static int64_t bucket_lower_ns(size_t index);
  static int64_t bucket_upper_ns(size_t index);

  // True iff both hold the same bucket counts and the same count, min, max, sum and
  // overflow/negative counts.
  bool operator==(const LatencyHistogram&) const = default;

 private:
  __extension__ typedef unsigned __int128 Uint128;

  std::vector<uint64_t> counts_;  // kBucketCount entries, never resized
  uint64_t count_ = 0;
  uint64_t negative_count_ = 0;
  uint64_t overflow_count_ = 0;
  int64_t min_ns_ = std::numeric_limits<int64_t>::max();
  int64_t max_ns_ = 0;  // recorded values are >= 0
  Uint128 sum_ns_ = 0;  // exact sum of the (unclamped, non-negative) values
};

}  // namespace ingresslab::engine
