// Endpoint choice: the load-balancing policies of realproxy, as pure functions over per-worker
// endpoint load state (no I/O, no h2o), so they are unit-tested on their own.
//
// Policies (names as on the command line; sources in
// /work/shared/reference/04-ingress-dataplanes.md):
//   round_robin      each worker rotates through the endpoints independently (nginx, ingress-nginx
//                    default; state is per worker and restarts on reload, as in nginx).
//   least_request    the endpoint with the fewest requests in flight from this worker (full scan,
//                    ties broken from a random start) — nginx `least_conn`-like.
//   p2c              two distinct random endpoints, the one with fewer requests in flight (Envoy
//                    LEAST_REQUEST with equal weights, choice_count 2).
//   ewma             two distinct random endpoints, the lower time-decayed EWMA of the upstream
//                    response time (ingress-nginx ewma.lua: decay 10 s, score decays towards 0
//                    while an endpoint is idle, new endpoints start at the mean).
//   random           uniform.
//   consistent_hash  a ring of 160 points per endpoint (ketama-like); the request key (a header,
//                    a cookie or the client address) picks the first point clockwise.
//
// Eligibility, for every policy: endpoints already tried for this request are never chosen again;
// endpoints marked unhealthy (passive health: a connect failure) are skipped until their time runs
// out, unless every untried endpoint is unhealthy (then they are tried anyway, as nginx does).
//
// Thread-safety: EndpointLoad and the round-robin cursor belong to one worker thread. A HashRing
// is immutable after build() and may be shared.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/random.h"

namespace ingresslab::realproxy {

enum class LbPolicy : uint8_t {
  kRoundRobin,
  kLeastRequest,
  kPowerOfTwoChoices,
  kEwma,
  kRandom,
  kConsistentHash,
};

// "round_robin", "least_request", "p2c", "ewma", "random", "consistent_hash".
std::string_view to_string(LbPolicy policy);
std::optional<LbPolicy> parse_lb_policy(std::string_view name);

// The load of one endpoint as seen by one worker.
struct EndpointLoad {
  // EWMA decay time constant (ingress-nginx DECAY_TIME).
  static constexpr double kDecaySeconds = 10.0;

  uint32_t active_requests = 0;
  double ewma_ms = 0;      // meaningful iff ewma_valid
  int64_t ewma_at_ns = 0;  // when ewma_ms was last updated (monotonic clock)
  bool ewma_valid = false;
  int64_t unhealthy_until_ns = 0;  // passive health: skipped before this time
  uint32_t consecutive_5xx = 0;    // passive outlier detection (worker.cc)

  // Folds one response time into the EWMA: w = exp(-dt / 10 s), ewma = ewma*w + rtt*(1-w).
  // The first sample sets the EWMA.
  void record_response_time(double rtt_ms, int64_t now_ns);
  // The EWMA decayed towards 0 for the time since its last update (an idle endpoint's score
  // falls, so it is tried again); 0 when there is no sample yet.
  double ewma_score(int64_t now_ns) const;
  bool healthy(int64_t now_ns) const { return unhealthy_until_ns <= now_ns; }
};

// Gives endpoints without an EWMA sample the mean of the others' EWMAs ("slow start" in
// ingress-nginx: a new endpoint does not attract all traffic with a score of 0).
void seed_missing_ewma(std::span<EndpointLoad* const> endpoints, int64_t now_ns);

// A consistent-hash ring over the endpoints of one backend.
class HashRing {
 public:
  static constexpr int kPointsPerEndpoint = 160;

  HashRing() = default;
  // `keys[i]` identifies endpoint i (its "ip:port"); points are hashes of "key#n".
  explicit HashRing(std::span<const std::string> keys);

  bool empty() const { return points_.empty(); }
  // Index into the ring of the first point at or after `hash` (wrapping).
  size_t first_point(uint64_t hash) const;
  size_t size() const { return points_.size(); }
  uint32_t endpoint_at(size_t point) const { return points_[point % points_.size()].second; }

 private:
  std::vector<std::pair<uint64_t, uint32_t>> points_;  // (hash, endpoint index), sorted
};

// The 64-bit hash used for ring points and request keys (FNV-1a, then a SplitMix64 finaliser so
// that similar keys spread over the whole ring).
uint64_t hash_key(std::string_view key);

// Everything a policy looks at to choose one endpoint for one attempt of one request.
struct PickRequest {
  std::span<EndpointLoad* const> endpoints;  // the backend's endpoints, this worker's loads
  std::span<const uint32_t> tried;           // indices already tried for this request
  int64_t now_ns = 0;
  uint64_t* round_robin_cursor = nullptr;  // this worker's cursor for this backend
  engine::Rng* rng = nullptr;
  const HashRing* ring = nullptr;  // consistent_hash only
  uint64_t key_hash = 0;           // consistent_hash only
};

// The index of the endpoint to try, or nullopt when every endpoint has been tried (or there are
// none). REQUIRES: round_robin_cursor and rng set; ring set for kConsistentHash.
std::optional<uint32_t> pick_endpoint(LbPolicy policy, const PickRequest& request);

}  // namespace ingresslab::realproxy
