#include "realproxy/routing/validation.h"

#include <array>
#include <cstdio>
#include <utility>

#include "realproxy/routing/names.h"

namespace ingresslab::routing {
namespace {

// validation.go: invalidPathSequences and invalidPathSuffixes (Exact and Prefix paths only).
constexpr std::array<std::string_view, 5> kInvalidPathSequences = {"//", "/./", "/../", "%2f",
                                                                   "%2F"};
constexpr std::array<std::string_view, 2> kInvalidPathSuffixes = {"/..", "/."};

// A value as the API server prints it: double-quoted, with non-printable bytes escaped, so that
// arbitrary input never puts control characters into a message.
std::string quote(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\x%02x", byte);
      out += buffer;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// Collects the errors of one object; field paths are built by the caller.
class ErrorList {
 public:
  ErrorList(ObjectRef object, std::vector<Diagnostic>* out)
      : object_(std::move(object)), out_(out) {}

  size_t count() const { return count_; }

  void required(std::string field, std::string_view detail = {}) {
    std::string message = "Required value";
    if (!detail.empty()) message.append(": ").append(detail);
    add(std::move(field), std::move(message));
  }
  void invalid(std::string field, std::string_view value, std::string_view detail) {
    add(std::move(field), "Invalid value: " + quote(value) + ": " + std::string(detail));
  }
  void invalid_number(std::string field, int64_t value, std::string_view detail) {
    add(std::move(field), "Invalid value: " + std::to_string(value) + ": " + std::string(detail));
  }
  // An invalid combination rather than one bad value.
  void invalid_structure(std::string field, std::string_view detail) {
    add(std::move(field), "Invalid value: " + std::string(detail));
  }
  // Reports `error` (an error string from names.h) if it is not empty.
  void check(std::string field, std::string_view value, const std::string& error) {
    if (!error.empty()) invalid(std::move(field), value, error);
  }

 private:
  void add(std::string field, std::string message) {
    out_->push_back(Diagnostic{Severity::kError, object_, std::move(field), std::move(message)});
    ++count_;
  }

  ObjectRef object_;
  std::vector<Diagnostic>* out_;
  size_t count_ = 0;
};

std::string indexed(std::string_view field, size_t index) {
  return std::string(field) + "[" + std::to_string(index) + "]";
}

// validateIngressBackend.
void validate_backend(const IngressBackend& backend, const std::string& field, ErrorList* errors) {
  if (backend.service && backend.resource) {
    errors->invalid_structure(field, "cannot set both resource and service backends");
    return;
  }
  if (backend.resource) {
    const ResourceBackend& resource = *backend.resource;
    const std::string resource_field = field + ".resource";
    if (resource.api_group) {
      errors->check(resource_field + ".apiGroup", *resource.api_group,
                    dns1123_subdomain_error(*resource.api_group));
    }
    if (resource.kind.empty()) {
      errors->required(resource_field + ".kind");
    } else {
      errors->check(resource_field + ".kind", resource.kind,
                    path_segment_name_error(resource.kind));
    }
    if (resource.name.empty()) {
      errors->required(resource_field + ".name");
    } else {
      errors->check(resource_field + ".name", resource.name,
                    path_segment_name_error(resource.name));
    }
    return;
  }
  if (!backend.service) {
    errors->invalid_structure(field, "resource or service backend is required");
    return;
  }
  const ServiceBackend& service = *backend.service;
  if (service.name.empty()) {
    errors->required(field + ".service.name");
  } else {
    errors->check(field + ".service.name", service.name, dns1035_label_error(service.name));
  }
  if (const auto* number = std::get_if<int32_t>(&service.port)) {
    const std::string error = port_number_error(*number);
    if (!error.empty()) errors->invalid_number(field + ".service.port.number", *number, error);
  } else if (const auto* name = std::get_if<std::string>(&service.port); name && !name->empty()) {
    errors->check(field + ".service.port.name", *name, port_name_error(*name));
  } else {
    errors->required(field, "port name or number is required");
  }
}

// validateHTTPIngressPath.
void validate_path(const HttpIngressPath& path, const std::string& field, ErrorList* errors) {
  switch (path.path_type) {
    case PathType::kUnset:
      // The API server stops here for this path (the backend is not looked at).
      errors->required(field + ".pathType", "pathType must be specified");
      return;
    case PathType::kExact:
    case PathType::kPrefix:
      if (!path.path.starts_with('/')) {
        errors->invalid(field + ".path", path.path, "must be an absolute path");
      }
      for (const std::string_view sequence : kInvalidPathSequences) {
        if (path.path.find(sequence) != std::string::npos) {
          errors->invalid(field + ".path", path.path,
                          "must not contain '" + std::string(sequence) + "'");
        }
      }
      for (const std::string_view suffix : kInvalidPathSuffixes) {
        if (path.path.ends_with(suffix)) {
          errors->invalid(field + ".path", path.path,
                          "cannot end with '" + std::string(suffix) + "'");
        }
      }
      break;
    case PathType::kImplementationSpecific:
      if (!path.path.empty() && !path.path.starts_with('/')) {
        errors->invalid(field + ".path", path.path, "must be an absolute path");
      }
      break;
  }
  validate_backend(path.backend, field + ".backend", errors);
}

void validate_host(const std::string& host, const std::string& field, ErrorList* errors) {
  if (is_ip_address(host)) errors->invalid(field, host, "must be a DNS name, not an IP address");
  if (host.find('*') != std::string::npos) {
    errors->check(field, host, wildcard_dns1123_subdomain_error(host));
  } else {
    errors->check(field, host, dns1123_subdomain_error(host));
  }
}

}  // namespace

std::string_view effective_namespace(const IngressObject& object) {
  return object.namespace_.empty() ? std::string_view("default")
                                   : std::string_view(object.namespace_);
}

ObjectRef object_ref(const IngressObject& object) {
  return ObjectRef{std::string(effective_namespace(object)), object.name};
}

std::string path_field(size_t rule_index, size_t path_index) {
  return indexed(indexed("spec.rules", rule_index) + ".http.paths", path_index);
}

bool validate_ingress(const IngressObject& object, std::vector<Diagnostic>* out) {
  ErrorList errors(object_ref(object), out);

  // ObjectMeta: name is a DNS-1123 subdomain (ValidateIngressName), namespace a DNS-1123 label.
  if (object.name.empty()) {
    errors.required("metadata.name", "name or generateName is required");
  } else {
    errors.check("metadata.name", object.name, dns1123_subdomain_error(object.name));
  }
  if (!object.namespace_.empty()) {
    errors.check("metadata.namespace", object.namespace_, dns1123_label_error(object.namespace_));
  }

  // ValidateIngressSpec.
  if (object.rules.empty() && !object.default_backend) {
    errors.invalid_structure("spec", "either `defaultBackend` or `rules` must be specified");
  }
  if (object.default_backend) {
    validate_backend(*object.default_backend, "spec.defaultBackend", &errors);
  }
  for (size_t i = 0; i < object.rules.size(); ++i) {
    const IngressRule& rule = object.rules[i];
    const std::string rule_field = indexed("spec.rules", i);
    if (!rule.host.empty()) validate_host(rule.host, rule_field + ".host", &errors);
    if (rule.host.empty() && !rule.http) {
      // ingresslab's rule, not the API server's: such a rule can never route anything.
      errors.invalid_structure(rule_field, "a rule must set `host`, `http`, or both");
    }
    if (!rule.http) continue;
    if (rule.http->paths.empty()) errors.required(rule_field + ".http.paths");
    for (size_t j = 0; j < rule.http->paths.size(); ++j) {
      validate_path(rule.http->paths[j], path_field(i, j), &errors);
    }
  }
  // validateIngressTLS.
  for (size_t i = 0; i < object.tls.size(); ++i) {
    const IngressTls& tls = object.tls[i];
    const std::string tls_field = indexed("spec.tls", i);
    for (size_t j = 0; j < tls.hosts.size(); ++j) {
      const std::string& host = tls.hosts[j];
      const std::string host_field = indexed(tls_field + ".hosts", j);
      if (host.find('*') != std::string::npos) {
        errors.check(host_field, host, wildcard_dns1123_subdomain_error(host));
      } else {
        errors.check(host_field, host, dns1123_subdomain_error(host));
      }
    }
    if (!tls.secret_name.empty()) {
      errors.check(tls_field + ".secretName", tls.secret_name,
                   dns1123_subdomain_error(tls.secret_name));
    }
  }
  if (object.ingress_class_name) {
    errors.check("spec.ingressClassName", *object.ingress_class_name,
                 dns1123_subdomain_error(*object.ingress_class_name));
  }
  return errors.count() == 0;
}

}  // namespace ingresslab::routing
