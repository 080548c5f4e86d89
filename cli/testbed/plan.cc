#include "cli/testbed/plan.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "scenarios/distribution.h"
#include "scenarios/placement.h"

namespace ingresslab::testbed {
namespace {

using scenario::Scenario;

std::string ipv4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}
constexpr uint32_t kServiceBase = (10u << 24) | (96u << 16);       // 10.96.0.0
constexpr uint32_t kFillerBase = (10u << 24) | (97u << 16);        // 10.97.0.0
constexpr uint32_t kServiceRangeEnd = (10u << 24) | (112u << 16);  // end of 10.96.0.0/12

std::string ns_arg(double seconds) {
  return std::to_string(std::llround(seconds * 1e9)) + "ns";
}

std::string duration_arg(const google::protobuf::Duration& d, const std::string& fallback) {
  const int64_t ns = d.seconds() * 1'000'000'000 + d.nanos();
  if (ns <= 0) return fallback;
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  return std::to_string(ns) + "ns";
}

std::string yaml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

const char* lb_name(scenario::LoadBalancing::Algorithm a) {
  switch (a) {
    case scenario::LoadBalancing::LEAST_REQUEST:
      return "least_request";
    case scenario::LoadBalancing::P2C:
      return "p2c";
    case scenario::LoadBalancing::EWMA:
      return "ewma";
    case scenario::LoadBalancing::CONSISTENT_HASH:
      return "consistent_hash";
    case scenario::LoadBalancing::RANDOM:
      return "random";
    default:
      return "round_robin";
  }
}

std::string service_yaml(const std::string& ns, const std::string& name,
                         const std::vector<ServicePortSpec>& ports,
                         const std::vector<uint16_t>& target_ports) {
  std::string y = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
                  "\n  namespace: " + ns + "\nspec:\n  clusterIP: " + ports.front().cluster_ip +
                  "\n  ports:\n";
  for (size_t i = 0; i < ports.size(); ++i) {
    y += "  - port: " + std::to_string(ports[i].port) +
         "\n    targetPort: " + std::to_string(target_ports[i]) + "\n";
    if (!ports[i].port_name.empty()) y += "    name: " + yaml_quote(ports[i].port_name) + "\n";
  }
  return y;
}

// One EndpointSlice for a Service: `addresses` ready, each port of `ports` at `port_numbers`.
std::string endpoint_slice_yaml(const std::string& ns, const std::string& service,
                                const std::vector<ServicePortSpec>& ports,
                                const std::vector<uint16_t>& port_numbers,
                                const std::vector<std::string>& addresses) {
  std::string y =
      "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " + service +
      "-testbed\n  namespace: " + ns + "\n  labels:\n    kubernetes.io/service-name: " + service +
      "\naddressType: IPv4\nports:\n";
  for (size_t i = 0; i < ports.size(); ++i) {
    y += "- port: " + std::to_string(port_numbers[i]) + "\n  protocol: TCP\n";
    if (!ports[i].port_name.empty()) y += "  name: " + yaml_quote(ports[i].port_name) + "\n";
  }
  y += "endpoints:\n";
  for (const auto& a : addresses) {
    y += "- addresses: [" + yaml_quote(a) + "]\n  conditions:\n    ready: true\n";
  }
  return y;
}

}  // namespace

const char* mode_name(KubeProxyMode mode) {
  switch (mode) {
    case KubeProxyMode::kNftables:
      return "nftables";
    case KubeProxyMode::kIpvs:
      return "ipvs";
    default:
      return "iptables";
  }
}

std::optional<KubeProxyMode> parse_mode(const std::string& text) {
  if (text == "iptables") return KubeProxyMode::kIptables;
  if (text == "nftables") return KubeProxyMode::kNftables;
  if (text == "ipvs") return KubeProxyMode::kIpvs;
  return std::nullopt;
}

std::vector<std::string> tbf_command(const std::string& ns, const std::string& dev, double bps) {
  const long burst = std::max<long>(256 * 1024, std::lround(bps / 8 / 1000));
  return {"tc",
          "-n",
          ns,
          "qdisc",
          "add",
          "dev",
          dev,
          "root",
          "tbf",
          "rate",
          std::to_string(std::llround(bps)) + "bit",
          "burst",
          std::to_string(burst),
          "latency",
          "50ms"};
}

std::vector<std::vector<std::string>> node_egress_shaping(const TestbedPlan& plan, int node) {
  std::vector<std::vector<std::string>> commands;
  const std::string& ns = plan.nodes[node].netns;
  std::vector<std::pair<int, double>> peers;
  for (const auto& l : plan.links) {
    if (l.a == node) peers.emplace_back(l.b, l.bandwidth_bps);
    if (l.b == node) peers.emplace_back(l.a, l.bandwidth_bps);
  }
  if (peers.empty()) {
    if (plan.node_bandwidth_bps > 0)
      commands.push_back(tbf_command(ns, "eth0", plan.node_bandwidth_bps));
    return commands;
  }
  const auto rate = [](double bps) { return std::to_string(std::llround(bps)) + "bit"; };
  const auto hex = [](int v) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%x", v);
    return std::string(buffer);
  };
  const std::vector<std::string> tc = {"tc", "-n", ns};
  const auto cmd = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = tc;
    argv.insert(argv.end(), args.begin(), args.end());
    commands.push_back(std::move(argv));
  };
  const double node_bps = plan.node_bandwidth_bps > 0 ? plan.node_bandwidth_bps : 100e9;
  cmd({"qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "1"});
  cmd({"class", "add", "dev", "eth0", "parent", "1:", "classid", "1:1", "htb", "rate",
       rate(node_bps), "quantum", "200000"});
  for (const auto& [peer, bps] : peers) {
    const std::string classid = "1:" + hex(0x10 + peer);
    cmd({"class", "add", "dev", "eth0", "parent", "1:", "classid", classid, "htb", "rate",
         rate(std::min(bps, node_bps)), "quantum", "200000"});
    for (const std::string& dst : {plan.nodes[peer].address + "/32", plan.nodes[peer].pod_cidr}) {
      cmd({"filter", "add", "dev", "eth0", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
           "match", "ip", "dst", dst, "flowid", classid});
    }
  }
  return commands;
}

std::optional<std::string> realpod_service_time(const scenario::Distribution& d,
                                                std::string* approximation, std::string* error) {
  approximation->clear();
  switch (d.kind_case()) {
    case scenario::Distribution::kConstant:
      return "constant:" + ns_arg(d.constant());
    case scenario::Distribution::kExponential:
      return "exponential:" + ns_arg(d.exponential().mean());
    case scenario::Distribution::kUniform:
      return "uniform:" + ns_arg(d.uniform().min()) + "," + ns_arg(d.uniform().max());
    case scenario::Distribution::kLognormal: {
      const auto& l = d.lognormal();
      if (l.mean() > 0 && l.p99() > 0) {
        return "lognormal:" + ns_arg(l.mean()) + "," + ns_arg(l.p99());
      }
      // mu/sigma form: the same distribution by its mean and 99th percentile.
      constexpr double kZ99 = 2.3263478740408408;
      const double mean = std::exp(l.mu() + l.sigma() * l.sigma() / 2);
      const double p99 = std::exp(l.mu() + kZ99 * l.sigma());
      if (p99 > mean) return "lognormal:" + ns_arg(mean) + "," + ns_arg(p99);
      break;  // p99 <= mean (sigma > ~4.65): realpod cannot take it; approximate below
    }
    default:
      break;
  }
  const auto built = scenarios::build_distribution(d, error);
  if (!built) return std::nullopt;
  *approximation = built->describe() + " approximated by an exponential with the same mean " +
                   "(realpod takes constant, exponential, lognormal and uniform)";
  return "exponential:" + ns_arg(built->mean());
}

RealproxyFlags realproxy_flags(const scenario::IngressController& ingress) {
  RealproxyFlags flags;
  std::vector<std::string>& args = flags.args;
  const uint32_t workers =
      ingress.workers() > 0 ? ingress.workers()
                            : static_cast<uint32_t>(std::ceil(std::max(1.0, ingress.cpu_cores())));
  args = {"--workers", std::to_string(std::min<uint32_t>(workers, 256)), "--lb",
          lb_name(ingress.load_balancing().algorithm())};
  if (ingress.load_balancing().algorithm() == scenario::LoadBalancing::CONSISTENT_HASH) {
    switch (ingress.load_balancing().hash_on()) {
      case scenario::LoadBalancing::HEADER:
        args.insert(args.end(), {"--hash-on", "header:" + ingress.load_balancing().hash_key()});
        break;
      case scenario::LoadBalancing::COOKIE:
        args.insert(args.end(), {"--hash-on", "cookie:" + ingress.load_balancing().hash_key()});
        break;
      case scenario::LoadBalancing::PATH:
        flags.not_honoured.push_back(
            "ingress.load_balancing.hash_on path: realproxy hashes on the source address");
        [[fallthrough]];
      default:
        args.insert(args.end(), {"--hash-on", "source"});
    }
  }
  args.insert(
      args.end(),
      {"--connect-timeout", duration_arg(ingress.timeouts().connect(), "5s"), "--upstream-timeout",
       duration_arg(ingress.timeouts().first_byte(), "60s"), "--upstream-keepalive",
       duration_arg(ingress.upstream_pool().idle_timeout(), "60s"), "--max-tries",
       std::to_string(std::min<uint32_t>(ingress.retries().attempts() + 1, 16))});
  if (!ingress.ingress_class().empty()) {
    args.insert(args.end(), {"--ingress-class", ingress.ingress_class()});
  }
  for (const auto c : ingress.retries().on()) {
    if (c != scenario::Retries::CONNECT_FAILURE) {
      flags.not_honoured.push_back(
          "ingress.retries.on " +
          scenario::Retries::Condition_Name(static_cast<scenario::Retries::Condition>(c)) +
          ": realproxy retries only on connect failures and upstream connections lost before the "
          "response");
    }
  }
  // Passive outlier ejection: realproxy ejects after N consecutive 5xx answers or timeouts, for
  // a fixed time; off in the scenario means off in realproxy too (its own default is on).
  const auto& outlier = ingress.outlier_detection();
  if (outlier.consecutive_failures() > 0) {
    args.insert(args.end(), {"--eject-after-5xx", std::to_string(outlier.consecutive_failures()),
                             "--unhealthy-for", duration_arg(outlier.ejection_time(), "30s")});
    if (outlier.has_max_ejection_percent() && outlier.max_ejection_percent() < 1) {
      flags.not_honoured.push_back(
          "ingress.outlier_detection.max_ejection_percent: realproxy has no ejection cap");
    }
  } else {
    args.insert(args.end(), {"--eject-after-5xx", "0"});
  }
  return flags;
}

std::optional<TestbedPlan> plan_testbed(const Scenario& sc, std::optional<KubeProxyMode> mode,
                                        std::string* error) {
  TestbedPlan plan;
  const auto& cluster = sc.cluster();
  switch (cluster.kube_proxy().mode()) {
    case scenario::KubeProxy::NFTABLES:
      plan.mode = KubeProxyMode::kNftables;
      break;
    case scenario::KubeProxy::IPVS:
      plan.mode = KubeProxyMode::kIpvs;
      break;
    default:
      plan.mode = KubeProxyMode::kIptables;
  }
  if (mode) plan.mode = *mode;

  const int node_count = cluster.nodes_size();
  if (node_count == 0 || node_count > kMaxNodes) {
    *error = "cluster.nodes: the testbed runs 1 to " + std::to_string(kMaxNodes) +
             " nodes (the scenario has " + std::to_string(node_count) + ")";
    return std::nullopt;
  }
  std::map<std::string, int> node_index;
  for (int i = 0; i < node_count; ++i) {
    NodePlan n;
    n.name = cluster.nodes(i).name();
    n.netns = "ilab-node-" + std::to_string(i + 1);
    n.address = ipv4((172u << 24) | (31u << 16) | (250u << 8) | static_cast<uint32_t>(10 + i));
    n.pod_cidr = "10.244." + std::to_string(i + 1) + ".0/24";
    n.gateway = "10.244." + std::to_string(i + 1) + ".1";
    n.fabric_veth = "ilab-n" + std::to_string(i + 1);
    node_index[n.name] = i;
    plan.nodes.push_back(n);
  }

  // Pods: the ingress controller's, then each Service's, named as the models name them.
  std::vector<int> pods_on_node(node_count, 0);
  std::set<std::string> netns_names;
  const auto add_pod = [&](PodPlan pod) -> bool {
    const int local = pods_on_node[pod.node]++;
    if (local >= kMaxPodsPerNode || static_cast<int>(plan.pods.size()) >= kMaxPods) {
      *error = "the testbed runs at most " + std::to_string(kMaxPodsPerNode) +
               " pods per node and " + std::to_string(kMaxPods) + " in all";
      return false;
    }
    pod.ip = "10.244." + std::to_string(pod.node + 1) + "." + std::to_string(local + 2);
    pod.netns = "ilab-pod-" + pod.name;
    if (!netns_names.insert(pod.netns).second) {
      pod.netns += "-" + std::to_string(plan.pods.size());
      netns_names.insert(pod.netns);
    }
    pod.node_veth = "ilab-v" + std::to_string(plan.pods.size() + 1);
    plan.pods.push_back(std::move(pod));
    return true;
  };
  const auto& ingress = sc.ingress();
  const std::string ingress_name = ingress.name().empty() ? "ingress" : ingress.name();
  const auto ingress_nodes = scenarios::place_ingress_pods(ingress, cluster);
  if (ingress_nodes.empty()) {
    *error = "ingress: no ingress pod can be placed (check ingress.placement.nodes)";
    return std::nullopt;
  }
  for (size_t p = 0; p < ingress_nodes.size(); ++p) {
    PodPlan pod;
    pod.name = ingress_name + "-" + std::to_string(p);
    pod.namespace_name = kIngressNamespace;
    pod.ingress = true;
    pod.node = ingress_nodes[p];
    pod.port = 80;
    if (!add_pod(std::move(pod))) return std::nullopt;
  }

  // The ingress controller's NodePort Service comes first; the scenario's Services are placed in
  // the middle of the filler Services (kube-proxy orders KUBE-SERVICES by its own map iteration,
  // so a Service's expected position is the middle of the table).
  for (const auto& r : sc.routing().ingresses()) {
    if (r.spec().tls_size() > 0) plan.https = true;
  }
  const bool local_policy = sc.entry().external_traffic_policy() == scenario::Entry::LOCAL;
  plan.http_node_port = static_cast<uint16_t>(sc.entry().node_ports().http());
  plan.https_node_port = static_cast<uint16_t>(sc.entry().node_ports().https());
  std::vector<ServicePortSpec> ingress_ports;
  for (int k = 0; k < (plan.https ? 2 : 1); ++k) {
    ServicePortSpec s;
    s.namespace_name = kIngressNamespace;
    s.service = ingress_name;
    s.port_name = k == 0 ? "http" : "https";
    s.cluster_ip = ipv4(kServiceBase + 2);
    s.port = k == 0 ? 80 : 443;
    s.node_port = k == 0 ? plan.http_node_port : plan.https_node_port;
    s.external_local = local_policy;
    for (const auto& pod : plan.pods) {
      s.endpoints.push_back({pod.ip, s.port, plan.nodes[pod.node].name});
    }
    ingress_ports.push_back(s);
  }

  std::vector<ServicePortSpec> scenario_ports;
  std::string manifests;
  const bool cluster_ip_mode = ingress.upstream_mode() == scenario::IngressController::CLUSTER_IP;
  for (int si = 0; si < sc.services_size(); ++si) {
    const auto& svc = sc.services(si);
    const std::string ns = svc.namespace_().empty() ? "default" : svc.namespace_();
    const std::string where = "services[" + svc.name() + "]";
    std::string approximation, why;
    const auto service_time = realpod_service_time(svc.pod().service_time(), &approximation, &why);
    if (!service_time) {
      *error = where + ".pod.service_time: " + why;
      return std::nullopt;
    }
    if (!approximation.empty()) {
      plan.not_emulated.push_back(where + ".pod.service_time: " + approximation);
    }
    const auto size = scenarios::build_distribution(svc.pod().response_size(), &why);
    if (!size) {
      *error = where + ".pod.response_size: " + why;
      return std::nullopt;
    }
    const long body_bytes = std::lround(size->mean());
    if (svc.pod().response_size().kind_case() != scenario::Distribution::kConstant) {
      plan.not_emulated.push_back(where + ".pod.response_size: " + size->describe() +
                                  " served as its mean, " + std::to_string(body_bytes) +
                                  " bytes (realpod sends a fixed body size)");
    }
    if (svc.pod().queue_limit() > 0) {
      plan.not_emulated.push_back(where + ".pod.queue_limit: realpod queues without a limit");
    }
    if (svc.pod().queue_discipline() == scenario::Pod::PROCESSOR_SHARING) {
      plan.not_emulated.push_back(where +
                                  ".pod.queue_discipline processor_sharing: realpod "
                                  "serves `concurrency` requests at once, the rest wait (fifo)");
    }

    // Ports: realpod listens on one port (the first target port); every Service port maps to it.
    std::vector<ServicePortSpec> ports;
    std::vector<uint16_t> target_ports;
    const int port_count = std::max(1, svc.ports_size());
    for (int k = 0; k < port_count; ++k) {
      ServicePortSpec s;
      s.namespace_name = ns;
      s.service = svc.name();
      s.cluster_ip = ipv4(kServiceBase + 10 + static_cast<uint32_t>(si));
      if (k < svc.ports_size()) {
        const auto& p = svc.ports(k);
        s.port_name = p.name();
        s.port = static_cast<uint16_t>(p.port());
        target_ports.push_back(static_cast<uint16_t>(p.target_port() ? p.target_port() : p.port()));
      } else {
        s.port = 80;
        target_ports.push_back(8080);
      }
      ports.push_back(s);
    }
    const uint16_t pod_port = target_ports.front();
    for (size_t k = 1; k < target_ports.size(); ++k) {
      if (target_ports[k] != pod_port) {
        plan.not_emulated.push_back(where + ".ports[" + std::to_string(k) + "]: target port " +
                                    std::to_string(target_ports[k]) + " served on " +
                                    std::to_string(pod_port) + " (realpod listens on one port)");
      }
    }
    const auto nodes_for = scenarios::place_replicas(svc.deployment().replicas(),
                                                     svc.deployment().placement(), cluster);
    std::vector<std::string> pod_ips;
    for (size_t p = 0; p < nodes_for.size(); ++p) {
      PodPlan pod;
      pod.name = svc.name() + "-" + std::to_string(p);
      pod.service = svc.name();
      pod.namespace_name = ns;
      pod.node = nodes_for[p];
      pod.port = pod_port;
      pod.realpod_args = {"--service-time", *service_time,
                          "--body-bytes",   std::to_string(body_bytes),
                          "--concurrency",  std::to_string(svc.pod().concurrency())};
      if (!add_pod(std::move(pod))) return std::nullopt;
      const auto& added = plan.pods.back();
      pod_ips.push_back(added.ip);
      for (auto& s : ports)
        s.endpoints.push_back({added.ip, pod_port, plan.nodes[added.node].name});
    }
    manifests += service_yaml(ns, svc.name(), ports, target_ports);
    if (cluster_ip_mode) {
      // realproxy sends to the ClusterIP; kube-proxy on the ingress pod's node picks the pod.
      std::vector<uint16_t> service_ports;
      for (const auto& s : ports)
        service_ports.push_back(s.port);
      manifests +=
          endpoint_slice_yaml(ns, svc.name(), ports, service_ports, {ports.front().cluster_ip});
    } else {
      manifests += endpoint_slice_yaml(ns, svc.name(), ports,
                                       std::vector<uint16_t>(ports.size(), pod_port), pod_ips);
    }
    scenario_ports.insert(scenario_ports.end(), ports.begin(), ports.end());
  }

  // Filler Services (one endpoint each, in the unused 10.244.0.0/24) up to the rule-table size.
  const uint64_t fillers = cluster.kube_proxy().other_services();
  if (kFillerBase + fillers >= kServiceRangeEnd) {
    *error = "cluster.kube_proxy.other_services: the testbed writes at most " +
             std::to_string(kServiceRangeEnd - kFillerBase - 1) + " filler Services";
    return std::nullopt;
  }
  plan.filler_services = fillers;
  std::vector<ServicePortSpec> filler_ports;
  for (uint64_t f = 0; f < fillers; ++f) {
    ServicePortSpec s;
    s.namespace_name = "filler";
    s.service = "svc-" + std::to_string(f);
    s.port_name = "http";
    s.cluster_ip = ipv4(kFillerBase + static_cast<uint32_t>(f));
    s.port = 80;
    s.filler = true;
    s.endpoints = {{ipv4((10u << 24) | (244u << 16) | static_cast<uint32_t>(2 + f % 250)), 8080,
                    plan.nodes[f % plan.nodes.size()].name}};
    filler_ports.push_back(std::move(s));
  }
  plan.services = ingress_ports;
  const size_t half = filler_ports.size() / 2;
  plan.services.insert(plan.services.end(), filler_ports.begin(), filler_ports.begin() + half);
  plan.services.insert(plan.services.end(), scenario_ports.begin(), scenario_ports.end());
  plan.services.insert(plan.services.end(), filler_ports.begin() + half, filler_ports.end());

  // realproxy's manifests: the scenario's Ingress objects (Kubernetes JSON, which is YAML).
  std::string ingress_docs;
  std::map<std::string, size_t> secret_index;
  for (const auto& r : sc.routing().ingresses()) {
    scenario::Ingress object = r;
    if (object.api_version().empty()) object.set_api_version("networking.k8s.io/v1");
    if (object.kind().empty()) object.set_kind("Ingress");
    if (object.metadata().namespace_().empty())
      object.mutable_metadata()->set_namespace_("default");
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(object, &json).ok()) {
      *error = "routing.ingresses[" + object.metadata().name() + "]: cannot write it as JSON";
      return std::nullopt;
    }
    ingress_docs += "---\n" + json + "\n";
    for (const auto& tls : object.spec().tls()) {
      if (tls.secret_name().empty()) continue;
      const std::string key = object.metadata().namespace_() + "/" + tls.secret_name();
      auto [it, inserted] = secret_index.emplace(key, plan.tls_secrets.size());
      if (inserted) {
        plan.tls_secrets.push_back({object.metadata().namespace_(),
                                    tls.secret_name(),
                                    {},
                                    ingress.tls().key_type() == scenario::IngressTls::RSA2048});
      }
      auto& hosts = plan.tls_secrets[it->second].hosts;
      for (const auto& h : tls.hosts()) {
        if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
      }
    }
  }
  plan.manifests = ingress_docs + manifests;

  plan.shared_ticket_key = plan.https && ingress.tls().session_tickets();
  RealproxyFlags flags = realproxy_flags(ingress);
  plan.realproxy_args = std::move(flags.args);
  plan.not_emulated.insert(plan.not_emulated.end(), flags.not_honoured.begin(),
                           flags.not_honoured.end());
  plan.not_emulated.push_back(
      "ingress.cpu_cores and services[*].pod.cpu_cores: processes are not CPU-limited (no "
      "cgroups); they share this machine's cores");
  if (ingress.cpu_limit_cores() > 0) {
    plan.not_emulated.push_back("ingress.cpu_limit_cores: no CFS quota (no cgroups)");
  }

  // Entry.
  switch (sc.entry().kind()) {
    case scenario::Entry::LOAD_BALANCER:
      plan.not_emulated.push_back(
          "entry.load_balancer: no cloud LB; clients connect to the NodePorts of entry.nodes "
          "directly (latency, health checks and cross_zone not emulated)");
      break;
    case scenario::Entry::HOST_NETWORK:
      plan.not_emulated.push_back(
          "entry.kind host_network: served through a NodePort Service instead (one kube-proxy "
          "hop more than the scenario)");
      break;
    default:
      break;
  }
  for (const auto& n : sc.entry().nodes()) {
    const auto it = node_index.find(n);
    if (it == node_index.end()) {
      *error = "entry.nodes: unknown node \"" + n + "\"";
      return std::nullopt;
    }
    plan.entry_nodes.push_back(it->second);
  }
  if (plan.entry_nodes.empty()) {
    for (int i = 0; i < node_count; ++i)
      plan.entry_nodes.push_back(i);
  }

  // Network: bandwidth per node with tc; latency needs netem (the caller adds that note).
  const auto& net = cluster.network();
  plan.node_bandwidth_bps = net.node_bandwidth();
  std::map<std::pair<int, int>, double> pair_bandwidth;
  for (int l = 0; l < net.links_size(); ++l) {
    const auto& link = net.links(l);
    const auto ends = [&](const std::string& name) {
      std::vector<int> nodes;
      if (const auto it = node_index.find(name); it != node_index.end()) {
        nodes.push_back(it->second);
      } else {
        for (int i = 0; i < node_count; ++i) {
          if (cluster.nodes(i).zone() == name) nodes.push_back(i);
        }
      }
      return nodes;
    };
    if (link.has_latency()) {
      plan.not_emulated.push_back("cluster.network.links[" + std::to_string(l) +
                                  "].latency: per-pair latency needs tc netem per destination");
    }
    if (link.bandwidth() <= 0) continue;
    for (int a : ends(link.from())) {
      for (int b : ends(link.to())) {
        if (a != b) pair_bandwidth[{std::min(a, b), std::max(a, b)}] = link.bandwidth();
      }
    }
  }
  for (const auto& [pair, bps] : pair_bandwidth) {
    plan.links.push_back({pair.first, pair.second, bps});
  }
  return plan;
}

}  // namespace ingresslab::testbed
