#include "scenarios/ingress_convert.h"

#include <cctype>
#include <cstdint>
#include <limits>

#include "realproxy/routing/validation.h"

namespace ingresslab::scenarios {
namespace {

using routing::Diagnostic;

class Problems {
 public:
  Problems(routing::ObjectRef object, std::vector<Diagnostic>* out)
      : object_(std::move(object)), out_(out) {}

  void add(std::string field, std::string message) {
    if (out_ == nullptr) return;
    out_->push_back(
        Diagnostic{routing::Severity::kError, object_, std::move(field), std::move(message)});
  }

 private:
  routing::ObjectRef object_;
  std::vector<Diagnostic>* out_;
};

std::string quote(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

routing::IngressBackend convert_backend(const scenario::IngressBackend& in,
                                        const std::string& field, Problems* problems) {
  routing::IngressBackend out;
  if (in.has_service()) {
    const scenario::IngressServiceBackend& service = in.service();
    routing::ServiceBackend backend;
    backend.name = service.name();
    const scenario::ServiceBackendPort& port = service.port();
    if (port.number() != 0 && !port.name().empty()) {
      problems->add(field + ".service.port",
                    "Invalid value: cannot set both port name & port number");
    }
    if (port.number() > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
      problems->add(field + ".service.port.number",
                    "Invalid value: " + std::to_string(port.number()) +
                        ": must be between 1 and 65535, inclusive");
      backend.port = int32_t{65535};  // placeholder: the object is invalid anyway
    } else if (port.number() != 0) {
      backend.port = static_cast<int32_t>(port.number());
    } else if (!port.name().empty()) {
      backend.port = port.name();
    }
    out.service = std::move(backend);
  }
  if (in.has_resource()) {
    const scenario::TypedLocalObjectReference& resource = in.resource();
    routing::ResourceBackend backend;
    if (!resource.api_group().empty()) backend.api_group = resource.api_group();
    backend.kind = resource.kind();
    backend.name = resource.name();
    out.resource = std::move(backend);
  }
  return out;
}

routing::PathType convert_path_type(const std::string& text, const std::string& field,
                                    Problems* problems) {
  if (text.empty()) return routing::PathType::kUnset;
  if (text == "Exact") return routing::PathType::kExact;
  if (text == "Prefix") return routing::PathType::kPrefix;
  if (text == "ImplementationSpecific") return routing::PathType::kImplementationSpecific;
  problems->add(field, "Unsupported value: " + quote(text) +
                           ": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"");
  return routing::PathType::kPrefix;
}

}  // namespace

bool parse_rfc3339(std::string_view s, int64_t* seconds) {
  const std::optional<int64_t> parsed = routing::parse_creation_timestamp(s);
  if (parsed) *seconds = *parsed;
  return parsed.has_value();
}

routing::IngressObject to_ingress_object(const scenario::Ingress& ingress, size_t file_order,
                                         std::vector<routing::Diagnostic>* problems) {
  routing::IngressObject out;
  const scenario::ObjectMeta& meta = ingress.metadata();
  const scenario::IngressSpec& spec = ingress.spec();
  out.namespace_ = meta.namespace_();
  out.name = meta.name();
  Problems errors(routing::object_ref(out), problems);

  out.creation_timestamp = static_cast<int64_t>(file_order);
  if (!meta.creation_timestamp().empty() &&
      !parse_rfc3339(meta.creation_timestamp(), &out.creation_timestamp)) {
    errors.add("metadata.creationTimestamp",
               "Invalid value: " + quote(meta.creation_timestamp()) +
                   ": must be an RFC 3339 time, e.g. 2024-05-01T12:00:00Z");
  }

  if (!spec.ingress_class_name().empty()) out.ingress_class_name = spec.ingress_class_name();
  if (const auto it = meta.annotations().find(std::string(kLegacyIngressClassAnnotation));
      it != meta.annotations().end()) {
    if (!out.ingress_class_name) {
      out.ingress_class_name = it->second;
    } else if (*out.ingress_class_name != it->second) {
      errors.add("metadata.annotations[" + std::string(kLegacyIngressClassAnnotation) + "]",
                 "Invalid value: " + quote(it->second) + ": must match spec.ingressClassName " +
                     quote(*out.ingress_class_name) + " when both are set");
    }
  }

  if (spec.has_default_backend()) {
    out.default_backend = convert_backend(spec.default_backend(), "spec.defaultBackend", &errors);
  }
  for (int i = 0; i < spec.rules_size(); ++i) {
    const scenario::IngressRule& rule = spec.rules(i);
    routing::IngressRule converted;
    converted.host = rule.host();
    if (rule.has_http()) {
      converted.http.emplace();
      for (int j = 0; j < rule.http().paths_size(); ++j) {
        const scenario::HTTPIngressPath& path = rule.http().paths(j);
        const std::string field =
            routing::path_field(static_cast<size_t>(i), static_cast<size_t>(j));
        routing::HttpIngressPath p;
        p.path = path.path();
        p.path_type = convert_path_type(path.path_type(), field + ".pathType", &errors);
        p.backend = convert_backend(path.backend(), field + ".backend", &errors);
        converted.http->paths.push_back(std::move(p));
      }
    }
    out.rules.push_back(std::move(converted));
  }
  for (const scenario::IngressTLS& tls : spec.tls()) {
    routing::IngressTls converted;
    converted.hosts.assign(tls.hosts().begin(), tls.hosts().end());
    converted.secret_name = tls.secret_name();
    out.tls.push_back(std::move(converted));
  }
  return out;
}

std::vector<routing::IngressObject> to_ingress_objects(const scenario::Routing& routing,
                                                       std::vector<routing::Diagnostic>* problems) {
  std::vector<routing::IngressObject> out;
  out.reserve(static_cast<size_t>(routing.ingresses_size()));
  for (int i = 0; i < routing.ingresses_size(); ++i) {
    out.push_back(to_ingress_object(routing.ingresses(i), static_cast<size_t>(i), problems));
  }
  return out;
}

bool is_default_ingress_class(const scenario::IngressClass& ingress_class) {
  const auto& annotations = ingress_class.metadata().annotations();
  const auto it = annotations.find(std::string(kDefaultIngressClassAnnotation));
  return it != annotations.end() && it->second == "true";
}

routing::CompileOptions compile_options_for(const scenario::Scenario& scenario) {
  routing::CompileOptions options;
  const std::string& wanted = scenario.ingress().ingress_class();
  if (wanted.empty()) return options;
  options.ingress_class = wanted;
  options.accept_ingresses_without_class = false;
  for (const scenario::IngressClass& c : scenario.routing().ingress_classes()) {
    if (is_default_ingress_class(c) && c.metadata().name() == wanted) {
      options.accept_ingresses_without_class = true;
    }
  }
  return options;
}

bool is_served(const routing::IngressObject& object, const routing::CompileOptions& options) {
  if (!options.ingress_class) return true;
  if (!object.ingress_class_name) return options.accept_ingresses_without_class;
  return *object.ingress_class_name == *options.ingress_class;
}

std::string scenario_field_path(size_t ingress_index, std::string_view api_field) {
  std::string out = "routing.ingresses[" + std::to_string(ingress_index) + "]";
  if (api_field.empty()) return out;
  out += '.';
  bool in_brackets = false;
  for (const char c : api_field) {
    if (c == '[') in_brackets = true;
    if (c == ']') in_brackets = false;
    if (!in_brackets && std::isupper(static_cast<unsigned char>(c))) {
      out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace ingresslab::scenarios
