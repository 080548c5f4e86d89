#include "realproxy/config/manifests.h"

#include "realproxy/config/yaml_documents.h"
#include "realproxy/routing/ingress.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace ingresslab::realproxy {

std::string ConfigError::to_string() const {
  std::string out;
  if (!file.empty()) {
    out += file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
  }
  if (!object.empty()) out += object + ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

namespace {

namespace fs = std::filesystem;

int line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

bool is_present(const YAML::Node& node) {
  return node.IsDefined() && !node.IsNull();
}

std::string type_name(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (node.IsScalar()) return "a scalar";
  return "null";
}

// Reads the fields of one object, collecting errors that name the object and the field.
class ObjectReader {
 public:
  ObjectReader(const std::string& file, std::vector<ConfigError>* errors)
      : file_(file), errors_(errors) {}

  void set_object(std::string label) { object_ = std::move(label); }
  const std::string& object() const { return object_; }
  bool failed() const { return failed_; }

  void error(const YAML::Node& at, const std::string& field, std::string message) {
    failed_ = true;
    errors_->push_back(ConfigError{file_, line_of(at), object_, field, std::move(message)});
  }

  // The child `key` of map `parent`, or an undefined node when absent or null.
  static YAML::Node child(const YAML::Node& parent, const char* key) {
    if (!parent.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node node = parent[key];
    if (!is_present(node)) return YAML::Node(YAML::NodeType::Undefined);
    return node;
  }

  // A map child; reports a type error (and returns undefined) if it is something else.
  YAML::Node map(const YAML::Node& parent, const char* key, const std::string& field,
                 bool required) {
    YAML::Node node = child(parent, key);
    if (!node.IsDefined()) {
      if (required) error(parent, field, "Required value");
      return node;
    }
    if (!node.IsMap()) {
      error(node, field, "Invalid value: expected a map, got " + type_name(node));
      return YAML::Node(YAML::NodeType::Undefined);
    }
    return node;
  }

  YAML::Node list(const YAML::Node& parent, const char* key, const std::string& field,
                  bool required) {
    YAML::Node node = child(parent, key);
    if (!node.IsDefined()) {
      if (required) error(parent, field, "Required value");
      return node;
    }
    if (!node.IsSequence()) {
      error(node, field, "Invalid value: expected a list, got " + type_name(node));
      return YAML::Node(YAML::NodeType::Undefined);
    }
    return node;
  }

  std::optional<std::string> string(const YAML::Node& parent, const char* key,
                                    const std::string& field, bool required) {
    YAML::Node node = child(parent, key);
    if (!node.IsDefined()) {
      if (required) error(parent, field, "Required value");
      return std::nullopt;
    }
    return scalar_string(node, field);
  }

  std::optional<std::string> scalar_string(const YAML::Node& node, const std::string& field) {
    if (!node.IsScalar()) {
      error(node, field, "Invalid value: expected a string, got " + type_name(node));
      return std::nullopt;
    }
    return node.Scalar();
  }

  // An integer written as a plain (unquoted) YAML scalar, as the API's int32 fields require.
  std::optional<int64_t> integer(const YAML::Node& parent, const char* key,
                                 const std::string& field, bool required) {
    YAML::Node node = child(parent, key);
    if (!node.IsDefined()) {
      if (required) error(parent, field, "Required value");
      return std::nullopt;
    }
    const std::optional<int64_t> value = plain_integer(node);
    if (!value) {
      error(node, field,
            "Invalid value: " + (node.IsScalar() ? "\"" + node.Scalar() + "\"" : type_name(node)) +
                ": expected an integer");
    }
    return value;
  }

  static std::optional<int64_t> plain_integer(const YAML::Node& node) {
    if (!node.IsScalar() || node.Tag() == "!") return std::nullopt;  // "!" = quoted scalar
    const std::string& text = node.Scalar();
    int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
    return value;
  }

  std::optional<bool> boolean(const YAML::Node& parent, const char* key, const std::string& field) {
    YAML::Node node = child(parent, key);
    if (!node.IsDefined()) return std::nullopt;
    if (node.IsScalar() && node.Tag() != "!") {
      const std::string& text = node.Scalar();
      if (text == "true" || text == "True" || text == "TRUE") return true;
      if (text == "false" || text == "False" || text == "FALSE") return false;
    }
    error(node, field, "Invalid value: expected true or false");
    return std::nullopt;
  }

  // A list of strings.
  std::vector<std::string> strings(const YAML::Node& parent, const char* key,
                                   const std::string& field) {
    std::vector<std::string> out;
    YAML::Node node = list(parent, key, field, false);
    if (!node.IsDefined()) return out;
    for (size_t i = 0; i < node.size(); ++i) {
      if (auto s = scalar_string(node[i], field + "[" + std::to_string(i) + "]")) {
        out.push_back(std::move(*s));
      }
    }
    return out;
  }

  // A port number: an integer in 1..65535.
  std::optional<int32_t> port(const YAML::Node& parent, const char* key, const std::string& field,
                              bool required) {
    const std::optional<int64_t> value = integer(parent, key, field, required);
    if (!value) return std::nullopt;
    if (*value < 1 || *value > 65535) {
      error(
          child(parent, key), field,
          "Invalid value: " + std::to_string(*value) + ": must be between 1 and 65535, inclusive");
      return std::nullopt;
    }
    return static_cast<int32_t>(*value);
  }

 private:
  const std::string& file_;
  std::vector<ConfigError>* errors_;
  std::string object_;
  bool failed_ = false;
};

struct Metadata {
  std::string namespace_ = "default";
  std::string name;
};

// metadata.name / metadata.namespace, without reporting anything; sets the reader's object label
// ("Kind namespace/name").
Metadata label_object(ObjectReader& r, const YAML::Node& doc, const std::string& kind) {
  Metadata meta;
  const YAML::Node metadata = ObjectReader::child(doc, "metadata");
  if (metadata.IsDefined() && metadata.IsMap()) {
    if (YAML::Node n = ObjectReader::child(metadata, "name"); n.IsScalar()) meta.name = n.Scalar();
    if (YAML::Node n = ObjectReader::child(metadata, "namespace");
        n.IsScalar() && !n.Scalar().empty()) {
      meta.namespace_ = n.Scalar();
    }
  }
  r.set_object(kind + " " + meta.namespace_ + "/" + (meta.name.empty() ? "<unnamed>" : meta.name));
  return meta;
}

// label_object, and reports a missing metadata or name.
Metadata read_metadata(ObjectReader& r, const YAML::Node& doc, const std::string& kind) {
  const Metadata meta = label_object(r, doc, kind);
  const YAML::Node metadata = ObjectReader::child(doc, "metadata");
  if (!metadata.IsDefined() || !metadata.IsMap()) {
    r.error(doc, "metadata", "Required value");
  } else if (meta.name.empty()) {
    r.error(metadata, "metadata.name", "Required value: name is required");
  }
  return meta;
}

bool check_api_version(ObjectReader& r, const YAML::Node& doc, const std::string& api_version,
                       std::string_view expected) {
  if (api_version == expected) return true;
  r.error(ObjectReader::child(doc, "apiVersion"), "apiVersion",
          "Unsupported value: \"" + api_version + "\": realproxy reads " +
              ObjectReader::child(doc, "kind").Scalar() + " only as " + std::string(expected));
  return false;
}

// --- Ingress ---------------------------------------------------------------------------------

std::optional<routing::IngressBackend> read_backend(ObjectReader& r, const YAML::Node& node,
                                                    const std::string& field) {
  routing::IngressBackend backend;
  if (YAML::Node svc = r.map(node, "service", field + ".service", false); svc.IsDefined()) {
    routing::ServiceBackend service;
    service.name = r.string(svc, "name", field + ".service.name", false).value_or("");
    if (YAML::Node port = r.map(svc, "port", field + ".service.port", false); port.IsDefined()) {
      const bool has_number = ObjectReader::child(port, "number").IsDefined();
      const bool has_name = ObjectReader::child(port, "name").IsDefined();
      if (has_number && has_name) {
        r.error(port, field + ".service.port",
                "Invalid value: cannot set both port name and port number");
      } else if (has_number) {
        const auto number = r.integer(port, "number", field + ".service.port.number", true);
        // Range checks are the validator's (it names the rule); keep the value as written.
        if (number) service.port = static_cast<int32_t>(std::clamp<int64_t>(*number, -1, 65536));
      } else if (has_name) {
        if (auto name = r.string(port, "name", field + ".service.port.name", true)) {
          service.port = std::move(*name);
        }
      }
    }
    backend.service = std::move(service);
  }
  if (YAML::Node res = r.map(node, "resource", field + ".resource", false); res.IsDefined()) {
    routing::ResourceBackend resource;
    resource.api_group = r.string(res, "apiGroup", field + ".resource.apiGroup", false);
    resource.kind = r.string(res, "kind", field + ".resource.kind", false).value_or("");
    resource.name = r.string(res, "name", field + ".resource.name", false).value_or("");
    backend.resource = std::move(resource);
  }
  return backend;
}

void read_ingress(ObjectReader& r, const YAML::Node& doc, const SourceRef& source, Manifests* out) {
  const Metadata meta = read_metadata(r, doc, "Ingress");
  routing::IngressObject ingress;
  ingress.namespace_ = meta.namespace_;
  ingress.name = meta.name;
  const YAML::Node metadata = ObjectReader::child(doc, "metadata");
  if (auto ts = r.string(metadata, "creationTimestamp", "metadata.creationTimestamp", false)) {
    if (auto seconds = routing::parse_creation_timestamp(*ts)) {
      ingress.creation_timestamp = *seconds;
    } else {
      r.error(ObjectReader::child(metadata, "creationTimestamp"), "metadata.creationTimestamp",
              "Invalid value: \"" + *ts + "\": expected an RFC 3339 time (2024-01-31T12:00:00Z)");
    }
  }
  const YAML::Node spec = r.map(doc, "spec", "spec", true);
  ingress.ingress_class_name = r.string(spec, "ingressClassName", "spec.ingressClassName", false);
  if (YAML::Node def = r.map(spec, "defaultBackend", "spec.defaultBackend", false);
      def.IsDefined()) {
    ingress.default_backend = read_backend(r, def, "spec.defaultBackend");
  }
  if (YAML::Node rules = r.list(spec, "rules", "spec.rules", false); rules.IsDefined()) {
    for (size_t i = 0; i < rules.size(); ++i) {
      const std::string rf = "spec.rules[" + std::to_string(i) + "]";
      const YAML::Node rule_node = rules[i];
      if (!rule_node.IsMap()) {
        r.error(rule_node, rf, "Invalid value: expected a map, got " + type_name(rule_node));
        continue;
      }
      routing::IngressRule rule;
      rule.host = r.string(rule_node, "host", rf + ".host", false).value_or("");
      if (YAML::Node http = r.map(rule_node, "http", rf + ".http", false); http.IsDefined()) {
        rule.http.emplace();
        YAML::Node paths = r.list(http, "paths", rf + ".http.paths", true);
        for (size_t j = 0; paths.IsDefined() && j < paths.size(); ++j) {
          const std::string pf = rf + ".http.paths[" + std::to_string(j) + "]";
          const YAML::Node path_node = paths[j];
          if (!path_node.IsMap()) {
            r.error(path_node, pf, "Invalid value: expected a map, got " + type_name(path_node));
            continue;
          }
          routing::HttpIngressPath path;
          path.path = r.string(path_node, "path", pf + ".path", false).value_or("");
          if (auto type = r.string(path_node, "pathType", pf + ".pathType", false)) {
            if (*type == "Exact") {
              path.path_type = routing::PathType::kExact;
            } else if (*type == "Prefix") {
              path.path_type = routing::PathType::kPrefix;
            } else if (*type == "ImplementationSpecific") {
              path.path_type = routing::PathType::kImplementationSpecific;
            } else {
              r.error(
                  ObjectReader::child(path_node, "pathType"), pf + ".pathType",
                  "Unsupported value: \"" + *type +
                      "\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"");
            }
          }
          if (YAML::Node b = r.map(path_node, "backend", pf + ".backend", true); b.IsDefined()) {
            if (auto backend = read_backend(r, b, pf + ".backend")) path.backend = *backend;
          }
          rule.http->paths.push_back(std::move(path));
        }
      }
      ingress.rules.push_back(std::move(rule));
    }
  }
  if (YAML::Node tls = r.list(spec, "tls", "spec.tls", false); tls.IsDefined()) {
    for (size_t i = 0; i < tls.size(); ++i) {
      const std::string tf = "spec.tls[" + std::to_string(i) + "]";
      routing::IngressTls item;
      item.hosts = r.strings(tls[i], "hosts", tf + ".hosts");
      item.secret_name = r.string(tls[i], "secretName", tf + ".secretName", false).value_or("");
      ingress.tls.push_back(std::move(item));
    }
  }
  if (r.failed()) return;
  out->ingresses.push_back(std::move(ingress));
  out->ingress_sources.push_back(source);
}

// --- Service ---------------------------------------------------------------------------------

void read_service(ObjectReader& r, const YAML::Node& doc, const SourceRef& source, Manifests* out) {
  const Metadata meta = read_metadata(r, doc, "Service");
  ServiceObject service;
  service.namespace_ = meta.namespace_;
  service.name = meta.name;
  service.source = source;
  const YAML::Node spec = r.map(doc, "spec", "spec", true);
  service.type = r.string(spec, "type", "spec.type", false).value_or("ClusterIP");
  if (YAML::Node ports = r.list(spec, "ports", "spec.ports", false); ports.IsDefined()) {
    for (size_t i = 0; i < ports.size(); ++i) {
      const std::string pf = "spec.ports[" + std::to_string(i) + "]";
      const YAML::Node p = ports[i];
      if (!p.IsMap()) {
        r.error(p, pf, "Invalid value: expected a map, got " + type_name(p));
        continue;
      }
      ServicePortSpec port;
      port.name = r.string(p, "name", pf + ".name", false).value_or("");
      port.port = r.port(p, "port", pf + ".port", true).value_or(0);
      port.protocol = r.string(p, "protocol", pf + ".protocol", false).value_or("TCP");
      port.target_port = port.port;
      if (YAML::Node t = ObjectReader::child(p, "targetPort"); t.IsDefined()) {
        // IntOrString: a plain integer is a number, anything else the name of a container port.
        if (ObjectReader::plain_integer(t)) {
          if (auto n = r.port(p, "targetPort", pf + ".targetPort", true)) port.target_port = *n;
        } else if (auto name = r.scalar_string(t, pf + ".targetPort")) {
          if (name->empty()) {
            r.error(t, pf + ".targetPort", "Invalid value: \"\": must be a number or a port name");
          }
          port.target_port = std::move(*name);
        }
      }
      service.ports.push_back(std::move(port));
    }
  }
  if (!r.failed()) out->services.push_back(std::move(service));
}

// --- EndpointSlice ---------------------------------------------------------------------------

bool is_ip_address(const std::string& text, const std::string& family) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(family == "IPv6" ? AF_INET6 : AF_INET, text.c_str(), buf) == 1;
}

void read_endpoint_slice(ObjectReader& r, const YAML::Node& doc, const SourceRef& source,
                         Manifests* out) {
  const Metadata meta = read_metadata(r, doc, "EndpointSlice");
  EndpointSliceObject slice;
  slice.namespace_ = meta.namespace_;
  slice.name = meta.name;
  slice.source = source;
  const YAML::Node metadata = ObjectReader::child(doc, "metadata");
  const YAML::Node labels = r.map(metadata, "labels", "metadata.labels", false);
  const std::string label_field = "metadata.labels[kubernetes.io/service-name]";
  if (YAML::Node svc = ObjectReader::child(labels, "kubernetes.io/service-name"); svc.IsDefined()) {
    slice.service_name = r.scalar_string(svc, label_field).value_or("");
  }
  if (slice.service_name.empty()) {
    r.error(metadata.IsDefined() ? metadata : doc, label_field,
            "Required value: the label names the Service whose endpoints this slice lists");
  }
  if (auto type = r.string(doc, "addressType", "addressType", true)) {
    if (*type != "IPv4" && *type != "IPv6") {
      r.error(ObjectReader::child(doc, "addressType"), "addressType",
              "Unsupported value: \"" + *type + "\": realproxy supports \"IPv4\" and \"IPv6\"");
    }
    slice.address_type = *type;
  }
  if (YAML::Node ports = r.list(doc, "ports", "ports", false); ports.IsDefined()) {
    for (size_t i = 0; i < ports.size(); ++i) {
      const std::string pf = "ports[" + std::to_string(i) + "]";
      EndpointSlicePort port;
      port.name = r.string(ports[i], "name", pf + ".name", false).value_or("");
      port.port = r.port(ports[i], "port", pf + ".port", true).value_or(0);
      port.protocol = r.string(ports[i], "protocol", pf + ".protocol", false).value_or("TCP");
      slice.ports.push_back(std::move(port));
    }
  }
  if (YAML::Node endpoints = r.list(doc, "endpoints", "endpoints", false); endpoints.IsDefined()) {
    for (size_t i = 0; i < endpoints.size(); ++i) {
      const std::string ef = "endpoints[" + std::to_string(i) + "]";
      EndpointSliceEndpoint endpoint;
      endpoint.addresses = r.strings(endpoints[i], "addresses", ef + ".addresses");
      if (endpoint.addresses.empty()) {
        r.error(endpoints[i], ef + ".addresses", "Required value: at least one address");
      }
      for (size_t j = 0; j < endpoint.addresses.size(); ++j) {
        if (!slice.address_type.empty() &&
            !is_ip_address(endpoint.addresses[j], slice.address_type)) {
          r.error(endpoints[i]["addresses"][j], ef + ".addresses[" + std::to_string(j) + "]",
                  "Invalid value: \"" + endpoint.addresses[j] + "\": must be an " +
                      slice.address_type + " address");
        }
      }
      const YAML::Node conditions = r.map(endpoints[i], "conditions", ef + ".conditions", false);
      endpoint.ready = r.boolean(conditions, "ready", ef + ".conditions.ready").value_or(true);
      slice.endpoints.push_back(std::move(endpoint));
    }
  }
  if (!r.failed()) out->endpoint_slices.push_back(std::move(slice));
}

// --- Secret ----------------------------------------------------------------------------------

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void read_secret(ObjectReader& r, const YAML::Node& doc, const SourceRef& source, Manifests* out) {
  const Metadata meta = read_metadata(r, doc, "Secret");
  const std::string type = r.string(doc, "type", "type", false).value_or("Opaque");
  if (type != "kubernetes.io/tls") {
    ++out->skipped_objects;  // not a certificate: nothing realproxy uses
    return;
  }
  TlsSecretObject secret;
  secret.namespace_ = meta.namespace_;
  secret.name = meta.name;
  secret.source = source;
  const YAML::Node metadata = ObjectReader::child(doc, "metadata");
  const YAML::Node annotations = r.map(metadata, "annotations", "metadata.annotations", false);
  const std::string cert_key(kTlsCertFileAnnotation), key_key(kTlsKeyFileAnnotation);
  const YAML::Node cert_file = ObjectReader::child(annotations, cert_key.c_str());
  const YAML::Node key_file = ObjectReader::child(annotations, key_key.c_str());
  if (cert_file.IsDefined() || key_file.IsDefined()) {
    const fs::path base = fs::path(source.file).parent_path();
    const auto read_annotated = [&](const YAML::Node& node, const std::string& annotation,
                                    std::string* pem, std::string* field) {
      *field = "metadata.annotations[" + annotation + "]";
      if (!node.IsDefined()) {
        r.error(annotations, *field, "Required value: set both certificate and key file");
        return;
      }
      const std::optional<std::string> path = r.scalar_string(node, *field);
      if (!path) return;
      const fs::path resolved = fs::path(*path).is_absolute() ? fs::path(*path) : base / *path;
      if (auto text = read_file(resolved)) {
        *pem = std::move(*text);
        *field += " (" + resolved.string() + ")";
      } else {
        r.error(node, *field, "cannot read \"" + resolved.string() + "\"");
      }
    };
    read_annotated(cert_file, cert_key, &secret.cert_pem, &secret.cert_field);
    read_annotated(key_file, key_key, &secret.key_pem, &secret.key_field);
  } else {
    const YAML::Node data = r.map(doc, "data", "data", false);
    const YAML::Node string_data = r.map(doc, "stringData", "stringData", false);
    const auto read_item = [&](const char* key, std::string* pem, std::string* field) {
      if (YAML::Node s = ObjectReader::child(string_data, key); s.IsDefined()) {
        *field = std::string("stringData[") + key + "]";
        if (auto text = r.scalar_string(s, *field)) *pem = std::move(*text);
        return;
      }
      *field = std::string("data[") + key + "]";
      YAML::Node d = ObjectReader::child(data, key);
      if (!d.IsDefined()) {
        r.error(data.IsDefined() ? data : doc, *field,
                "Required value: a kubernetes.io/tls Secret needs data[tls.crt] and data[tls.key] "
                "(or the annotations " +
                    cert_key + " and " + key_key + ")");
        return;
      }
      if (auto text = r.scalar_string(d, *field)) {
        if (auto bytes = decode_base64(*text)) {
          *pem = std::move(*bytes);
        } else {
          r.error(d, *field, "Invalid value: not valid base64");
        }
      }
    };
    read_item("tls.crt", &secret.cert_pem, &secret.cert_field);
    read_item("tls.key", &secret.key_pem, &secret.key_field);
  }
  if (!r.failed()) out->tls_secrets.push_back(std::move(secret));
}

// --- Documents -------------------------------------------------------------------------------

// YAML values (aliases expanded) read per document and per object of a `kind: List`.
constexpr size_t kMaxNodesPerDocument = 4'000'000;
constexpr size_t kMaxNodesPerObject = 1'000'000;

void read_document(const YAML::Node& doc, const std::string& file, Manifests* out,
                   std::vector<ConfigError>* errors, int depth) {
  if (!is_present(doc)) return;  // empty document ("---" at the end of a file)
  ObjectReader r(file, errors);
  // The API server keeps at most 1.5 MiB per object; far more nodes than that can hold means
  // anchors and aliases multiplying a small text.
  if (expands_beyond(doc, depth == 0 ? kMaxNodesPerDocument : kMaxNodesPerObject)) {
    r.error(doc, "",
            "more than " + std::to_string(depth == 0 ? kMaxNodesPerDocument : kMaxNodesPerObject) +
                " YAML values once aliases are expanded: not a Kubernetes object");
    return;
  }
  if (!doc.IsMap()) {
    r.error(doc, "",
            "expected a Kubernetes object (a map with apiVersion and kind), got " + type_name(doc));
    return;
  }
  const std::optional<std::string> kind = r.string(doc, "kind", "kind", true);
  const std::optional<std::string> api_version = r.string(doc, "apiVersion", "apiVersion", true);
  if (!kind || !api_version) return;
  const SourceRef source{file, line_of(doc)};
  if (*kind == "List" || (kind->size() > 4 && kind->ends_with("List"))) {
    YAML::Node items = r.list(doc, "items", "items", false);
    for (size_t i = 0; items.IsDefined() && i < items.size() && depth < 4; ++i) {
      read_document(items[i], file, out, errors, depth + 1);
    }
    return;
  }
  if (*kind == "Ingress") {
    label_object(r, doc, "Ingress");  // names the object in the apiVersion error
    if (check_api_version(r, doc, *api_version, "networking.k8s.io/v1")) {
      read_ingress(r, doc, source, out);
    }
  } else if (*kind == "Service") {
    label_object(r, doc, "Service");
    if (check_api_version(r, doc, *api_version, "v1")) read_service(r, doc, source, out);
  } else if (*kind == "EndpointSlice") {
    label_object(r, doc, "EndpointSlice");
    if (check_api_version(r, doc, *api_version, "discovery.k8s.io/v1")) {
      read_endpoint_slice(r, doc, source, out);
    }
  } else if (*kind == "Secret") {
    label_object(r, doc, "Secret");
    if (check_api_version(r, doc, *api_version, "v1")) read_secret(r, doc, source, out);
  } else {
    ++out->skipped_objects;
  }
}

bool is_manifest_file(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

}  // namespace

void parse_manifest_text(std::string_view yaml_text, const std::string& file, Manifests* out,
                         std::vector<ConfigError>* errors) {
  YamlDocuments loaded = load_yaml_documents(yaml_text);
  if (!loaded.ok()) {
    errors->push_back(ConfigError{file, loaded.line, "", "", loaded.error});
    return;
  }
  for (const YAML::Node& doc : loaded.documents) {
    try {
      read_document(doc, file, out, errors, 0);
    } catch (const YAML::Exception& e) {
      errors->push_back(ConfigError{file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "",
                                    "cannot read the document: " + e.msg});
    }
  }
}

void load_manifest_paths(std::span<const std::string> paths, Manifests* out,
                         std::vector<ConfigError>* errors) {
  for (const std::string& path : paths) {
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_directory(path, ec)) {
      for (const fs::directory_entry& entry : fs::directory_iterator(path, ec)) {
        if (entry.is_regular_file() && is_manifest_file(entry.path()))
          files.push_back(entry.path());
      }
      if (ec) {
        errors->push_back(ConfigError{path, 0, "", "", "cannot list directory: " + ec.message()});
        continue;
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        errors->push_back(
            ConfigError{path, 0, "", "", "directory contains no *.yaml, *.yml or *.json file"});
      }
    } else {
      files.push_back(path);
    }
    for (const fs::path& file : files) {
      std::optional<std::string> text = read_file(file);
      if (!text) {
        errors->push_back(ConfigError{file.string(), 0, "", "", "cannot read file"});
        continue;
      }
      parse_manifest_text(*text, file.string(), out, errors);
    }
  }
}

std::optional<std::string> decode_base64(std::string_view text) {
  const auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  size_t padding = 0, symbols = 0;
  for (const char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      ++symbols;
      continue;
    }
    const int v = value_of(c);
    if (v < 0 || padding > 0) return std::nullopt;  // bad symbol, or data after padding
    ++symbols;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  if (symbols % 4 != 0 || padding > 2) return std::nullopt;
  return out;
}

}  // namespace ingresslab::realproxy
