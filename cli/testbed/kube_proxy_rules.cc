#include "cli/testbed/kube_proxy_rules.h"

#include <openssl/sha.h>

#include <cstdio>

namespace ingresslab::testbed {
namespace {

constexpr const char* kMasqMark = "0x4000";

std::string base32(const unsigned char* data, size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < size; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

std::string hash_of(const std::string& text, size_t length) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return base32(digest, sizeof digest).substr(0, length);
}

std::string endpoint_string(const ServiceEndpoint& e) {
  return e.ip + ":" + std::to_string(e.port);
}

std::string quoted_comment(const std::string& text) {
  return "-m comment --comment \"" + text + "\"";
}

// nftables chain-name base: "<hash8>-<ns>/<svc>/tcp/<port name>".
std::string nft_base(const ServicePortSpec& s) {
  return hash_of(s.display_name() + "tcp", 8) + "-" + s.namespace_name + "/" + s.service + "/tcp/" +
         s.port_name;
}

std::string nft_endpoint_chain(const ServicePortSpec& s, const ServiceEndpoint& e) {
  const std::string ep = e.ip + "/" + std::to_string(e.port);
  return "endpoint-" + hash_of(s.display_name() + "tcp" + endpoint_string(e), 8) + "-" +
         s.namespace_name + "/" + s.service + "/tcp/" + s.port_name + "__" + ep;
}

}  // namespace

std::string ServicePortSpec::display_name() const {
  std::string name = namespace_name + "/" + service;
  if (!port_name.empty()) name += ":" + port_name;
  return name;
}

std::string endpoint_probability(size_t i, size_t n) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%0.10f", 1.0 / static_cast<double>(n - i));
  return buffer;
}

std::string chain_hash(const std::string& service_port_name, const std::string& protocol) {
  return hash_of(service_port_name + protocol, 16);
}

std::vector<ServiceEndpoint> external_endpoints(const ServicePortSpec& service,
                                                const std::string& node) {
  if (!service.external_local) return service.endpoints;
  std::vector<ServiceEndpoint> local;
  for (const auto& e : service.endpoints) {
    if (e.node == node) local.push_back(e);
  }
  return local;
}

std::string iptables_rules(const NodeRulesInput& input) {
  std::string filter = "*filter\n:KUBE-EXTERNAL-SERVICES - [0:0]\n";
  filter +=
      "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible "
      "service portals\" -j KUBE-EXTERNAL-SERVICES\n"
      "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes "
      "externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES\n";

  std::string chains =
      ":KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-POSTROUTING - [0:0]\n"
      ":KUBE-MARK-MASQ - [0:0]\n";
  std::string rules =
      "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
      "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
      "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j "
      "KUBE-POSTROUTING\n";
  rules += std::string("-A KUBE-MARK-MASQ -j MARK --or-mark ") + kMasqMark + "\n";
  rules += std::string("-A KUBE-POSTROUTING -m mark ! --mark ") + kMasqMark + "/" + kMasqMark +
           " -j RETURN\n";
  rules += std::string("-A KUBE-POSTROUTING -j MARK --xor-mark ") + kMasqMark + "\n";
  rules +=
      "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j "
      "MASQUERADE --random-fully\n";

  std::string services;   // KUBE-SERVICES rules
  std::string nodeports;  // KUBE-NODEPORTS rules
  std::string per_service;
  for (const auto& s : input.services) {
    const std::string name = s.display_name();
    const std::string hash = chain_hash(name, "tcp");
    const std::string svc_chain = "KUBE-SVC-" + hash;
    const std::string match =
        "-d " + s.cluster_ip + "/32 -p tcp -m tcp --dport " + std::to_string(s.port);
    if (s.endpoints.empty()) {
      // kube-proxy rejects traffic to a Service without endpoints (filter table).
      filter += "-A KUBE-EXTERNAL-SERVICES " + quoted_comment(name + " has no endpoints") + " " +
                match + " -j REJECT\n";
      continue;
    }
    chains += ":" + svc_chain + " - [0:0]\n";
    services += "-A KUBE-SERVICES " + quoted_comment(name + " cluster IP") + " " + match + " -j " +
                svc_chain + "\n";
    per_service += "-A " + svc_chain + " " + quoted_comment(name + " cluster IP") + " " + match +
                   " ! -s " + input.cluster_cidr + " -j KUBE-MARK-MASQ\n";
    const size_t n = s.endpoints.size();
    std::vector<std::string> sep_chains;
    for (size_t i = 0; i < n; ++i) {
      const ServiceEndpoint& e = s.endpoints[i];
      const std::string sep = "KUBE-SEP-" + chain_hash(name, "tcp" + endpoint_string(e));
      sep_chains.push_back(sep);
      chains += ":" + sep + " - [0:0]\n";
      per_service +=
          "-A " + svc_chain + " " + quoted_comment(name + " -> " + endpoint_string(e)) + " ";
      if (i + 1 < n) {
        per_service +=
            "-m statistic --mode random --probability " + endpoint_probability(i, n) + " ";
      }
      per_service += "-j " + sep + "\n";
      per_service +=
          "-A " + sep + " " + quoted_comment(name) + " -s " + e.ip + "/32 -j KUBE-MARK-MASQ\n";
      per_service += "-A " + sep + " " + quoted_comment(name) +
                     " -m tcp -p tcp -j DNAT --to-destination " + endpoint_string(e) + "\n";
    }
    if (s.node_port == 0) continue;

    const std::string ext_chain = "KUBE-EXT-" + hash;
    const std::string np_match = "-p tcp -m tcp --dport " + std::to_string(s.node_port);
    if (!s.external_local) {
      chains += ":" + ext_chain + " - [0:0]\n";
      nodeports +=
          "-A KUBE-NODEPORTS " + quoted_comment(name) + " " + np_match + " -j " + ext_chain + "\n";
      per_service += "-A " + ext_chain + " " +
                     quoted_comment("masquerade traffic for " + name + " external destinations") +
                     " -j KUBE-MARK-MASQ\n";
      per_service += "-A " + ext_chain + " -j " + svc_chain + "\n";
      continue;
    }
    // Local policy: only this node's endpoints (KUBE-SVL-*); none → drop in the filter table.
    std::vector<size_t> local;
    for (size_t i = 0; i < n; ++i) {
      if (s.endpoints[i].node == input.node) local.push_back(i);
    }
    if (local.empty()) {
      filter += "-A KUBE-EXTERNAL-SERVICES " + quoted_comment(name + " has no local endpoints") +
                " -m addrtype --dst-type LOCAL " + np_match + " -j DROP\n";
      continue;
    }
    const std::string svl_chain = "KUBE-SVL-" + hash;
    chains += ":" + ext_chain + " - [0:0]\n:" + svl_chain + " - [0:0]\n";
    nodeports +=
        "-A KUBE-NODEPORTS " + quoted_comment(name) + " " + np_match + " -j " + ext_chain + "\n";
    per_service += "-A " + ext_chain + " -s " + input.cluster_cidr + " " +
                   quoted_comment("pod traffic for " + name + " external destinations") + " -j " +
                   svc_chain + "\n";
    per_service +=
        "-A " + ext_chain + " " +
        quoted_comment("masquerade LOCAL traffic for " + name + " external destinations") +
        " -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ\n";
    per_service += "-A " + ext_chain + " " +
                   quoted_comment("route LOCAL traffic for " + name + " external destinations") +
                   " -m addrtype --src-type LOCAL -j " + svc_chain + "\n";
    per_service += "-A " + ext_chain + " -j " + svl_chain + "\n";
    for (size_t j = 0; j < local.size(); ++j) {
      const ServiceEndpoint& e = s.endpoints[local[j]];
      per_service +=
          "-A " + svl_chain + " " + quoted_comment(name + " -> " + endpoint_string(e)) + " ";
      if (j + 1 < local.size()) {
        per_service += "-m statistic --mode random --probability " +
                       endpoint_probability(j, local.size()) + " ";
      }
      per_service += "-j " + sep_chains[local[j]] + "\n";
    }
  }
  services +=
      "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be "
      "the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n";
  filter += "COMMIT\n";
  return filter + "*nat\n" + chains + rules + services + nodeports + per_service + "COMMIT\n";
}

std::string nftables_rules(const NodeRulesInput& input) {
  const std::string t = "ip kube-proxy";
  std::string out;
  out += "add table " + t + " { comment \"rules for kube-proxy\" ; }\n";
  // Base chains at kube-proxy's priorities (filter checks run before DNAT at -100).
  out += "add chain " + t +
         " filter-input { type filter hook input priority -110 ; policy accept ; }\n";
  out += "add chain " + t +
         " nat-prerouting { type nat hook prerouting priority -100 ; policy accept ; }\n";
  out +=
      "add chain " + t + " nat-output { type nat hook output priority -100 ; policy accept ; }\n";
  out += "add chain " + t +
         " nat-postrouting { type nat hook postrouting priority 100 ; policy accept ; }\n";
  out += "add map " + t +
         " service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "
         "\"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }\n";
  out += "add map " + t +
         " service-nodeports { type inet_proto . inet_service : verdict ; comment \"NodePort "
         "traffic\" ; }\n";
  out += "add map " + t +
         " no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "
         "\"vmap to drop or reject packets to services with no endpoints\" ; }\n";
  out += "add map " + t +
         " no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment \"vmap to "
         "drop or reject packets to service nodeports with no endpoints\" ; }\n";
  out += "add chain " + t + " mark-for-masquerade\n";
  out += "add rule " + t + " mark-for-masquerade mark set mark or " + kMasqMark + "\n";
  out += "add chain " + t + " masquerading\n";
  out += "add rule " + t + " masquerading mark and " + kMasqMark + " == 0 return\n";
  out += "add rule " + t + " masquerading mark set mark xor " + kMasqMark + "\n";
  out += "add rule " + t + " masquerading masquerade fully-random\n";
  out += "add chain " + t + " reject-chain { comment \"helper for @no-endpoint-services\" ; }\n";
  out += "add rule " + t + " reject-chain reject\n";
  out += "add chain " + t + " services\n";
  out += "add rule " + t + " services ip daddr . meta l4proto . th dport vmap @service-ips\n";
  out += "add rule " + t +
         " services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap "
         "@service-nodeports\n";
  out += "add chain " + t + " service-endpoints-check\n";
  out += "add rule " + t +
         " service-endpoints-check ip daddr . meta l4proto . th dport vmap "
         "@no-endpoint-services\n";
  out += "add chain " + t + " nodeport-endpoints-check\n";
  out += "add rule " + t +
         " nodeport-endpoints-check ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap "
         "@no-endpoint-nodeports\n";
  out += "add rule " + t + " filter-input ct state new jump nodeport-endpoints-check\n";
  out += "add rule " + t + " filter-input ct state new jump service-endpoints-check\n";
  out += "add rule " + t + " nat-prerouting jump services\n";
  out += "add rule " + t + " nat-output jump services\n";
  out += "add rule " + t + " nat-postrouting jump masquerading\n";

  std::string elements;
  for (const auto& s : input.services) {
    const std::string name = s.display_name();
    const std::string base = nft_base(s);
    const std::string svc_chain = "service-" + base;
    const std::string key = s.cluster_ip + " . tcp . " + std::to_string(s.port);
    if (s.endpoints.empty()) {
      elements += "add element " + t + " no-endpoint-services { " + key + " comment \"" + name +
                  "\" : goto reject-chain }\n";
      continue;
    }
    std::vector<std::string> endpoint_chains;
    for (const auto& e : s.endpoints) {
      const std::string chain = nft_endpoint_chain(s, e);
      endpoint_chains.push_back(chain);
      out += "add chain " + t + " " + chain + "\n";
      out += "add rule " + t + " " + chain + " ip saddr " + e.ip + " jump mark-for-masquerade\n";
      out +=
          "add rule " + t + " " + chain + " meta l4proto tcp dnat to " + endpoint_string(e) + "\n";
    }
    const auto numgen = [&](const std::vector<size_t>& indexes) {
      std::string map = "numgen random mod " + std::to_string(indexes.size()) + " vmap { ";
      for (size_t i = 0; i < indexes.size(); ++i) {
        if (i > 0) map += ", ";
        map += std::to_string(i) + " : goto " + endpoint_chains[indexes[i]];
      }
      return map + " }";
    };
    std::vector<size_t> all(s.endpoints.size());
    for (size_t i = 0; i < all.size(); ++i)
      all[i] = i;
    out += "add chain " + t + " " + svc_chain + "\n";
    out += "add rule " + t + " " + svc_chain + " ip daddr " + s.cluster_ip + " tcp dport " +
           std::to_string(s.port) + " ip saddr != " + input.cluster_cidr +
           " jump mark-for-masquerade\n";
    if (s.filler && all.size() == 1) {
      out += "add rule " + t + " " + svc_chain + " goto " + endpoint_chains[0] + "\n";
    } else {
      out += "add rule " + t + " " + svc_chain + " " + numgen(all) + "\n";
    }
    elements += "add element " + t + " service-ips { " + key + " comment \"" + name + "\" : goto " +
                svc_chain + " }\n";
    if (s.node_port == 0) continue;

    const std::string np_key = "tcp . " + std::to_string(s.node_port);
    const std::string ext_chain = "external-" + base;
    if (!s.external_local) {
      out += "add chain " + t + " " + ext_chain + "\n";
      out += "add rule " + t + " " + ext_chain + " jump mark-for-masquerade\n";
      out += "add rule " + t + " " + ext_chain + " goto " + svc_chain + "\n";
      elements += "add element " + t + " service-nodeports { " + np_key + " comment \"" + name +
                  "\" : goto " + ext_chain + " }\n";
      continue;
    }
    std::vector<size_t> local;
    for (size_t i = 0; i < s.endpoints.size(); ++i) {
      if (s.endpoints[i].node == input.node) local.push_back(i);
    }
    if (local.empty()) {
      elements += "add element " + t + " no-endpoint-nodeports { " + np_key + " comment \"" + name +
                  "\" : drop }\n";
      continue;
    }
    const std::string local_chain = "local-" + base;
    out += "add chain " + t + " " + local_chain + "\n";
    out += "add rule " + t + " " + local_chain + " " + numgen(local) + "\n";
    out += "add chain " + t + " " + ext_chain + "\n";
    out += "add rule " + t + " " + ext_chain + " ip saddr " + input.cluster_cidr + " goto " +
           svc_chain + " comment \"short-circuit pod traffic\"\n";
    out += "add rule " + t + " " + ext_chain +
           " fib saddr type local jump mark-for-masquerade comment \"masquerade local "
           "traffic\"\n";
    out += "add rule " + t + " " + ext_chain + " fib saddr type local goto " + svc_chain +
           " comment \"short-circuit local traffic\"\n";
    out += "add rule " + t + " " + ext_chain + " goto " + local_chain + "\n";
    elements += "add element " + t + " service-nodeports { " + np_key + " comment \"" + name +
                "\" : goto " + ext_chain + " }\n";
  }
  return out + elements;
}

}  // namespace ingresslab::testbed
