#include "scenarios/placement.h"

#include <algorithm>
#include <string>
#include <unordered_map>

namespace ingresslab::scenarios {

std::vector<int> allowed_nodes(const scenario::Placement& placement,
                               const scenario::Cluster& cluster) {
  const auto& nodes = cluster.nodes();
  std::vector<int> out;
  if (placement.nodes_size() == 0) {
    out.reserve(static_cast<size_t>(nodes.size()));
    for (int i = 0; i < nodes.size(); ++i)
      out.push_back(i);
    return out;
  }
  std::unordered_map<std::string, int> by_name;
  by_name.reserve(static_cast<size_t>(nodes.size()));
  for (int i = 0; i < nodes.size(); ++i)
    by_name.try_emplace(nodes[i].name(), i);
  std::vector<bool> taken(static_cast<size_t>(nodes.size()), false);
  for (const std::string& name : placement.nodes()) {
    auto it = by_name.find(name);
    if (it == by_name.end() || taken[static_cast<size_t>(it->second)]) continue;
    taken[static_cast<size_t>(it->second)] = true;
    out.push_back(it->second);
  }
  return out;
}

std::vector<int> place_replicas(uint32_t replicas, const scenario::Placement& placement,
                                const scenario::Cluster& cluster) {
  const std::vector<int> allowed = allowed_nodes(placement, cluster);
  std::vector<int> out;
  if (allowed.empty() || replicas > kMaxPlacedReplicas) return out;
  out.reserve(replicas);
  switch (placement.spread()) {
    case scenario::Placement::PACKED:
      out.assign(replicas, allowed.front());
      break;
    case scenario::Placement::ZONE_BALANCED: {
      std::vector<std::string> zone_order;
      std::unordered_map<std::string, size_t> zone_index;
      const auto index_of = [&](const std::string& zone) {
        auto [it, fresh] = zone_index.try_emplace(zone, zone_order.size());
        if (fresh) zone_order.push_back(zone);
        return it->second;
      };
      for (const auto& z : cluster.zones())
        index_of(z.name());
      std::vector<std::vector<int>> groups;
      for (int node : allowed) {
        const size_t z = index_of(cluster.nodes(node).zone());
        if (groups.size() <= z) groups.resize(z + 1);
        groups[z].push_back(node);
      }
      std::erase_if(groups, [](const std::vector<int>& g) { return g.empty(); });
      for (uint32_t i = 0; i < replicas; ++i) {
        const std::vector<int>& g = groups[i % groups.size()];
        out.push_back(g[(i / groups.size()) % g.size()]);
      }
      break;
    }
    default:  // ROUND_ROBIN
      for (uint32_t i = 0; i < replicas; ++i)
        out.push_back(allowed[i % allowed.size()]);
      break;
  }
  return out;
}

std::vector<int> place_daemonset(const scenario::Placement& placement,
                                 const scenario::Cluster& cluster) {
  std::vector<int> out = allowed_nodes(placement, cluster);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int> place_ingress_pods(const scenario::IngressController& ingress,
                                    const scenario::Cluster& cluster) {
  if (ingress.kind() == scenario::IngressController::DAEMONSET) {
    return place_daemonset(ingress.placement(), cluster);
  }
  return place_replicas(ingress.replicas(), ingress.placement(), cluster);
}

}  // namespace ingresslab::scenarios
