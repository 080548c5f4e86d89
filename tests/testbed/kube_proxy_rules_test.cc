// kube-proxy rule writers against kube-proxy's own behaviour: chain names as kube-proxy hashes
// them (values from pkg/proxy/iptables/proxier_test.go), per-endpoint selection probability 1/n
// from the 1/(n-i) rule chain, externalTrafficPolicy: Local using only node-local endpoints, and
// the kernel tools accepting the text (`iptables-restore --test`, `nft -c`) inside a scratch
// network namespace (`unshare -rn`), so the live tables are never touched.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <regex>
#include <set>
#include <sstream>

#include "cli/testbed/exec.h"
#include "cli/testbed/kube_proxy_rules.h"

namespace ingresslab::testbed {
namespace {

ServicePortSpec coffee() {
  ServicePortSpec s;
  s.namespace_name = "default";
  s.service = "coffee";
  s.port_name = "http";
  s.cluster_ip = "10.96.0.10";
  s.port = 80;
  s.endpoints = {{"10.244.1.2", 8080, "node-1"},
                 {"10.244.1.3", 8080, "node-1"},
                 {"10.244.2.2", 8080, "node-2"}};
  return s;
}

ServicePortSpec ingress(bool local) {
  ServicePortSpec s;
  s.namespace_name = "ingress";
  s.service = "realproxy";
  s.port_name = "http";
  s.cluster_ip = "10.96.0.2";
  s.port = 80;
  s.node_port = 30080;
  s.external_local = local;
  s.endpoints = {{"10.244.1.5", 80, "node-1"}, {"10.244.2.5", 80, "node-2"}};
  return s;
}

NodeRulesInput input_for(const std::string& node, std::vector<ServicePortSpec> services) {
  return {node, "10.244.0.0/16", std::move(services)};
}

// The `-A CHAIN ...` lines of `chain`, in order.
std::vector<std::string> chain_rules(const std::string& rules, const std::string& chain) {
  std::vector<std::string> out;
  std::istringstream in(rules);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("-A " + chain + " ", 0) == 0) out.push_back(line);
  }
  return out;
}

std::string jump_target(const std::string& rule) {
  const size_t j = rule.rfind(" -j ");
  return j == std::string::npos ? "" : rule.substr(j + 4);
}

// P(rule k is taken) for a chain of `-m statistic --probability p` rules (no p = always).
std::map<std::string, double> selection_probabilities(const std::vector<std::string>& rules) {
  std::map<std::string, double> out;
  double remaining = 1.0;
  static const std::regex kProbability("--probability ([0-9.]+)");
  for (const auto& rule : rules) {
    std::smatch m;
    const double p = std::regex_search(rule, m, kProbability) ? std::stod(m[1]) : 1.0;
    out[jump_target(rule)] += remaining * p;
    remaining *= 1.0 - p;
  }
  return out;
}

TEST(KubeProxyRules, ChainNamesAreKubeProxysHashes) {
  // pkg/proxy/iptables/proxier_test.go: ns1/svc1:p80 -> KUBE-SVC-XPGD46QRK7WJZT7O, its endpoint
  // 10.180.0.1:80 -> KUBE-SEP-SXIVWICOYRO3J4NJ.
  EXPECT_EQ(chain_hash("ns1/svc1:p80", "tcp"), "XPGD46QRK7WJZT7O");
  EXPECT_EQ(chain_hash("ns1/svc1:p80", "tcp10.180.0.1:80"), "SXIVWICOYRO3J4NJ");
}

TEST(KubeProxyRules, ProbabilityOfRuleIIsOneOverNMinusI) {
  for (size_t n = 1; n <= 12; ++n) {
    for (size_t i = 0; i < n; ++i) {
      EXPECT_NEAR(std::stod(endpoint_probability(i, n)), 1.0 / static_cast<double>(n - i), 1e-10);
    }
  }
  EXPECT_EQ(endpoint_probability(0, 3), "0.3333333333");  // "%0.10f", as kube-proxy formats it
  EXPECT_EQ(endpoint_probability(1, 3), "0.5000000000");
}

TEST(KubeProxyRules, IptablesServiceChainGivesEveryEndpointOneNth) {
  for (size_t n : {1u, 2u, 3u, 7u}) {
    ServicePortSpec s = coffee();
    s.endpoints.clear();
    for (size_t i = 0; i < n; ++i) {
      s.endpoints.push_back({"10.244.1." + std::to_string(10 + i), 8080, "node-1"});
    }
    const std::string rules = iptables_rules(input_for("node-1", {s}));
    const std::string svc = "KUBE-SVC-" + chain_hash("default/coffee:http", "tcp");
    std::vector<std::string> to_endpoints;
    for (const auto& r : chain_rules(rules, svc)) {
      if (jump_target(r).rfind("KUBE-SEP-", 0) == 0) to_endpoints.push_back(r);
    }
    ASSERT_EQ(to_endpoints.size(), n);
    // The last rule is unconditional; the others carry --probability.
    EXPECT_EQ(to_endpoints.back().find("--probability"), std::string::npos);
    const auto p = selection_probabilities(to_endpoints);
    ASSERT_EQ(p.size(), n);
    for (const auto& [sep, probability] : p) {
      EXPECT_NEAR(probability, 1.0 / static_cast<double>(n), 1e-9) << sep;
      // Every KUBE-SEP DNATs to its endpoint and masquerades hairpin traffic.
      const auto sep_rules = chain_rules(rules, sep);
      ASSERT_EQ(sep_rules.size(), 2u);
      EXPECT_NE(sep_rules[0].find("-j KUBE-MARK-MASQ"), std::string::npos);
      EXPECT_NE(sep_rules[1].find("-j DNAT --to-destination 10.244.1."), std::string::npos);
    }
  }
}

TEST(KubeProxyRules, IptablesClusterPolicyMasqueradesAndUsesAllEndpoints) {
  const std::string rules = iptables_rules(input_for("node-1", {coffee(), ingress(false)}));
  const std::string hash = chain_hash("ingress/realproxy:http", "tcp");
  const auto nodeports = chain_rules(rules, "KUBE-NODEPORTS");
  ASSERT_EQ(nodeports.size(), 1u);
  EXPECT_NE(nodeports[0].find("--dport 30080 -j KUBE-EXT-" + hash), std::string::npos);
  const auto ext = chain_rules(rules, "KUBE-EXT-" + hash);
  ASSERT_EQ(ext.size(), 2u);
  EXPECT_EQ(jump_target(ext[0]), "KUBE-MARK-MASQ");
  EXPECT_EQ(jump_target(ext[1]), "KUBE-SVC-" + hash);
  const auto services = chain_rules(rules, "KUBE-SERVICES");
  // NodePorts last, as kube-proxy requires.
  EXPECT_EQ(jump_target(services.back()), "KUBE-NODEPORTS");
  EXPECT_NE(services.back().find("--dst-type LOCAL"), std::string::npos);
  EXPECT_NE(rules.find("-j MASQUERADE --random-fully"), std::string::npos);
}

TEST(KubeProxyRules, IptablesLocalPolicyUsesOnlyNodeLocalEndpoints) {
  ServicePortSpec s = ingress(true);
  s.endpoints.push_back({"10.244.1.6", 80, "node-1"});
  const std::string hash = chain_hash("ingress/realproxy:http", "tcp");
  for (const std::string node : {"node-1", "node-2"}) {
    const std::string rules = iptables_rules(input_for(node, {s}));
    const auto svl = chain_rules(rules, "KUBE-SVL-" + hash);
    std::set<std::string> expected;
    for (const auto& e : external_endpoints(s, node)) {
      EXPECT_EQ(e.node, node);
      expected.insert("KUBE-SEP-" + chain_hash("ingress/realproxy:http",
                                               "tcp" + e.ip + ":" + std::to_string(e.port)));
    }
    ASSERT_EQ(expected.size(), node == "node-1" ? 2u : 1u);
    std::set<std::string> targets;
    for (const auto& [sep, p] : selection_probabilities(svl)) {
      targets.insert(sep);
      EXPECT_NEAR(p, 1.0 / static_cast<double>(expected.size()), 1e-9);
    }
    EXPECT_EQ(targets, expected) << node;
    // No SNAT for external traffic: only node-local sources are marked.
    for (const auto& r : chain_rules(rules, "KUBE-EXT-" + hash)) {
      if (jump_target(r) == "KUBE-MARK-MASQ") {
        EXPECT_NE(r.find("--src-type LOCAL"), std::string::npos) << r;
      }
    }
  }
  // A node without a local endpoint drops the NodePort traffic and has no KUBE-NODEPORTS rule.
  const std::string rules = iptables_rules(input_for("node-3", {s}));
  EXPECT_TRUE(chain_rules(rules, "KUBE-NODEPORTS").empty());
  const auto drops = chain_rules(rules, "KUBE-EXTERNAL-SERVICES");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_NE(drops[0].find("--dport 30080 -j DROP"), std::string::npos);
}

// The `goto` targets inside `numgen random mod N vmap { ... }` of chain `chain`.
std::vector<std::string> numgen_targets(const std::string& rules, const std::string& chain,
                                        size_t* modulus) {
  std::istringstream in(rules);
  std::string line;
  const std::string prefix = "add rule ip kube-proxy " + chain + " numgen random mod ";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    *modulus = std::stoul(line.substr(prefix.size()));
    std::vector<std::string> out;
    static const std::regex kEntry("([0-9]+) : goto ([^ ,}]+)");
    size_t expected_index = 0;
    for (auto it = std::sregex_iterator(line.begin(), line.end(), kEntry);
         it != std::sregex_iterator(); ++it) {
      EXPECT_EQ(std::stoul((*it)[1]), expected_index++);
      out.push_back((*it)[2]);
    }
    return out;
  }
  return {};
}

TEST(KubeProxyRules, NftablesServiceUsesNumgenOverAllEndpoints) {
  const std::string rules = nftables_rules(input_for("node-1", {coffee()}));
  const std::string chain = "service-" + chain_hash("default/coffee:http", "tcp").substr(0, 8) +
                            "-default/coffee/tcp/http";
  size_t modulus = 0;
  const auto targets = numgen_targets(rules, chain, &modulus);
  EXPECT_EQ(modulus, 3u);
  ASSERT_EQ(targets.size(), 3u);
  const ServicePortSpec s = coffee();
  for (size_t i = 0; i < 3; ++i) {
    const auto& e = s.endpoints[i];
    EXPECT_NE(targets[i].find("__" + e.ip + "/8080"), std::string::npos) << targets[i];
    EXPECT_NE(rules.find("add rule ip kube-proxy " + targets[i] + " meta l4proto tcp dnat to " +
                         e.ip + ":8080"),
              std::string::npos);
  }
  EXPECT_NE(rules.find("add element ip kube-proxy service-ips { 10.96.0.10 . tcp . 80 "),
            std::string::npos);
}

TEST(KubeProxyRules, NftablesSingleEndpointFillerUsesPlainGoto) {
  ServicePortSpec one = coffee();
  one.endpoints.resize(1);
  const std::string chain = "service-" + chain_hash("default/coffee:http", "tcp").substr(0, 8) +
                            "-default/coffee/tcp/http";
  size_t modulus = 0;
  EXPECT_EQ(numgen_targets(nftables_rules(input_for("node-1", {one})), chain, &modulus).size(), 1u);
  EXPECT_EQ(modulus, 1u);
  one.filler = true;
  const std::string rules = nftables_rules(input_for("node-1", {one}));
  EXPECT_TRUE(numgen_targets(rules, chain, &modulus).empty());
  EXPECT_NE(rules.find("add rule ip kube-proxy " + chain + " goto endpoint-"), std::string::npos);
}

TEST(KubeProxyRules, NftablesLocalPolicyUsesOnlyNodeLocalEndpoints) {
  const ServicePortSpec s = ingress(true);
  const std::string base =
      chain_hash("ingress/realproxy:http", "tcp").substr(0, 8) + "-ingress/realproxy/tcp/http";
  for (const std::string node : {"node-1", "node-2"}) {
    const std::string rules = nftables_rules(input_for(node, {s}));
    size_t modulus = 0;
    const auto targets = numgen_targets(rules, "local-" + base, &modulus);
    ASSERT_EQ(modulus, 1u);
    ASSERT_EQ(targets.size(), 1u);
    const auto local = external_endpoints(s, node);
    ASSERT_EQ(local.size(), 1u);
    EXPECT_NE(targets[0].find("__" + local[0].ip + "/80"), std::string::npos);
  }
  const std::string none = nftables_rules(input_for("node-3", {s}));
  EXPECT_NE(none.find("no-endpoint-nodeports { tcp . 30080 comment \"ingress/realproxy:http\" : "
                      "drop }"),
            std::string::npos);
  EXPECT_EQ(none.find("service-nodeports { tcp . 30080"), std::string::npos);
}

// Rule text checked by the real tools in a scratch network namespace.
class KernelSyntaxCheck : public ::testing::Test {
 protected:
  static NodeRulesInput big_input(bool local) {
    std::vector<ServicePortSpec> services;
    for (int i = 0; i < 50; ++i) {
      ServicePortSpec s = coffee();
      s.service = "filler-" + std::to_string(i);
      s.cluster_ip = "10.96.1." + std::to_string(i + 1);
      s.filler = i % 2 == 0;
      if (s.filler) s.endpoints.resize(1);
      services.push_back(s);
    }
    services.push_back(ingress(local));
    ServicePortSpec empty = coffee();
    empty.service = "empty";
    empty.cluster_ip = "10.96.0.99";
    empty.endpoints.clear();
    services.push_back(empty);
    return input_for("node-1", services);
  }
  static ExecResult check(const std::vector<std::string>& tool, const std::string& text) {
    // As root a plain new network namespace; otherwise one owned by a new user namespace (where
    // iptables-nft cannot enlarge its netlink buffer, so big batches fail to load: root only).
    std::vector<std::string> argv = {"unshare", "--net"};
    if (geteuid() != 0) argv = {"unshare", "--map-root-user", "--net"};
    argv.insert(argv.end(), tool.begin(), tool.end());
    return run(argv, text);
  }
  void SetUp() override {
    if (!check({"true"}, "").ok()) {
      GTEST_SKIP() << "cannot create a scratch network namespace (unshare -rn)";
    }
  }
};

TEST_F(KernelSyntaxCheck, IptablesRestoreAcceptsTheRules) {
  for (bool local : {false, true}) {
    const std::string rules = iptables_rules(big_input(local));
    const ExecResult test = check({"iptables-restore", "--test"}, rules);
    EXPECT_TRUE(test.ok()) << test.err;
    // Loaded for real into the scratch namespace: the kernel accepts every rule and chain jump.
    if (geteuid() == 0) {
      const ExecResult load = check({"iptables-restore"}, rules);
      EXPECT_TRUE(load.ok()) << load.err;
    }
  }
  // The check can fail: a rule jumping to an undeclared chain is rejected.
  const ExecResult bad = check({"iptables-restore"},
                               "*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j KUBE-NOPE\n"
                               "COMMIT\n");
  EXPECT_FALSE(bad.ok());
}

TEST_F(KernelSyntaxCheck, NftAcceptsTheRules) {
  for (bool local : {false, true}) {
    const std::string rules = nftables_rules(big_input(local));
    const ExecResult test = check({"nft", "-c", "-f", "-"}, rules);
    EXPECT_TRUE(test.ok()) << test.err;
    const ExecResult load = check({"nft", "-f", "-"}, rules);
    EXPECT_TRUE(load.ok()) << load.err;
  }
  const ExecResult bad =
      check({"nft", "-c", "-f", "-"}, "add rule ip kube-proxy nowhere numgen random mod 0\n");
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace ingresslab::testbed
