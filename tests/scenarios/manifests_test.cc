// Importing Kubernetes manifests into a scenario: the cafe example, `kind: List`, named target
// ports, DaemonSets, EndpointSlices, the merge with the scenario's own services, and the errors
// a user can cause (missing or malformed files, wrong types, unsupported apiVersions).
#include "scenarios/manifests.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "scenarios/loader.h"

namespace ingresslab::scenarios {
namespace {

namespace fs = std::filesystem;
using Severity = Diagnostic::Severity;

// tests/data/manifests, absolute so the test runs from any directory.
std::string data_dir() {
  return (fs::path(INGRESSLAB_SOURCE_DIR) / "tests" / "data" / "manifests").string();
}

LoadedScenario load(const std::string& yaml, const std::string& base_dir = data_dir()) {
  return load_scenario_text(yaml, Format::kYaml, "scenario.yaml", base_dir);
}

struct Imported {
  scenario::Scenario scenario;
  Diagnostics diagnostics;
  SourceMap source_map;
};

Imported import_text(const std::string& text, scenario::Scenario base = {}) {
  Imported out;
  out.scenario = std::move(base);
  import_manifest_text(text, "m.yaml", &out.scenario, &out.diagnostics, &out.source_map);
  return out;
}

const scenario::Service* service(const scenario::Scenario& s, const std::string& name) {
  for (const scenario::Service& svc : s.services()) {
    if (svc.name() == name) return &svc;
  }
  return nullptr;
}

std::vector<Diagnostic> of(const Diagnostics& d, Severity severity) {
  std::vector<Diagnostic> out;
  for (const Diagnostic& item : d.items()) {
    if (item.severity == severity) out.push_back(item);
  }
  return out;
}

// The one diagnostic of `severity` whose text contains `needle` (fails if not exactly one).
Diagnostic only(const Diagnostics& d, Severity severity, const std::string& needle) {
  std::vector<Diagnostic> found;
  for (const Diagnostic& item : of(d, severity)) {
    if (item.to_string().find(needle) != std::string::npos) found.push_back(item);
  }
  EXPECT_EQ(found.size(), 1u) << "looking for '" << needle << "' in:\n" << d.to_string();
  return found.empty() ? Diagnostic{} : found.front();
}

void expect_cafe(const scenario::Scenario& s) {
  ASSERT_EQ(s.services_size(), 2);
  const scenario::Service& coffee = s.services(0);
  EXPECT_EQ(coffee.name(), "coffee-svc");
  EXPECT_EQ(coffee.namespace_(), "default");
  ASSERT_TRUE(coffee.deployment().has_replicas());
  EXPECT_EQ(coffee.deployment().replicas(), 2u);
  ASSERT_EQ(coffee.ports_size(), 1);
  EXPECT_EQ(coffee.ports(0).name(), "http");
  EXPECT_EQ(coffee.ports(0).port(), 80u);
  EXPECT_EQ(coffee.ports(0).target_port(), 8080u);
  const scenario::Service& tea = s.services(1);
  EXPECT_EQ(tea.name(), "tea-svc");
  EXPECT_EQ(tea.deployment().replicas(), 3u);
  ASSERT_EQ(tea.ports_size(), 1);
  EXPECT_EQ(tea.ports(0).target_port(), 8080u);

  ASSERT_EQ(s.routing().ingresses_size(), 1);
  const scenario::Ingress& ingress = s.routing().ingresses(0);
  EXPECT_EQ(ingress.api_version(), "networking.k8s.io/v1");
  EXPECT_EQ(ingress.kind(), "Ingress");
  EXPECT_EQ(ingress.metadata().name(), "cafe-ingress");
  EXPECT_EQ(ingress.spec().ingress_class_name(), "nginx");
  ASSERT_EQ(ingress.spec().tls_size(), 1);
  ASSERT_EQ(ingress.spec().tls(0).hosts_size(), 1);
  EXPECT_EQ(ingress.spec().tls(0).hosts(0), "cafe.example.com");
  EXPECT_EQ(ingress.spec().tls(0).secret_name(), "tls-secret");
  ASSERT_EQ(ingress.spec().rules_size(), 1);
  EXPECT_EQ(ingress.spec().rules(0).host(), "cafe.example.com");
  const auto& paths = ingress.spec().rules(0).http().paths();
  ASSERT_EQ(paths.size(), 2);
  EXPECT_EQ(paths[0].path(), "/tea");
  EXPECT_EQ(paths[0].path_type(), "Prefix");
  EXPECT_EQ(paths[0].backend().service().name(), "tea-svc");
  EXPECT_EQ(paths[0].backend().service().port().number(), 80u);
  EXPECT_EQ(paths[1].path(), "/coffee");
  EXPECT_EQ(paths[1].path_type(), "Prefix");
  EXPECT_EQ(paths[1].backend().service().name(), "coffee-svc");
  EXPECT_EQ(paths[1].backend().service().port().number(), 80u);
}

TEST(ManifestsTest, CafeFiles) {
  const LoadedScenario loaded =
      load("routing:\n  manifests: [cafe/cafe.yaml, cafe/cafe-ingress.yaml]\n");
  EXPECT_TRUE(loaded.diagnostics.items().empty()) << loaded.diagnostics.to_string();
  expect_cafe(loaded.scenario);
  // Imported fields point at the manifest, for checks made after loading.
  const auto [file, pos] = loaded.source_map.find("services[1].deployment.replicas");
  EXPECT_EQ(fs::path(file).filename(), "cafe.yaml");
  EXPECT_EQ(pos.line, 39);  // tea's `replicas: 3`
  const auto [ingress_file, ingress_pos] =
      loaded.source_map.find("routing.ingresses[0].spec.rules[0].http.paths[1].path");
  EXPECT_EQ(fs::path(ingress_file).filename(), "cafe-ingress.yaml");
  EXPECT_EQ(ingress_pos.line, 22);
}

TEST(ManifestsTest, CafeDirectory) {
  const LoadedScenario loaded = load("routing:\n  manifests: [cafe]\n");
  EXPECT_TRUE(loaded.diagnostics.items().empty()) << loaded.diagnostics.to_string();
  expect_cafe(loaded.scenario);
}

TEST(ManifestsTest, CafeText) {
  std::ifstream in(fs::path(data_dir()) / "cafe" / "cafe.yaml");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Imported m = import_text(text);
  EXPECT_TRUE(m.diagnostics.items().empty()) << m.diagnostics.to_string();
  EXPECT_EQ(m.scenario.services_size(), 2);
  EXPECT_EQ(m.scenario.routing().ingresses_size(), 0);
}

TEST(ManifestsTest, KindListWithNamedTargetPort) {
  const LoadedScenario loaded = load("routing:\n  manifests: [list.yaml]\n");
  EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.to_string();
  ASSERT_EQ(loaded.scenario.services_size(), 1);
  const scenario::Service& web = loaded.scenario.services(0);
  EXPECT_EQ(web.name(), "web-svc");
  EXPECT_EQ(web.namespace_(), "shop");
  EXPECT_EQ(web.deployment().replicas(), 4u);
  ASSERT_EQ(web.ports_size(), 1);
  EXPECT_EQ(web.ports(0).target_port(), 8080u);  // `targetPort: http` -> containerPort 8080
  const Diagnostic skipped =
      only(loaded.diagnostics, Severity::kWarning, "skipped kind ConfigMap (shop/web-config)");
  EXPECT_EQ(skipped.field_path, "items[2].kind");
  EXPECT_EQ(skipped.position.line, 43);
}

TEST(ManifestsTest, NamedTargetPortThatNoContainerHasIsAnError) {
  const Imported m = import_text(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        ports: [{name: grpc, containerPort: 9090}]
---
apiVersion: v1
kind: Service
metadata: {name: api-svc}
spec:
  selector: {app: api}
  ports:
  - {name: web, port: 80, targetPort: http}
  - {name: rpc, port: 90, targetPort: grpc}
)");
  const Diagnostic e = only(m.diagnostics, Severity::kError, "targetPort 'http'");
  EXPECT_EQ(e.file, "m.yaml");
  EXPECT_EQ(e.position.line, 19);
  EXPECT_EQ(e.field_path, "spec.ports[0].targetPort");
  EXPECT_NE(e.message.find("Service default/api-svc"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("Deployment default/api"), std::string::npos) << e.message;
  EXPECT_EQ(m.diagnostics.error_count(), 1u) << m.diagnostics.to_string();
  ASSERT_NE(service(m.scenario, "api-svc"), nullptr);
  EXPECT_EQ(service(m.scenario, "api-svc")->ports(1).target_port(), 9090u);
}

TEST(ManifestsTest, NamedTargetPortWithoutPodsIsAnError) {
  const Imported m = import_text(
      "apiVersion: v1\nkind: Service\nmetadata: {name: lonely}\n"
      "spec: {selector: {app: x}, ports: [{port: 80, targetPort: http}]}\n");
  const Diagnostic e = only(m.diagnostics, Severity::kError, "Service default/lonely");
  EXPECT_NE(e.message.find("cannot resolve targetPort 'http'"), std::string::npos) << e.message;
}

TEST(ManifestsTest, ScenarioServicesWin) {
  const LoadedScenario loaded = load(R"(name: cafe
services:
- name: extra
  deployment: {replicas: 1}
- name: coffee-svc
  deployment: {replicas: 5}
  pod:
    service_time: 3ms
routing:
  manifests: [cafe/cafe.yaml]
)");
  EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.to_string();
  const auto& services = loaded.scenario.services();
  ASSERT_EQ(services.size(), 3);
  // The written ones keep their places; imported-only ones follow in manifest order.
  EXPECT_EQ(services[0].name(), "extra");
  EXPECT_EQ(services[1].name(), "coffee-svc");
  EXPECT_EQ(services[2].name(), "tea-svc");
  const scenario::Service& coffee = services[1];
  EXPECT_EQ(coffee.deployment().replicas(), 5u);
  EXPECT_DOUBLE_EQ(coffee.pod().service_time().constant(), 0.003);
  ASSERT_EQ(coffee.ports_size(), 1);  // from the manifest: the scenario wrote none
  EXPECT_EQ(coffee.ports(0).target_port(), 8080u);
  EXPECT_EQ(services[2].deployment().replicas(), 3u);
  // The written value's position wins in the source map.
  EXPECT_EQ(loaded.source_map.find("services[1].deployment.replicas").first, "scenario.yaml");
  EXPECT_EQ(loaded.source_map.find("services[1].ports[0].target_port").second.line, 28);
}

TEST(ManifestsTest, ScenarioPortsReplaceImportedPorts) {
  const LoadedScenario loaded = load(R"(services:
- name: coffee-svc
  ports: [{name: alt, port: 81, target_port: 9000}]
routing:
  manifests: [cafe/cafe.yaml]
)");
  EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.to_string();
  const scenario::Service* coffee = service(loaded.scenario, "coffee-svc");
  ASSERT_NE(coffee, nullptr);
  ASSERT_EQ(coffee->ports_size(), 1);
  EXPECT_EQ(coffee->ports(0).name(), "alt");
  EXPECT_EQ(coffee->ports(0).target_port(), 9000u);
  EXPECT_EQ(coffee->deployment().replicas(), 2u);
}

TEST(ManifestsTest, OtherKindsAreSkippedWithAWarning) {
  const Imported m = import_text(R"(apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Secret
metadata: {name: tls-secret, namespace: shop}
type: kubernetes.io/tls
---
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
)");
  EXPECT_FALSE(m.diagnostics.has_errors()) << m.diagnostics.to_string();
  EXPECT_EQ(of(m.diagnostics, Severity::kWarning).size(), 3u) << m.diagnostics.to_string();
  EXPECT_EQ(only(m.diagnostics, Severity::kWarning, "skipped kind Namespace (shop)").position.line,
            2);
  only(m.diagnostics, Severity::kWarning, "skipped kind Secret (shop/tls-secret)");
  only(m.diagnostics, Severity::kWarning, "skipped kind ConfigMap (settings)");
}

TEST(ManifestsTest, OlderIngressApiVersionIsAnError) {
  const Imported m = import_text(R"(apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: old}
spec:
  backend: {serviceName: tea-svc, servicePort: 80}
)");
  const Diagnostic e = only(m.diagnostics, Severity::kError, "Ingress default/old");
  EXPECT_NE(e.message.find("apiVersion extensions/v1beta1 is not supported; convert to "
                           "networking.k8s.io/v1"),
            std::string::npos)
      << e.message;
  EXPECT_EQ(e.position.line, 1);
  EXPECT_EQ(e.field_path, "apiVersion");
  EXPECT_EQ(m.scenario.routing().ingresses_size(), 0);
  EXPECT_TRUE(import_text("apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\n"
                          "metadata: {name: a}\n")
                  .diagnostics.has_errors());
}

TEST(ManifestsTest, IngressFieldErrorsNameTheObject) {
  const Imported m = import_text(R"(apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bad, namespace: web}
spec:
  rules:
  - host: a.example.com
    http:
      paths: nope
status: {loadBalancer: {}}
)");
  const Diagnostic e = only(m.diagnostics, Severity::kError, "Ingress web/bad");
  EXPECT_EQ(e.field_path, "spec.rules[0].http.paths");
  EXPECT_EQ(e.position.line, 8);
  EXPECT_EQ(m.diagnostics.items().size(), 1u) << m.diagnostics.to_string();
}

TEST(ManifestsTest, IngressClassKeepsItsDefaultAnnotation) {
  const Imported m = import_text(R"(apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  annotations:
    ingressclass.kubernetes.io/is-default-class: "true"
spec:
  controller: k8s.io/ingress-nginx
)");
  EXPECT_TRUE(m.diagnostics.items().empty()) << m.diagnostics.to_string();
  ASSERT_EQ(m.scenario.routing().ingress_classes_size(), 1);
  const scenario::IngressClass& c = m.scenario.routing().ingress_classes(0);
  EXPECT_EQ(c.metadata().name(), "nginx");
  EXPECT_EQ(c.spec().controller(), "k8s.io/ingress-nginx");
  EXPECT_EQ(c.metadata().annotations().at("ingressclass.kubernetes.io/is-default-class"), "true");
}

TEST(ManifestsTest, MissingManifestFileNamesTheScenarioLine) {
  const LoadedScenario loaded = load(R"(name: x
routing:
  manifests:
  - cafe/cafe.yaml
  - nowhere/missing.yaml
)");
  const Diagnostic e = only(loaded.diagnostics, Severity::kError, "missing.yaml");
  EXPECT_EQ(e.file, "scenario.yaml");
  EXPECT_EQ(e.position.line, 5);
  EXPECT_EQ(e.field_path, "routing.manifests[1]");
  EXPECT_NE(e.message.find("no such file"), std::string::npos) << e.message;
  EXPECT_EQ(loaded.diagnostics.error_count(), 1u);
}

TEST(ManifestsTest, BinaryAndEmptyFiles) {
  const fs::path dir = fs::temp_directory_path() / ("manifests_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "binary.yaml") << std::string("kind: Service\0\x01\x02", 16);
  std::ofstream(dir / "empty.yaml").flush();
  const LoadedScenario loaded = load(
      "routing:\n  manifests: [binary.yaml, empty.yaml, '" + dir.string() + "']\n", dir.string());
  fs::remove_all(dir);
  const Diagnostic e = only(loaded.diagnostics, Severity::kError, "routing.manifests[0]");
  EXPECT_EQ(e.position.line, 2);
  EXPECT_NE(e.message.find("binary.yaml"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("not text"), std::string::npos) << e.message;
  // The directory holds the same two files: the binary one fails again, the empty one warns.
  EXPECT_EQ(loaded.diagnostics.error_count(), 2u) << loaded.diagnostics.to_string();
  EXPECT_EQ(of(loaded.diagnostics, Severity::kWarning).size(), 2u)
      << loaded.diagnostics.to_string();
}

TEST(ManifestsTest, MalformedYamlGivesFileLineColumn) {
  const LoadedScenario loaded = load("routing:\n  manifests: [malformed.yaml]\n");
  ASSERT_EQ(loaded.diagnostics.error_count(), 1u) << loaded.diagnostics.to_string();
  const Diagnostic& e = loaded.diagnostics.items().front();
  EXPECT_EQ(fs::path(e.file).filename(), "malformed.yaml");
  EXPECT_GT(e.position.line, 5);
  EXPECT_GT(e.position.column, 0);
  EXPECT_NE(e.message.find("YAML syntax error"), std::string::npos) << e.message;
}

TEST(ManifestsTest, StrayCommaIsASyntaxError) {
  // yaml-cpp 0.7's LoadAll loops forever, allocating, on a document starting with ','.
  for (const std::string text : {",", "kind: Service\n---\n, a\n", "[a]\n,\n"}) {
    const Imported m = import_text(text);
    ASSERT_EQ(m.diagnostics.error_count(), 1u) << text << "\n" << m.diagnostics.to_string();
    EXPECT_NE(m.diagnostics.items().back().message.find("unexpected ','"), std::string::npos)
        << m.diagnostics.to_string();
  }
}

TEST(ManifestsTest, WrongTypesAreErrorsNotCrashes) {
  const Imported m = import_text(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: tea}
spec:
  replicas: two
  template: {metadata: {labels: {app: tea}}}
---
apiVersion: v1
kind: Service
metadata: {name: tea-svc}
spec:
  selector: app=tea
  ports: {port: 80}
---
apiVersion: v1
kind: Service
metadata: {name: neg}
spec:
  ports: [{port: -1}, {port: 70000}, {name: [a]}, 7, {targetPort: {x: 1}, port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: [not, a, map]
---
just a string
---
- a
- list
---
kind: Service
apiVersion: v1
metadata: {name: x}
spec: 12
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s, labels: {kubernetes.io/service-name: x}}
endpoints: [{conditions: {ready: maybe}}]
)");
  const Diagnostic replicas =
      only(m.diagnostics, Severity::kError, "expected an integer, got 'two'");
  EXPECT_EQ(replicas.field_path, "spec.replicas");
  EXPECT_EQ(replicas.position.line, 5);
  EXPECT_NE(replicas.message.find("Deployment default/tea"), std::string::npos);
  EXPECT_EQ(only(m.diagnostics, Severity::kError, "spec.selector").position.line, 12);
  EXPECT_EQ(only(m.diagnostics, Severity::kError, "spec.ports: ").position.line, 13);
  only(m.diagnostics, Severity::kError, "spec.ports[0].port: Service default/neg: must be >= 1");
  only(m.diagnostics, Severity::kError, "must be in [1, 65535], got 70000");
  only(m.diagnostics, Severity::kError, "spec.ports[2].name");
  only(m.diagnostics, Severity::kError, "spec.ports[3]: ");
  only(m.diagnostics, Severity::kError, "spec.ports[4].targetPort");
  only(m.diagnostics, Severity::kError, "metadata: Deployment");
  EXPECT_EQ(only(m.diagnostics, Severity::kError, "metadata), got a scalar").position.line, 25);
  EXPECT_EQ(only(m.diagnostics, Severity::kError, "metadata), got a list").position.line, 27);
  only(m.diagnostics, Severity::kError, "spec: Service default/x");
  only(m.diagnostics, Severity::kError, "expected true or false, got 'maybe'");
  EXPECT_EQ(m.diagnostics.error_count(), 13u) << m.diagnostics.to_string();
}

TEST(ManifestsTest, DaemonSetRunsAPodOnEveryNode) {
  // No nodes in the scenario: the three default nodes.
  LoadedScenario loaded = load("routing:\n  manifests: [daemonset.yaml]\n");
  EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.to_string();
  ASSERT_NE(service(loaded.scenario, "agent-svc"), nullptr);
  EXPECT_EQ(service(loaded.scenario, "agent-svc")->deployment().replicas(), 3u);
  EXPECT_EQ(service(loaded.scenario, "agent-svc")->ports(0).target_port(), 9000u);
  // Nodes listed, with `count` expanding an entry.
  loaded = load(R"(cluster:
  nodes:
  - {name: big}
  - {name: web, count: 4}
routing:
  manifests: [daemonset.yaml]
)");
  EXPECT_FALSE(loaded.diagnostics.has_errors()) << loaded.diagnostics.to_string();
  EXPECT_EQ(service(loaded.scenario, "agent-svc")->deployment().replicas(), 5u);
}

TEST(ManifestsTest, EndpointSlicesCountReadyEndpoints) {
  const LoadedScenario loaded = load("routing:\n  manifests: [endpointslices.yaml]\n");
  EXPECT_TRUE(loaded.diagnostics.items().empty()) << loaded.diagnostics.to_string();
  ASSERT_NE(service(loaded.scenario, "legacy"), nullptr);
  // Ready true, ready unset, (ready false not counted), and conditions {} in the second slice.
  EXPECT_EQ(service(loaded.scenario, "legacy")->deployment().replicas(), 3u);
}

TEST(ManifestsTest, DeploymentWinsOverEndpointSlices) {
  const Imported m = import_text(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec:
  replicas: 7
  template: {metadata: {labels: {app: a}}}
---
apiVersion: v1
kind: Service
metadata: {name: a-svc}
spec: {selector: {app: a}, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: a-svc-1, labels: {kubernetes.io/service-name: a-svc}}
endpoints: [{addresses: [10.0.0.1]}]
)");
  EXPECT_TRUE(m.diagnostics.items().empty()) << m.diagnostics.to_string();
  EXPECT_EQ(service(m.scenario, "a-svc")->deployment().replicas(), 7u);
  EXPECT_EQ(service(m.scenario, "a-svc")->ports(0).target_port(), 80u);  // defaults to port
}

TEST(ManifestsTest, EndpointSlicesForAServiceWrittenInTheScenario) {
  scenario::Scenario base;
  base.add_services()->set_name("db");
  const Imported m = import_text(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-1, labels: {kubernetes.io/service-name: db}}
endpoints: [{addresses: [10.0.0.1]}, {addresses: [10.0.0.2]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: other-1, labels: {kubernetes.io/service-name: other}}
endpoints: [{addresses: [10.0.0.3]}]
)",
                                 base);
  ASSERT_EQ(m.scenario.services_size(), 1);
  EXPECT_EQ(m.scenario.services(0).deployment().replicas(), 2u);
  only(m.diagnostics, Severity::kWarning, "Service default/other is neither");
}

TEST(ManifestsTest, DuplicateObjectsNameBothPositions) {
  const Imported m = import_text(R"(apiVersion: v1
kind: Service
metadata: {name: tea-svc}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: tea-svc, namespace: default}
spec: {ports: [{port: 81}]}
)");
  const Diagnostic e = only(m.diagnostics, Severity::kError, "defined twice");
  EXPECT_EQ(e.position.line, 6);
  EXPECT_NE(e.message.find("Service default/tea-svc"), std::string::npos);
  EXPECT_NE(e.message.find("m.yaml:1:1"), std::string::npos) << e.message;
  ASSERT_EQ(m.scenario.services_size(), 1);
  EXPECT_EQ(m.scenario.services(0).ports(0).port(), 80u);
}

TEST(ManifestsTest, DuplicatesAcrossFiles) {
  const LoadedScenario loaded = load("routing:\n  manifests: [cafe, cafe/cafe-ingress.yaml]\n");
  const Diagnostic e = only(loaded.diagnostics, Severity::kError, "Ingress default/cafe-ingress");
  EXPECT_NE(e.message.find("defined twice"), std::string::npos);
  EXPECT_EQ(loaded.scenario.routing().ingresses_size(), 1);
}

TEST(ManifestsTest, ExternalNameServiceIsSkipped) {
  const Imported m = import_text(
      "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\n"
      "spec: {type: ExternalName, externalName: db.example.com}\n");
  EXPECT_FALSE(m.diagnostics.has_errors());
  only(m.diagnostics, Severity::kWarning, "type ExternalName");
  EXPECT_EQ(m.scenario.services_size(), 0);
}

TEST(ManifestsTest, UnmatchedDeploymentAndPodlessServiceWarn) {
  const Imported m = import_text(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: orphan}
spec: {template: {metadata: {labels: {app: orphan}}}}
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec: {selector: {app: nothing}, ports: [{port: 80}]}
)");
  EXPECT_FALSE(m.diagnostics.has_errors());
  only(m.diagnostics, Severity::kWarning, "Deployment default/orphan: no Service");
  only(m.diagnostics, Severity::kWarning, "Service default/empty: no Deployment");
  EXPECT_FALSE(m.scenario.services(0).deployment().has_replicas());
}

TEST(ManifestsTest, SelectorMatchingIsPerNamespaceAndSubset) {
  const Imported m = import_text(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: a, namespace: one}
spec: {replicas: 2, template: {metadata: {labels: {app: a, tier: web}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: a-canary, namespace: one}
spec: {replicas: 1, template: {metadata: {labels: {app: a, track: canary}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: a, namespace: two}
spec: {replicas: 10, template: {metadata: {labels: {app: a}}}}
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: one}
spec: {selector: {app: a}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: a-web, namespace: one}
spec: {selector: {app: a, tier: web}, ports: [{port: 80}]}
)");
  EXPECT_FALSE(m.diagnostics.has_errors()) << m.diagnostics.to_string();
  EXPECT_EQ(service(m.scenario, "a")->deployment().replicas(), 3u);  // both Deployments in `one`
  EXPECT_EQ(service(m.scenario, "a-web")->deployment().replicas(), 2u);
  only(m.diagnostics, Severity::kWarning, "Deployment two/a: no Service");
}

TEST(ManifestsTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "apiVersion: v1\nkind: Service\nmetadata: {name: d}\nspec: ";
  deep += std::string(5000, '[');
  const Imported m = import_text(deep);
  ASSERT_TRUE(m.diagnostics.has_errors());
  EXPECT_EQ(m.diagnostics.items().front().file, "m.yaml");
}

TEST(ManifestsTest, AnchorsAndAliasesAreRead) {
  // Hand-written manifests share blocks with anchors; an alias reads like a copy.
  const Imported m = import_text(R"(apiVersion: v1
kind: Service
metadata: {name: a}
spec: &spec
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: *spec
)");
  // Anchors do not cross documents in YAML: the alias in the second document is an error.
  EXPECT_TRUE(m.diagnostics.has_errors());
  const Imported same_document = import_text(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
  spec: &spec
    ports: [{port: 80, targetPort: 8080}]
- apiVersion: v1
  kind: Service
  metadata: {name: b}
  spec: *spec
)");
  EXPECT_FALSE(same_document.diagnostics.has_errors()) << same_document.diagnostics.to_string();
  ASSERT_EQ(same_document.scenario.services_size(), 2);
  EXPECT_EQ(same_document.scenario.services(1).ports(0).target_port(), 8080u);
}

}  // namespace
}  // namespace ingresslab::scenarios
