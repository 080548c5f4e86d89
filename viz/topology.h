// The topology the visualizer draws: clients, cloud LB, nodes (kube-proxy), ingress pods,
// Services and pods as a graph, with the numbers of a run attached, laid out by Boost.Graph.
// Built from a RunResult's components (which name every pod with its node and zone) and, when
// known, the resolved scenario (nodes, zones, entry kind, externalTrafficPolicy, Services).
// No Qt here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "scenarios/proto/result.pb.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::viz {

enum class VertexKind { kClients, kLoadBalancer, kNode, kIngressPod, kService, kPod };

// "clients", "load balancer", "node", "ingress pod", "service", "pod".
const char* vertex_kind_name(VertexKind kind);

struct TopologyVertex {
  VertexKind kind = VertexKind::kClients;
  std::string name;
  std::string zone;  // empty for clients, LB and Services
  std::string node;  // pods: the node they run on
  // The hop of the path this vertex stands for (selecting the vertex selects the hop):
  // client_network, load_balancer, kube_proxy, ingress_proxy, pod_network or pod.
  std::string hop;
  // Index into RunResult.components, or -1.
  int component = -1;
  // Busy share (0..1) of the component (pods, ingress pods, nodes), or of the hop; absent for
  // pure delays.
  std::optional<double> utilization;
  uint64_t requests = 0;
  // Layout position (pixels, from layout_topology).
  double x = 0;
  double y = 0;
};

struct TopologyEdge {
  int from = 0;
  int to = 0;
  // Share of all requests that take this edge (0..1; an estimate from the request counts of the
  // components at both ends).
  double traffic_share = 0;
};

struct Topology {
  std::vector<TopologyVertex> vertices;
  std::vector<TopologyEdge> edges;
  // Zones in first-seen order.
  std::vector<std::string> zones;
};

// The graph of `result` (components, hops). `resolved` (may be null) is the scenario the result
// came from, resolved (nodes expanded); it supplies the nodes, zones, entry kind, traffic policy
// and Services, and the ingress/backend pods (by placement) when `result` has no components.
Topology build_topology(const result::RunResult& result, const scenario::Scenario* resolved);

enum class LayoutAlgorithm { kKamadaKawai, kFruchtermanReingold };

// Sets every vertex's x, y inside [0, width] x [0, height] with Boost.Graph's spring layout;
// vertices of one zone are pulled together (through an invisible anchor vertex per zone) so zone
// boxes overlap little. Then vertices whose items (item_width x item_height, centred on the
// position) would overlap are pushed apart. Deterministic: the same graph gives the same picture.
void layout_topology(Topology* topology, LayoutAlgorithm algorithm, double width, double height,
                     double item_width = 0, double item_height = 0);

// The hop named `name` in `result`, or null.
const result::Hop* find_hop(const result::RunResult& result, const std::string& name);

}  // namespace ingresslab::viz
