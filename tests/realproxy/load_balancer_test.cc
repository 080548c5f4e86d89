// The load-balancing policies as pure functions: coverage, exclusion of tried and unhealthy
// endpoints, least-request / P2C / EWMA preferences, consistent-hash stickiness.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "realproxy/realpod/service_time.h"
#include "realproxy/server/load_balancer.h"

namespace ingresslab::realproxy {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

class Endpoints {
 public:
  explicit Endpoints(size_t n) : loads_(n) {
    for (EndpointLoad& l : loads_)
      pointers_.push_back(&l);
  }
  EndpointLoad& operator[](size_t i) { return loads_[i]; }

  std::optional<uint32_t> pick(LbPolicy policy, std::vector<uint32_t> tried = {},
                               int64_t now = 100 * kSecond, const HashRing* ring = nullptr,
                               uint64_t key = 0) {
    PickRequest request;
    request.endpoints = pointers_;
    request.tried = tried;
    request.now_ns = now;
    request.round_robin_cursor = &cursor_;
    request.rng = &rng_;
    request.ring = ring;
    request.key_hash = key;
    return pick_endpoint(policy, request);
  }

 private:
  std::vector<EndpointLoad> loads_;
  std::vector<EndpointLoad*> pointers_;
  uint64_t cursor_ = 0;
  engine::Rng rng_{42};
};

TEST(LoadBalancerTest, PolicyNamesRoundTrip) {
  for (const char* name :
       {"round_robin", "least_request", "p2c", "ewma", "random", "consistent_hash"}) {
    const auto policy = parse_lb_policy(name);
    ASSERT_TRUE(policy) << name;
    EXPECT_EQ(to_string(*policy), name);
  }
  EXPECT_FALSE(parse_lb_policy("fastest"));
}

TEST(LoadBalancerTest, RoundRobinCyclesThroughEveryEndpoint) {
  Endpoints e(4);
  std::vector<uint32_t> order;
  for (int i = 0; i < 8; ++i)
    order.push_back(*e.pick(LbPolicy::kRoundRobin));
  EXPECT_EQ(order, (std::vector<uint32_t>{0, 1, 2, 3, 0, 1, 2, 3}));
}

TEST(LoadBalancerTest, TriedEndpointsAreNeverPickedAgain) {
  for (LbPolicy policy : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest,
                          LbPolicy::kPowerOfTwoChoices, LbPolicy::kEwma, LbPolicy::kRandom}) {
    Endpoints e(3);
    for (int i = 0; i < 50; ++i) {
      const auto chosen = e.pick(policy, {0, 2});
      ASSERT_TRUE(chosen);
      EXPECT_EQ(*chosen, 1u) << to_string(policy);
    }
    EXPECT_FALSE(e.pick(policy, {0, 1, 2})) << to_string(policy);
  }
  Endpoints none(0);
  EXPECT_FALSE(none.pick(LbPolicy::kRoundRobin));
}

TEST(LoadBalancerTest, UnhealthyEndpointsAreSkippedUnlessNothingElseIsLeft) {
  Endpoints e(3);
  e[1].unhealthy_until_ns = 200 * kSecond;
  for (int i = 0; i < 30; ++i)
    EXPECT_NE(*e.pick(LbPolicy::kRoundRobin), 1u);
  // Only the unhealthy one is untried: try it anyway (nginx does the same).
  EXPECT_EQ(*e.pick(LbPolicy::kRandom, {0, 2}), 1u);
  // Once its time has passed it is healthy again.
  std::set<uint32_t> seen;
  for (int i = 0; i < 3; ++i)
    seen.insert(*e.pick(LbPolicy::kRoundRobin, {}, 300 * kSecond));
  EXPECT_EQ(seen.size(), 3u);
}

TEST(LoadBalancerTest, LeastRequestPicksTheLeastBusy) {
  Endpoints e(4);
  e[0].active_requests = 3;
  e[1].active_requests = 1;
  e[2].active_requests = 0;
  e[3].active_requests = 2;
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(*e.pick(LbPolicy::kLeastRequest), 2u);
}

TEST(LoadBalancerTest, PowerOfTwoChoicesNeverPicksTheBusierOfTwo) {
  Endpoints e(2);
  e[0].active_requests = 5;
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(*e.pick(LbPolicy::kPowerOfTwoChoices), 1u);
}

TEST(LoadBalancerTest, RandomAndPowerOfTwoCoverAllEndpoints) {
  for (LbPolicy policy :
       {LbPolicy::kRandom, LbPolicy::kPowerOfTwoChoices, LbPolicy::kLeastRequest}) {
    Endpoints e(5);
    std::set<uint32_t> seen;
    for (int i = 0; i < 200; ++i)
      seen.insert(*e.pick(policy));
    EXPECT_EQ(seen.size(), 5u) << to_string(policy);
  }
}

TEST(LoadBalancerTest, EwmaDecaysAndPrefersTheFasterEndpoint) {
  EndpointLoad load;
  load.record_response_time(10.0, 0);
  EXPECT_DOUBLE_EQ(load.ewma_ms, 10.0);
  load.record_response_time(20.0, 0);  // no time elapsed: weight 1, the old value stays
  EXPECT_DOUBLE_EQ(load.ewma_ms, 10.0);
  load.record_response_time(20.0, 10 * kSecond);  // w = e^-1
  EXPECT_NEAR(load.ewma_ms, 10.0 * std::exp(-1.0) + 20.0 * (1 - std::exp(-1.0)), 1e-9);
  // The score decays towards 0 while the endpoint is idle.
  EXPECT_NEAR(load.ewma_score(20 * kSecond), load.ewma_ms * std::exp(-1.0), 1e-9);

  Endpoints e(2);
  e[0].record_response_time(50.0, 100 * kSecond);
  e[1].record_response_time(5.0, 100 * kSecond);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(*e.pick(LbPolicy::kEwma), 1u);
}

TEST(LoadBalancerTest, NewEndpointsStartAtTheMeanEwma) {
  EndpointLoad a, b, fresh;
  a.record_response_time(10.0, 0);
  b.record_response_time(30.0, 0);
  std::vector<EndpointLoad*> loads = {&a, &b, &fresh};
  seed_missing_ewma(loads, 0);
  EXPECT_TRUE(fresh.ewma_valid);
  EXPECT_DOUBLE_EQ(fresh.ewma_ms, 20.0);
}

TEST(LoadBalancerTest, ConsistentHashIsStickyAndMovesFewKeysWhenAnEndpointGoes) {
  const std::vector<std::string> five = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80",
                                         "10.0.0.5:80"};
  const HashRing ring(five);
  Endpoints e(5);
  std::map<std::string, uint32_t> owner;
  std::map<uint32_t, int> per_endpoint;
  for (int k = 0; k < 1000; ++k) {
    const std::string key = "user-" + std::to_string(k);
    const uint32_t first = *e.pick(LbPolicy::kConsistentHash, {}, kSecond, &ring, hash_key(key));
    EXPECT_EQ(*e.pick(LbPolicy::kConsistentHash, {}, kSecond, &ring, hash_key(key)), first);
    owner[key] = first;
    ++per_endpoint[first];
  }
  for (const auto& [endpoint, n] : per_endpoint) {
    EXPECT_GT(n, 100) << endpoint;  // roughly 200 each
    EXPECT_LT(n, 320) << endpoint;
  }
  // Endpoint 2 becomes unhealthy: only its keys move.
  e[2].unhealthy_until_ns = 10 * kSecond;
  int moved = 0;
  for (const auto& [key, first] : owner) {
    const uint32_t now = *e.pick(LbPolicy::kConsistentHash, {}, kSecond, &ring, hash_key(key));
    if (first != 2) {
      EXPECT_EQ(now, first) << key;
    } else {
      EXPECT_NE(now, 2u);
      ++moved;
    }
  }
  EXPECT_EQ(moved, per_endpoint[2]);
}

TEST(ServiceTimeTest, ParsesTheDistributionSyntax) {
  auto constant = parse_service_time("constant:2ms");
  ASSERT_TRUE(constant.ok()) << constant.error;
  EXPECT_DOUBLE_EQ(constant.dist->mean(), 0.002);
  auto exponential = parse_service_time("exponential:1ms");
  ASSERT_TRUE(exponential.ok()) << exponential.error;
  EXPECT_DOUBLE_EQ(exponential.dist->mean(), 0.001);
  auto lognormal = parse_service_time("lognormal:2ms,10ms");
  ASSERT_TRUE(lognormal.ok()) << lognormal.error;
  EXPECT_NEAR(lognormal.dist->mean(), 0.002, 1e-12);
  auto uniform = parse_service_time("uniform:1ms,3ms");
  ASSERT_TRUE(uniform.ok()) << uniform.error;
  EXPECT_DOUBLE_EQ(uniform.dist->mean(), 0.002);

  EXPECT_NE(parse_service_time("lognormal:10ms,2ms").error.find("p99"), std::string::npos);
  EXPECT_NE(parse_service_time("constant:2").error.find("missing unit"), std::string::npos);
  EXPECT_NE(parse_service_time("gaussian:2ms").error.find("unknown kind"), std::string::npos);
  EXPECT_NE(parse_service_time("lognormal:2ms").error.find("two durations"), std::string::npos);
  EXPECT_FALSE(parse_service_time("2ms").ok());
}

}  // namespace
}  // namespace ingresslab::realproxy
