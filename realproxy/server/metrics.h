// Counters of the running proxy, rendered in the Prometheus text exposition format (0.0.4) on the
// admin listener's GET /metrics.
//
// Per Service (label `service="namespace/name"`; `service=""` for requests no rule matched):
//   realproxy_requests_total{service,code}          by status class "1xx".."5xx"
//   realproxy_request_duration_seconds{service}     histogram, first byte received → response end
//   realproxy_upstream_connect_errors_total{service}
//   realproxy_upstream_retries_total{service}
//   realproxy_upstream_ejections_total{service}     endpoints ejected after consecutive 5xx
// Global:
//   realproxy_request_phase_seconds{phase}          histogram per phase of the timing breakdown
//                                                   (RequestPhase below)
//   realproxy_active_connections                    downstream connections open now
//   realproxy_config_reloads_total{result}          "success" / "failure"
//   realproxy_config_last_reload_success_timestamp_seconds
//
// Thread-safety: every counter is sharded per worker thread; a worker writes only its own shard
// (relaxed atomics, no read-modify-write contention), the admin thread sums the shards.
// service() may be called from any thread; the ServiceMetrics it returns live as long as the
// registry (services are never removed, so their counters stay monotonic across reloads).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace ingresslab::realproxy {

// Upper bounds of the duration histogram buckets, in seconds (then +Inf).
inline constexpr std::array<double, 14> kDurationBucketsSeconds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// The phases of one request's timing breakdown (worker.cc measures them; README "Timing").
enum class RequestPhase : uint8_t {
  kAccept,             // accept(2) and socket setup (first request of a connection only)
  kTlsHandshake,       // ClientHello processed → handshake done (first request on TLS only)
  kHeaderParse,        // first byte of the request read → request parsed, handler entered
  kRoute,              // Ingress match and backend lookup
  kUpstreamConnect,    // endpoint choice + connection (pooled or new, retries included)
  kUpstreamFirstByte,  // request handed to the upstream → response headers received
  kTotal,              // connection accepted (first request) or first byte read → response end
};
inline constexpr int kRequestPhaseCount = 7;
std::string_view to_string(RequestPhase phase);

// Upper bounds of the phase histogram buckets, in seconds (then +Inf): microseconds matter here.
inline constexpr std::array<double, 18> kPhaseBucketsSeconds = {
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,    0.025,    0.05,    0.1,    0.25,    0.5,    1,     2.5,    10};

// Increments a counter that only one thread writes (no locked read-modify-write needed).
inline void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

class ServiceMetrics {
 public:
  ServiceMetrics(std::string label, int shards);

  const std::string& label() const { return label_; }
  // REQUIRES: `shard` is the calling worker's index, < the registry's worker count.
  void record_request(int shard, int status, int64_t duration_ns);
  void record_connect_error(int shard) { bump(shards_[shard].connect_errors); }
  void record_retry(int shard) { bump(shards_[shard].retries); }
  void record_ejection(int shard) { bump(shards_[shard].ejections); }

  // Appends this service's samples of every metric family to the given buffers.
  void render(std::string* requests, std::string* durations, std::string* connect_errors,
              std::string* retries, std::string* ejections) const;

 private:
  struct alignas(64) Shard {
    std::array<std::atomic<uint64_t>, 6> by_class{};  // index status/100 (0: no status)
    std::array<std::atomic<uint64_t>, kDurationBucketsSeconds.size() + 1> buckets{};
    std::atomic<uint64_t> duration_sum_ns{0};
    std::atomic<uint64_t> connect_errors{0};
    std::atomic<uint64_t> retries{0};
    std::atomic<uint64_t> ejections{0};
  };

  std::string label_;
  std::unique_ptr<Shard[]> shards_;
  int shard_count_;
};

class MetricsRegistry {
 public:
  explicit MetricsRegistry(int workers);

  int workers() const { return workers_; }
  // The metrics of a service label, created on first use. Stable address.
  ServiceMetrics* service(const std::string& label);

  void connection_opened(int shard) { bump(connections_[shard].opened); }
  void connection_closed(int shard) { bump(connections_[shard].closed); }
  void record_reload(bool success, int64_t unix_seconds);
  // One observation of one phase (nanoseconds; negative values count as 0).
  void record_phase(int shard, RequestPhase phase, int64_t duration_ns);

  // The whole exposition.
  std::string render_prometheus() const;

 private:
  struct alignas(64) ConnectionShard {
    std::atomic<uint64_t> opened{0};
    std::atomic<uint64_t> closed{0};
  };

  struct alignas(64) PhaseShard {
    struct Histogram {
      std::array<std::atomic<uint64_t>, kPhaseBucketsSeconds.size() + 1> buckets{};
      std::atomic<uint64_t> sum_ns{0};
    };
    std::array<Histogram, kRequestPhaseCount> phases;
  };

  int workers_;
  std::unique_ptr<PhaseShard[]> phases_;
  mutable std::mutex mu_;
  std::deque<ServiceMetrics> services_;  // guarded by mu_ for insertion; elements are stable
  std::map<std::string, ServiceMetrics*> by_label_;
  std::unique_ptr<ConnectionShard[]> connections_;
  std::atomic<uint64_t> reload_success_{0};
  std::atomic<uint64_t> reload_failure_{0};
  std::atomic<int64_t> last_reload_success_unix_{0};
};

}  // namespace ingresslab::realproxy
