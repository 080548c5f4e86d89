#include "engine/warmup.h"

#include <algorithm>

namespace ingresslab::engine {

MserResult mser_truncation(std::span<const double> observations, size_t batch_size) {
  MserResult result;
  result.batch_size = batch_size;
  if (batch_size == 0) return result;
  const size_t m = observations.size() / batch_size;
  if (m < 2) return result;

  std::vector<double> batch_means(m);
  for (size_t j = 0; j < m; ++j) {
    double sum = 0.0;
    for (size_t i = 0; i < batch_size; ++i)
      sum += observations[j * batch_size + i];
    batch_means[j] = sum / static_cast<double>(batch_size);
  }

  // Statistic for every suffix Z_{d+1..m}: accumulate the suffix backwards with Welford's update,
  // which keeps the sum of squared deviations accurate even for a large common offset.
  const size_t max_d = m / 2;
  std::vector<double> statistic(max_d + 1);
  double mean = 0.0;
  double m2 = 0.0;
  for (size_t k = 1; k <= m; ++k) {  // k = size of the suffix, which starts at index m - k
    const double z = batch_means[m - k];
    const double delta = z - mean;
    mean += delta / static_cast<double>(k);
    m2 += delta * (z - mean);
    const size_t d = m - k;
    if (d <= max_d) statistic[d] = m2 / (static_cast<double>(k) * static_cast<double>(k));
  }

  size_t best = 0;
  for (size_t d = 1; d <= max_d; ++d) {
    if (statistic[d] < statistic[best]) best = d;
  }
  result.truncation = best * batch_size;
  result.statistic = statistic[best];
  result.at_search_limit = best == max_d && max_d > 0;
  return result;
}

size_t mser5_truncation(const std::vector<double>& observations) {
  return mser_truncation(observations, 5).truncation;
}

std::span<const double> delete_first(std::span<const double> observations, size_t k) {
  return observations.subspan(std::min(k, observations.size()));
}

size_t warmup_count(std::span<const Time> times, Duration warmup, Time start) {
  const Time cutoff = start + warmup;
  return static_cast<size_t>(std::lower_bound(times.begin(), times.end(), cutoff) - times.begin());
}

}  // namespace ingresslab::engine
