// kube-proxy's NAT rules for one node, written as kube-proxy writes them (pure functions: the
// rule text only, loaded by the testbed with `iptables-restore` or `nft -f`).
//
// iptables mode (pkg/proxy/iptables/proxier.go): nat table chains KUBE-SERVICES (one rule per
// ClusterIP port, then `-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS` last), KUBE-NODEPORTS,
// KUBE-SVC-* (rule i of n: `-m statistic --mode random --probability 1/(n-i)`, the last
// unconditional), KUBE-SEP-* (hairpin `-s podIP -j KUBE-MARK-MASQ`, `-j DNAT`), KUBE-EXT-* for
// NodePorts (Cluster policy: KUBE-MARK-MASQ then KUBE-SVC-*; Local policy: pod and node-local
// sources to KUBE-SVC-*, everything else to KUBE-SVL-* with only this node's endpoints),
// KUBE-MARK-MASQ / KUBE-POSTROUTING (mark 0x4000, MASQUERADE --random-fully); filter table
// KUBE-EXTERNAL-SERVICES drops NodePort traffic of Local services without a local endpoint.
//
// nftables mode (pkg/proxy/nftables, KEP-3866): `table ip kube-proxy` with the verdict maps
// service-ips (daddr . proto . port) and service-nodeports (proto . port), one service-* chain per
// Service port choosing an endpoint with `numgen random mod n vmap { i : goto endpoint-* }`,
// external-* chains for NodePorts (same Cluster/Local split), mark-for-masquerade / masquerading,
// and the no-endpoint-nodeports map (drop) checked in filter-input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ingresslab::testbed {

struct ServiceEndpoint {
  std::string ip;
  uint16_t port = 0;
  std::string node;  // node name the endpoint's pod runs on
};

// One Service port (kube-proxy's unit: a "ServicePortName" ns/name:port-name, TCP).
struct ServicePortSpec {
  std::string namespace_name;              // "default"
  std::string service;                     // "coffee"
  std::string port_name;                   // "http" (may be empty)
  std::string cluster_ip;                  // "10.96.0.10"
  uint16_t port = 0;                       // Service port
  uint16_t node_port = 0;                  // 0 = not a NodePort Service
  bool external_local = false;             // externalTrafficPolicy: Local
  std::vector<ServiceEndpoint> endpoints;  // ready endpoints, in EndpointSlice order
  // A filler Service (only there to give the rule table its size; never sent to). In nftables
  // mode a filler with one endpoint jumps to it with a plain `goto` instead of a one-entry
  // `numgen` vmap: nft's cost of loading anonymous vmaps grows faster than linearly (30,000 of
  // them take minutes), and a filler's chain is never walked anyway.
  bool filler = false;

  // "default/coffee:http" (or "default/coffee" without a port name), as kube-proxy names it.
  std::string display_name() const;
};

struct NodeRulesInput {
  std::string node;          // this node's name: selects local endpoints for Local policy
  std::string cluster_cidr;  // pod CIDR of the whole cluster, e.g. "10.244.0.0/16"
  std::vector<ServicePortSpec> services;  // in KUBE-SERVICES order
};

// "%0.10f" of 1/(n - i): the probability kube-proxy gives rule i (0-based) of n endpoints, so
// that each endpoint gets 1/n of the new connections. REQUIRES i < n.
std::string endpoint_probability(size_t i, size_t n);

// kube-proxy's chain suffix: the first 16 characters of base32(sha256(name + protocol)), e.g.
// chain_hash("default/coffee:http", "tcp") for KUBE-SVC-<hash>.
std::string chain_hash(const std::string& service_port_name, const std::string& protocol);

// The endpoints of `service` that this node's NodePort traffic may use: all of them for Cluster
// policy, only those on `node` for Local.
std::vector<ServiceEndpoint> external_endpoints(const ServicePortSpec& service,
                                                const std::string& node);

// `iptables-restore` input (filter and nat tables) for one node.
std::string iptables_rules(const NodeRulesInput& input);
// `nft -f` input for one node (creates `table ip kube-proxy`).
std::string nftables_rules(const NodeRulesInput& input);

}  // namespace ingresslab::testbed
