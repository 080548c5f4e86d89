// Reading realproxy's /metrics (Prometheus text exposition format 0.0.4) for `ingresslab replay`:
// the per-phase timing histograms (realproxy_request_phase_seconds{phase=...}, see
// realproxy/server/metrics.h), scraped before and after a run; their difference is the run's.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ingresslab::replay {

// One sample line: name, labels, value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the exposition text (comments and blank lines skipped). Malformed lines are skipped and
// counted in *bad_lines (if not null).
std::vector<Sample> parse_prometheus(std::string_view text, size_t* bad_lines = nullptr);

// A cumulative histogram: (upper bound, cumulative count) in increasing order, +Inf last.
struct PromHistogram {
  std::vector<std::pair<double, double>> buckets;
  double sum = 0;
  double count = 0;

  // this - earlier, bucket by bucket (the observations between two scrapes).
  PromHistogram minus(const PromHistogram& earlier) const;
  // Adds another instance's histogram with the same buckets.
  void add(const PromHistogram& other);
  double mean() const { return count > 0 ? sum / count : 0; }
  // The q-quantile as Prometheus' histogram_quantile computes it: linear interpolation inside the
  // bucket that holds it (the lower bound of the first bucket is 0; a quantile in the +Inf bucket
  // is the highest finite bound). 0 when empty.
  double quantile(double q) const;
};

// Histogram `family` (without _bucket) for the samples whose label `label` equals `value`.
std::optional<PromHistogram> find_histogram(const std::vector<Sample>& samples,
                                            const std::string& family, const std::string& label,
                                            const std::string& value);

}  // namespace ingresslab::replay
