// Kubernetes manifests (YAML, multi-document) → the typed objects realproxy serves from:
// Ingress (networking.k8s.io/v1, converted to routing::IngressObject), Service (v1),
// EndpointSlice (discovery.k8s.io/v1) and TLS Secrets (v1, type kubernetes.io/tls).
//
// Only the fields that influence routing, endpoint resolution and certificates are read; other
// kinds (Deployment, ConfigMap, IngressClass, ...) are skipped, as a controller that does not
// watch them would. `kind: List` (what `kubectl get -o yaml` prints) is unpacked.
//
// Errors name the file, the line, the object ("Ingress default/cafe") and the field path in the
// API server's notation ("spec.rules[0].http.paths[1].pathType"), so the user can find what to
// fix. Reading goes on after an error, so one run reports every problem.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "realproxy/routing/ingress.h"

namespace ingresslab::realproxy {

// Where an object was read from. `line` is 1-based; 0 when unknown.
struct SourceRef {
  std::string file;
  int line = 0;
};

// One problem in the configuration.
struct ConfigError {
  std::string file;    // may be empty (e.g. a problem of the whole configuration)
  int line = 0;        // 1-based; 0 when unknown
  std::string object;  // "Ingress default/cafe"; empty when the problem is not in one object
  std::string field;   // "spec.rules[0].host"; empty when the problem is the whole object
  std::string message;

  // "file:line: Ingress default/cafe: spec.rules[0].host: message" (empty parts left out).
  std::string to_string() const;
};

// core/v1 ServicePort.
struct ServicePortSpec {
  std::string name;  // may be empty (allowed when the Service has a single port)
  int32_t port = 0;
  std::variant<int32_t, std::string> target_port;  // defaults to `port` when absent
  std::string protocol = "TCP";
};

struct ServiceObject {
  std::string namespace_;  // "default" when the manifest has none
  std::string name;
  std::string type;  // spec.type as written; "ClusterIP" when absent
  std::vector<ServicePortSpec> ports;
  SourceRef source;
};

// discovery/v1 EndpointPort. `name` empty means "the unnamed port".
struct EndpointSlicePort {
  std::string name;
  int32_t port = 0;
  std::string protocol = "TCP";
};

// discovery/v1 Endpoint: the addresses of one backend (pod) and whether it is ready.
struct EndpointSliceEndpoint {
  std::vector<std::string> addresses;
  // conditions.ready; an absent value means "unknown", which consumers should treat as ready
  // (discovery/v1 types.go, EndpointConditions.Ready).
  bool ready = true;
};

struct EndpointSliceObject {
  std::string namespace_;
  std::string name;
  std::string service_name;  // label kubernetes.io/service-name
  std::string address_type;  // "IPv4" or "IPv6" (FQDN is rejected)
  std::vector<EndpointSlicePort> ports;
  std::vector<EndpointSliceEndpoint> endpoints;
  SourceRef source;
};

// A Secret of type kubernetes.io/tls, with its certificate chain and key as PEM text, from
// data (base64) / stringData, or from the files named by the annotations
// realproxy.ingresslab/tls-cert-file and realproxy.ingresslab/tls-key-file (paths relative to the
// manifest's directory). The PEM is not parsed here (see server/tls.h).
struct TlsSecretObject {
  std::string namespace_;
  std::string name;
  std::string cert_pem;
  std::string key_pem;
  std::string cert_field;  // where cert_pem came from, for error messages ("data[tls.crt]")
  std::string key_field;
  SourceRef source;
};

inline constexpr std::string_view kTlsCertFileAnnotation = "realproxy.ingresslab/tls-cert-file";
inline constexpr std::string_view kTlsKeyFileAnnotation = "realproxy.ingresslab/tls-key-file";

struct Manifests {
  std::vector<routing::IngressObject> ingresses;
  std::vector<SourceRef> ingress_sources;  // parallel to `ingresses`
  std::vector<ServiceObject> services;
  std::vector<EndpointSliceObject> endpoint_slices;
  std::vector<TlsSecretObject> tls_secrets;
  size_t skipped_objects = 0;  // objects of kinds realproxy does not use
};

// Reads every path: a file, or a directory whose *.yaml, *.yml and *.json files are read in name
// order (not recursively). Appends the objects to `out` and the problems to `errors`.
void load_manifest_paths(std::span<const std::string> paths, Manifests* out,
                         std::vector<ConfigError>* errors);

// Reads one YAML text (all its documents). `file` names it in errors and is the base for the
// relative paths of the certificate-file annotations.
void parse_manifest_text(std::string_view yaml_text, const std::string& file, Manifests* out,
                         std::vector<ConfigError>* errors);

// Standard base64 (RFC 4648, with padding; whitespace ignored) → bytes. nullopt if malformed.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace ingresslab::realproxy
