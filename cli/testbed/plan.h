// From a resolved scenario to the testbed's layout: nodes and their addresses, pods (ingress and
// backends) with their addresses and command lines, the Services kube-proxy programs (with
// filler Services up to cluster.kube_proxy.other_services), realproxy's Kubernetes manifests, and
// the list of scenario settings the testbed cannot emulate. Pure: no system calls, unit-testable.
//
// Addresses (private test ranges, unlikely to collide with anything on the host; all of it lives
// in network namespaces the testbed creates):
//   nodes   172.31.250.10 + i (bridge 172.31.250.0/24; the client is 172.31.250.2)
//   pods    10.244.(i+1).0/24 on node i; the node's side of every pod veth is 10.244.(i+1).1
//   Services 10.96.0.0/12: the ingress Service 10.96.0.2, the scenario's from 10.96.0.10, fillers
//           from 10.97.0.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/testbed/kube_proxy_rules.h"
#include "scenarios/proto/scenario.pb.h"

namespace ingresslab::testbed {

enum class KubeProxyMode { kIptables, kNftables, kIpvs };

// "iptables", "nftables", "ipvs".
const char* mode_name(KubeProxyMode mode);
// Parses a --kube-proxy value; nullopt if unknown.
std::optional<KubeProxyMode> parse_mode(const std::string& text);

inline constexpr const char* kClientAddress = "172.31.250.2";
inline constexpr const char* kClusterCidr = "10.244.0.0/16";
inline constexpr uint16_t kAdminPort = 9901;
inline constexpr int kMaxNodes = 200;
inline constexpr int kMaxPodsPerNode = 250;
inline constexpr int kMaxPods = 400;  // each pod is a process and a network namespace

struct NodePlan {
  std::string name;     // scenario node name
  std::string netns;    // "ilab-node-1" (1-based)
  std::string address;  // 172.31.250.x
  std::string pod_cidr;
  std::string gateway;      // node side of the pod veths
  std::string fabric_veth;  // the node's port on the bridge (fabric namespace)
};

struct PodPlan {
  std::string name;            // "coffee-0", "ingress-0"
  std::string service;         // scenario Service; empty for an ingress pod
  std::string namespace_name;  // Kubernetes namespace
  bool ingress = false;
  int node = 0;           // index into nodes
  std::string netns;      // "ilab-pod-coffee-0"
  std::string node_veth;  // the pod's veth in the node namespace ("ilab-v3")
  std::string ip;
  uint16_t port = 0;  // realpod's listen port (the Service's first target port)
  // realpod flags after --listen/--name (service time, body size, concurrency).
  std::vector<std::string> realpod_args;
};

struct TestbedPlan {
  KubeProxyMode mode = KubeProxyMode::kIptables;
  std::vector<NodePlan> nodes;
  std::vector<PodPlan> pods;
  std::vector<ServicePortSpec> services;  // KUBE-SERVICES order (filler Services included)
  size_t filler_services = 0;
  std::vector<int> entry_nodes;  // indexes into nodes: where clients connect
  bool https = false;            // some Ingress has spec.tls: the NodePort serves 443 too
  uint16_t http_node_port = 0;   // entry.node_ports of the ingress controller's Service
  uint16_t https_node_port = 0;
  double node_bandwidth_bps = 0;
  // cluster.network.links with a bandwidth, expanded to node pairs (zone names: every node pair
  // across the two zones; a later entry overrides an earlier one for the same pair). Shaped with
  // HTB on the sending node's interface, per destination node (its address and pod CIDR).
  struct LinkShape {
    int a = 0, b = 0;  // node indexes, a < b
    double bandwidth_bps = 0;
  };
  std::vector<LinkShape> links;
  // realproxy flags after --config/--listen/--tls-listen/--admin.
  std::vector<std::string> realproxy_args;
  // Kubernetes YAML for realproxy: Ingresses, Services, EndpointSlices (no Secrets; see tls).
  std::string manifests;
  struct TlsSecret {
    std::string namespace_name, name;
    std::vector<std::string> hosts;
    bool rsa = false;  // RSA 2048 instead of ECDSA P-256 (ingress.tls.key_type)
  };
  std::vector<TlsSecret> tls_secrets;
  // One session-ticket key for every realproxy (ingress.tls.session_tickets), so that a resumed
  // connection succeeds on whichever ingress pod kube-proxy picks, as the model assumes.
  bool shared_ticket_key = false;
  std::vector<std::string> not_emulated;
};

// realproxy's flags for the ingress controller's settings (workers, LB policy and hash key,
// timeouts, retries, outlier ejection, ingress class), after --config/--kube-api and the
// listeners, and the settings realproxy cannot honour, in words. The testbed and the kind export
// both start realproxy with these.
struct RealproxyFlags {
  std::vector<std::string> args;  // pairs: a flag, then its value
  std::vector<std::string> not_honoured;
};
RealproxyFlags realproxy_flags(const scenario::IngressController& ingress);

// The plan for `scenario` (resolved: defaults filled, nodes expanded). `mode` overrides
// cluster.kube_proxy.mode when set. nullopt and *error when the testbed cannot build it (too many
// nodes or pods, no ingress pod, ...).
std::optional<TestbedPlan> plan_testbed(const scenario::Scenario& scenario,
                                        std::optional<KubeProxyMode> mode, std::string* error);

// tc commands (argv lists) for one node's egress (`eth0` in its namespace): tbf at
// node_bandwidth; or, when a link involves the node, HTB with a default class at node_bandwidth
// and a class per linked node at the link's bandwidth, selected by u32 filters on the
// destination (that node's address and pod CIDR). Empty when there is nothing to shape.
std::vector<std::vector<std::string>> node_egress_shaping(const TestbedPlan& plan, int node);
// tc tbf on `dev` in namespace `ns` at `bps` (a 1 ms burst, at least 256 KiB so that GSO-sized
// packets pass).
std::vector<std::string> tbf_command(const std::string& ns, const std::string& dev, double bps);

// realpod's --service-time for a scenario distribution (seconds): constant, exponential,
// lognormal and uniform map exactly; anything else becomes an exponential with the same mean and
// *approximation says so (empty when exact). nullopt and *error if the distribution is invalid.
std::optional<std::string> realpod_service_time(const scenario::Distribution& distribution,
                                                std::string* approximation, std::string* error);

// The name kube-proxy's NodePort Service of the ingress controller gets in the manifests.
inline constexpr const char* kIngressNamespace = "ingresslab";

}  // namespace ingresslab::testbed
