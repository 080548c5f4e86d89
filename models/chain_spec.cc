// Building the immutable ChainSpec from a resolved scenario: placements, the network topology
// (Boost.Graph), the compiled route table and the request classes.
#include <boost/graph/adjacency_matrix.hpp>
#include <boost/graph/floyd_warshall_shortest.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include "models/chain.h"
#include "scenarios/distribution.h"
#include "scenarios/ingress_convert.h"
#include "scenarios/placement.h"

namespace ingresslab::models {
namespace {

int64_t ns_of(const google::protobuf::Duration& d) {
  return d.seconds() * 1'000'000'000 + d.nanos();
}

}  // namespace

const char* hop_name(Hop hop) {
  switch (hop) {
    case kClientNetwork:
      return "client_network";
    case kLoadBalancer:
      return "load_balancer";
    case kKubeProxy:
      return "kube_proxy";
    case kIngressTls:
      return "ingress_tls";
    case kIngressProxy:
      return "ingress_proxy";
    case kUpstreamConnect:
      return "upstream_connect";
    case kPodNetwork:
      return "pod_network";
    case kPod:
      return "pod";
    default:
      return "?";
  }
}

std::string build_chain_spec(const scenario::Scenario& s, const profile::CostProfile& costs,
                             const std::string& base_dir, ChainSpec* spec) {
  spec->scenario = s;
  spec->costs = costs;
  spec->base_dir = base_dir;
  const scenario::Scenario& sc = spec->scenario;  // stable addresses for config pointers

  // Zones and nodes.
  std::map<std::string, int> zone_index;
  for (const auto& z : sc.cluster().zones()) {
    zone_index.emplace(z.name(), static_cast<int>(spec->zones.size()));
    spec->zones.push_back(z.name());
  }
  std::map<std::string, int> node_index;
  for (const auto& n : sc.cluster().nodes()) {
    if (!zone_index.count(n.zone())) {
      zone_index.emplace(n.zone(), static_cast<int>(spec->zones.size()));
      spec->zones.push_back(n.zone());
    }
    node_index.emplace(n.name(), static_cast<int>(spec->nodes.size()));
    spec->nodes.push_back({n.name(), zone_index[n.zone()], n.cores()});
  }
  if (spec->nodes.empty()) return "the cluster has no nodes";

  // Network: a complete graph of nodes weighted by one-way latency; links override pairs (by node
  // or zone name); Floyd-Warshall gives the fastest path between every pair.
  const auto& network = sc.cluster().network();
  const size_t n = spec->nodes.size();
  using Graph = boost::adjacency_matrix<boost::undirectedS, boost::no_property,
                                        boost::property<boost::edge_weight_t, int64_t>>;
  Graph g(n);
  const double node_bw = network.node_bandwidth() / 8.0;
  spec->bandwidth_bytes_per_s.assign(n, std::vector<double>(n, node_bw));
  auto pair_matches = [&](const scenario::Link& link, size_t a, size_t b) {
    auto is = [&](const std::string& name, size_t node) {
      return spec->nodes[node].name == name ||
             (zone_index.count(name) && zone_index.at(name) == spec->nodes[node].zone);
    };
    return (is(link.from(), a) && is(link.to(), b)) || (is(link.from(), b) && is(link.to(), a));
  };
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = a + 1; b < n; ++b) {
      int64_t latency = spec->nodes[a].zone == spec->nodes[b].zone
                            ? ns_of(network.same_zone_latency())
                            : ns_of(network.cross_zone_latency());
      for (const auto& link : network.links()) {
        if (!pair_matches(link, a, b)) continue;
        if (link.has_latency()) latency = ns_of(link.latency());
        if (link.bandwidth() > 0) {
          spec->bandwidth_bytes_per_s[a][b] = spec->bandwidth_bytes_per_s[b][a] =
              link.bandwidth() / 8.0;
        }
      }
      boost::add_edge(a, b, latency, g);
    }
  }
  spec->latency_ns.assign(n, std::vector<int64_t>(n, 0));
  boost::floyd_warshall_all_pairs_shortest_paths(g, spec->latency_ns);
  for (size_t a = 0; a < n; ++a)
    spec->latency_ns[a][a] = ns_of(network.same_node_latency());
  spec->client_latency_ns = ns_of(network.client_latency());
  spec->client_bandwidth_bytes_per_s = node_bw;

  // Ingress controller pods.
  const auto& ing = sc.ingress();
  std::vector<int> ingress_nodes;
  if (ing.kind() == scenario::IngressController::DAEMONSET) {
    ingress_nodes = scenarios::place_daemonset(ing.placement(), sc.cluster());
  } else {
    ingress_nodes = scenarios::place_replicas(ing.replicas(), ing.placement(), sc.cluster());
  }
  for (size_t i = 0; i < ingress_nodes.size(); ++i) {
    spec->ingress_pods.push_back({ing.name() + "-" + std::to_string(i), -1, ingress_nodes[i]});
  }
  if (spec->ingress_pods.empty()) return "the ingress controller has no pods";

  // Services and their pods.
  std::map<std::string, int> service_index;
  for (const auto& svc : sc.services()) {
    ServiceSpec ss;
    ss.name = svc.name();
    ss.namespace_ = svc.namespace_();
    ss.config = &svc;
    std::string error;
    ss.service_time = scenarios::build_distribution(svc.pod().service_time(), scenario::SECONDS,
                                                    base_dir, &error);
    if (!ss.service_time) return "services[" + svc.name() + "].pod.service_time: " + error;
    ss.response_size =
        scenarios::build_distribution(svc.pod().response_size(), scenario::BYTES, base_dir, &error);
    if (!ss.response_size) return "services[" + svc.name() + "].pod.response_size: " + error;
    const int index = static_cast<int>(spec->services.size());
    const auto nodes_for = scenarios::place_replicas(svc.deployment().replicas(),
                                                     svc.deployment().placement(), sc.cluster());
    for (size_t p = 0; p < nodes_for.size(); ++p) {
      ss.pods.push_back(static_cast<int>(spec->pods.size()));
      spec->pods.push_back({svc.name() + "-" + std::to_string(p), index, nodes_for[p]});
    }
    service_index.emplace(svc.namespace_() + "/" + svc.name(), index);
    spec->service_ports += static_cast<uint32_t>(std::max(1, svc.ports_size()));
    spec->services.push_back(std::move(ss));
  }
  spec->service_ports += sc.cluster().kube_proxy().other_services();

  // Routes: the real matcher.
  std::vector<routing::Diagnostic> problems;
  const auto objects = scenarios::to_ingress_objects(sc.routing(), &problems);
  routing::CompileResult compiled = routing::compile(objects, scenarios::compile_options_for(sc));
  spec->routes_table = compiled.table;
  spec->rule_count = static_cast<uint32_t>(spec->routes_table->routes().size());

  // Client groups and their request classes, each routed once here.
  std::map<std::string, int> route_index;
  for (const auto& group : sc.workload().clients()) {
    GroupSpec gs;
    gs.name = group.name();
    gs.config = &group;
    gs.zone = zone_index.count(group.zone()) ? zone_index[group.zone()] : 0;
    std::string error;
    gs.request_size =
        scenarios::build_distribution(group.request_size(), scenario::BYTES, base_dir, &error);
    if (!gs.request_size) return "workload.clients[" + group.name() + "].request_size: " + error;
    if (group.has_closed_loop()) {
      gs.think_time = scenarios::build_distribution(group.closed_loop().think_time(),
                                                    scenario::SECONDS, base_dir, &error);
      if (!gs.think_time) return "workload.clients[" + group.name() + "].think_time: " + error;
    }
    // A request class, routed once here by the real matcher.
    auto add_class = [&](const std::string& host, const std::string& path,
                         const std::string& method, double weight) {
      RequestClassSpec c{host, path, method, weight, -1, -1};
      const routing::MatchResult m = spec->routes_table->match(host, path);
      if (m.found() && m.backend != nullptr && m.backend->service() != nullptr) {
        const std::string key = m.backend->namespace_ + "/" + m.backend->service()->name;
        if (auto it = service_index.find(key); it != service_index.end()) c.service = it->second;
        const std::string rkey =
            (m.route ? m.route->host + " " + m.route->path : std::string("default")) + " " + key;
        auto [it, inserted] = route_index.emplace(rkey, static_cast<int>(spec->routes.size()));
        if (inserted) {
          spec->routes.push_back({m.route ? m.route->host : std::string("*"),
                                  m.route ? m.route->path : std::string("(default backend)"),
                                  m.backend->service()->name});
        }
        c.route = it->second;
      }
      gs.classes.push_back(std::move(c));
    };
    double total = 0;
    for (const auto& rc : group.mix()) {
      add_class(rc.host(), rc.path(), rc.method(), rc.weight());
      total += rc.weight();
    }
    if (gs.classes.empty()) return "workload.clients[" + group.name() + "]: no request mix";
    double acc = 0;
    for (const auto& c : gs.classes) {
      acc += c.weight / total;
      gs.class_cdf.push_back(acc);
    }
    gs.class_cdf.back() = 1.0;
    if (group.has_open_loop() && group.open_loop().process() == scenario::OpenLoop::REPLAY) {
      auto trace = std::make_shared<ReplayTrace>();
      if (!load_replay_trace(group.open_loop().replay(), base_dir, trace.get(), &error))
        return "workload.clients[" + group.name() + "].open_loop.replay.csv: " + error;
      // Rows without a host take the mix's first (the default host, as for the mix).
      for (const auto& key : trace->keys) {
        const std::string host = key.host.empty() ? gs.classes.front().host : key.host;
        gs.replay_class.push_back(static_cast<uint32_t>(gs.classes.size()));
        add_class(host, key.path, key.method, 0.0);
      }
      gs.replay = std::move(trace);
    }
    spec->groups.push_back(std::move(gs));
  }
  if (spec->groups.empty()) return "the workload has no client groups";
  return {};
}

}  // namespace ingresslab::models
