// The Prometheus exposition of realproxy's counters: per-service status classes, cumulative
// histogram buckets, shards summed, label escaping.
#include "realproxy/server/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace ingresslab::realproxy {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(MetricsTest, RendersCountersAndCumulativeHistogramSummedOverShards) {
  MetricsRegistry registry(2);
  ServiceMetrics* coffee = registry.service("default/coffee-svc");
  EXPECT_EQ(registry.service("default/coffee-svc"), coffee);  // one per label
  coffee->record_request(0, 200, 300'000);                    // 0.3 ms
  coffee->record_request(1, 204, 2'000'000);                  // 2 ms
  coffee->record_request(1, 503, 20'000'000'000);             // 20 s: only +Inf
  coffee->record_connect_error(0);
  coffee->record_retry(1);
  registry.connection_opened(0);
  registry.connection_opened(1);
  registry.connection_closed(1);
  registry.record_reload(true, 1700000000);
  registry.record_reload(false, 1700000100);
  const std::string text = registry.render_prometheus();
  const std::string svc = "service=\"default/coffee-svc\"";
  EXPECT_TRUE(contains(text, "realproxy_requests_total{" + svc + ",code=\"2xx\"} 2\n")) << text;
  EXPECT_TRUE(contains(text, "realproxy_requests_total{" + svc + ",code=\"5xx\"} 1\n"));
  EXPECT_FALSE(contains(text, "code=\"4xx\""));  // classes never seen are left out
  EXPECT_TRUE(
      contains(text, "realproxy_request_duration_seconds_bucket{" + svc + ",le=\"0.0005\"} 1\n"));
  EXPECT_TRUE(
      contains(text, "realproxy_request_duration_seconds_bucket{" + svc + ",le=\"0.001\"} 1\n"));
  EXPECT_TRUE(
      contains(text, "realproxy_request_duration_seconds_bucket{" + svc + ",le=\"0.0025\"} 2\n"));
  EXPECT_TRUE(
      contains(text, "realproxy_request_duration_seconds_bucket{" + svc + ",le=\"10\"} 2\n"));
  EXPECT_TRUE(
      contains(text, "realproxy_request_duration_seconds_bucket{" + svc + ",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(contains(text, "realproxy_request_duration_seconds_count{" + svc + "} 3\n"));
  EXPECT_TRUE(contains(text, "realproxy_request_duration_seconds_sum{" + svc + "} 20.0023\n"));
  EXPECT_TRUE(contains(text, "realproxy_upstream_connect_errors_total{" + svc + "} 1\n"));
  EXPECT_TRUE(contains(text, "realproxy_upstream_retries_total{" + svc + "} 1\n"));
  EXPECT_TRUE(contains(text, "realproxy_active_connections 1\n"));
  EXPECT_TRUE(contains(text, "realproxy_config_reloads_total{result=\"success\"} 1\n"));
  EXPECT_TRUE(contains(text, "realproxy_config_reloads_total{result=\"failure\"} 1\n"));
  EXPECT_TRUE(
      contains(text, "realproxy_config_last_reload_success_timestamp_seconds 1700000000\n"));
  EXPECT_TRUE(contains(text, "# TYPE realproxy_request_duration_seconds histogram\n"));
}

TEST(MetricsTest, EscapesLabelValues) {
  MetricsRegistry registry(1);
  registry.service("we\"ird\\ns")->record_request(0, 404, 1);
  EXPECT_TRUE(contains(registry.render_prometheus(),
                       "realproxy_requests_total{service=\"we\\\"ird\\\\ns\",code=\"4xx\"} 1\n"));
}

}  // namespace
}  // namespace ingresslab::realproxy
