// kube-proxy as the models see it: the cost of the NAT decision for the first packet of a new
// connection, and how the endpoint is chosen, by mode. One small class per mode.
//
// Costs (docs/models.md has the derivation and sources): iptables walks KUBE-SERVICES
// sequentially, so the first packet pays per_rule x (position of the Service in the chain), the
// position uniform over the chain; nftables (verdict maps) and IPVS (hash) pay a flat cost.
// Later packets of the connection follow the conntrack entry at no modelled cost.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/random.h"
#include "engine/time.h"
#include "models/load_balancer.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::models {

// Built-in first-packet cost constants (KEP-3866 figure; docs/models.md).
inline constexpr engine::Duration kNatBaseCost = engine::Duration::nanoseconds(1'000);
inline constexpr engine::Duration kIptablesPerRuleCost = engine::Duration::nanoseconds(17);

class KubeProxyMode {
 public:
  virtual ~KubeProxyMode() = default;
  // CPU/latency cost of the NAT decision for a new connection's first packet.
  virtual engine::Duration first_packet_cost(engine::Rng& rng) const = 0;
  // Chooses the endpoint for a new connection among `candidates` (non-empty). `active` holds the
  // connections this node's kube-proxy has open to each candidate (for IPVS lc/sed/nq);
  // `source_hash` identifies the client (for IPVS sh).
  virtual size_t choose_endpoint(std::span<const EndpointLoad> candidates, uint64_t source_hash,
                                 engine::Rng& rng) = 0;
};

// One instance per node. `service_ports` = the rule-table size (the scenario's Service ports plus
// cluster.kube_proxy.other_services).
std::unique_ptr<KubeProxyMode> make_kube_proxy(const scenario::KubeProxy& config,
                                               uint32_t service_ports);

}  // namespace ingresslab::models
