#include "engine/event_queue.h"

#include <algorithm>

namespace ingresslab::engine {

void CalendarQueue::locate_min() const {
  if (min_cached_) return;
  const size_t n = buckets_.size();
  size_t i = current_;
  int64_t end = day_end_;
  // Scan one year day by day from the current day: the first bucket whose smallest event falls
  // in the day being scanned holds the global minimum (nothing is earlier than the current day).
  for (size_t k = 0; k < n; ++k) {
    const Bucket& b = buckets_[i];
    if (!b.empty() && b.back().time_ns < end) {
      current_ = i;
      day_end_ = end;
      min_bucket_ = i;
      min_cached_ = true;
      return;
    }
    i = (i + 1) & (n - 1);
    end += width_;
  }
  // Sparse calendar (every event more than a year ahead): direct search, then jump there.
  size_t best = n;
  for (size_t j = 0; j < n; ++j) {
    if (buckets_[j].empty()) continue;
    if (best == n || buckets_[j].back() < buckets_[best].back()) best = j;
  }
  const int64_t t = buckets_[best].back().time_ns;
  current_ = best;
  day_end_ = (t / width_ + 1) * width_;
  min_bucket_ = best;
  min_cached_ = true;
}

void CalendarQueue::resize(size_t bucket_count) {
  std::vector<QueuedEvent> all;
  all.reserve(size_);
  for (auto& b : buckets_)
    all.insert(all.end(), b.begin(), b.end());

  // Brown's width estimate: the mean gap between the earliest events (ignoring gaps more than
  // twice the mean), times three.
  int64_t width = width_;
  if (all.size() >= 2) {
    const size_t k = std::min<size_t>(all.size(), 25);
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end());
    const double span = static_cast<double>(all[k - 1].time_ns - all[0].time_ns);
    const double mean_gap = span / static_cast<double>(k - 1);
    double sum = 0;
    size_t used = 0;
    for (size_t j = 1; j < k; ++j) {
      const double gap = static_cast<double>(all[j].time_ns - all[j - 1].time_ns);
      if (gap <= 2 * mean_gap) {
        sum += gap;
        ++used;
      }
    }
    const double est = used > 0 ? 3.0 * sum / static_cast<double>(used) : 3.0 * mean_gap;
    width = std::max<int64_t>(1, static_cast<int64_t>(est));
  }

  buckets_.assign(bucket_count, Bucket{});
  width_ = width;
  size_ = 0;
  min_cached_ = false;
  if (all.empty()) {
    current_ = 0;
    day_end_ = width_;
    return;
  }
  const QueuedEvent first = *std::min_element(all.begin(), all.end());
  current_ = bucket_of(first.time_ns);
  day_end_ = (first.time_ns / width_ + 1) * width_;
  for (const QueuedEvent& e : all) {
    Bucket& b = buckets_[bucket_of(e.time_ns)];
    auto it = b.end();
    while (it != b.begin() && *(it - 1) < e)
      --it;
    b.insert(it, e);
  }
  size_ = all.size();
}

}  // namespace ingresslab::engine
