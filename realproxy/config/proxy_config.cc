#include "realproxy/config/proxy_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace ingresslab::realproxy {

const Backend* ProxyConfig::backend_for(const routing::MatchResult& match) const noexcept {
  const int i = backend_index(match);
  return i < 0 ? nullptr : &backends_[static_cast<size_t>(i)];
}

int ProxyConfig::backend_index(const routing::MatchResult& match) const noexcept {
  if (match.route != nullptr) {
    const size_t i = static_cast<size_t>(match.route - table_->routes().data());
    return i < route_backend_.size() ? route_backend_[i] : -1;
  }
  if (match.reason == routing::MatchReason::kDefaultBackend) return default_route_backend_;
  return -1;
}

int ProxyConfig::certificate_index(const routing::TlsEntry* entry) const noexcept {
  if (entry == nullptr) return -1;
  const size_t i = static_cast<size_t>(entry - table_->tls_entries().data());
  return i < tls_entry_certificate_.size() ? tls_entry_certificate_[i] : -1;
}

class ProxyConfigBuilder {
 public:
  ProxyConfigBuilder(const Manifests& manifests, const LoadOptions& options, LoadResult* result)
      : m_(manifests), options_(options), result_(result) {}

  void build() {
    index_objects();
    compile_routes();
    if (!result_->errors.empty()) return;
    resolve_backends();
    resolve_certificates();
    if (!result_->errors.empty()) return;
    result_->config = std::move(config_);
  }

 private:
  using Key = std::pair<std::string, std::string>;  // (namespace, name)

  void problem(ConfigError error) {
    (options_.strict ? result_->errors : result_->warnings).push_back(std::move(error));
  }

  void index_objects() {
    for (const ServiceObject& s : m_.services) {
      auto [it, inserted] = services_.emplace(Key{s.namespace_, s.name}, &s);
      if (!inserted) {
        result_->errors.push_back({s.source.file, s.source.line,
                                   "Service " + s.namespace_ + "/" + s.name, "metadata.name",
                                   "Duplicate value: also defined at " + it->second->source.file +
                                       ":" + std::to_string(it->second->source.line)});
      }
    }
    std::set<Key> slice_names;
    for (const EndpointSliceObject& e : m_.endpoint_slices) {
      if (!slice_names.insert({e.namespace_, e.name}).second) {
        result_->errors.push_back({e.source.file, e.source.line,
                                   "EndpointSlice " + e.namespace_ + "/" + e.name, "metadata.name",
                                   "Duplicate value: two EndpointSlices with this name"});
      }
      slices_[Key{e.namespace_, e.service_name}].push_back(&e);
    }
    for (const TlsSecretObject& s : m_.tls_secrets) {
      auto [it, inserted] = secrets_.emplace(Key{s.namespace_, s.name}, &s);
      if (!inserted) {
        result_->errors.push_back({s.source.file, s.source.line,
                                   "Secret " + s.namespace_ + "/" + s.name, "metadata.name",
                                   "Duplicate value: two Secrets with this name"});
      }
    }
  }

  SourceRef source_of(const routing::ObjectRef& ref) const {
    for (size_t i = 0; i < m_.ingresses.size(); ++i) {
      const routing::IngressObject& o = m_.ingresses[i];
      if ((o.namespace_.empty() ? "default" : o.namespace_) == ref.namespace_ &&
          o.name == ref.name) {
        return m_.ingress_sources[i];
      }
    }
    return {};
  }

  void compile_routes() {
    routing::CompileOptions compile_options;
    compile_options.ingress_class = options_.ingress_class;
    routing::CompileResult compiled = routing::compile(m_.ingresses, compile_options);
    for (const routing::Diagnostic& d : compiled.diagnostics) {
      const SourceRef src = source_of(d.object);
      ConfigError e{src.file, src.line, "Ingress " + d.object.to_string(), d.field, d.message};
      if (d.severity == routing::Severity::kError) {
        result_->errors.push_back(std::move(e));
      } else {
        result_->warnings.push_back(std::move(e));
      }
    }
    config_ = std::make_shared<ProxyConfig>();
    config_->table_ = compiled.table;
  }

  static std::string port_text(const routing::ServicePort& port) {
    if (const auto* n = std::get_if<int32_t>(&port)) return std::to_string(*n);
    if (const auto* s = std::get_if<std::string>(&port)) return *s;
    return "";
  }

  // The backend index for a BackendTarget, creating and resolving the backend on first use.
  int backend_of(const routing::BackendTarget& target, const routing::ObjectRef& ingress,
                 const std::string& field) {
    const routing::ServiceBackend* svc = target.service();
    if (svc == nullptr) return -1;  // resource backend: 503
    const auto key = std::make_tuple(target.namespace_, svc->name, port_text(svc->port));
    if (auto it = backend_ids_.find(key); it != backend_ids_.end()) return it->second;
    Backend backend;
    backend.namespace_ = target.namespace_;
    backend.service_name = svc->name;
    backend.port = svc->port;
    backend.label = target.namespace_ + "/" + svc->name;
    backend.display = svc->name + ":" + port_text(svc->port);
    resolve(&backend);
    if (backend.endpoints.empty()) {
      const SourceRef src = source_of(ingress);
      problem({src.file, src.line, "Ingress " + ingress.to_string(), field,
               "backend " + backend.display + " has no ready endpoints: " + backend.unavailable});
    }
    std::vector<std::string> keys;
    for (const Endpoint& e : backend.endpoints)
      keys.push_back(e.host_port);
    backend.ring = HashRing(keys);
    const int id = static_cast<int>(config_->backends_.size());
    config_->backends_.push_back(std::move(backend));
    backend_ids_.emplace(key, id);
    return id;
  }

  void resolve(Backend* backend) {
    const auto svc_it = services_.find({backend->namespace_, backend->service_name});
    if (svc_it == services_.end()) {
      backend->unavailable = "Service " + backend->label + " not found";
      return;
    }
    const ServiceObject& service = *svc_it->second;
    const ServicePortSpec* service_port = nullptr;
    for (const ServicePortSpec& p : service.ports) {
      if (const auto* n = std::get_if<int32_t>(&backend->port); n && p.port == *n)
        service_port = &p;
      if (const auto* s = std::get_if<std::string>(&backend->port); s && p.name == *s) {
        service_port = &p;
      }
      if (service_port != nullptr) break;
    }
    if (service_port == nullptr) {
      backend->unavailable =
          "Service " + backend->label + " has no port " + port_text(backend->port);
      return;
    }
    const auto slices_it = slices_.find({backend->namespace_, backend->service_name});
    if (slices_it == slices_.end()) {
      backend->unavailable =
          "no EndpointSlice labelled kubernetes.io/service-name=" + backend->service_name +
          " in namespace " + backend->namespace_;
      return;
    }
    const int32_t* target_number = std::get_if<int32_t>(&service_port->target_port);
    std::map<std::string, Endpoint> unique;
    size_t not_ready = 0;
    bool port_found = false;
    for (const EndpointSliceObject* slice : slices_it->second) {
      const EndpointSlicePort* slice_port = nullptr;
      for (const EndpointSlicePort& p : slice->ports) {
        if (p.name == service_port->name) slice_port = &p;
      }
      if (slice_port == nullptr && target_number != nullptr) {
        for (const EndpointSlicePort& p : slice->ports) {
          if (p.port == *target_number) slice_port = &p;
        }
      }
      if (slice_port == nullptr) continue;
      port_found = true;
      for (const EndpointSliceEndpoint& ep : slice->endpoints) {
        if (!ep.ready) {
          ++not_ready;
          continue;
        }
        for (const std::string& address : ep.addresses) {
          Endpoint endpoint = make_endpoint(address, static_cast<uint16_t>(slice_port->port));
          unique.emplace(endpoint.host_port, std::move(endpoint));
        }
      }
    }
    for (auto& [key, endpoint] : unique)
      backend->endpoints.push_back(std::move(endpoint));
    if (!port_found) {
      backend->unavailable = "no EndpointSlice of Service " + backend->label +
                             " has a port named \"" + service_port->name + "\"";
    } else if (backend->endpoints.empty()) {
      backend->unavailable = not_ready > 0 ? std::to_string(not_ready) + " endpoint(s), none ready"
                                           : "the EndpointSlices list no endpoints";
    }
  }

  static Endpoint make_endpoint(const std::string& address, uint16_t port) {
    Endpoint e;
    e.address = address;
    e.port = port;
    if (address.find(':') != std::string::npos) {
      e.host_port = "[" + address + "]:" + std::to_string(port);
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&e.sockaddr);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(port);
      inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr);
      e.sockaddr_len = sizeof(sockaddr_in6);
    } else {
      e.host_port = address + ":" + std::to_string(port);
      auto* sin = reinterpret_cast<sockaddr_in*>(&e.sockaddr);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(port);
      inet_pton(AF_INET, address.c_str(), &sin->sin_addr);
      e.sockaddr_len = sizeof(sockaddr_in);
    }
    return e;
  }

  void resolve_backends() {
    const routing::RouteTable& table = *config_->table_;
    for (const routing::Route& route : table.routes()) {
      config_->route_backend_.push_back(
          backend_of(route.backend, route.ingress, route.field() + ".backend"));
    }
    if (const routing::DefaultBackend* def = table.default_backend()) {
      config_->default_route_backend_ =
          backend_of(def->backend, def->ingress, "spec.defaultBackend");
    }
  }

  void resolve_certificates() {
    const routing::RouteTable& table = *config_->table_;
    std::map<Key, int> cert_ids;
    for (const routing::TlsEntry& entry : table.tls_entries()) {
      int id = -1;
      if (!entry.secret_name.empty()) {
        const Key key{entry.secret_namespace, entry.secret_name};
        if (auto it = cert_ids.find(key); it != cert_ids.end()) {
          id = it->second;
        } else if (auto s = secrets_.find(key); s != secrets_.end()) {
          const TlsSecretObject& secret = *s->second;
          id = static_cast<int>(config_->certificates_.size());
          config_->certificates_.push_back(
              TlsCertificate{secret.namespace_ + "/" + secret.name, secret.cert_pem, secret.key_pem,
                             secret.cert_field, secret.key_field, secret.source});
          cert_ids.emplace(key, id);
        } else {
          const SourceRef src = source_of(entry.ingress);
          problem({src.file, src.line, "Ingress " + entry.ingress.to_string(),
                   "spec.tls[" + std::to_string(entry.tls_index) + "].secretName",
                   "Secret " + entry.secret_namespace + "/" + entry.secret_name +
                       " (type kubernetes.io/tls) not found; the default certificate is served"});
        }
      }
      config_->tls_entry_certificate_.push_back(id);
      if (config_->default_certificate_ < 0) config_->default_certificate_ = id;
    }
  }

  const Manifests& m_;
  const LoadOptions& options_;
  LoadResult* result_;
  std::shared_ptr<ProxyConfig> config_;
  std::map<Key, const ServiceObject*> services_;
  std::map<Key, std::vector<const EndpointSliceObject*>> slices_;
  std::map<Key, const TlsSecretObject*> secrets_;
  std::map<std::tuple<std::string, std::string, std::string>, int> backend_ids_;
};

LoadResult build_proxy_config(const Manifests& manifests, std::vector<ConfigError> errors,
                              const LoadOptions& options) {
  LoadResult result;
  result.errors = std::move(errors);
  ProxyConfigBuilder(manifests, options, &result).build();
  if (!result.errors.empty()) result.config.reset();
  return result;
}

LoadResult load_proxy_config(std::span<const std::string> paths, const LoadOptions& options) {
  Manifests manifests;
  std::vector<ConfigError> errors;
  load_manifest_paths(paths, &manifests, &errors);
  return build_proxy_config(manifests, std::move(errors), options);
}

}  // namespace ingresslab::realproxy
