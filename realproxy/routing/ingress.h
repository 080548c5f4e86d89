// The input of the route compiler: Kubernetes networking.k8s.io/v1 Ingress objects as plain
// structs.
//
// Field names and meanings follow staging/src/k8s.io/api/networking/v1/types.go; only the fields
// that influence routing and TLS certificate selection are mirrored. The structs can represent
// invalid objects (that is the point: `validate_ingress` and `compile` report what is wrong with
// them, naming the field), so nothing here enforces an invariant.
//
// These structs are owned by realproxy/routing and depend on nothing else in the repository; the
// scenario loader and the proxy's Kubernetes watcher convert into them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ingresslab::routing {

// ServiceBackendPort: a port number XOR a port name (the name of a port of the Service).
// std::monostate means "neither set", which validation rejects ("port name or number is
// required"); as in Kubernetes, an empty name counts as "not set".
using ServicePort = std::variant<std::monostate, int32_t, std::string>;

// IngressServiceBackend: a Service in the Ingress's own namespace.
struct ServiceBackend {
  std::string name;
  ServicePort port;

  friend bool operator==(const ServiceBackend&, const ServiceBackend&) = default;
};

// core/v1 TypedLocalObjectReference, used by IngressBackend.resource (e.g. a storage bucket).
// realproxy accepts and represents it, and answers such requests with 503 (unsupported).
struct ResourceBackend {
  std::optional<std::string> api_group;
  std::string kind;
  std::string name;

  friend bool operator==(const ResourceBackend&, const ResourceBackend&) = default;
};

// IngressBackend: exactly one of `service` and `resource` must be set.
struct IngressBackend {
  std::optional<ServiceBackend> service;
  std::optional<ResourceBackend> resource;

  friend bool operator==(const IngressBackend&, const IngressBackend&) = default;
};

// HTTPIngressPath.pathType. kUnset stands for a missing field, which Ingress v1 rejects
// ("pathType must be specified"). Unknown strings are the converter's error to report.
enum class PathType : uint8_t { kUnset, kExact, kPrefix, kImplementationSpecific };

// "Exact", "Prefix", "ImplementationSpecific", or "<unset>".
std::string_view to_string(PathType type);

// HTTPIngressPath.
struct HttpIngressPath {
  std::string path;
  PathType path_type = PathType::kUnset;
  IngressBackend backend;
};

// HTTPIngressRuleValue.
struct HttpIngressRuleValue {
  std::vector<HttpIngressPath> paths;
};

// IngressRule: `host` empty means "any host"; `http` absent means the rule only claims the host
// (types.go: "defaults to a http catch-all"; see README.md for what realproxy does with it).
struct IngressRule {
  std::string host;
  std::optional<HttpIngressRuleValue> http;
};

// IngressTLS: `hosts` empty means "the controller's wildcard host setting"; `secret_name` empty
// means "SNI routing only, no certificate named" (types.go).
struct IngressTls {
  std::vector<std::string> hosts;
  std::string secret_name;
};

// An Ingress object: metadata that matters for conflict resolution, plus the spec.
struct IngressObject {
  // metadata.namespace; empty means "default" (what kubectl does for a manifest without one).
  std::string namespace_;
  // metadata.name.
  std::string name;
  // metadata.creationTimestamp as whole seconds since the Unix epoch (UTC). Kubernetes stores it
  // as RFC 3339 with one-second resolution, so no precision is lost; converters parse it.
  // Only the order matters: older objects win conflicts.
  int64_t creation_timestamp = 0;
  // spec.ingressClassName.
  std::optional<std::string> ingress_class_name;
  // spec.defaultBackend.
  std::optional<IngressBackend> default_backend;
  // spec.rules.
  std::vector<IngressRule> rules;
  // spec.tls.
  std::vector<IngressTls> tls;
};

// metadata.creationTimestamp (RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)) as whole seconds
// since the Unix epoch, for IngressObject::creation_timestamp; nullopt if it is not valid RFC 3339
// (or names an impossible date). Fractions of a second are dropped.
std::optional<int64_t> parse_creation_timestamp(std::string_view text);

}  // namespace ingresslab::routing
