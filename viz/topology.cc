#include "viz/topology.h"

#include <algorithm>
// Boost.Graph's layouts trip GCC's -Wmaybe-uninitialized inside Boost (optional iterators);
// silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/circle_layout.hpp>
#include <boost/graph/connected_components.hpp>
#include <boost/graph/fruchterman_reingold.hpp>
#include <boost/graph/kamada_kawai_spring_layout.hpp>
#include <boost/graph/random_layout.hpp>
#include <boost/graph/topology.hpp>
#include <boost/random/linear_congruential.hpp>
#include <cmath>
#include <map>
#include <numeric>

#include "scenarios/placement.h"

namespace ingresslab::viz {
namespace {

bool all_digits(const std::string& s, size_t from) {
  return from < s.size() && std::all_of(s.begin() + static_cast<std::ptrdiff_t>(from), s.end(),
                                        [](char c) { return c >= '0' && c <= '9'; });
}

// The Service a pod named "<service>-<index>" belongs to: the longest matching name in
// `services`, else the name without its "-<index>" suffix.
std::string service_of_pod(const std::string& pod, const std::vector<std::string>& services) {
  const std::string* best = nullptr;
  for (const std::string& s : services) {
    if (pod.size() > s.size() + 1 && pod.compare(0, s.size(), s) == 0 && pod[s.size()] == '-' &&
        all_digits(pod, s.size() + 1) && (best == nullptr || s.size() > best->size()))
      best = &s;
  }
  if (best != nullptr) return *best;
  const size_t dash = pod.rfind('-');
  return dash != std::string::npos && all_digits(pod, dash + 1) ? pod.substr(0, dash) : pod;
}

std::optional<double> hop_utilization(const result::RunResult& r, const std::string& hop) {
  const result::Hop* h = find_hop(r, hop);
  if (h == nullptr || !h->has_utilization()) return std::nullopt;
  return h->utilization();
}

TopologyVertex vertex(VertexKind kind, std::string name, std::string zone, std::string node,
                      std::string hop) {
  TopologyVertex v;
  v.kind = kind;
  v.name = std::move(name);
  v.zone = std::move(zone);
  v.node = std::move(node);
  v.hop = std::move(hop);
  return v;
}

class Builder {
 public:
  Builder(const result::RunResult& r, const scenario::Scenario* s) : r_(r), s_(s) {}

  Topology build() {
    collect_nodes_and_pods();
    const int clients = add(vertex(VertexKind::kClients, "clients", "", "", "client_network"));
    t_.vertices[static_cast<size_t>(clients)].requests = r_.end_to_end().requests();
    int front = clients;
    const bool has_lb = (s_ != nullptr && s_->entry().kind() == scenario::Entry::LOAD_BALANCER) ||
                        find_hop(r_, "load_balancer") != nullptr;
    if (has_lb) {
      const int lb = add(vertex(VertexKind::kLoadBalancer, "cloud LB", "", "", "load_balancer"));
      t_.vertices[static_cast<size_t>(lb)].utilization = hop_utilization(r_, "load_balancer");
      edge(clients, lb, 1.0);
      front = lb;
    }
    // Nodes.
    std::map<std::string, int> node_vertex;
    for (const auto& [name, zone] : nodes_) {
      TopologyVertex v = vertex(VertexKind::kNode, name, zone, name, "kube_proxy");
      for (size_t c = 0; c < static_cast<size_t>(r_.components_size()); ++c) {
        const auto& comp = r_.components(static_cast<int>(c));
        if (comp.kind() == "node" && comp.name() == name) {
          v.component = static_cast<int>(c);
          v.utilization = comp.utilization();
          v.requests = comp.requests();
        }
      }
      node_vertex[name] = add(std::move(v));
    }
    // Ingress pods and backend pods.
    std::vector<int> ingress;
    uint64_t ingress_requests = 0;
    for (const PodInfo& p : ingress_pods_) {
      TopologyVertex v = vertex(VertexKind::kIngressPod, p.name, p.zone, p.node, "ingress_proxy");
      v.component = p.component;
      v.utilization = p.utilization;
      v.requests = p.requests;
      ingress_requests += p.requests;
      ingress.push_back(add(std::move(v)));
    }
    std::map<std::string, int> service_vertex;
    for (const std::string& name : services_) {
      service_vertex[name] = add(vertex(VertexKind::kService, name, "", "", "pod_network"));
    }
    std::map<std::string, uint64_t> service_requests;
    std::map<std::string, std::vector<double>> service_utilization;
    uint64_t pod_requests = 0;
    std::vector<std::pair<int, std::string>> pods;  // vertex, service
    for (const PodInfo& p : pods_) {
      TopologyVertex v = vertex(VertexKind::kPod, p.name, p.zone, p.node, "pod");
      v.component = p.component;
      v.utilization = p.utilization;
      v.requests = p.requests;
      pod_requests += p.requests;
      service_requests[p.service] += p.requests;
      if (p.utilization) service_utilization[p.service].push_back(*p.utilization);
      pods.emplace_back(add(std::move(v)), p.service);
    }
    for (auto& [name, vertex] : service_vertex) {
      auto& v = t_.vertices[static_cast<size_t>(vertex)];
      v.requests = service_requests[name];
      const auto& u = service_utilization[name];
      if (!u.empty()) v.utilization = std::accumulate(u.begin(), u.end(), 0.0) / u.size();
    }
    // Edges: clients (or LB) -> entry nodes -> ingress pods -> Services -> pods.
    std::vector<std::string> entry = entry_nodes();
    const bool local =
        s_ != nullptr && (s_->entry().external_traffic_policy() == scenario::Entry::LOCAL ||
                          s_->entry().kind() == scenario::Entry::HOST_NETWORK);
    const double per_entry = entry.empty() ? 0.0 : 1.0 / static_cast<double>(entry.size());
    auto share = [](uint64_t part, uint64_t whole, size_t count) {
      return whole == 0 ? 1.0 / static_cast<double>(std::max<size_t>(count, 1))
                        : static_cast<double>(part) / static_cast<double>(whole);
    };
    for (const std::string& n : entry) {
      auto it = node_vertex.find(n);
      if (it == node_vertex.end()) continue;
      edge(front, it->second, per_entry);
      for (size_t i = 0; i < ingress.size(); ++i) {
        const PodInfo& p = ingress_pods_[i];
        if (local && p.node != n) continue;
        const double pod_share = share(p.requests, ingress_requests, ingress.size());
        edge(it->second, ingress[i], local ? pod_share : pod_share * per_entry);
      }
    }
    for (size_t i = 0; i < ingress.size(); ++i) {
      const double pod_share = share(ingress_pods_[i].requests, ingress_requests, ingress.size());
      for (const auto& [name, vertex] : service_vertex) {
        edge(ingress[i], vertex,
             pod_share * share(service_requests[name], pod_requests, service_vertex.size()));
      }
    }
    for (const auto& [vertex, service] : pods) {
      auto it = service_vertex.find(service);
      if (it == service_vertex.end()) continue;
      const auto& v = t_.vertices[static_cast<size_t>(vertex)];
      edge(it->second, vertex, share(v.requests, pod_requests, pods.size()));
    }
    return std::move(t_);
  }

 private:
  struct PodInfo {
    std::string name, node, zone, service;
    int component = -1;
    std::optional<double> utilization;
    uint64_t requests = 0;
  };

  int add(TopologyVertex v) {
    if (!v.zone.empty() && std::find(t_.zones.begin(), t_.zones.end(), v.zone) == t_.zones.end())
      t_.zones.push_back(v.zone);
    t_.vertices.push_back(std::move(v));
    return static_cast<int>(t_.vertices.size()) - 1;
  }
  void edge(int from, int to, double traffic_share) {
    t_.edges.push_back({from, to, traffic_share});
  }
  void add_node(const std::string& name, const std::string& zone) {
    if (name.empty()) return;
    for (const auto& n : nodes_)
      if (n.first == name) return;
    nodes_.emplace_back(name, zone);
  }
  std::string zone_of(const std::string& node) const {
    for (const auto& n : nodes_)
      if (n.first == node) return n.second;
    return "";
  }

  void collect_nodes_and_pods() {
    if (s_ != nullptr) {
      for (const auto& n : s_->cluster().nodes())
        add_node(n.name(), n.zone());
      for (const auto& svc : s_->services())
        services_.push_back(svc.name());
    }
    for (const auto& route : r_.routes()) {
      if (!route.service().empty() &&
          std::find(services_.begin(), services_.end(), route.service()) == services_.end())
        services_.push_back(route.service());
    }
    for (int c = 0; c < r_.components_size(); ++c) {
      const auto& comp = r_.components(c);
      add_node(comp.node(), comp.zone());
      if (comp.kind() == "node") add_node(comp.name(), comp.zone());
      if (comp.kind() != "ingress_pod" && comp.kind() != "pod") continue;
      PodInfo p{comp.name(), comp.node(), comp.zone(), "", c, comp.utilization(), comp.requests()};
      if (comp.kind() == "ingress_pod") {
        ingress_pods_.push_back(std::move(p));
      } else {
        p.service = service_of_pod(p.name, services_);
        if (std::find(services_.begin(), services_.end(), p.service) == services_.end())
          services_.push_back(p.service);
        pods_.push_back(std::move(p));
      }
    }
    if (s_ != nullptr && ingress_pods_.empty() && pods_.empty()) place_from_scenario();
  }

  // No result yet: where the scenario puts its pods.
  void place_from_scenario() {
    const auto& cluster = s_->cluster();
    auto node_name = [&](int index) {
      return index >= 0 && index < cluster.nodes_size() ? cluster.nodes(index).name()
                                                        : std::string();
    };
    const std::vector<int> ingress = scenarios::place_ingress_pods(s_->ingress(), cluster);
    for (size_t i = 0; i < ingress.size(); ++i) {
      const std::string node = node_name(ingress[i]);
      ingress_pods_.push_back(
          {s_->ingress().name() + "-" + std::to_string(i), node, zone_of(node), "", -1, {}, 0});
    }
    for (const auto& svc : s_->services()) {
      const std::vector<int> placed = scenarios::place_replicas(
          svc.deployment().replicas(), svc.deployment().placement(), cluster);
      for (size_t i = 0; i < placed.size(); ++i) {
        const std::string node = node_name(placed[i]);
        pods_.push_back(
            {svc.name() + "-" + std::to_string(i), node, zone_of(node), svc.name(), -1, {}, 0});
      }
    }
  }

  std::vector<std::string> entry_nodes() const {
    std::vector<std::string> entry;
    if (s_ != nullptr) {
      for (const std::string& n : s_->entry().nodes())
        entry.push_back(n);
    }
    if (!entry.empty()) return entry;
    const bool host_network = s_ != nullptr && s_->entry().kind() == scenario::Entry::HOST_NETWORK;
    for (const auto& n : nodes_) {
      const bool has_ingress = std::any_of(ingress_pods_.begin(), ingress_pods_.end(),
                                           [&](const PodInfo& p) { return p.node == n.first; });
      if (!host_network || has_ingress) entry.push_back(n.first);
    }
    return entry;
  }

  const result::RunResult& r_;
  const scenario::Scenario* s_;
  Topology t_;
  std::vector<std::pair<std::string, std::string>> nodes_;  // name, zone
  std::vector<std::string> services_;
  std::vector<PodInfo> ingress_pods_;
  std::vector<PodInfo> pods_;
};

using Graph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                          boost::property<boost::edge_weight_t, double>>;
using Square = boost::square_topology<boost::minstd_rand>;
using Point = Square::point_type;

}  // namespace

const char* vertex_kind_name(VertexKind kind) {
  switch (kind) {
    case VertexKind::kClients:
      return "clients";
    case VertexKind::kLoadBalancer:
      return "load balancer";
    case VertexKind::kNode:
      return "node";
    case VertexKind::kIngressPod:
      return "ingress pod";
    case VertexKind::kService:
      return "service";
    case VertexKind::kPod:
      return "pod";
  }
  return "?";
}

const result::Hop* find_hop(const result::RunResult& result, const std::string& name) {
  for (const result::Hop& h : result.hops())
    if (h.name() == name) return &h;
  return nullptr;
}

Topology build_topology(const result::RunResult& result, const scenario::Scenario* resolved) {
  return Builder(result, resolved).build();
}

void layout_topology(Topology* t, LayoutAlgorithm algorithm, double width, double height,
                     double item_width, double item_height) {
  const size_t n = t->vertices.size();
  if (n == 0) return;
  // The drawn vertices, then one anchor per zone (when there are several) tied to its members.
  const size_t anchors = t->zones.size() > 1 ? t->zones.size() : 0;
  Graph g(n + anchors);
  for (const TopologyEdge& e : t->edges) {
    if (e.from != e.to &&
        !boost::edge(static_cast<size_t>(e.from), static_cast<size_t>(e.to), g).second)
      boost::add_edge(static_cast<size_t>(e.from), static_cast<size_t>(e.to), 1.0, g);
  }
  for (size_t z = 0; z < anchors; ++z) {
    for (size_t v = 0; v < n; ++v) {
      if (t->vertices[v].zone == t->zones[z]) boost::add_edge(n + z, v, 1.0, g);
    }
  }
  // Kamada-Kawai needs a connected graph: tie every other component to the first.
  std::vector<int> component(boost::num_vertices(g));
  const int components = boost::connected_components(g, component.data());
  for (int c = 1; c < components; ++c) {
    const auto first =
        static_cast<size_t>(std::find(component.begin(), component.end(), c) - component.begin());
    boost::add_edge(0, first, 2.0, g);
  }
  std::vector<Point> position(boost::num_vertices(g));
  auto position_map =
      boost::make_iterator_property_map(position.begin(), boost::get(boost::vertex_index, g));
  const double side = 100.0;
  if (algorithm == LayoutAlgorithm::kKamadaKawai) {
    boost::circle_graph_layout(g, position_map, side / 2);
    Square square(side);
    (void)boost::kamada_kawai_spring_layout(g, position_map, boost::get(boost::edge_weight, g),
                                            square, boost::side_length(side));
  } else {
    boost::minstd_rand rng(2026);
    Square square(rng, side);
    boost::random_graph_layout(g, position_map, square);
    boost::fruchterman_reingold_force_directed_layout(g, position_map, square);
  }
  // Turn the picture so the requests flow left to right: clients (vertex 0) on the left of the
  // backend pods' centre.
  double px = 0, py = 0;
  int pods = 0;
  for (size_t v = 0; v < n; ++v) {
    if (t->vertices[v].kind == VertexKind::kPod || t->vertices[v].kind == VertexKind::kService) {
      px += position[v][0];
      py += position[v][1];
      ++pods;
    }
  }
  double angle = 0;
  if (pods > 0) {
    angle = -std::atan2(py / pods - position[0][1], px / pods - position[0][0]);
  }
  const double c = std::cos(angle), s = std::sin(angle);
  double min_x = 1e300, max_x = -1e300, min_y = 1e300, max_y = -1e300;
  std::vector<std::pair<double, double>> turned(n);
  for (size_t v = 0; v < n; ++v) {
    const double x = position[v][0] * c - position[v][1] * s;
    const double y = position[v][0] * s + position[v][1] * c;
    turned[v] = {x, y};
    min_x = std::min(min_x, x);
    max_x = std::max(max_x, x);
    min_y = std::min(min_y, y);
    max_y = std::max(max_y, y);
  }
  const double span_x = std::max(max_x - min_x, 1e-9), span_y = std::max(max_y - min_y, 1e-9);
  for (size_t v = 0; v < n; ++v) {
    t->vertices[v].x = (turned[v].first - min_x) / span_x * width;
    t->vertices[v].y = n == 1 ? height / 2 : (turned[v].second - min_y) / span_y * height;
  }
  // Spring layouts put structurally equivalent vertices (the replicas of one Deployment) close
  // together: push overlapping items apart along the axis that needs the smaller move.
  const double gap_x = item_width * 1.1, gap_y = item_height * 1.3;
  for (int round = 0; round < 100 && gap_x > 0 && gap_y > 0; ++round) {
    bool moved = false;
    for (size_t a = 0; a < n; ++a) {
      for (size_t b = a + 1; b < n; ++b) {
        TopologyVertex& va = t->vertices[a];
        TopologyVertex& vb = t->vertices[b];
        const double dx = vb.x - va.x, dy = vb.y - va.y;
        const double over_x = gap_x - std::abs(dx), over_y = gap_y - std::abs(dy);
        if (over_x <= 0 || over_y <= 0) continue;
        moved = true;
        if (over_y <= over_x) {
          const double push = over_y / 2 + 0.5;
          const double sign = dy > 0 || (dy == 0 && a < b) ? 1 : -1;
          va.y -= sign * push;
          vb.y += sign * push;
        } else {
          const double push = over_x / 2 + 0.5;
          const double sign = dx > 0 ? 1 : -1;
          va.x -= sign * push;
          vb.x += sign * push;
        }
      }
    }
    if (!moved) break;
  }
}

}  // namespace ingresslab::viz
