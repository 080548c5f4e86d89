// `ingresslab export kind`: the generated files parsed back with yaml-cpp and checked the way the
// API server and kind would read them: every Ingress backend names a generated Service and one of
// its ports, Service selectors select the generated pods, the controller Service's NodePorts are
// the ones kind maps, and the ClusterRole grants what realproxy --kube-api lists and watches.
#include "cli/export_kind.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "scenarios/loader.h"

namespace ingresslab::cli {
namespace {

std::vector<YAML::Node> documents(const KindExport& e, const std::string& file) {
  const auto it = e.files.find(file);
  EXPECT_NE(it, e.files.end()) << file;
  if (it == e.files.end()) return {};
  std::vector<YAML::Node> docs;
  for (const YAML::Node& d : YAML::LoadAll(it->second)) {
    if (d.IsMap()) docs.push_back(d);
  }
  return docs;
}

std::vector<YAML::Node> all_manifests(const KindExport& e) {
  std::vector<YAML::Node> all;
  for (const auto& [path, text] : e.files) {
    if (path.rfind("manifests/", 0) != 0) continue;
    for (const YAML::Node& d : documents(e, path))
      all.push_back(d);
  }
  return all;
}

scenario::Scenario resolved(const std::string& file,
                            std::vector<std::pair<std::string, std::string>> sets = {}) {
  const auto loaded = scenarios::load_scenario_file(std::string(INGRESSLAB_SCENARIOS) + "/" + file);
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  const auto r = scenarios::resolve_scenario(loaded, "", sets);
  EXPECT_TRUE(r.ok()) << r.diagnostics.to_string();
  return r.scenario;
}

// Does `selector` (matchLabels-style map) select a pod with `labels`?
bool selects(const YAML::Node& selector, const YAML::Node& labels) {
  if (!selector || !selector.IsMap() || selector.size() == 0) return false;
  for (const auto& kv : selector) {
    const std::string k = kv.first.as<std::string>();
    if (!labels[k] || labels[k].as<std::string>() != kv.second.as<std::string>()) return false;
  }
  return true;
}

TEST(ExportKindTest, CafeManifestsAreConsistent) {
  const scenario::Scenario sc = resolved("cafe.yaml");
  const KindExport e = export_kind(sc, "scenarios/cafe.yaml", "out/kind-cafe");
  ASSERT_TRUE(e.error.empty()) << e.error;
  for (const char* f : {"kind-config.yaml", "Dockerfile", "README.md", "create-tls-secrets.sh"}) {
    EXPECT_TRUE(e.files.count(f)) << f;
  }
  const auto all = all_manifests(e);
  std::multiset<std::string> kinds;
  std::map<std::string, YAML::Node> services;  // namespace/name
  std::vector<YAML::Node> workloads, ingresses;
  for (const YAML::Node& d : all) {
    ASSERT_TRUE(d["apiVersion"]) << YAML::Dump(d);
    ASSERT_TRUE(d["kind"]) << YAML::Dump(d);
    ASSERT_TRUE(d["metadata"]["name"]) << YAML::Dump(d);
    const std::string kind = d["kind"].as<std::string>();
    kinds.insert(kind);
    const std::string ns =
        d["metadata"]["namespace"] ? d["metadata"]["namespace"].as<std::string>() : "default";
    if (kind == "Service") services[ns + "/" + d["metadata"]["name"].as<std::string>()] = d;
    if (kind == "Deployment" || kind == "DaemonSet") workloads.push_back(d);
    if (kind == "Ingress") ingresses.push_back(d);
  }
  for (const char* k : {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                        "IngressClass", "Ingress"}) {
    EXPECT_GE(kinds.count(k), 1u) << k;
  }
  // The controller (2 replicas, a Deployment in cafe) + coffee + tea.
  EXPECT_EQ(kinds.count("Deployment"), 3u);
  EXPECT_EQ(kinds.count("Service"), 3u);

  // Every Ingress backend → a generated Service in the Ingress's namespace, with that port.
  size_t backends = 0;
  for (const YAML::Node& ing : ingresses) {
    const std::string ns = ing["metadata"]["namespace"].as<std::string>();
    for (const YAML::Node& rule : ing["spec"]["rules"]) {
      for (const YAML::Node& p : rule["http"]["paths"]) {
        const YAML::Node svc = p["backend"]["service"];
        const std::string key = ns + "/" + svc["name"].as<std::string>();
        ASSERT_TRUE(services.count(key)) << "Ingress backend " << key << " has no Service";
        bool port_found = false;
        for (const YAML::Node& sp : services[key]["spec"]["ports"]) {
          if (svc["port"]["number"] && sp["port"].as<int>() == svc["port"]["number"].as<int>())
            port_found = true;
          if (svc["port"]["name"] && sp["name"] &&
              sp["name"].as<std::string>() == svc["port"]["name"].as<std::string>())
            port_found = true;
        }
        EXPECT_TRUE(port_found) << key;
        ++backends;
      }
    }
  }
  EXPECT_EQ(backends, 2u);  // /tea and /coffee

  // Every Service selects the pods of exactly one generated workload, and targets a port the
  // pods' container exposes.
  for (const auto& [key, svc] : services) {
    int selected = 0;
    for (const YAML::Node& w : workloads) {
      const YAML::Node labels = w["spec"]["template"]["metadata"]["labels"];
      if (!selects(svc["spec"]["selector"], labels)) continue;
      ++selected;
      // The workload's own selector matches its template (the API server rejects it otherwise).
      EXPECT_TRUE(selects(w["spec"]["selector"]["matchLabels"], labels));
      std::set<int> container_ports;
      for (const YAML::Node& c : w["spec"]["template"]["spec"]["containers"]) {
        for (const YAML::Node& p : c["ports"])
          container_ports.insert(p["containerPort"].as<int>());
      }
      for (const YAML::Node& sp : svc["spec"]["ports"]) {
        EXPECT_TRUE(container_ports.count(sp["targetPort"].as<int>())) << key;
      }
    }
    EXPECT_EQ(selected, 1) << key;
  }

  // Container args are strings for the API server: none is a plain (unquoted) YAML number.
  for (const YAML::Node& w : workloads) {
    for (const YAML::Node& c : w["spec"]["template"]["spec"]["containers"]) {
      for (const YAML::Node& a : c["args"]) {
        const std::string v = a.as<std::string>();
        const bool numeric =
            !v.empty() && v.find_first_not_of("0123456789.+-") == std::string::npos;
        EXPECT_FALSE(numeric && a.Tag() != "!") << "unquoted number in args: " << v;
      }
    }
  }

  // Backend pods: realpod with the scenario's service time (coffee: lognormal mean 2ms, p99 12ms)
  // and replicas (coffee 2, tea 3).
  for (const YAML::Node& w : workloads) {
    const std::string name = w["metadata"]["name"].as<std::string>();
    if (name == "realproxy") {
      EXPECT_EQ(w["spec"]["replicas"].as<int>(), 2);
      EXPECT_EQ(w["spec"]["template"]["spec"]["serviceAccountName"].as<std::string>(), "realproxy");
      continue;
    }
    std::vector<std::string> args;
    for (const YAML::Node& a : w["spec"]["template"]["spec"]["containers"][0]["args"])
      args.push_back(a.as<std::string>());
    const auto at = std::find(args.begin(), args.end(), "--service-time");
    ASSERT_NE(at, args.end());
    if (name == "coffee-svc") {
      EXPECT_EQ(*(at + 1), "lognormal:2000000ns,12000000ns");
      EXPECT_EQ(w["spec"]["replicas"].as<int>(), 2);
    } else {
      EXPECT_EQ(name, "tea-svc");
      EXPECT_EQ(*(at + 1), "lognormal:3000000ns,15000000ns");
      EXPECT_EQ(w["spec"]["replicas"].as<int>(), 3);
    }
  }

  // NodePorts of the controller Service = the host ports kind maps; nodes = control-plane + the
  // scenario's 3; kube-proxy mode as the scenario's.
  const YAML::Node kind = YAML::Load(e.files.at("kind-config.yaml"));
  EXPECT_EQ(kind["kind"].as<std::string>(), "Cluster");
  EXPECT_EQ(kind["networking"]["kubeProxyMode"].as<std::string>(), "iptables");
  ASSERT_EQ(kind["nodes"].size(), 4u);
  std::set<int> mapped;
  for (const YAML::Node& n : kind["nodes"]) {
    for (const YAML::Node& m : n["extraPortMappings"]) {
      EXPECT_EQ(m["containerPort"].as<int>(), m["hostPort"].as<int>());
      mapped.insert(m["containerPort"].as<int>());
    }
  }
  const YAML::Node ctl = services.at("ingresslab-system/realproxy");
  EXPECT_EQ(ctl["spec"]["type"].as<std::string>(), "NodePort");
  EXPECT_EQ(ctl["spec"]["externalTrafficPolicy"].as<std::string>(), "Cluster");
  std::set<int> node_ports;
  for (const YAML::Node& p : ctl["spec"]["ports"]) {
    const int np = p["nodePort"].as<int>();
    EXPECT_GE(np, 30000);  // the API server's default NodePort range
    EXPECT_LE(np, 32767);
    node_ports.insert(np);
  }
  EXPECT_EQ(node_ports, mapped);

  // RBAC: get, list and watch on everything realproxy --kube-api reads, bound to its account.
  std::map<std::string, std::set<std::string>> granted;  // "group/resource" -> verbs
  for (const YAML::Node& d : all) {
    if (d["kind"].as<std::string>() != "ClusterRole") continue;
    for (const YAML::Node& rule : d["rules"]) {
      for (const YAML::Node& g : rule["apiGroups"]) {
        for (const YAML::Node& r : rule["resources"]) {
          for (const YAML::Node& v : rule["verbs"]) {
            granted[g.as<std::string>() + "/" + r.as<std::string>()].insert(v.as<std::string>());
          }
        }
      }
    }
  }
  for (const char* res : {"/services", "/secrets", "networking.k8s.io/ingresses",
                          "discovery.k8s.io/endpointslices"}) {
    for (const char* verb : {"get", "list", "watch"}) {
      EXPECT_TRUE(granted[res].count(verb)) << res << " " << verb;
    }
  }
  bool bound = false;
  for (const YAML::Node& d : all) {
    if (d["kind"].as<std::string>() != "ClusterRoleBinding") continue;
    for (const YAML::Node& s : d["subjects"]) {
      bound |= s["kind"].as<std::string>() == "ServiceAccount" &&
               s["name"].as<std::string>() == "realproxy" &&
               s["namespace"].as<std::string>() == "ingresslab-system";
    }
  }
  EXPECT_TRUE(bound);
  // The TLS Secret the Ingress names is created by the script.
  EXPECT_NE(e.files.at("create-tls-secrets.sh").find("create secret tls tls-secret"),
            std::string::npos);
}

TEST(ExportKindTest, DaemonSetLocalPolicyAndKubeProxyModeFollowTheScenario) {
  const scenario::Scenario sc = resolved("cafe.yaml", {{"ingress.kind", "daemonset"},
                                                       {"entry.external_traffic_policy", "local"},
                                                       {"cluster.kube_proxy.mode", "nftables"}});
  const KindExport e = export_kind(sc, "cafe.yaml", "out/kind");
  ASSERT_TRUE(e.error.empty());
  bool daemonset = false;
  for (const YAML::Node& d : documents(e, "manifests/20-ingress-controller.yaml")) {
    if (d["kind"].as<std::string>() == "DaemonSet") {
      daemonset = true;
      EXPECT_FALSE(d["spec"]["replicas"]);
    }
    if (d["kind"].as<std::string>() == "Service") {
      EXPECT_EQ(d["spec"]["externalTrafficPolicy"].as<std::string>(), "Local");
    }
  }
  EXPECT_TRUE(daemonset);
  EXPECT_EQ(
      YAML::Load(e.files.at("kind-config.yaml"))["networking"]["kubeProxyMode"].as<std::string>(),
      "nftables");
}

// entry.node_ports: the controller Service's NodePorts, kind's host port mappings and the replay
// commands in the README all use them.
TEST(ExportKindTest, NodePortsFollowTheScenario) {
  const scenario::Scenario sc = resolved(
      "cafe.yaml", {{"entry.node_ports.http", "31080"}, {"entry.node_ports.https", "31443"}});
  const KindExport e = export_kind(sc, "cafe.yaml", "out/kind");
  ASSERT_TRUE(e.error.empty()) << e.error;
  std::set<int> mapped;
  for (const YAML::Node& n : YAML::Load(e.files.at("kind-config.yaml"))["nodes"]) {
    for (const YAML::Node& m : n["extraPortMappings"])
      mapped.insert(m["hostPort"].as<int>());
  }
  EXPECT_EQ(mapped, (std::set<int>{31080, 31443}));
  std::map<std::string, int> node_ports;
  for (const YAML::Node& d : documents(e, "manifests/20-ingress-controller.yaml")) {
    if (d["kind"].as<std::string>() != "Service") continue;
    for (const YAML::Node& p : d["spec"]["ports"])
      node_ports[p["name"].as<std::string>()] = p["nodePort"].as<int>();
  }
  EXPECT_EQ(node_ports, (std::map<std::string, int>{{"http", 31080}, {"https", 31443}}));
  const std::string& readme = e.files.at("README.md");
  EXPECT_NE(readme.find("--target https://127.0.0.1:31443"), std::string::npos);
  EXPECT_NE(readme.find("--target http://127.0.0.1:31080"), std::string::npos);
  EXPECT_EQ(readme.find("30443"), std::string::npos);
}

}  // namespace
}  // namespace ingresslab::cli
