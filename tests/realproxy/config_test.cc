// Kubernetes manifests → ProxyConfig: reading (errors name file, line, object, field), and the
// Ingress → Service → EndpointSlice resolution.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "realproxy/config/duration.h"
#include "realproxy/config/manifests.h"
#include "realproxy/config/proxy_config.h"

namespace ingresslab::realproxy {
namespace {

constexpr char kIngress[] = R"(apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: cafe-ingress
  creationTimestamp: "2024-03-01T10:00:00Z"
spec:
  tls:
  - hosts: [cafe.example.com]
    secretName: cafe-secret
  rules:
  - host: cafe.example.com
    http:
      paths:
      - path: /tea
        pathType: Prefix
        backend:
          service:
            name: tea-svc
            port:
              name: http
      - path: /coffee
        pathType: Prefix
        backend:
          service:
            name: coffee-svc
            port:
              number: 80
)";

constexpr char kServicesAndSlices[] = R"(
---
apiVersion: v1
kind: Service
metadata:
  name: tea-svc
  labels:
spec:
  ports:
  - name: http
    port: 80
    targetPort: web
---
apiVersion: v1
kind: Service
metadata:
  name: coffee-svc
spec:
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: tea-abc
  labels:
    kubernetes.io/service-name: tea-svc
addressType: IPv4
ports:
- name: http
  port: 9000
endpoints:
- addresses: ["10.0.0.1"]
- addresses: ["10.0.0.2"]
  conditions:
    ready: false
- addresses: ["10.0.0.3"]
  conditions:
    ready: true
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: coffee-abc
  labels:
    kubernetes.io/service-name: coffee-svc
addressType: IPv4
ports:
- name: metrics
  port: 9100
- name: other
  port: 8080
endpoints:
- addresses: ["10.0.1.1", "10.0.1.2"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: tea
spec: {}
)";

struct Parsed {
  Manifests manifests;
  std::vector<ConfigError> errors;
};

Parsed parse(const std::string& text, const std::string& file = "test.yaml") {
  Parsed p;
  parse_manifest_text(text, file, &p.manifests, &p.errors);
  return p;
}

LoadResult build(const std::string& text, LoadOptions options = {}) {
  Parsed p = parse(text);
  return build_proxy_config(p.manifests, std::move(p.errors), options);
}

std::string all_errors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors)
    out += e.to_string() + "\n";
  return out;
}

std::vector<std::string> endpoints_of(const ProxyConfig& config, const std::string& host,
                                      const std::string& path) {
  const Backend* backend = config.backend_for(config.table().match(host, path));
  std::vector<std::string> out;
  if (backend != nullptr) {
    for (const Endpoint& e : backend->endpoints)
      out.push_back(e.host_port);
  }
  return out;
}

TEST(ManifestsTest, ReadsIngressAsRoutingObject) {
  Parsed p = parse(kIngress);
  ASSERT_TRUE(p.errors.empty()) << all_errors(p.errors);
  ASSERT_EQ(p.manifests.ingresses.size(), 1u);
  const routing::IngressObject& ing = p.manifests.ingresses[0];
  EXPECT_EQ(ing.namespace_, "default");
  EXPECT_EQ(ing.name, "cafe-ingress");
  EXPECT_EQ(ing.creation_timestamp, 1709287200);
  ASSERT_EQ(ing.rules.size(), 1u);
  ASSERT_EQ(ing.rules[0].http->paths.size(), 2u);
  EXPECT_EQ(ing.rules[0].http->paths[0].path_type, routing::PathType::kPrefix);
  EXPECT_EQ(std::get<std::string>(ing.rules[0].http->paths[0].backend.service->port), "http");
  EXPECT_EQ(std::get<int32_t>(ing.rules[0].http->paths[1].backend.service->port), 80);
  ASSERT_EQ(ing.tls.size(), 1u);
  EXPECT_EQ(ing.tls[0].secret_name, "cafe-secret");
  EXPECT_EQ(p.manifests.ingress_sources[0].line, 1);
}

TEST(ProxyConfigTest, ResolvesPortNamesTargetPortsAndReadiness) {
  LoadResult r = build(std::string(kIngress) + kServicesAndSlices);
  ASSERT_TRUE(r.ok()) << all_errors(r.errors);
  // Port by name "http" → Service port http → slice port named "http" (9000); not-ready excluded;
  // absent conditions.ready counts as ready.
  EXPECT_EQ(endpoints_of(*r.config, "cafe.example.com", "/tea"),
            (std::vector<std::string>{"10.0.0.1:9000", "10.0.0.3:9000"}));
  // Port by number 80 → unnamed Service port → no slice port named "" → targetPort 8080 by number.
  EXPECT_EQ(endpoints_of(*r.config, "cafe.example.com", "/coffee/x"),
            (std::vector<std::string>{"10.0.1.1:8080", "10.0.1.2:8080"}));
  const Backend* tea = r.config->backend_for(r.config->table().match("cafe.example.com", "/tea"));
  ASSERT_NE(tea, nullptr);
  EXPECT_EQ(tea->label, "default/tea-svc");
  EXPECT_EQ(tea->display, "tea-svc:http");
  EXPECT_FALSE(tea->ring.empty());
  // The TLS Secret is missing: a warning, and no certificate.
  EXPECT_EQ(r.config->certificates().size(), 0u);
  ASSERT_EQ(r.warnings.size(), 1u) << all_errors(r.warnings);
  EXPECT_NE(r.warnings[0].to_string().find("spec.tls[0].secretName"), std::string::npos);
  EXPECT_EQ(r.config->backend_for(r.config->table().match("cafe.example.com", "/juice")), nullptr);
}

TEST(ProxyConfigTest, UnresolvableBackendIsAWarningOrAStrictError) {
  const std::string text = std::string(kIngress);  // no Services at all
  LoadResult lenient = build(text);
  ASSERT_TRUE(lenient.ok());
  const Backend* tea =
      lenient.config->backend_for(lenient.config->table().match("cafe.example.com", "/tea"));
  ASSERT_NE(tea, nullptr);
  EXPECT_TRUE(tea->endpoints.empty());
  EXPECT_EQ(tea->unavailable, "Service default/tea-svc not found");
  LoadOptions strict;
  strict.strict = true;
  LoadResult strict_result = build(text, strict);
  EXPECT_FALSE(strict_result.ok());
  EXPECT_EQ(strict_result.config, nullptr);
  EXPECT_NE(
      all_errors(strict_result.errors)
          .find("test.yaml:1: Ingress default/cafe-ingress: spec.rules[0].http.paths[0].backend"),
      std::string::npos)
      << all_errors(strict_result.errors);
}

TEST(ProxyConfigTest, ErrorsNameFileLineObjectAndField) {
  const std::string text = R"(apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: broken
  namespace: shop
  creationTimestamp: yesterday
spec:
  rules:
  - host: cafe.example.com
    http:
      paths:
      - path: /tea
        pathType: Prefx
        backend:
          service:
            name: tea-svc
            port:
              number: "80"
---
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: old
---
apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  ports:
  - port: 70000
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: s
  labels:
    kubernetes.io/service-name: svc
addressType: IPv4
endpoints:
- addresses: ["10.0.0.999"]
  conditions:
    ready: maybe
)";
  LoadResult r = build(text);
  EXPECT_FALSE(r.ok());
  const std::string errors = all_errors(r.errors);
  for (const std::string& expected : {
           std::string(
               "test.yaml:6: Ingress shop/broken: metadata.creationTimestamp: Invalid value"),
           std::string("test.yaml:13: Ingress shop/broken: spec.rules[0].http.paths[0].pathType: "
                       "Unsupported value: \"Prefx\""),
           std::string("test.yaml:18: Ingress shop/broken: "
                       "spec.rules[0].http.paths[0].backend.service.port.number: Invalid value: "
                       "\"80\": expected an integer"),
           std::string("Ingress default/old: apiVersion: Unsupported value: "
                       "\"networking.k8s.io/v1beta1\""),
           std::string("Service default/svc: spec.ports[0].port: Invalid value: 70000"),
           std::string("EndpointSlice default/s: endpoints[0].addresses[0]: Invalid value: "
                       "\"10.0.0.999\""),
           std::string("EndpointSlice default/s: endpoints[0].conditions.ready: Invalid value"),
       }) {
    EXPECT_NE(errors.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n"
                                                        << errors;
  }
}

TEST(ProxyConfigTest, RoutingValidationErrorsNameTheSourceFile) {
  LoadResult r = build(R"(apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rel
spec:
  rules:
  - http:
      paths:
      - path: relative
        pathType: Exact
        backend:
          service:
            name: svc
            port:
              number: 80
)");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(all_errors(r.errors).find(
                "test.yaml:1: Ingress default/rel: spec.rules[0].http.paths[0].path"),
            std::string::npos)
      << all_errors(r.errors);
}

TEST(ProxyConfigTest, YamlSyntaxErrorNamesTheLine) {
  Parsed p = parse("kind: Service\nmetadata: {name: [oops\n");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].file, "test.yaml");
  EXPECT_GT(p.errors[0].line, 0);
  EXPECT_NE(p.errors[0].message.find("YAML syntax error"), std::string::npos);
}

// A document starting with a token no YAML node starts with sends yaml-cpp's LoadAll into an
// endless, allocating loop; it must be a syntax error at its line instead (found by the
// realproxy_manifests fuzzer's seed: the scenario importer had the guard, realproxy did not).
TEST(ProxyConfigTest, StrayTokenAtDocumentStartIsAnErrorNotAHang) {
  for (const char* text : {",\n", "apiVersion: v1\nkind: Service\n---\n,\n", "]\n"}) {
    Parsed p = parse(text);
    ASSERT_EQ(p.errors.size(), 1u) << text;
    EXPECT_NE(p.errors[0].message.find("YAML syntax error"), std::string::npos)
        << p.errors[0].message;
    EXPECT_GT(p.errors[0].line, 0) << text;
  }
}

// "Billion laughs": 9 lines of anchors and aliases standing for 10^8 Ingress paths are refused
// (in about the time it takes to count 4 million values), not expanded.
TEST(ProxyConfigTest, AliasBombIsRefused) {
  std::string text =
      "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: bomb}\nx:\n"
      "  a0: &a0 [{path: /a, pathType: Prefix, backend: {service: {name: s, port: {number: "
      "80}}}}]\n";
  for (int i = 1; i <= 8; ++i) {
    std::string alias = "*a" + std::to_string(i - 1);
    text += "  a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + alias;
    for (int k = 1; k < 10; ++k)
      text += ", " + alias;
    text += "]\n";
  }
  text += "spec:\n  rules:\n  - host: a\n    http:\n      paths: *a8\n";
  Parsed p = parse(text);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_NE(p.errors[0].message.find("once aliases are expanded"), std::string::npos)
      << p.errors[0].message;
  EXPECT_TRUE(p.manifests.ingresses.empty());
}

TEST(ProxyConfigTest, DuplicateObjectsAreErrors) {
  const std::string svc =
      "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports:\n  - port: 80\n";
  LoadResult r = build(svc + svc);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(all_errors(r.errors).find("Service default/a: metadata.name: Duplicate value"),
            std::string::npos);
}

TEST(ProxyConfigTest, ListKindIsUnpacked) {
  Parsed p = parse(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: a
  spec:
    ports:
    - port: 80
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: c
)");
  EXPECT_TRUE(p.errors.empty()) << all_errors(p.errors);
  EXPECT_EQ(p.manifests.services.size(), 1u);
  EXPECT_EQ(p.manifests.skipped_objects, 1u);
}

TEST(ProxyConfigTest, TlsSecretFromDataOrFromAnnotatedFiles) {
  char dir_template[] = "/tmp/realproxy-config-test-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  std::ofstream(dir + "/c.pem") << "CERT";
  std::ofstream(dir + "/k.pem") << "KEY";
  const std::string text = std::string(kIngress) + R"(---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: cafe-secret
data:
  tls.crt: Q0VSVA==
  tls.key: S0VZ
---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: files
  annotations:
    realproxy.ingresslab/tls-cert-file: c.pem
    realproxy.ingresslab/tls-key-file: k.pem
---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: missing
  annotations:
    realproxy.ingresslab/tls-cert-file: nope.pem
    realproxy.ingresslab/tls-key-file: k.pem
---
apiVersion: v1
kind: Secret
metadata:
  name: opaque
data:
  password: eA==
)";
  Parsed p;
  parse_manifest_text(text, dir + "/cafe.yaml", &p.manifests, &p.errors);
  ASSERT_EQ(p.errors.size(), 1u) << all_errors(p.errors);
  EXPECT_NE(p.errors[0].to_string().find(
                "Secret default/missing: metadata.annotations[realproxy.ingresslab/tls-cert-file]: "
                "cannot read"),
            std::string::npos)
      << p.errors[0].to_string();
  ASSERT_EQ(p.manifests.tls_secrets.size(), 2u);
  EXPECT_EQ(p.manifests.tls_secrets[0].cert_pem, "CERT");
  EXPECT_EQ(p.manifests.tls_secrets[0].key_pem, "KEY");
  EXPECT_EQ(p.manifests.tls_secrets[1].cert_pem, "CERT");
  EXPECT_EQ(p.manifests.tls_secrets[1].key_pem, "KEY");
  LoadResult r = build_proxy_config(p.manifests, {}, {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.config->certificates().size(), 1u);
  EXPECT_EQ(r.config->certificates()[0].secret, "default/cafe-secret");
  EXPECT_EQ(r.config->certificate_index(r.config->table().tls_for_sni("cafe.example.com")), 0);
  EXPECT_EQ(r.config->default_certificate_index(), 0);
  std::filesystem::remove_all(dir);
}

TEST(ProxyConfigTest, LoadsDirectoriesInNameOrder) {
  char dir_template[] = "/tmp/realproxy-config-test-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  std::ofstream(dir + "/a-ingress.yaml") << kIngress;
  std::ofstream(dir + "/b-rest.yml") << kServicesAndSlices;
  std::ofstream(dir + "/notes.txt") << "not yaml: [";
  const std::vector<std::string> paths = {dir};
  LoadResult r = load_proxy_config(paths, {});
  ASSERT_TRUE(r.ok()) << all_errors(r.errors);
  EXPECT_EQ(endpoints_of(*r.config, "cafe.example.com", "/coffee").size(), 2u);
  const std::vector<std::string> missing = {dir + "/nope.yaml"};
  LoadResult bad = load_proxy_config(missing, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.errors[0].to_string(), dir + "/nope.yaml: cannot read file");
  std::filesystem::remove_all(dir);
}

TEST(Rfc3339Test, ParsesUtcOffsetsAndFractions) {
  EXPECT_EQ(routing::parse_creation_timestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(routing::parse_creation_timestamp("2024-02-29T12:34:56Z"), 1709210096);
  EXPECT_EQ(routing::parse_creation_timestamp("2024-02-29T14:34:56.789+02:00"), 1709210096);
  EXPECT_EQ(routing::parse_creation_timestamp("1969-12-31T23:59:59Z"), -1);
  EXPECT_FALSE(routing::parse_creation_timestamp("2023-02-29T00:00:00Z"));  // not a leap year
  EXPECT_FALSE(routing::parse_creation_timestamp("2024-01-01 00:00:00Z"));
  EXPECT_FALSE(routing::parse_creation_timestamp("2024-01-01T00:00:00"));
  EXPECT_FALSE(routing::parse_creation_timestamp("2024-13-01T00:00:00Z"));
}

TEST(Base64Test, DecodesStandardAlphabetWithPadding) {
  EXPECT_EQ(decode_base64("aGVsbG8="), "hello");
  EXPECT_EQ(decode_base64("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_FALSE(decode_base64("aGVsbG8"));   // missing padding
  EXPECT_FALSE(decode_base64("aGV$bG8="));  // bad symbol
}

TEST(DurationTest, ParsesUnitsAndRejectsBareNumbers) {
  EXPECT_EQ(parse_duration("2ms").value, engine::Duration::milliseconds(2));
  EXPECT_EQ(parse_duration("1.5s").value, engine::Duration::milliseconds(1500));
  EXPECT_EQ(parse_duration("250us").value, engine::Duration::microseconds(250));
  EXPECT_EQ(parse_duration("7ns").value, engine::Duration::nanoseconds(7));
  EXPECT_EQ(parse_duration("2m").value, engine::Duration::seconds(120));
  EXPECT_EQ(parse_duration("0").value, engine::Duration::zero());
  EXPECT_FALSE(parse_duration("5").ok());
  EXPECT_FALSE(parse_duration("ms").ok());
  EXPECT_FALSE(parse_duration("-1s").ok());
  EXPECT_FALSE(parse_duration("3 parsecs").ok());
  EXPECT_NE(parse_duration("5").error.find("missing unit"), std::string::npos);
}

}  // namespace
}  // namespace ingresslab::realproxy
