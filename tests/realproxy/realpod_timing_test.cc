// realpod's service time on its timer: a response leaves at the sampled service time, not later
// by the timer's wake-up latency (realpod arms its timerfd early by the lateness it measures), and
// a request with `X-Realpod-Probe` is answered at once (validate-live's latency probe).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/realproxy/http_client.h"
#include "tests/realproxy/testbed.h"

namespace ingresslab::realproxy::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Median round trip (us) of `n` keep-alive GETs 1 ms apart, after 30 untimed ones.
double median_rtt_us(KeepAliveClient& client, int n) {
  std::vector<double> rtt;
  std::string error;
  for (int i = 0; i < 30 + n; ++i) {
    std::this_thread::sleep_for(1ms);
    const auto start = Clock::now();
    const auto r = client.get("x.example", "/", &error);
    EXPECT_TRUE(r && r->status == 200) << error;
    if (i >= 30)
      rtt.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  return median(rtt);
}

TEST(RealpodTiming, ConstantServiceTimeIsNotLateByTheTimerWakeUp) {
  Testbed bed;
  Pod& instant = bed.add_pod("x", "pod-0");
  Pod& fixed = bed.add_pod("x", "pod-2ms", {"--service-time", "constant:2ms"});
  KeepAliveClient a(instant.port), b(fixed.port);
  // The service time is the difference from a pod that answers at once (the same path without
  // the timer). Without the early arming it was late by the median wake-up latency (here ~50 us
  // on an idle 2-vCPU VM); with it, a few us. Up to 3 attempts: a busy machine moves medians.
  double added_us = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const double base = median_rtt_us(a, 200);
    const double with = median_rtt_us(b, 200);
    added_us = with - base;
    if (std::abs(added_us - 2000) <= 30) break;
  }
  EXPECT_NEAR(added_us, 2000, 30);
}

TEST(RealpodTiming, ProbeHeaderIsAnsweredAtOnce) {
  Testbed bed;
  Pod& slow =
      bed.add_pod("x", "pod-slow", {"--service-time", "constant:300ms", "--concurrency", "1"});
  const auto start = Clock::now();
  const std::string raw = raw_exchange(
      slow.port,
      "GET /probe HTTP/1.1\r\nHost: x\r\nX-Realpod-Probe: 1\r\nConnection: close\r\n\r\n");
  const auto elapsed = Clock::now() - start;
  const auto r = parse_response(raw);
  ASSERT_TRUE(r) << raw;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("x-pod"), "pod-slow");
  EXPECT_LT(elapsed, 150ms);
}

}  // namespace
}  // namespace ingresslab::realproxy::testing
