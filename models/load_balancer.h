// Load-balancing policies of the ingress proxy: one small class per policy behind one interface,
// chosen by the scenario (ingress.load_balancing.algorithm).
//
// A policy chooses among the ready endpoints of one Service, given what the proxy knows: active
// requests per endpoint and, for EWMA, a time-decayed response-time average. Policies that keep
// state per worker (round robin, as nginx workers do) get one instance per worker; the others
// see the pod-wide counters. Policies draw randomness only from the Rng they are given.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/random.h"
#include "engine/time.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::models {

// What a policy may look at for one endpoint.
struct EndpointLoad {
  uint32_t endpoint = 0;  // index into the Service's endpoints
  int active = 0;         // requests in flight from this proxy (pod-wide)
  double ewma_rtt_s = 0;  // time-decayed mean response time seen by this proxy
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // Picks one of `candidates` (non-empty: ready, not ejected, not already tried). `hash_key`
  // is the request's hash input for consistent hashing (0 otherwise). Returns an index into
  // `candidates`.
  virtual size_t choose(std::span<const EndpointLoad> candidates, uint64_t hash_key,
                        engine::Rng& rng) = 0;
};

// Creates the policy for `config`; `endpoints` is the Service's endpoint count (for the hash ring).
std::unique_ptr<LoadBalancer> make_load_balancer(const scenario::LoadBalancing& config,
                                                 size_t endpoints);

}  // namespace ingresslab::models
