#include "models/load_balancer.h"

#include <algorithm>
#include <map>

namespace ingresslab::models {
namespace {

// Two distinct uniformly random candidates. REQUIRES: c.size() >= 2.
std::pair<size_t, size_t> two_distinct(size_t n, engine::Rng& rng) {
  const size_t a = rng.below(n);
  size_t b = rng.below(n - 1);
  if (b >= a) ++b;
  return {a, b};
}

// nginx's round robin: each worker walks the endpoint list in order, independently.
class RoundRobin final : public LoadBalancer {
 public:
  size_t choose(std::span<const EndpointLoad> c, uint64_t, engine::Rng&) override {
    // Position by endpoint index, so endpoints joining or leaving do not reset the walk.
    const uint32_t start = next_;
    size_t best = 0;
    uint32_t best_distance = UINT32_MAX;
    for (size_t i = 0; i < c.size(); ++i) {
      const uint32_t distance = c[i].endpoint - start;  // unsigned wrap = distance ahead
      if (distance < best_distance) {
        best_distance = distance;
        best = i;
      }
    }
    next_ = c[best].endpoint + 1;
    return best;
  }

 private:
  uint32_t next_ = 0;
};

class Random final : public LoadBalancer {
 public:
  size_t choose(std::span<const EndpointLoad> c, uint64_t, engine::Rng& rng) override {
    return static_cast<size_t>(rng.below(c.size()));
  }
};

// Fewest active requests; ties broken uniformly at random.
class LeastRequest final : public LoadBalancer {
 public:
  size_t choose(std::span<const EndpointLoad> c, uint64_t, engine::Rng& rng) override {
    int best = INT32_MAX;
    size_t ties = 0, chosen = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      if (c[i].active < best) {
        best = c[i].active;
        ties = 1;
        chosen = i;
      } else if (c[i].active == best && rng.below(++ties) == 0) {
        chosen = i;  // reservoir sampling among ties
      }
    }
    return chosen;
  }
};

// Power of two choices (Mitzenmacher 2001; Envoy LEAST_REQUEST with choice_count 2): two distinct
// random endpoints, the one with fewer active requests.
class PowerOfTwo final : public LoadBalancer {
 public:
  size_t choose(std::span<const EndpointLoad> c, uint64_t, engine::Rng& rng) override {
    if (c.size() == 1) return 0;
    const auto [a, b] = two_distinct(c.size(), rng);
    if (c[a].active != c[b].active) return c[a].active < c[b].active ? a : b;
    return rng.below(2) == 0 ? a : b;
  }
};

// ingress-nginx "ewma" (rootfs/etc/nginx/lua/balancer/ewma.lua): P2C where the score is the
// decayed response-time EWMA times (active + 1).
class Ewma final : public LoadBalancer {
 public:
  size_t choose(std::span<const EndpointLoad> c, uint64_t, engine::Rng& rng) override {
    if (c.size() == 1) return 0;
    const auto [a, b] = two_distinct(c.size(), rng);
    const double sa = c[a].ewma_rtt_s * (c[a].active + 1);
    const double sb = c[b].ewma_rtt_s * (c[b].active + 1);
    if (sa != sb) return sa < sb ? a : b;
    return rng.below(2) == 0 ? a : b;
  }
};

// Consistent hashing on a ring with `replicas` virtual nodes per endpoint (Karger et al.).
class ConsistentHash final : public LoadBalancer {
 public:
  ConsistentHash(size_t endpoints, uint32_t replicas) {
    for (uint32_t e = 0; e < endpoints; ++e) {
      for (uint32_t r = 0; r < replicas; ++r) {
        uint64_t s = (uint64_t{e} << 32) | r;
        ring_.emplace(engine::splitmix64_next(&s), e);
      }
    }
  }
  size_t choose(std::span<const EndpointLoad> c, uint64_t key, engine::Rng&) override {
    uint64_t s = key;
    const uint64_t h = engine::splitmix64_next(&s);
    // Walk clockwise to the first virtual node whose endpoint is a candidate.
    auto it = ring_.lower_bound(h);
    for (size_t steps = 0; steps < ring_.size(); ++steps, ++it) {
      if (it == ring_.end()) it = ring_.begin();
      for (size_t i = 0; i < c.size(); ++i) {
        if (c[i].endpoint == it->second) return i;
      }
    }
    return 0;
  }

 private:
  std::map<uint64_t, uint32_t> ring_;
};

}  // namespace

std::unique_ptr<LoadBalancer> make_load_balancer(const scenario::LoadBalancing& config,
                                                 size_t endpoints) {
  switch (config.algorithm()) {
    case scenario::LoadBalancing::LEAST_REQUEST:
      return std::make_unique<LeastRequest>();
    case scenario::LoadBalancing::P2C:
      return std::make_unique<PowerOfTwo>();
    case scenario::LoadBalancing::EWMA:
      return std::make_unique<Ewma>();
    case scenario::LoadBalancing::CONSISTENT_HASH:
      return std::make_unique<ConsistentHash>(
          endpoints, config.has_ring_replicas() ? config.ring_replicas() : 100);
    case scenario::LoadBalancing::RANDOM:
      return std::make_unique<Random>();
    default:
      return std::make_unique<RoundRobin>();
  }
}

}  // namespace ingresslab::models
