#include "realproxy/server/metrics.h"

#include <cinttypes>
#include <cstdio>

namespace ingresslab::realproxy {

namespace {

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
std::string escape_label(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

std::string_view to_string(RequestPhase phase) {
  switch (phase) {
    case RequestPhase::kAccept:
      return "accept";
    case RequestPhase::kTlsHandshake:
      return "tls_handshake";
    case RequestPhase::kHeaderParse:
      return "header_parse";
    case RequestPhase::kRoute:
      return "route";
    case RequestPhase::kUpstreamConnect:
      return "upstream_connect";
    case RequestPhase::kUpstreamFirstByte:
      return "upstream_first_byte";
    case RequestPhase::kTotal:
      return "total";
  }
  return "?";
}

ServiceMetrics::ServiceMetrics(std::string label, int shards)
    : label_(std::move(label)),
      shards_(new Shard[static_cast<size_t>(shards)]),
      shard_count_(shards) {}

void ServiceMetrics::record_request(int shard, int status, int64_t duration_ns) {
  Shard& s = shards_[shard];
  const int status_class = status >= 100 && status < 600 ? status / 100 : 0;
  bump(s.by_class[static_cast<size_t>(status_class)]);
  const double seconds = static_cast<double>(duration_ns) * 1e-9;
  size_t bucket = 0;
  while (bucket < kDurationBucketsSeconds.size() && seconds > kDurationBucketsSeconds[bucket]) {
    ++bucket;
  }
  bump(s.buckets[bucket]);
  bump(s.duration_sum_ns, duration_ns > 0 ? static_cast<uint64_t>(duration_ns) : 0);
}

void ServiceMetrics::render(std::string* requests, std::string* durations,
                            std::string* connect_errors, std::string* retries,
                            std::string* ejections) const {
  const std::string service = "service=\"" + escape_label(label_) + "\"";
  std::array<uint64_t, 6> by_class{};
  std::array<uint64_t, kDurationBucketsSeconds.size() + 1> buckets{};
  uint64_t sum_ns = 0, errors = 0, retried = 0, ejected = 0;
  for (int i = 0; i < shard_count_; ++i) {
    const Shard& s = shards_[i];
    for (size_t c = 0; c < by_class.size(); ++c)
      by_class[c] += s.by_class[c].load(std::memory_order_relaxed);
    for (size_t b = 0; b < buckets.size(); ++b)
      buckets[b] += s.buckets[b].load(std::memory_order_relaxed);
    sum_ns += s.duration_sum_ns.load(std::memory_order_relaxed);
    errors += s.connect_errors.load(std::memory_order_relaxed);
    retried += s.retries.load(std::memory_order_relaxed);
    ejected += s.ejections.load(std::memory_order_relaxed);
  }
  static constexpr const char* kClasses[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (size_t c = 0; c < by_class.size(); ++c) {
    if (by_class[c] == 0) continue;
    *requests += "realproxy_requests_total{" + service + ",code=\"" + kClasses[c] + "\"} " +
                 std::to_string(by_class[c]) + "\n";
  }
  uint64_t cumulative = 0;
  for (size_t b = 0; b < buckets.size(); ++b) {
    cumulative += buckets[b];
    const std::string le =
        b < kDurationBucketsSeconds.size() ? format_double(kDurationBucketsSeconds[b]) : "+Inf";
    *durations += "realproxy_request_duration_seconds_bucket{" + service + ",le=\"" + le + "\"} " +
                  std::to_string(cumulative) + "\n";
  }
  *durations += "realproxy_request_duration_seconds_sum{" + service + "} " +
                format_double(static_cast<double>(sum_ns) * 1e-9) + "\n";
  *durations += "realproxy_request_duration_seconds_count{" + service + "} " +
                std::to_string(cumulative) + "\n";
  *connect_errors +=
      "realproxy_upstream_connect_errors_total{" + service + "} " + std::to_string(errors) + "\n";
  *retries += "realproxy_upstream_retries_total{" + service + "} " + std::to_string(retried) + "\n";
  *ejections +=
      "realproxy_upstream_ejections_total{" + service + "} " + std::to_string(ejected) + "\n";
}

MetricsRegistry::MetricsRegistry(int workers)
    : workers_(workers),
      phases_(new PhaseShard[static_cast<size_t>(workers)]),
      connections_(new ConnectionShard[static_cast<size_t>(workers)]) {}

void MetricsRegistry::record_phase(int shard, RequestPhase phase, int64_t duration_ns) {
  PhaseShard::Histogram& h = phases_[shard].phases[static_cast<size_t>(phase)];
  const uint64_t ns = duration_ns > 0 ? static_cast<uint64_t>(duration_ns) : 0;
  const double seconds = static_cast<double>(ns) * 1e-9;
  size_t bucket = 0;
  while (bucket < kPhaseBucketsSeconds.size() && seconds > kPhaseBucketsSeconds[bucket]) {
    ++bucket;
  }
  bump(h.buckets[bucket]);
  bump(h.sum_ns, ns);
}

ServiceMetrics* MetricsRegistry::service(const std::string& label) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = by_label_.find(label); it != by_label_.end()) return it->second;
  ServiceMetrics* metrics = &services_.emplace_back(label, workers_);
  by_label_.emplace(label, metrics);
  return metrics;
}

void MetricsRegistry::record_reload(bool success, int64_t unix_seconds) {
  if (success) {
    reload_success_.fetch_add(1, std::memory_order_relaxed);
    last_reload_success_unix_.store(unix_seconds, std::memory_order_relaxed);
  } else {
    reload_failure_.fetch_add(1, std::memory_order_relaxed);
  }
}

std::string MetricsRegistry::render_prometheus() const {
  std::string requests, durations, connect_errors, retries, ejections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [label, metrics] : by_label_) {
      metrics->render(&requests, &durations, &connect_errors, &retries, &ejections);
    }
  }
  std::string phases;
  for (int p = 0; p < kRequestPhaseCount; ++p) {
    std::array<uint64_t, kPhaseBucketsSeconds.size() + 1> buckets{};
    uint64_t sum_ns = 0;
    for (int w = 0; w < workers_; ++w) {
      const PhaseShard::Histogram& h = phases_[w].phases[static_cast<size_t>(p)];
      for (size_t b = 0; b < buckets.size(); ++b)
        buckets[b] += h.buckets[b].load(std::memory_order_relaxed);
      sum_ns += h.sum_ns.load(std::memory_order_relaxed);
    }
    const std::string phase =
        "phase=\"" + std::string(to_string(static_cast<RequestPhase>(p))) + "\"";
    uint64_t cumulative = 0;
    for (size_t b = 0; b < buckets.size(); ++b) {
      cumulative += buckets[b];
      const std::string le =
          b < kPhaseBucketsSeconds.size() ? format_double(kPhaseBucketsSeconds[b]) : "+Inf";
      phases += "realproxy_request_phase_seconds_bucket{" + phase + ",le=\"" + le + "\"} " +
                std::to_string(cumulative) + "\n";
    }
    phases += "realproxy_request_phase_seconds_sum{" + phase + "} " +
              format_double(static_cast<double>(sum_ns) * 1e-9) + "\n";
    phases +=
        "realproxy_request_phase_seconds_count{" + phase + "} " + std::to_string(cumulative) + "\n";
  }
  int64_t active = 0;
  for (int i = 0; i < workers_; ++i) {
    active += static_cast<int64_t>(connections_[i].opened.load(std::memory_order_relaxed)) -
              static_cast<int64_t>(connections_[i].closed.load(std::memory_order_relaxed));
  }
  std::string out;
  out += "# HELP realproxy_requests_total Requests answered, by Service and status class.\n";
  out += "# TYPE realproxy_requests_total counter\n" + requests;
  out +=
      "# HELP realproxy_request_duration_seconds Time from the first byte of the request to "
      "the end of the response.\n";
  out += "# TYPE realproxy_request_duration_seconds histogram\n" + durations;
  out +=
      "# HELP realproxy_upstream_connect_errors_total Failed connection attempts to "
      "endpoints.\n";
  out += "# TYPE realproxy_upstream_connect_errors_total counter\n" + connect_errors;
  out +=
      "# HELP realproxy_upstream_retries_total Requests sent to another endpoint after a "
      "connect failure.\n";
  out += "# TYPE realproxy_upstream_retries_total counter\n" + retries;
  out +=
      "# HELP realproxy_upstream_ejections_total Endpoints ejected (passive outlier detection) "
      "after consecutive 5xx answers.\n";
  out += "# TYPE realproxy_upstream_ejections_total counter\n" + ejections;
  out +=
      "# HELP realproxy_request_phase_seconds Per-request timing breakdown: accept, "
      "tls_handshake (first request of a connection only), header_parse, route, "
      "upstream_connect, upstream_first_byte (proxied requests only), total.\n";
  out += "# TYPE realproxy_request_phase_seconds histogram\n" + phases;
  out += "# HELP realproxy_active_connections Downstream connections open now.\n";
  out += "# TYPE realproxy_active_connections gauge\n";
  out += "realproxy_active_connections " + std::to_string(active) + "\n";
  out += "# HELP realproxy_config_reloads_total Configuration reloads (SIGHUP), by result.\n";
  out += "# TYPE realproxy_config_reloads_total counter\n";
  out += "realproxy_config_reloads_total{result=\"success\"} " +
         std::to_string(reload_success_.load(std::memory_order_relaxed)) + "\n";
  out += "realproxy_config_reloads_total{result=\"failure\"} " +
         std::to_string(reload_failure_.load(std::memory_order_relaxed)) + "\n";
  out +=
      "# HELP realproxy_config_last_reload_success_timestamp_seconds When the configuration "
      "in use was loaded.\n";
  out += "# TYPE realproxy_config_last_reload_success_timestamp_seconds gauge\n";
  out += "realproxy_config_last_reload_success_timestamp_seconds " +
         std::to_string(last_reload_success_unix_.load(std::memory_order_relaxed)) + "\n";
  return out;
}

}  // namespace ingresslab::realproxy
