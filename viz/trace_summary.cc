#include "viz/trace_summary.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <set>

#include "engine/histogram.h"
#include "models/simulate.h"

namespace ingresslab::viz {
namespace {

constexpr double kNsPerMs = 1e6;

struct HopHistograms {
  engine::LatencyHistogram latency;
  engine::LatencyHistogram queueing;
  engine::LatencyHistogram service;
};

void fill_buckets(const engine::LatencyHistogram& h,
                  google::protobuf::RepeatedPtrField<result::HistogramBucket>* out) {
  h.for_each_bucket([&](const engine::LatencyHistogram::Bucket& b) {
    auto* bucket = out->Add();
    bucket->set_upper_ms(static_cast<double>(b.upper_ns) / kNsPerMs);
    bucket->set_count(b.count);
  });
}

// Calls fn(index, span) for every span of the trace, or, with `wanted`, for the spans whose index
// it holds (the others are skipped unparsed, and reading stops after the last one). False with
// *error on a corrupt stream.
bool for_each_span(const std::string& path, const std::function<void(uint64_t, result::Span&)>& fn,
                   std::string* error, const std::set<uint64_t>* wanted = nullptr) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  bool ok = true;
  auto corrupt = [&](uint64_t index) {
    *error = path + ": not a span trace (length-delimited result.Span messages): message " +
             std::to_string(index + 1) + " is corrupt or truncated";
    ok = false;
  };
  {
    google::protobuf::io::FileInputStream in(fd);
    result::Span span;
    for (uint64_t index = 0;; ++index) {
      if (wanted != nullptr && (wanted->empty() || index > *wanted->rbegin())) break;
      if (wanted != nullptr && wanted->count(index) == 0) {
        const void* data = nullptr;
        int size = 0;
        if (!in.Next(&data, &size)) break;  // clean end of file
        in.BackUp(size);
        google::protobuf::io::CodedInputStream coded(&in);
        uint32_t length = 0;
        if (!coded.ReadVarint32(&length) || !coded.Skip(static_cast<int>(length))) {
          corrupt(index);
          break;
        }
        continue;
      }
      bool clean_eof = false;
      span.Clear();
      if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&span, &in, &clean_eof)) {
        if (!clean_eof) corrupt(index);
        break;
      }
      fn(index, span);
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

bool summarize_trace(const std::string& path, TraceSummary* out, std::string* error) {
  *out = TraceSummary{};
  std::vector<std::string> hop_order;
  std::map<std::string, HopHistograms> hops;
  engine::LatencyHistogram end_to_end;
  // (latency, span index) of the successful spans.
  std::vector<std::pair<int64_t, uint64_t>> latencies;
  const bool ok = for_each_span(
      path,
      [&](uint64_t index, result::Span& span) {
        ++out->spans;
        if (span.status() != "ok") return;
        ++out->succeeded;
        const int64_t latency_ns = span.end_ns() - span.start_ns();
        end_to_end.record_ns(latency_ns);
        latencies.emplace_back(latency_ns, index);
        for (const result::HopTime& hop : span.hops()) {
          auto it = hops.find(hop.hop());
          if (it == hops.end()) {
            hop_order.push_back(hop.hop());
            it = hops.emplace(hop.hop(), HopHistograms{}).first;
          }
          it->second.latency.record_ns(hop.queue_ns() + hop.service_ns());
          it->second.queueing.record_ns(hop.queue_ns());
          it->second.service.record_ns(hop.service_ns());
        }
      },
      error);
  if (!ok) return false;
  if (out->spans == 0) {
    *error = path + ": not a span trace: the file holds no spans";
    return false;
  }
  for (const std::string& name : hop_order) {
    const HopHistograms& h = hops.at(name);
    result::Hop hop;
    hop.set_name(name);
    hop.set_requests(h.latency.count());
    models::fill_latency_ms(h.latency, hop.mutable_latency_ms());
    models::fill_latency_ms(h.queueing, hop.mutable_queueing_ms());
    models::fill_latency_ms(h.service, hop.mutable_service_ms());
    fill_buckets(h.latency, hop.mutable_histogram());
    fill_buckets(h.queueing, hop.mutable_queueing_histogram());
    out->hops.push_back(std::move(hop));
  }
  models::fill_latency_ms(end_to_end, &out->latency_ms);
  google::protobuf::RepeatedPtrField<result::HistogramBucket> buckets;
  fill_buckets(end_to_end, &buckets);
  out->latency_histogram.assign(buckets.begin(), buckets.end());

  if (latencies.empty()) return true;
  std::sort(latencies.begin(), latencies.end());
  const struct {
    double q;
    const char* label;
  } wanted[] = {{0.5, "p50"}, {0.99, "p99"}, {0.999, "p99.9"}};
  std::map<uint64_t, std::vector<size_t>> by_index;  // span index -> positions in out->tail
  for (const auto& w : wanted) {
    // Nearest rank: the ceil(q * n)-th smallest.
    const auto n = static_cast<double>(latencies.size());
    const auto rank = static_cast<size_t>(std::max(1.0, std::ceil(w.q * n)));
    out->tail.push_back({w.q, w.label, {}});
    by_index[latencies[rank - 1].second].push_back(out->tail.size() - 1);
  }
  std::set<uint64_t> wanted_indexes;
  for (const auto& [index, positions] : by_index)
    wanted_indexes.insert(index);
  return for_each_span(
      path,
      [&](uint64_t index, result::Span& span) {
        for (size_t position : by_index.at(index))
          out->tail[position].span = span;
      },
      error, &wanted_indexes);
}

void fill_missing_hop_histograms(const TraceSummary& trace, result::RunResult* result) {
  for (result::Hop& hop : *result->mutable_hops()) {
    auto it = std::find_if(trace.hops.begin(), trace.hops.end(),
                           [&](const result::Hop& h) { return h.name() == hop.name(); });
    if (it == trace.hops.end()) continue;
    if (hop.histogram().empty()) *hop.mutable_histogram() = it->histogram();
    if (hop.queueing_histogram().empty())
      *hop.mutable_queueing_histogram() = it->queueing_histogram();
  }
}

result::RunResult result_from_trace(const TraceSummary& trace, const std::string& name) {
  result::RunResult r;
  r.set_scenario(name);
  r.mutable_run()->set_source("trace");
  r.mutable_run()->add_notes("opened from a span trace: no utilisation, time series or routes");
  auto* e2e = r.mutable_end_to_end();
  *e2e->mutable_latency_ms() = trace.latency_ms;
  e2e->set_requests(trace.spans);
  e2e->set_succeeded(trace.succeeded);
  e2e->set_success_ratio(trace.spans == 0 ? 0.0
                                          : static_cast<double>(trace.succeeded) /
                                                static_cast<double>(trace.spans));
  for (const result::Hop& hop : trace.hops)
    *r.add_hops() = hop;
  for (const result::HistogramBucket& b : trace.latency_histogram)
    *r.add_latency_histogram() = b;
  return r;
}

}  // namespace ingresslab::viz
