// Which node each pod runs on, as scenario.proto's Placement documents it: the one
// implementation, used by validation (do the pods fit?) and by the models (where do they run?).
//
// The allowed nodes of a placement are `placement.nodes` in the order written (unknown names and
// repeats skipped), or every node of the cluster in cluster order when none are listed. Over them:
//   ROUND_ROBIN (the default): pod i runs on allowed node i mod n.
//   ZONE_BALANCED: round robin over zones first, then over the nodes within a zone. Zones are
//     taken in the order of cluster.zones, then any other zone a node names, in node order; only
//     zones with an allowed node count. With z such zones, pod i goes to zone i mod z, and there
//     to the zone's allowed node (i div z) mod (allowed nodes in the zone).
//   PACKED: every pod on the first allowed node.
// A DaemonSet runs one pod per allowed node, in cluster order; `spread` does not apply.
//
// Node indexes are positions in cluster.nodes. Every function REQUIRES normalize_scenario() to
// have run (nodes expanded from Node.count, each with its zone), and costs O(nodes + pods).
#pragma once

#include <cstdint>
#include <vector>

#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::scenarios {

// The largest replica count any documented range allows (Deployment.replicas); larger counts
// are validation errors, and place no pods rather than allocate for them.
inline constexpr uint32_t kMaxPlacedReplicas = 100'000;

// The nodes `placement` allows, as above.
std::vector<int> allowed_nodes(const scenario::Placement& placement,
                               const scenario::Cluster& cluster);

// The node of each of `replicas` pods of a Deployment, by `placement.spread`. Empty when no
// node is allowed or replicas > kMaxPlacedReplicas.
std::vector<int> place_replicas(uint32_t replicas, const scenario::Placement& placement,
                                const scenario::Cluster& cluster);

// The node of each pod of a DaemonSet: every allowed node once, in cluster order.
std::vector<int> place_daemonset(const scenario::Placement& placement,
                                 const scenario::Cluster& cluster);

// The node of each ingress controller pod: a DaemonSet's, or `replicas` pods of a Deployment.
std::vector<int> place_ingress_pods(const scenario::IngressController& ingress,
                                    const scenario::Cluster& cluster);

}  // namespace ingresslab::scenarios
