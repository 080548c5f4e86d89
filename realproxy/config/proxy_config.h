// What realproxy serves from: the compiled Ingress route table (realproxy/routing, the one
// matcher), and for every backend it routes to, the ready endpoints resolved through the Service
// and its EndpointSlices, plus the TLS certificates the Ingresses name.
//
// Resolution, as kube-proxy and ingress-nginx do it:
//   Ingress backend (service name, port number | port name), in the Ingress's namespace
//   → Service port whose `port` equals the number, or whose `name` equals the name
//   → EndpointSlices labelled kubernetes.io/service-name=<service>, same namespace
//   → in each slice, the port whose name equals the Service port's name (EndpointSlice ports carry
//     the Service port's name and the resolved container port); if none and targetPort is a
//     number, the port with that number
//   → every address of every ready endpoint, at that port.
// A backend that cannot be resolved (no such Service / port, no slice, nothing ready) has no
// endpoints and answers 503; the reason is kept for the log and, with `strict`, is an error.
//
// A ProxyConfig is immutable once built; hot reload builds a new one and swaps the pointer.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "realproxy/config/manifests.h"
#include "realproxy/routing/route_table.h"
#include "realproxy/server/load_balancer.h"

namespace ingresslab::realproxy {

// One upstream address.
struct Endpoint {
  std::string address;  // "10.0.0.1" or "fd00::1"
  uint16_t port = 0;
  std::string host_port;  // "10.0.0.1:8080" or "[fd00::1]:8080"; identifies upstream pools
  sockaddr_storage sockaddr{};
  socklen_t sockaddr_len = 0;
};

// A (namespace, Service, port as written in the Ingress) that some route or the default backend
// uses, with its ready endpoints.
struct Backend {
  std::string namespace_;
  std::string service_name;
  routing::ServicePort port;
  std::string label;    // "default/coffee-svc": the Prometheus `service` label
  std::string display;  // "coffee-svc:80" or "coffee-svc:http": as written in the Ingress
  std::vector<Endpoint> endpoints;  // ready endpoints, deduplicated, sorted by host_port
  std::string unavailable;          // when `endpoints` is empty: why (for logs and warnings)
  HashRing ring;                    // consistent-hash ring over `endpoints`
};

// A certificate chain and key (PEM) of a TLS Secret an Ingress names.
struct TlsCertificate {
  std::string secret;  // "namespace/name"
  std::string cert_pem;
  std::string key_pem;
  std::string cert_field;
  std::string key_field;
  SourceRef source;

  // "Secret default/tls-secret".
  std::string object() const { return "Secret " + secret; }
};

class ProxyConfig {
 public:
  const routing::RouteTable& table() const { return *table_; }
  std::span<const Backend> backends() const { return backends_; }
  std::span<const TlsCertificate> certificates() const { return certificates_; }

  // The backend a match result routes to; nullptr when there is none (kNotFound, or a resource
  // backend, which realproxy answers with 503). Never allocates.
  const Backend* backend_for(const routing::MatchResult& match) const noexcept;
  // Index of backend_for(match) in backends(), or -1.
  int backend_index(const routing::MatchResult& match) const noexcept;

  // Index into certificates() of the certificate of `entry`'s Secret, or -1 (no such Secret).
  int certificate_index(const routing::TlsEntry* entry) const noexcept;
  // The certificate served when SNI selects none: the first TLS entry's (oldest Ingress), as a
  // default server's certificate in nginx; -1 when there is no certificate at all.
  int default_certificate_index() const noexcept { return default_certificate_; }

 private:
  friend class ProxyConfigBuilder;

  std::shared_ptr<const routing::RouteTable> table_;
  std::vector<Backend> backends_;
  std::vector<int> route_backend_;  // per route index in table_->routes(): backend index or -1
  int default_route_backend_ = -1;
  std::vector<TlsCertificate> certificates_;
  std::vector<int> tls_entry_certificate_;  // per table_->tls_entries() index: cert or -1
  int default_certificate_ = -1;
};

struct LoadOptions {
  // Only Ingresses of this class (and those without a class); unset: every Ingress.
  std::optional<std::string> ingress_class;
  // Unresolvable backends and Secrets are errors instead of warnings.
  bool strict = false;
};

// The result of loading a configuration: `config` is set iff `errors` is empty.
struct LoadResult {
  std::shared_ptr<const ProxyConfig> config;
  std::vector<ConfigError> errors;
  std::vector<ConfigError> warnings;

  bool ok() const { return errors.empty(); }
};

// Reads manifests from files and directories and builds the configuration.
LoadResult load_proxy_config(std::span<const std::string> paths, const LoadOptions& options);

// Builds the configuration from already-read manifests (errors of reading go in `errors`).
LoadResult build_proxy_config(const Manifests& manifests, std::vector<ConfigError> errors,
                              const LoadOptions& options);

}  // namespace ingresslab::realproxy
