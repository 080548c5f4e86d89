// Small builders for Ingress structs, shared by the routing tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "realproxy/routing/route_table.h"

namespace ingresslab::routing::test_util {

inline IngressBackend service(std::string name, int32_t port) {
  return IngressBackend{ServiceBackend{std::move(name), port}, std::nullopt};
}

inline IngressBackend named_port_service(std::string name, std::string port_name) {
  return IngressBackend{ServiceBackend{std::move(name), std::move(port_name)}, std::nullopt};
}

inline HttpIngressPath path(std::string value, PathType type, IngressBackend backend) {
  return HttpIngressPath{std::move(value), type, std::move(backend)};
}

inline HttpIngressPath prefix(std::string value, std::string service_name, int32_t port = 80) {
  return path(std::move(value), PathType::kPrefix, service(std::move(service_name), port));
}

inline HttpIngressPath exact(std::string value, std::string service_name, int32_t port = 80) {
  return path(std::move(value), PathType::kExact, service(std::move(service_name), port));
}

inline IngressRule rule(std::string host, std::vector<HttpIngressPath> paths) {
  return IngressRule{std::move(host), HttpIngressRuleValue{std::move(paths)}};
}

inline IngressObject ingress(std::string name, std::vector<IngressRule> rules,
                             int64_t creation_timestamp = 0, std::string namespace_ = "default") {
  IngressObject object;
  object.namespace_ = std::move(namespace_);
  object.name = std::move(name);
  object.creation_timestamp = creation_timestamp;
  object.rules = std::move(rules);
  return object;
}

// Compiles `objects`, failing the current test on any error diagnostic.
inline std::shared_ptr<const RouteTable> compile_ok(const std::vector<IngressObject>& objects,
                                                    const CompileOptions& options = {}) {
  CompileResult result = compile(objects, options);
  for (const Diagnostic& diagnostic : result.diagnostics) {
    EXPECT_NE(diagnostic.severity, Severity::kError) << diagnostic.to_string();
  }
  return result.table;
}

// "svc:port" of the matched backend, "resource:<kind>/<name>", "<404>".
inline std::string routed(const RouteTable& table, std::string_view host, std::string_view path) {
  const MatchResult match = table.match(host, path);
  if (!match.found()) return "<404>";
  if (const ServiceBackend* svc = match.backend->service()) {
    if (const auto* number = std::get_if<int32_t>(&svc->port)) {
      return svc->name + ":" + std::to_string(*number);
    }
    return svc->name + ":" + std::get<std::string>(svc->port);
  }
  return "resource:" + match.backend->resource()->kind + "/" + match.backend->resource()->name;
}

}  // namespace ingresslab::routing::test_util
