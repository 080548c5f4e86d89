#include "engine/histogram.h"

#include <cmath>

namespace ingresslab::engine {

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

void LatencyHistogram::record_n(int64_t value_ns, uint64_t count) {
  if (count == 0) return;
  if (value_ns < 0) {
    value_ns = 0;
    negative_count_ += count;
  }
  min_ns_ = std::min(min_ns_, value_ns);
  max_ns_ = std::max(max_ns_, value_ns);
  sum_ns_ += static_cast<Uint128>(value_ns) * count;
  count_ += count;
  if (value_ns > kMaxTrackableNs) {
    value_ns = kMaxTrackableNs;
    overflow_count_ += count;
  }
  counts_[bucket_index(value_ns)] += count;
}

double LatencyHistogram::mean() const {
  if (count_ == 0) return 0.0;
  // Split the exact sum into quotient and remainder so no precision is lost before the division.
  const Uint128 quotient = sum_ns_ / count_;
  const Uint128 remainder = sum_ns_ % count_;
  return static_cast<double>(static_cast<long double>(quotient) +
                             static_cast<long double>(remainder) /
                                 static_cast<long double>(count_));
}

int64_t LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  if (!(q > 0.0)) return min();  // also NaN
  if (q >= 1.0) return max();
  // Rank (1-based) of the requested value: ceil(q * n), at least 1.
  const double rank_real = std::ceil(q * static_cast<double>(count_));
  uint64_t rank = rank_real < 1.0 ? 1 : static_cast<uint64_t>(rank_real);
  rank = std::min(rank, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const int64_t lower = bucket_lower_ns(i);
      const int64_t midpoint = lower + (bucket_upper_ns(i) - lower) / 2;
      return std::clamp(midpoint, min_ns_, max_ns_);
    }
  }
  return max();  // unreachable: the counts add up to count_
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < kBucketCount; ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  negative_count_ += other.negative_count_;
  overflow_count_ += other.overflow_count_;
  min_ns_ = std::min(min_ns_, other.min_ns_);
  max_ns_ = std::max(max_ns_, other.max_ns_);
  sum_ns_ += other.sum_ns_;
}

void LatencyHistogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  negative_count_ = 0;
  overflow_count_ = 0;
  min_ns_ = std::numeric_limits<int64_t>::max();
  max_ns_ = 0;
  sum_ns_ = 0;
}

std::vector<LatencyHistogram::Bucket> LatencyHistogram::buckets() const {
  std::vector<Bucket> out;
  for_each_bucket([&out](const Bucket& b) { out.push_back(b); });
  return out;
}

int64_t LatencyHistogram::bucket_lower_ns(size_t index) {
  const auto i = static_cast<int64_t>(index);
  if (i < 2 * kSubBucketCount) return i;
  // index == shift * 128 + sub with sub in [128, 256), and the bucket starts at sub << shift.
  const int64_t shift = i / kSubBucketCount - 1;
  const int64_t sub = i % kSubBucketCount + kSubBucketCount;
  return sub << shift;
}

int64_t LatencyHistogram::bucket_upper_ns(size_t index) {
  const auto i = static_cast<int64_t>(index);
  if (i < 2 * kSubBucketCount) return i + 1;
  const int64_t shift = i / kSubBucketCount - 1;
  return bucket_lower_ns(index) + (int64_t{1} << shift);
}

}  // namespace ingresslab::engine
