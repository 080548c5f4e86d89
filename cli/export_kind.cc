#include "cli/export_kind.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "cli/testbed/plan.h"
#include "scenarios/distribution.h"

namespace ingresslab::cli {
namespace {

constexpr const char* kControllerName = "realproxy";
constexpr const char* kControllerClass = "ingresslab.dev/realproxy";
constexpr int kRealpodPort = 8080;

std::string emit_documents(const std::vector<YAML::Node>& docs, const std::string& header) {
  std::string out = header;
  for (const YAML::Node& d : docs) {
    YAML::Emitter e;
    e << d;
    out += "---\n";
    out += e.c_str();
    out += "\n";
  }
  return out;
}

YAML::Node metadata(const std::string& name, const std::string& ns) {
  YAML::Node m;
  m["name"] = name;
  if (!ns.empty()) m["namespace"] = ns;
  return m;
}

std::string cpu_quantity(double cores) {
  return std::to_string(static_cast<long long>(std::llround(cores * 1000))) + "m";
}

YAML::Node ingress_backend(const scenario::IngressBackend& b) {
  YAML::Node n;
  if (b.has_service()) {
    n["service"]["name"] = b.service().name();
    if (!b.service().port().name().empty()) {
      n["service"]["port"]["name"] = b.service().port().name();
    } else {
      n["service"]["port"]["number"] = b.service().port().number();
    }
  } else if (b.has_resource()) {
    if (!b.resource().api_group().empty()) n["resource"]["apiGroup"] = b.resource().api_group();
    n["resource"]["kind"] = b.resource().kind();
    n["resource"]["name"] = b.resource().name();
  }
  return n;
}

YAML::Node ingress_object(const scenario::Ingress& ing) {
  YAML::Node n;
  n["apiVersion"] = "networking.k8s.io/v1";
  n["kind"] = "Ingress";
  n["metadata"] =
      metadata(ing.metadata().name(),
               ing.metadata().namespace_().empty() ? "default" : ing.metadata().namespace_());
  for (const auto& [k, v] : ing.metadata().annotations())
    n["metadata"]["annotations"][k] = v;
  YAML::Node spec;
  const auto& s = ing.spec();
  if (!s.ingress_class_name().empty()) spec["ingressClassName"] = s.ingress_class_name();
  if (s.has_default_backend()) spec["defaultBackend"] = ingress_backend(s.default_backend());
  for (const auto& tls : s.tls()) {
    YAML::Node t;
    for (const auto& h : tls.hosts())
      t["hosts"].push_back(h);
    if (!tls.secret_name().empty()) t["secretName"] = tls.secret_name();
    spec["tls"].push_back(t);
  }
  for (const auto& rule : s.rules()) {
    YAML::Node r;
    if (!rule.host().empty()) r["host"] = rule.host();
    for (const auto& p : rule.http().paths()) {
      YAML::Node path;
      if (!p.path().empty()) path["path"] = p.path();
      path["pathType"] = p.path_type().empty() ? "Prefix" : p.path_type();
      path["backend"] = ingress_backend(p.backend());
      r["http"]["paths"].push_back(path);
    }
    spec["rules"].push_back(r);
  }
  n["spec"] = spec;
  return n;
}

std::string kube_proxy_mode(scenario::KubeProxy::Mode m) {
  switch (m) {
    case scenario::KubeProxy::IPVS:
      return "ipvs";
    case scenario::KubeProxy::NFTABLES:
      return "nftables";
    default:
      return "iptables";
  }
}

}  // namespace

KindExport export_kind(const scenario::Scenario& sc, const std::string& scenario_file,
                       const std::string& output_dir) {
  KindExport out;
  const std::string& dir = output_dir;
  const std::string sys = kKindControllerNamespace;
  const size_t node_count = static_cast<size_t>(sc.cluster().nodes_size());
  if (node_count == 0) {
    out.error = "the scenario has no nodes";
    return out;
  }

  // --- kind cluster ---
  YAML::Node kind;
  kind["kind"] = "Cluster";
  kind["apiVersion"] = "kind.x-k8s.io/v1alpha4";
  kind["name"] = "ingresslab";
  kind["networking"]["kubeProxyMode"] = kube_proxy_mode(sc.cluster().kube_proxy().mode());
  {
    YAML::Node cp;
    cp["role"] = "control-plane";
    for (const uint32_t port : {sc.entry().node_ports().http(), sc.entry().node_ports().https()}) {
      YAML::Node m;
      m["containerPort"] = port;
      m["hostPort"] = port;
      m["listenAddress"] = "127.0.0.1";
      m["protocol"] = "TCP";
      cp["extraPortMappings"].push_back(m);
    }
    kind["nodes"].push_back(cp);
  }
  for (const auto& node : sc.cluster().nodes()) {
    YAML::Node w;
    w["role"] = "worker";
    w["labels"]["ingresslab.dev/node"] = node.name();
    if (!node.zone().empty()) w["labels"]["topology.kubernetes.io/zone"] = node.zone();
    kind["nodes"].push_back(w);
  }
  // (written below, once the worker labels are in)

  // --- namespaces ---
  std::set<std::string> namespaces = {sys};
  for (const auto& s : sc.services())
    namespaces.insert(s.namespace_().empty() ? "default" : s.namespace_());
  for (const auto& i : sc.routing().ingresses()) {
    namespaces.insert(i.metadata().namespace_().empty() ? "default" : i.metadata().namespace_());
  }
  std::vector<YAML::Node> ns_docs;
  for (const std::string& n : namespaces) {
    if (n == "default") continue;
    YAML::Node d;
    d["apiVersion"] = "v1";
    d["kind"] = "Namespace";
    d["metadata"]["name"] = n;
    ns_docs.push_back(d);
  }
  out.files["manifests/00-namespaces.yaml"] = emit_documents(ns_docs, "");

  // --- RBAC ---
  std::vector<YAML::Node> rbac;
  {
    YAML::Node sa;
    sa["apiVersion"] = "v1";
    sa["kind"] = "ServiceAccount";
    sa["metadata"] = metadata(kControllerName, sys);
    rbac.push_back(sa);
    YAML::Node role;
    role["apiVersion"] = "rbac.authorization.k8s.io/v1";
    role["kind"] = "ClusterRole";
    role["metadata"]["name"] = kControllerName;
    auto rule = [](const std::string& group, std::vector<std::string> resources) {
      YAML::Node r;
      r["apiGroups"].push_back(group);
      for (const auto& res : resources)
        r["resources"].push_back(res);
      for (const char* verb : {"get", "list", "watch"})
        r["verbs"].push_back(verb);
      return r;
    };
    role["rules"].push_back(rule("", {"services", "secrets"}));
    role["rules"].push_back(rule("networking.k8s.io", {"ingresses", "ingressclasses"}));
    role["rules"].push_back(rule("discovery.k8s.io", {"endpointslices"}));
    rbac.push_back(role);
    YAML::Node binding;
    binding["apiVersion"] = "rbac.authorization.k8s.io/v1";
    binding["kind"] = "ClusterRoleBinding";
    binding["metadata"]["name"] = kControllerName;
    binding["roleRef"]["apiGroup"] = "rbac.authorization.k8s.io";
    binding["roleRef"]["kind"] = "ClusterRole";
    binding["roleRef"]["name"] = kControllerName;
    YAML::Node subject;
    subject["kind"] = "ServiceAccount";
    subject["name"] = kControllerName;
    subject["namespace"] = sys;
    binding["subjects"].push_back(subject);
    rbac.push_back(binding);
  }
  out.files["manifests/10-rbac.yaml"] = emit_documents(rbac, "");

  // --- ingress controller ---
  const auto& ic = sc.ingress();
  std::vector<YAML::Node> ctl;
  {
    const bool daemonset = ic.kind() == scenario::IngressController::DAEMONSET;
    YAML::Node d;
    d["apiVersion"] = "apps/v1";
    d["kind"] = daemonset ? "DaemonSet" : "Deployment";
    d["metadata"] = metadata(kControllerName, sys);
    d["metadata"]["labels"]["app.kubernetes.io/name"] = kControllerName;
    if (!daemonset) d["spec"]["replicas"] = ic.replicas();
    d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = kControllerName;
    YAML::Node pod;
    pod["metadata"]["labels"]["app.kubernetes.io/name"] = kControllerName;
    pod["spec"]["serviceAccountName"] = kControllerName;
    // Never on the control-plane node: the scenario's nodes are the workers.
    pod["spec"]["nodeSelector"]["ingresslab.dev/role"] = "worker";
    YAML::Node c;
    c["name"] = kControllerName;
    c["image"] = kKindImage;
    c["imagePullPolicy"] = "Never";
    c["command"].push_back("/usr/local/bin/realproxy");
    // The same realproxy flags the testbed uses (cli/testbed/plan.h), after the API mode and the
    // listeners.
    for (const std::string& a :
         std::vector<std::string>{"serve", "--kube-api", "--listen", "0.0.0.0:8080", "--tls-listen",
                                  "0.0.0.0:8443", "--admin", "0.0.0.0:9901"}) {
      c["args"].push_back(a);
    }
    // Every one of those flags takes a value: written `--flag=value`, so no argument is a bare
    // YAML number (container args must be strings).
    const std::vector<std::string> flags = testbed::realproxy_flags(ic).args;
    for (size_t i = 0; i + 1 < flags.size(); i += 2) {
      c["args"].push_back(flags[i] + "=" + flags[i + 1]);
    }
    for (const auto& [name, port] : std::vector<std::pair<std::string, int>>{
             {"http", 8080}, {"https", 8443}, {"admin", 9901}}) {
      YAML::Node p;
      p["name"] = name;
      p["containerPort"] = port;
      c["ports"].push_back(p);
    }
    c["resources"]["requests"]["cpu"] = cpu_quantity(ic.cpu_cores());
    if (ic.cpu_limit_cores() > 0)
      c["resources"]["limits"]["cpu"] = cpu_quantity(ic.cpu_limit_cores());
    c["readinessProbe"]["httpGet"]["path"] = "/healthz";
    c["readinessProbe"]["httpGet"]["port"] = 9901;
    pod["spec"]["containers"].push_back(c);
    d["spec"]["template"] = pod;
    ctl.push_back(d);

    YAML::Node svc;
    svc["apiVersion"] = "v1";
    svc["kind"] = "Service";
    svc["metadata"] = metadata(kControllerName, sys);
    svc["spec"]["type"] = "NodePort";
    svc["spec"]["externalTrafficPolicy"] =
        sc.entry().external_traffic_policy() == scenario::Entry::LOCAL ? "Local" : "Cluster";
    svc["spec"]["selector"]["app.kubernetes.io/name"] = kControllerName;
    for (const auto& [name, port, target, node_port] :
         std::vector<std::tuple<std::string, int, int, int>>{
             {"http", 80, 8080, static_cast<int>(sc.entry().node_ports().http())},
             {"https", 443, 8443, static_cast<int>(sc.entry().node_ports().https())}}) {
      YAML::Node p;
      p["name"] = name;
      p["port"] = port;
      p["targetPort"] = target;
      p["nodePort"] = node_port;
      p["protocol"] = "TCP";
      svc["spec"]["ports"].push_back(p);
    }
    ctl.push_back(svc);
    if (!ic.ingress_class().empty()) {
      YAML::Node cls;
      cls["apiVersion"] = "networking.k8s.io/v1";
      cls["kind"] = "IngressClass";
      cls["metadata"]["name"] = ic.ingress_class();
      cls["spec"]["controller"] = kControllerClass;
      ctl.push_back(cls);
    }
  }
  // The worker label the nodeSelectors use (kind applies `labels` of the config).
  for (size_t i = 1; i < static_cast<size_t>(kind["nodes"].size()); ++i) {
    kind["nodes"][i]["labels"]["ingresslab.dev/role"] = "worker";
  }
  out.files["kind-config.yaml"] =
      emit_documents({kind}, "# kind cluster for scenario " + sc.name() +
                                 " (generated by ingresslab export kind)\n");
  out.files["manifests/20-ingress-controller.yaml"] = emit_documents(ctl, "");

  // --- backends ---
  std::vector<YAML::Node> backends;
  for (const auto& s : sc.services()) {
    const std::string ns = s.namespace_().empty() ? "default" : s.namespace_();
    const std::string app = s.name();
    int target = kRealpodPort;
    if (s.ports_size() > 0 && s.ports(0).target_port() > 0)
      target = static_cast<int>(s.ports(0).target_port());
    // The same mapping as the netns testbed's pods (cli/testbed/plan.h).
    std::string approximation, why;
    const std::optional<std::string> service_time =
        testbed::realpod_service_time(s.pod().service_time(), &approximation, &why);
    if (!service_time) {
      out.error = "services[" + s.name() + "].pod.service_time: " + why;
      return out;
    }
    if (!approximation.empty()) {
      out.notes.push_back("services[" + s.name() + "].pod.service_time: " + approximation);
    }
    std::string error;
    const auto size = scenarios::build_distribution(s.pod().response_size(), &error);
    const long long body = size ? std::llround(size->mean()) : 1024;
    if (size && size->variance() > 0) {
      out.notes.push_back("services[" + s.name() + "].pod.response_size: realpod answers a fixed " +
                          std::to_string(body) + " bytes (the mean)");
    }
    YAML::Node d;
    d["apiVersion"] = "apps/v1";
    d["kind"] = "Deployment";
    d["metadata"] = metadata(app, ns);
    d["metadata"]["labels"]["app.kubernetes.io/name"] = app;
    d["spec"]["replicas"] = s.deployment().replicas();
    d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = app;
    YAML::Node pod;
    pod["metadata"]["labels"]["app.kubernetes.io/name"] = app;
    pod["spec"]["nodeSelector"]["ingresslab.dev/role"] = "worker";
    YAML::Node c;
    c["name"] = "realpod";
    c["image"] = kKindImage;
    c["imagePullPolicy"] = "Never";
    c["command"].push_back("/usr/local/bin/realpod");
    c["args"].push_back("--listen");
    c["args"].push_back("0.0.0.0:" + std::to_string(target));
    c["args"].push_back("--name");
    c["args"].push_back("$(POD_NAME)");
    c["args"].push_back("--service-time");
    c["args"].push_back(*service_time);
    // Numbers as --flag=N: a bare `2` in YAML is an integer, and container args must be strings.
    c["args"].push_back("--body-bytes=" + std::to_string(body));
    c["args"].push_back("--concurrency=" + std::to_string(s.pod().concurrency()));
    YAML::Node env;
    env["name"] = "POD_NAME";
    env["valueFrom"]["fieldRef"]["fieldPath"] = "metadata.name";
    c["env"].push_back(env);
    YAML::Node port;
    port["containerPort"] = target;
    c["ports"].push_back(port);
    c["resources"]["requests"]["cpu"] = cpu_quantity(s.pod().cpu_cores());
    pod["spec"]["containers"].push_back(c);
    d["spec"]["template"] = pod;
    backends.push_back(d);

    YAML::Node svc;
    svc["apiVersion"] = "v1";
    svc["kind"] = "Service";
    svc["metadata"] = metadata(s.name(), ns);
    svc["spec"]["selector"]["app.kubernetes.io/name"] = app;
    if (s.ports_size() == 0) {
      YAML::Node p;
      p["port"] = 80;
      p["targetPort"] = target;
      svc["spec"]["ports"].push_back(p);
    }
    for (const auto& sp : s.ports()) {
      YAML::Node p;
      if (!sp.name().empty()) p["name"] = sp.name();
      p["port"] = sp.port();
      // realpod listens on one port: every Service port goes to it.
      p["targetPort"] = target;
      p["protocol"] = "TCP";
      svc["spec"]["ports"].push_back(p);
    }
    backends.push_back(svc);
  }
  out.files["manifests/30-backends.yaml"] = emit_documents(backends, "");

  // --- ingresses + TLS secrets script ---
  std::vector<YAML::Node> ingresses;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>>
      secret_hosts;  // (namespace, Secret) -> hosts
  for (const auto& ing : sc.routing().ingresses()) {
    if (!ic.ingress_class().empty() && !ing.spec().ingress_class_name().empty() &&
        ing.spec().ingress_class_name() != ic.ingress_class()) {
      out.notes.push_back("Ingress " + ing.metadata().name() + " (class " +
                          ing.spec().ingress_class_name() + ") is exported but not served");
    }
    ingresses.push_back(ingress_object(ing));
    const std::string ns =
        ing.metadata().namespace_().empty() ? "default" : ing.metadata().namespace_();
    for (const auto& tls : ing.spec().tls()) {
      if (tls.secret_name().empty()) continue;
      auto& hosts = secret_hosts[{ns, tls.secret_name()}];
      for (const auto& h : tls.hosts())
        hosts.push_back(h);
    }
  }
  out.files["manifests/40-ingresses.yaml"] = emit_documents(ingresses, "");
  std::string script =
      "#!/usr/bin/env bash\n# Self-signed ECDSA P-256 certificates for the Ingresses' TLS "
      "Secrets (generated by ingresslab export kind).\nset -euo pipefail\ntmp=$(mktemp -d)\n"
      "trap 'rm -rf \"$tmp\"' EXIT\n";
  for (const auto& [key, hosts] : secret_hosts) {
    const auto& [ns, name] = key;
    std::string san, cn = hosts.empty() ? "ingresslab.local" : hosts.front();
    for (const auto& h : hosts)
      san += (san.empty() ? "DNS:" : ",DNS:") + h;
    if (san.empty()) san = "DNS:" + cn;
    script +=
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \\\n"
        "  -subj '/CN=" +
        cn + "' -addext 'subjectAltName=" + san +
        "' \\\n"
        "  -keyout \"$tmp/" +
        name + ".key\" -out \"$tmp/" + name +
        ".crt\" 2>/dev/null\n"
        "kubectl -n " +
        ns + " create secret tls " + name + " --cert \"$tmp/" + name + ".crt\" --key \"$tmp/" +
        name + ".key\" --dry-run=client -o yaml | kubectl apply -f -\n";
  }
  out.files["create-tls-secrets.sh"] = script;

  // --- Dockerfile ---
  out.files["Dockerfile"] =
      "# realproxy and realpod in one image (generated by ingresslab export kind).\n"
      "# Build from the repository root:  docker build -f " +
      dir + "/Dockerfile -t " + std::string(kKindImage) +
      " .\n"
      "FROM debian:bookworm AS build\n"
      "COPY scripts/install-deps.sh /tmp/install-deps.sh\n"
      "RUN apt-get update && bash /tmp/install-deps.sh\n"
      "COPY . /src\n"
      "RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release "
      "-DINGRESSLAB_BUILD_BENCH=OFF \\\n"
      "    -DBUILD_TESTING=OFF && cmake --build /build --target realproxy realpod\n"
      "\n"
      "FROM debian:bookworm-slim\n"
      "RUN apt-get update && apt-get install -y --no-install-recommends libh2o-evloop0.13 libssl3 "
      "\\\n"
      "    libyaml-cpp0.7 libwslay1 zlib1g ca-certificates && rm -rf /var/lib/apt/lists/*\n"
      "COPY --from=build /build/bin/realproxy /build/bin/realpod /usr/local/bin/\n"
      "USER 65534:65534\n"
      "ENTRYPOINT [\"/usr/local/bin/realproxy\"]\n";

  // --- README ---
  if (sc.entry().kind() == scenario::Entry::LOAD_BALANCER) {
    out.notes.push_back(
        "entry load_balancer: kind has no cloud LB; clients use the NodePort "
        "directly (the LB's latency and health checks are not reproduced)");
  }
  if (sc.entry().kind() == scenario::Entry::HOST_NETWORK) {
    out.notes.push_back(
        "entry host_network: exported as a NodePort Service (no hostNetwork "
        "pods), so kube-proxy's NAT hop is present");
  }
  if (sc.cluster().kube_proxy().other_services() > 0) {
    out.notes.push_back("kube_proxy.other_services (" +
                        std::to_string(sc.cluster().kube_proxy().other_services()) +
                        "): no filler Services are created");
  }
  out.notes.push_back(
      "network latency and bandwidth between nodes are those of the kind "
      "containers (docker bridge), not the scenario's");
  std::string readme =
      "# Scenario `" + sc.name() +
      "` on kind\n\n"
      "Generated by `ingresslab export kind " +
      scenario_file +
      "`. realproxy runs as the "
      "ingress controller (`realproxy serve --kube-api`: it lists and watches Ingress, "
      "Service, EndpointSlice and TLS Secrets with its service account) and realpod "
      "as every backend pod, with the scenario's service times.\n\n"
      "Our development machines have no Docker engine, so this cluster has not been run here; "
      "the files are checked structurally by `tests/export/export_kind_test.cc`.\n\n"
      "## Run it\n\n"
      "From the repository root (needs docker, kind >= 0.24 for nftables, kubectl):\n\n"
      "```sh\n"
      "kind create cluster --config " +
      dir +
      "/kind-config.yaml\n"
      "docker build -f " +
      dir + "/Dockerfile -t " + std::string(kKindImage) +
      " .\n"
      "kind load docker-image " +
      std::string(kKindImage) +
      " --name ingresslab\n"
      "kubectl apply -f " +
      dir + "/manifests/00-namespaces.yaml -f " + dir +
      "/manifests/10-rbac.yaml\n"
      "bash " +
      dir +
      "/create-tls-secrets.sh\n"
      "kubectl apply -f " +
      dir +
      "/manifests/\n"
      "kubectl -n " +
      sys + " rollout status " +
      (ic.kind() == scenario::IngressController::DAEMONSET ? "daemonset/" : "deployment/") +
      kControllerName +
      " --timeout=120s\n"
      "kubectl wait --for=condition=Available deployment --all -A --timeout=120s\n"
      "```\n\n"
      "## Replay the scenario against it\n\n"
      "The NodePorts are mapped to the host's loopback by kind (extraPortMappings): HTTP " +
      std::to_string(sc.entry().node_ports().http()) + ", HTTPS " +
      std::to_string(sc.entry().node_ports().https()) +
      ".\n\n"
      "```sh\n"
      "kubectl -n " +
      sys + " port-forward " +
      (ic.kind() == scenario::IngressController::DAEMONSET ? "daemonset/" : "deployment/") +
      kControllerName +
      " 9901:9901 &   # realproxy's /metrics (one pod)\n"
      "ingresslab replay " +
      scenario_file +
      " --target https://127.0.0.1:" + std::to_string(sc.entry().node_ports().https()) +
      " --metrics-url http://127.0.0.1:9901/metrics --report kind-replay.html\n"
      "ingresslab replay " +
      scenario_file +
      " --target http://127.0.0.1:" + std::to_string(sc.entry().node_ports().http()) +
      " --rps 500 --duration 30s --format json\n"
      "```\n\n"
      "## Remove it\n\n```sh\nkind delete cluster --name ingresslab\n```\n\n"
      "## What differs from the scenario\n\n";
  for (const std::string& n : out.notes)
    readme += "- " + n + "\n";
  out.files["README.md"] = readme;
  return out;
}

}  // namespace ingresslab::cli
