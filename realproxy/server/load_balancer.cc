#include "realproxy/server/load_balancer.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace ingresslab::realproxy {

std::string_view to_string(LbPolicy policy) {
  switch (policy) {
    case LbPolicy::kRoundRobin:
      return "round_robin";
    case LbPolicy::kLeastRequest:
      return "least_request";
    case LbPolicy::kPowerOfTwoChoices:
      return "p2c";
    case LbPolicy::kEwma:
      return "ewma";
    case LbPolicy::kRandom:
      return "random";
    case LbPolicy::kConsistentHash:
      return "consistent_hash";
  }
  return "?";
}

std::optional<LbPolicy> parse_lb_policy(std::string_view name) {
  for (LbPolicy p : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kPowerOfTwoChoices,
                     LbPolicy::kEwma, LbPolicy::kRandom, LbPolicy::kConsistentHash}) {
    if (to_string(p) == name) return p;
  }
  return std::nullopt;
}

namespace {

double decay_weight(int64_t elapsed_ns) {
  if (elapsed_ns <= 0) return 1.0;
  return std::exp(-static_cast<double>(elapsed_ns) * 1e-9 / EndpointLoad::kDecaySeconds);
}

bool is_tried(std::span<const uint32_t> tried, uint32_t index) {
  return std::find(tried.begin(), tried.end(), index) != tried.end();
}

// Eligibility in two passes: first healthy untried endpoints, then any untried endpoint.
struct Eligibility {
  const PickRequest& request;
  bool include_unhealthy = false;

  bool operator()(uint32_t i) const {
    if (is_tried(request.tried, i)) return false;
    return include_unhealthy || request.endpoints[i]->healthy(request.now_ns);
  }
};

// The first eligible index at or after `start` (wrapping), or nullopt.
std::optional<uint32_t> first_eligible_from(const Eligibility& eligible, uint32_t start,
                                            std::optional<uint32_t> except = std::nullopt) {
  const uint32_t n = static_cast<uint32_t>(eligible.request.endpoints.size());
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = (start + k) % n;
    if (eligible(i) && i != except) return i;
  }
  return std::nullopt;
}

std::optional<uint32_t> random_eligible(const Eligibility& eligible,
                                        std::optional<uint32_t> except = std::nullopt) {
  const uint32_t n = static_cast<uint32_t>(eligible.request.endpoints.size());
  const uint32_t start = static_cast<uint32_t>(eligible.request.rng->below(n));
  return first_eligible_from(eligible, start, except);
}

std::optional<uint32_t> pick_with(LbPolicy policy, const Eligibility& eligible) {
  const PickRequest& req = eligible.request;
  const uint32_t n = static_cast<uint32_t>(req.endpoints.size());
  switch (policy) {
    case LbPolicy::kRoundRobin: {
      const auto chosen =
          first_eligible_from(eligible, static_cast<uint32_t>(*req.round_robin_cursor % n));
      if (chosen) *req.round_robin_cursor = *chosen + 1;
      return chosen;
    }
    case LbPolicy::kRandom:
      return random_eligible(eligible);
    case LbPolicy::kLeastRequest: {
      const uint32_t start = static_cast<uint32_t>(req.rng->below(n));
      std::optional<uint32_t> best;
      for (uint32_t k = 0; k < n; ++k) {
        const uint32_t i = (start + k) % n;
        if (!eligible(i)) continue;
        if (!best || req.endpoints[i]->active_requests < req.endpoints[*best]->active_requests) {
          best = i;
        }
      }
      return best;
    }
    case LbPolicy::kPowerOfTwoChoices:
    case LbPolicy::kEwma: {
      const auto a = random_eligible(eligible);
      if (!a) return std::nullopt;
      const auto b = random_eligible(eligible, *a);
      if (!b) return a;
      const EndpointLoad& la = *req.endpoints[*a];
      const EndpointLoad& lb = *req.endpoints[*b];
      if (policy == LbPolicy::kPowerOfTwoChoices) {
        return lb.active_requests < la.active_requests ? b : a;
      }
      const double sa = la.ewma_score(req.now_ns), sb = lb.ewma_score(req.now_ns);
      if (sa != sb) return sb < sa ? b : a;
      return lb.active_requests < la.active_requests ? b : a;
    }
    case LbPolicy::kConsistentHash: {
      if (req.ring == nullptr || req.ring->empty()) return std::nullopt;
      const size_t first = req.ring->first_point(req.key_hash);
      for (size_t k = 0; k < req.ring->size(); ++k) {
        const uint32_t i = req.ring->endpoint_at(first + k);
        if (i < n && eligible(i)) return i;
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

void EndpointLoad::record_response_time(double rtt_ms, int64_t now_ns) {
  if (!ewma_valid) {
    ewma_ms = rtt_ms;
    ewma_valid = true;
  } else {
    const double w = decay_weight(now_ns - ewma_at_ns);
    ewma_ms = ewma_ms * w + rtt_ms * (1.0 - w);
  }
  ewma_at_ns = now_ns;
}

double EndpointLoad::ewma_score(int64_t now_ns) const {
  if (!ewma_valid) return 0.0;
  return ewma_ms * decay_weight(now_ns - ewma_at_ns);
}

void seed_missing_ewma(std::span<EndpointLoad* const> endpoints, int64_t now_ns) {
  double sum = 0;
  int count = 0;
  for (const EndpointLoad* e : endpoints) {
    if (e->ewma_valid) {
      sum += e->ewma_score(now_ns);
      ++count;
    }
  }
  if (count == 0) return;
  for (EndpointLoad* e : endpoints) {
    if (!e->ewma_valid) {
      e->ewma_ms = sum / count;
      e->ewma_at_ns = now_ns;
      e->ewma_valid = true;
    }
  }
}

uint64_t hash_key(std::string_view key) {
  uint64_t state = engine::fnv1a64(key);
  return engine::splitmix64_next(&state);
}

HashRing::HashRing(std::span<const std::string> keys) {
  points_.reserve(keys.size() * kPointsPerEndpoint);
  for (uint32_t i = 0; i < keys.size(); ++i) {
    for (int n = 0; n < kPointsPerEndpoint; ++n) {
      points_.emplace_back(hash_key(keys[i] + "#" + std::to_string(n)), i);
    }
  }
  std::sort(points_.begin(), points_.end());
}

size_t HashRing::first_point(uint64_t hash) const {
  const auto it =
      std::lower_bound(points_.begin(), points_.end(), std::pair<uint64_t, uint32_t>(hash, 0));
  return it == points_.end() ? 0 : static_cast<size_t>(it - points_.begin());
}

std::optional<uint32_t> pick_endpoint(LbPolicy policy, const PickRequest& request) {
  if (request.endpoints.empty()) return std::nullopt;
  if (auto chosen = pick_with(policy, Eligibility{request, false})) return chosen;
  return pick_with(policy, Eligibility{request, true});
}

}  // namespace ingresslab::realproxy
