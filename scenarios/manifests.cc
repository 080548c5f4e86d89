#include "scenarios/manifests.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "realproxy/config/yaml_documents.h"
#include "scenarios/yaml_reader.h"

namespace ingresslab::scenarios {
namespace {

namespace fs = std::filesystem;

using Labels = std::map<std::string, std::string>;

// The one apiVersion read for each imported kind. Other versions of these kinds are errors (the
// older Ingress schema, for one, names backends serviceName/servicePort).
const std::map<std::string, std::string>& supported_api_versions() {
  static const auto* versions = new std::map<std::string, std::string>{
      {"Ingress", "networking.k8s.io/v1"},
      {"IngressClass", "networking.k8s.io/v1"},
      {"Service", "v1"},
      {"Deployment", "apps/v1"},
      {"DaemonSet", "apps/v1"},
      {"EndpointSlice", "discovery.k8s.io/v1"},
  };
  return *versions;
}

// Nesting of `kind: List` inside `kind: List` accepted (kubectl never writes more than one).
constexpr int kMaxListDepth = 4;
// After this many errors in one file the rest of it is not read.
constexpr size_t kMaxErrorsPerFile = 100;
// YAML values read per Ingress/IngressClass object (guards alias expansion).
constexpr int kMaxNodesPerObject = 1'000'000;
// Nodes of the default cluster (scenario.proto: Cluster.nodes) when the scenario lists none.
constexpr uint32_t kDefaultNodeCount = 3;

SourcePosition position_of(const YAML::Node& n) {
  if (!n.IsDefined()) return {};
  const YAML::Mark m = n.Mark();
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

bool absent(const YAML::Node& n) {
  return !n.IsDefined() || n.IsNull();
}

// The value of `key` in mapping `n`, or an undefined node when `n` is not a mapping or has no
// such key. Never throws (yaml-cpp's operator[] does on scalars).
YAML::Node child(const YAML::Node& n, const char* key) {
  if (!n.IsDefined() || !n.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  return n[key];
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string join_path(const std::string& prefix, const std::string& field) {
  if (prefix.empty()) return field;
  if (field.empty()) return prefix;
  return prefix + "." + field;
}

std::string labels_text(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    out += (out.empty() ? "" : ",") + k + "=" + v;
  }
  return out.empty() ? "none" : out;
}

std::string ns_or_default(const std::string& ns) {
  return ns.empty() ? "default" : ns;
}

// One Kubernetes object being imported: where it is and what it is called, for diagnostics.
struct Object {
  std::string file;
  std::string prefix;  // field path of the object in its document: "" or "items[3]"
  std::string api_version;
  std::string kind;
  std::string ns;  // empty for cluster-scoped objects
  std::string name;
  SourcePosition position;

  // "Service default/tea-svc", "IngressClass nginx".
  std::string label() const {
    if (kind.empty()) return "object without a kind";
    const std::string n = name.empty() ? "(unnamed)" : name;
    return kind + " " + (ns.empty() ? n : ns + "/" + n);
  }
  std::string field(const std::string& f) const { return join_path(prefix, f); }
};

struct Located {
  std::string file;
  SourcePosition position;
};

struct ImportedPort {
  scenario::ServicePort port;
  std::string target_name;  // non-empty: a named targetPort, resolved through the pods
  std::string field;        // spec.ports[i] in the manifest
  Located at, port_at, target_at, name_at;
};

struct ImportedService {
  Object object;
  Located name_at, namespace_at, ports_at;
  bool has_namespace = false;
  std::vector<ImportedPort> ports;
  Labels selector;
};

struct ContainerPort {
  std::string name;
  uint32_t number = 0;
};

struct Workload {
  Object object;
  bool daemonset = false;
  uint32_t replicas = 1;  // Deployment only; Kubernetes defaults spec.replicas to 1
  Located replicas_at;
  Labels labels;  // spec.template.metadata.labels
  std::vector<ContainerPort> ports;
  bool matched = false;
};

struct Slice {
  Object object;
  std::string service;
  uint32_t ready = 0;
};

// A Service as imported, ready to merge with the scenario's own entry of the same name.
struct Result {
  scenario::Service service;
  const ImportedService* source = nullptr;        // null for an entry made only from EndpointSlices
  std::vector<const ImportedPort*> port_sources;  // parallel to service.ports()
  std::optional<Located> replicas_at;
  bool replicas_from_pods = false;      // from a Deployment or DaemonSet (else EndpointSlices)
  std::vector<Diagnostic> port_errors;  // unresolved named ports; moot if the scenario's wins
  Located at;
  std::string label;
};

class Importer {
 public:
  Importer(scenario::Scenario* scenario, Diagnostics* diagnostics, SourceMap* source_map)
      : scenario_(scenario), diagnostics_(diagnostics), source_map_(source_map) {}

  // Imports one file's text; `file` names it in diagnostics.
  void add_text(std::string_view text, const std::string& file);
  // Matches pods to Services, resolves named ports and merges the Services into the scenario.
  void finish();

 private:
  void add_document(const YAML::Node& doc, const std::string& file, const std::string& prefix,
                    int list_depth);
  void add_object(const Object& o, const YAML::Node& n);
  void add_ingress_or_class(const Object& o, const YAML::Node& n);
  void add_service(const Object& o, const YAML::Node& n);
  void add_workload(const Object& o, const YAML::Node& n);
  void add_endpoint_slice(const Object& o, const YAML::Node& n);
  bool check_unique(const Object& o);
  uint32_t node_count() const;
  void resolve_ports(const ImportedService& s, const std::vector<const Workload*>& pods, Result* r);
  void record(const std::string& path, const Located& at) {
    if (source_map_ != nullptr && at.position.line > 0) {
      source_map_->record(path, at.file, at.position);
    }
  }
  void record_result(const Result& r, int index, bool with_ports);

  // Diagnostics about field `field` of object `o`, at node `at` (or the object when `at` is
  // undefined): "file:line:col: spec.replicas: Deployment default/tea: expected an integer".
  void error(const Object& o, const YAML::Node& at, const std::string& field, std::string message) {
    diagnostics_->add(make(Diagnostic::Severity::kError, o, at, field, std::move(message)));
  }
  void warning(const Object& o, const YAML::Node& at, const std::string& field,
               std::string message) {
    diagnostics_->add(make(Diagnostic::Severity::kWarning, o, at, field, std::move(message)));
  }
  static Diagnostic make(Diagnostic::Severity severity, const Object& o, const YAML::Node& at,
                         const std::string& field, std::string message) {
    SourcePosition p = position_of(at);
    if (p.line == 0) p = o.position;
    return {severity, o.file, p, o.field(field), o.label() + ": " + message};
  }
  Located locate(const Object& o, const YAML::Node& n) const {
    SourcePosition p = position_of(n);
    return {o.file, p.line > 0 ? p : o.position};
  }

  // Typed reads of an optional field. Absent or null leaves `out` unchanged and returns true;
  // a value of the wrong type is an error and returns false.
  bool read_string(const Object& o, const YAML::Node& n, const std::string& field,
                   std::string* out);
  bool read_uint(const Object& o, const YAML::Node& n, const std::string& field, uint64_t min,
                 uint64_t max, uint64_t* out);
  bool read_labels(const Object& o, const YAML::Node& n, const std::string& field, Labels* out);
  bool read_bool(const Object& o, const YAML::Node& n, const std::string& field, bool* out);
  // Whether `n` is a mapping (true) or absent/null (false, no error) or else (false, error).
  bool is_map(const Object& o, const YAML::Node& n, const std::string& field);
  bool is_list(const Object& o, const YAML::Node& n, const std::string& field);

  scenario::Scenario* scenario_;
  Diagnostics* diagnostics_;
  SourceMap* source_map_;
  std::vector<ImportedService> services_;
  std::vector<Workload> workloads_;
  std::vector<Slice> slices_;
  // "Kind/namespace/name" -> where it was first defined.
  std::map<std::string, Located> seen_;
  size_t file_errors_start_ = 0;
  bool file_stopped_ = false;
};

bool Importer::is_map(const Object& o, const YAML::Node& n, const std::string& field) {
  if (absent(n)) return false;
  if (n.IsMap()) return true;
  error(o, n, field, std::string("expected a mapping, got ") + yaml_node_kind(n));
  return false;
}

bool Importer::is_list(const Object& o, const YAML::Node& n, const std::string& field) {
  if (absent(n)) return false;
  if (n.IsSequence()) return true;
  error(o, n, field, std::string("expected a list, got ") + yaml_node_kind(n));
  return false;
}

bool Importer::read_string(const Object& o, const YAML::Node& n, const std::string& field,
                           std::string* out) {
  if (absent(n)) return true;
  if (!n.IsScalar()) {
    error(o, n, field, std::string("expected a string, got ") + yaml_node_kind(n));
    return false;
  }
  *out = n.Scalar();
  return true;
}

bool Importer::read_uint(const Object& o, const YAML::Node& n, const std::string& field,
                         uint64_t min, uint64_t max, uint64_t* out) {
  if (absent(n)) return true;
  if (!n.IsScalar()) {
    error(o, n, field, std::string("expected an integer, got ") + yaml_node_kind(n));
    return false;
  }
  const std::string& text = n.Scalar();
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (!all_digits(text) || ec != std::errc() || ptr != text.data() + text.size()) {
    const bool negative = !text.empty() && text[0] == '-' && all_digits(text.substr(1));
    error(o, n, field,
          negative ? "must be >= " + std::to_string(min) + ", got " + text
                   : "expected an integer, got '" + text + "'");
    return false;
  }
  if (v < min || v > max) {
    error(o, n, field,
          "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + text);
    return false;
  }
  *out = v;
  return true;
}

bool Importer::read_bool(const Object& o, const YAML::Node& n, const std::string& field,
                         bool* out) {
  if (absent(n)) return true;
  if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "True" || n.Scalar() == "TRUE")) {
    *out = true;
    return true;
  }
  if (n.IsScalar() && (n.Scalar() == "false" || n.Scalar() == "False" || n.Scalar() == "FALSE")) {
    *out = false;
    return true;
  }
  error(
      o, n, field,
      "expected true or false, got " + (n.IsScalar() ? "'" + n.Scalar() + "'" : yaml_node_kind(n)));
  return false;
}

bool Importer::read_labels(const Object& o, const YAML::Node& n, const std::string& field,
                           Labels* out) {
  if (absent(n)) return true;
  if (!n.IsMap()) {
    error(o, n, field, std::string("expected a mapping of labels, got ") + yaml_node_kind(n));
    return false;
  }
  bool ok = true;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      error(o, key, field, std::string("a label key must be a string, got ") + yaml_node_kind(key));
      ok = false;
      continue;
    }
    const std::string path = field + "[" + key.Scalar() + "]";
    if (!absent(value) && !value.IsScalar()) {
      error(o, value, path,
            std::string("a label value must be a string, got ") + yaml_node_kind(value));
      ok = false;
      continue;
    }
    (*out)[key.Scalar()] = absent(value) ? std::string() : value.Scalar();
  }
  return ok;
}

void Importer::add_text(std::string_view text, const std::string& file) {
  file_errors_start_ = diagnostics_->error_count();
  file_stopped_ = false;
  if (text.empty()) {
    diagnostics_->warning(file, {}, "", "the manifest file is empty: no Kubernetes objects");
    return;
  }
  if (std::string problem = check_text(text); !problem.empty()) {
    diagnostics_->error(file, {}, "", problem);
    return;
  }
  realproxy::YamlDocuments loaded = realproxy::load_yaml_documents(text);
  if (!loaded.ok()) {
    diagnostics_->error(file, {loaded.line, loaded.column}, "", loaded.error);
    return;
  }
  const std::vector<YAML::Node>& documents = loaded.documents;
  const size_t objects_before = seen_.size();
  const size_t diagnostics_before = diagnostics_->items().size();
  for (size_t i = 0; i < documents.size() && !file_stopped_; ++i) {
    add_document(documents[i], file, "", 0);
  }
  if (seen_.size() == objects_before && diagnostics_->items().size() == diagnostics_before) {
    diagnostics_->warning(file, {}, "", "no Kubernetes objects in the manifest file");
  }
}

void Importer::add_document(const YAML::Node& doc, const std::string& file,
                            const std::string& prefix, int list_depth) {
  if (absent(doc)) return;  // `---` with nothing after it
  if (diagnostics_->error_count() - file_errors_start_ >= kMaxErrorsPerFile) {
    diagnostics_->error(file, position_of(doc), "",
                        "too many errors; the rest of this file is not read");
    file_stopped_ = true;
    return;
  }
  Object o;
  o.file = file;
  o.prefix = prefix;
  o.position = position_of(doc);
  try {
    if (!doc.IsMap()) {
      diagnostics_->error(file, o.position, prefix,
                          std::string("expected a Kubernetes object (a mapping with apiVersion, "
                                      "kind, metadata), got ") +
                              yaml_node_kind(doc));
      return;
    }
    const YAML::Node kind = child(doc, "kind");
    const YAML::Node api_version = child(doc, "apiVersion");
    if (!read_string(o, kind, "kind", &o.kind) ||
        !read_string(o, api_version, "apiVersion", &o.api_version)) {
      return;
    }
    if (o.kind.empty()) {
      error(o, doc, "kind", "not a Kubernetes object: 'kind' is missing");
      return;
    }
    const YAML::Node metadata = child(doc, "metadata");
    if (is_map(o, metadata, "metadata")) {
      if (!read_string(o, child(metadata, "name"), "metadata.name", &o.name) ||
          !read_string(o, child(metadata, "namespace"), "metadata.namespace", &o.ns)) {
        return;
      }
    } else if (!absent(metadata)) {
      return;
    }
    // `kubectl get -o yaml` writes `kind: List`; the API itself writes ServiceList and so on.
    if (o.kind == "List" ||
        (o.kind.size() > 4 && o.kind.ends_with("List") && child(doc, "items").IsDefined())) {
      const YAML::Node items = child(doc, "items");
      if (list_depth >= kMaxListDepth) {
        error(o, doc, "", "lists nested more than " + std::to_string(kMaxListDepth) + " deep");
        return;
      }
      if (!is_list(o, items, "items")) return;
      for (size_t i = 0; i < items.size() && !file_stopped_; ++i) {
        add_document(items[i], file, o.field("items[" + std::to_string(i) + "]"), list_depth + 1);
      }
      return;
    }
    add_object(o, doc);
  } catch (const std::exception& e) {
    // yaml-cpp throws on unexpected shapes; every path above is meant to check first.
    error(o, doc, "", std::string("cannot read this object: ") + e.what());
  }
}

bool Importer::check_unique(const Object& o) {
  const std::string key = o.kind + "/" + o.ns + "/" + o.name;
  auto [it, inserted] = seen_.try_emplace(key, Located{o.file, o.position});
  if (inserted) return true;
  const Located& first = it->second;
  error(o, YAML::Node(YAML::NodeType::Undefined), "",
        "defined twice: first at " + first.file + ":" + std::to_string(first.position.line) + ":" +
            std::to_string(first.position.column) + ", again here; this one is ignored");
  return false;
}

void Importer::add_object(const Object& in, const YAML::Node& n) {
  Object o = in;
  const auto& versions = supported_api_versions();
  const auto supported = versions.find(o.kind);
  if (supported == versions.end()) {
    // The message names the object itself: "skipped kind ConfigMap (shop/settings)".
    const SourcePosition at = position_of(child(n, "kind"));
    diagnostics_->warning(o.file, at.line > 0 ? at : o.position, o.field("kind"),
                          "skipped kind " + o.kind + " (" +
                              (o.ns.empty() ? o.name : o.ns + "/" + o.name) +
                              "): the simulation does not use it");
    return;
  }
  // IngressClass is cluster-scoped: a namespace written on it means nothing.
  o.ns = o.kind == "IngressClass" ? std::string() : ns_or_default(o.ns);
  if (o.api_version != supported->second) {
    error(o, child(n, "apiVersion"), "apiVersion",
          "apiVersion " + (o.api_version.empty() ? std::string("(missing)") : o.api_version) +
              " is not supported; convert to " + supported->second +
              (o.kind == "Ingress" ? " (its backends are service.name/service.port, not "
                                     "serviceName/servicePort)"
                                   : ""));
    return;
  }
  if (o.name.empty()) {
    error(o, child(n, "metadata"), "metadata.name", "metadata.name is required");
    return;
  }
  if (!check_unique(o)) return;
  if (o.kind == "Ingress" || o.kind == "IngressClass") {
    add_ingress_or_class(o, n);
  } else if (o.kind == "Service") {
    add_service(o, n);
  } else if (o.kind == "Deployment" || o.kind == "DaemonSet") {
    add_workload(o, n);
  } else if (o.kind == "EndpointSlice") {
    add_endpoint_slice(o, n);
  }
}

void Importer::add_ingress_or_class(const Object& o, const YAML::Node& n) {
  const bool is_ingress = o.kind == "Ingress";
  auto* routing = scenario_->mutable_routing();
  google::protobuf::Message* target = nullptr;
  std::string scenario_path;
  if (is_ingress) {
    scenario_path = "routing.ingresses[" + std::to_string(routing->ingresses_size()) + "]";
    target = routing->add_ingresses();
  } else {
    scenario_path =
        "routing.ingress_classes[" + std::to_string(routing->ingress_classes_size()) + "]";
    target = routing->add_ingress_classes();
  }
  YamlReadOptions options;
  options.file = o.file;
  options.path_prefix = scenario_path;
  options.ignore_unknown_fields = true;
  options.max_nodes = kMaxNodesPerObject;
  Diagnostics local;
  read_yaml_message(n, target, options, &local, source_map_);
  // Say the problems in the manifest's own terms: its field path and the object's name.
  for (Diagnostic d : local.items()) {
    std::string field = d.field_path;
    if (field.starts_with(scenario_path)) {
      field = field.substr(scenario_path.size());
      if (!field.empty() && field[0] == '.') field = field.substr(1);
    }
    d.field_path = o.field(field);
    d.message = o.label() + ": " + d.message;
    diagnostics_->add(std::move(d));
  }
}

void Importer::add_service(const Object& o, const YAML::Node& n) {
  ImportedService s;
  s.object = o;
  const YAML::Node metadata = child(n, "metadata");
  s.name_at = locate(o, child(metadata, "name"));
  s.has_namespace = !absent(child(metadata, "namespace"));
  s.namespace_at = locate(o, child(metadata, "namespace"));
  const YAML::Node spec = child(n, "spec");
  if (!is_map(o, spec, "spec")) {
    if (absent(spec)) services_.push_back(std::move(s));
    return;
  }
  std::string type;
  if (!read_string(o, child(spec, "type"), "spec.type", &type)) return;
  if (!type.empty() && type != "ClusterIP" && type != "NodePort" && type != "LoadBalancer") {
    warning(
        o, child(spec, "type"), "spec.type",
        "type " + type + " does not route to pods; skipped" +
            (type == "ExternalName" ? " (it is a DNS alias for a host outside the cluster)" : ""));
    return;
  }
  // What could be read is kept after an error (it is reported), so later checks still run.
  read_labels(o, child(spec, "selector"), "spec.selector", &s.selector);
  const YAML::Node ports = child(spec, "ports");
  s.ports_at = locate(o, ports);
  if (is_list(o, ports, "spec.ports")) {
    for (size_t i = 0; i < ports.size(); ++i) {
      const YAML::Node p = ports[i];
      const std::string field = "spec.ports[" + std::to_string(i) + "]";
      if (!p.IsMap()) {
        error(o, p, field,
              std::string("expected a mapping (name, port, targetPort), got ") + yaml_node_kind(p));
        continue;
      }
      ImportedPort ip;
      ip.field = field;
      ip.at = locate(o, p);
      ip.port_at = locate(o, child(p, "port"));
      ip.name_at = locate(o, child(p, "name"));
      ip.target_at = locate(o, child(p, "targetPort"));
      std::string name;
      std::string protocol;
      uint64_t number = 0;
      if (!read_string(o, child(p, "name"), field + ".name", &name) ||
          !read_string(o, child(p, "protocol"), field + ".protocol", &protocol) ||
          !read_uint(o, child(p, "port"), field + ".port", 1, 65535, &number)) {
        continue;
      }
      if (absent(child(p, "port"))) {
        error(o, p, field + ".port", "port is required");
        continue;
      }
      if (!protocol.empty() && protocol != "TCP") {
        warning(o, child(p, "protocol"), field + ".protocol",
                "protocol " + protocol + " port skipped (only TCP traffic is simulated)");
        continue;
      }
      ip.port.set_name(name);
      ip.port.set_port(static_cast<uint32_t>(number));
      // Kubernetes: targetPort defaults to port; a string names a container port.
      const YAML::Node target = child(p, "targetPort");
      uint64_t target_number = number;
      if (!absent(target) && target.IsScalar() && !all_digits(target.Scalar())) {
        if (target.Scalar().empty() || target.Scalar()[0] == '-') {
          read_uint(o, target, field + ".targetPort", 1, 65535, &target_number);
          continue;
        }
        ip.target_name = target.Scalar();
        target_number = 0;
      } else if (!read_uint(o, target, field + ".targetPort", 1, 65535, &target_number)) {
        continue;
      }
      ip.port.set_target_port(static_cast<uint32_t>(target_number));
      s.ports.push_back(std::move(ip));
    }
  }
  services_.push_back(std::move(s));
}

void Importer::add_workload(const Object& o, const YAML::Node& n) {
  Workload w;
  w.object = o;
  w.daemonset = o.kind == "DaemonSet";
  w.replicas_at = {o.file, o.position};
  const YAML::Node spec = child(n, "spec");
  if (!is_map(o, spec, "spec")) {
    if (absent(spec)) error(o, n, "spec", "spec is required");
    return;
  }
  bool ok = true;
  if (!w.daemonset) {
    const YAML::Node replicas = child(spec, "replicas");
    uint64_t value = 1;
    ok = read_uint(o, replicas, "spec.replicas", 0, std::numeric_limits<uint32_t>::max(), &value);
    w.replicas = static_cast<uint32_t>(value);
    if (!absent(replicas)) w.replicas_at = locate(o, replicas);
  }
  const YAML::Node tmpl = child(spec, "template");
  if (is_map(o, tmpl, "spec.template")) {
    const YAML::Node tmeta = child(tmpl, "metadata");
    if (is_map(o, tmeta, "spec.template.metadata")) {
      ok = read_labels(o, child(tmeta, "labels"), "spec.template.metadata.labels", &w.labels) && ok;
    }
    const YAML::Node pod = child(tmpl, "spec");
    if (is_map(o, pod, "spec.template.spec")) {
      if (w.daemonset && !absent(child(pod, "nodeSelector"))) {
        warning(o, child(pod, "nodeSelector"), "spec.template.spec.nodeSelector",
                "nodeSelector ignored (scenario nodes have no labels): one pod on every node "
                "is assumed");
      }
      const YAML::Node containers = child(pod, "containers");
      if (is_list(o, containers, "spec.template.spec.containers")) {
        for (size_t c = 0; c < containers.size(); ++c) {
          const std::string cfield = "spec.template.spec.containers[" + std::to_string(c) + "]";
          const YAML::Node container = containers[c];
          if (!is_map(o, container, cfield)) {
            if (absent(container)) error(o, container, cfield, "empty list element");
            ok = false;
            continue;
          }
          const YAML::Node ports = child(container, "ports");
          if (!is_list(o, ports, cfield + ".ports")) continue;
          for (size_t i = 0; i < ports.size(); ++i) {
            const std::string pfield = cfield + ".ports[" + std::to_string(i) + "]";
            const YAML::Node p = ports[i];
            if (!is_map(o, p, pfield)) {
              ok = false;
              continue;
            }
            ContainerPort cp;
            uint64_t number = 0;
            if (!read_string(o, child(p, "name"), pfield + ".name", &cp.name) ||
                !read_uint(o, child(p, "containerPort"), pfield + ".containerPort", 1, 65535,
                           &number)) {
              ok = false;
              continue;
            }
            cp.number = static_cast<uint32_t>(number);
            if (cp.number != 0) w.ports.push_back(std::move(cp));
          }
        }
      }
    }
  }
  if (!ok) return;  // a half-read workload would give Services the wrong number of pods
  workloads_.push_back(std::move(w));
}

void Importer::add_endpoint_slice(const Object& o, const YAML::Node& n) {
  Slice s;
  s.object = o;
  Labels labels;
  const YAML::Node metadata = child(n, "metadata");
  if (!read_labels(o, child(metadata, "labels"), "metadata.labels", &labels)) return;
  const auto service = labels.find("kubernetes.io/service-name");
  if (service == labels.end() || service->second.empty()) {
    warning(o, metadata, "metadata.labels",
            "no kubernetes.io/service-name label naming its Service; skipped");
    return;
  }
  s.service = service->second;
  const YAML::Node endpoints = child(n, "endpoints");
  if (is_list(o, endpoints, "endpoints")) {
    for (size_t i = 0; i < endpoints.size(); ++i) {
      const std::string field = "endpoints[" + std::to_string(i) + "]";
      const YAML::Node e = endpoints[i];
      if (!e.IsMap()) {
        error(o, e, field,
              std::string("expected a mapping (addresses, conditions), got ") + yaml_node_kind(e));
        return;
      }
      // Kubernetes: a nil `ready` condition means ready.
      bool ready = true;
      const YAML::Node conditions = child(e, "conditions");
      if (is_map(o, conditions, field + ".conditions")) {
        if (!read_bool(o, child(conditions, "ready"), field + ".conditions.ready", &ready)) return;
      } else if (!absent(conditions)) {
        return;
      }
      if (ready) ++s.ready;
    }
  } else if (!absent(endpoints)) {
    return;
  }
  slices_.push_back(std::move(s));
}

uint32_t Importer::node_count() const {
  const auto& nodes = scenario_->cluster().nodes();
  if (nodes.empty()) return kDefaultNodeCount;
  uint64_t count = 0;
  for (const auto& node : nodes) {
    count += node.has_count() ? node.count() : 1;
  }
  return static_cast<uint32_t>(std::min<uint64_t>(count, std::numeric_limits<uint32_t>::max()));
}

void Importer::resolve_ports(const ImportedService& s, const std::vector<const Workload*>& pods,
                             Result* r) {
  for (const ImportedPort& ip : s.ports) {
    scenario::ServicePort port = ip.port;
    if (!ip.target_name.empty()) {
      const Workload* resolved_by = nullptr;
      for (const Workload* w : pods) {
        for (const ContainerPort& cp : w->ports) {
          if (cp.name != ip.target_name) continue;
          if (resolved_by == nullptr) {
            resolved_by = w;
            port.set_target_port(cp.number);
          } else if (cp.number != port.target_port()) {
            diagnostics_->warning(
                ip.target_at.file, ip.target_at.position, s.object.field(ip.field + ".targetPort"),
                s.object.label() + ": targetPort '" + ip.target_name + "' is containerPort " +
                    std::to_string(port.target_port()) + " in " + resolved_by->object.label() +
                    " but " + std::to_string(cp.number) + " in " + w->object.label() + "; using " +
                    std::to_string(port.target_port()));
          }
          break;
        }
      }
      if (resolved_by == nullptr) {
        std::string why;
        if (pods.empty()) {
          why = "no Deployment or DaemonSet in the manifests has pods its selector (" +
                labels_text(s.selector) + ") matches; write the port number instead";
        } else {
          why = "no container of ";
          for (size_t i = 0; i < pods.size(); ++i) {
            why += (i == 0 ? "" : i + 1 == pods.size() ? " or " : ", ") + pods[i]->object.label();
          }
          why += " has a port of that name";
        }
        r->port_errors.push_back(
            {Diagnostic::Severity::kError, ip.target_at.file, ip.target_at.position,
             s.object.field(ip.field + ".targetPort"),
             s.object.label() + ": cannot resolve targetPort '" + ip.target_name + "': " + why});
      }
    }
    *r->service.add_ports() = port;
    r->port_sources.push_back(&ip);
  }
}

void Importer::record_result(const Result& r, int index, bool with_ports) {
  const std::string base = "services[" + std::to_string(index) + "]";
  record(base, r.at);
  if (r.source != nullptr) {
    record(base + ".name", r.source->name_at);
    if (r.source->has_namespace) record(base + ".namespace", r.source->namespace_at);
  }
  if (with_ports && r.source != nullptr) {
    record(base + ".ports", r.source->ports_at);
    for (size_t i = 0; i < r.port_sources.size(); ++i) {
      const ImportedPort& ip = *r.port_sources[i];
      const std::string p = base + ".ports[" + std::to_string(i) + "]";
      record(p, ip.at);
      record(p + ".port", ip.port_at);
      record(p + ".name", ip.name_at);
      record(p + ".target_port", ip.target_at);
    }
  }
  if (r.replicas_at.has_value()) {
    record(base + ".deployment", *r.replicas_at);
    record(base + ".deployment.replicas", *r.replicas_at);
  }
}

void Importer::finish() {
  const uint32_t daemonset_pods = node_count();
  std::vector<Result> results;
  results.reserve(services_.size());
  for (const ImportedService& s : services_) {
    Result r;
    r.source = &s;
    r.at = {s.object.file, s.object.position};
    r.label = s.object.label();
    r.service.set_name(s.object.name);
    r.service.set_namespace_(s.object.ns);
    // The pods this Service selects: a non-empty selector that the pod template's labels satisfy.
    std::vector<const Workload*> pods;
    if (!s.selector.empty()) {
      for (Workload& w : workloads_) {
        if (w.object.ns != s.object.ns) continue;
        const bool selected =
            std::all_of(s.selector.begin(), s.selector.end(), [&](const auto& kv) {
              const auto it = w.labels.find(kv.first);
              return it != w.labels.end() && it->second == kv.second;
            });
        if (!selected) continue;
        w.matched = true;
        pods.push_back(&w);
      }
    }
    resolve_ports(s, pods, &r);
    if (!pods.empty()) {
      uint64_t replicas = 0;
      for (const Workload* w : pods) {
        replicas += w->daemonset ? daemonset_pods : w->replicas;
      }
      r.service.mutable_deployment()->set_replicas(static_cast<uint32_t>(
          std::min<uint64_t>(replicas, std::numeric_limits<uint32_t>::max())));
      r.replicas_at = pods.front()->replicas_at;
      r.replicas_from_pods = true;
    }
    results.push_back(std::move(r));
  }
  // EndpointSlices count pods for Services no workload in the manifests provides.
  const auto find_result = [&](const std::string& name, const std::string& ns) -> Result* {
    for (Result& r : results) {
      if (r.service.name() == name && r.service.namespace_() == ns) return &r;
    }
    return nullptr;
  };
  for (Slice& slice : slices_) {
    Result* r = find_result(slice.service, slice.object.ns);
    if (r == nullptr) {
      // A Service written only in the scenario still takes its pod count from the slices.
      const bool written = std::any_of(
          scenario_->services().begin(), scenario_->services().end(), [&](const auto& w) {
            return w.name() == slice.service && ns_or_default(w.namespace_()) == slice.object.ns;
          });
      if (!written) {
        warning(slice.object, YAML::Node(YAML::NodeType::Undefined), "metadata.labels",
                "Service " + slice.object.ns + "/" + slice.service +
                    " is neither in the manifests nor in the scenario's services; ignored");
        continue;
      }
      Result fresh;
      fresh.at = {slice.object.file, slice.object.position};
      fresh.label = "Service " + slice.object.ns + "/" + slice.service;
      fresh.service.set_name(slice.service);
      fresh.service.set_namespace_(slice.object.ns);
      results.push_back(std::move(fresh));
      r = &results.back();
    }
    if (r->replicas_from_pods) continue;  // a Deployment or DaemonSet in the manifests wins
    auto* deployment = r->service.mutable_deployment();
    deployment->set_replicas(deployment->replicas() + slice.ready);
    if (!r->replicas_at.has_value()) {
      r->replicas_at = Located{slice.object.file, slice.object.position};
    }
  }
  for (const Workload& w : workloads_) {
    if (w.matched) continue;
    warning(w.object, YAML::Node(YAML::NodeType::Undefined), "spec.template.metadata.labels",
            "no Service in the manifests selects its pods (labels " + labels_text(w.labels) +
                "); ignored");
  }

  // Merge: the scenario's own entries keep their places and win field by field; the other
  // imported Services follow in manifest order.
  auto* services = scenario_->mutable_services();
  std::vector<bool> merged(results.size(), false);
  const auto finish_result = [&](const Result& r, const scenario::Service& final_service,
                                 bool ports_from_manifest, int index) {
    record_result(r, index, ports_from_manifest);
    if (ports_from_manifest) {
      for (const Diagnostic& d : r.port_errors) {
        diagnostics_->add(d);
      }
    }
    if (!final_service.deployment().has_replicas()) {
      diagnostics_->warning(
          r.at.file, r.at.position,
          r.source != nullptr ? r.source->object.field("spec.selector") : "",
          r.label +
              ": no Deployment, DaemonSet or EndpointSlice in the manifests gives its "
              "pods; it gets the default of 1 replica (set services[" +
              final_service.name() + "].deployment.replicas in the scenario)");
    }
  };
  const int written_count = services->size();
  for (int k = 0; k < written_count; ++k) {
    scenario::Service* written = services->Mutable(k);
    for (size_t i = 0; i < results.size(); ++i) {
      if (merged[i] || results[i].service.name() != written->name() ||
          results[i].service.namespace_() != ns_or_default(written->namespace_())) {
        continue;
      }
      merged[i] = true;
      scenario::Service combined = results[i].service;
      const bool written_ports = written->ports_size() > 0;
      if (written_ports) combined.clear_ports();
      combined.MergeFrom(*written);
      *written = std::move(combined);
      finish_result(results[i], *written, !written_ports, k);
      break;
    }
  }
  for (size_t i = 0; i < results.size(); ++i) {
    if (merged[i]) continue;
    *services->Add() = results[i].service;
    finish_result(results[i], results[i].service, true, services->size() - 1);
  }
}

// Reads a manifest file named by routing.manifests[index]; problems are reported at that field.
bool read_manifest_file(const fs::path& path, const std::string& display, LoadedScenario* loaded,
                        const std::string& field, std::string* text) {
  const auto fail = [&](const std::string& problem) {
    loaded->diagnostics.error_at(loaded->source_map, field,
                                 "cannot import manifest " + display + ": " + problem);
    return false;
  };
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return fail("no such file");
  if (!fs::is_regular_file(status)) return fail("not a regular file");
  const auto size = fs::file_size(path, ec);
  if (!ec && size > kMaxFileBytes) {
    return fail("file too large (" + std::to_string(size) + " bytes; the limit is " +
                std::to_string(kMaxFileBytes) + ")");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open for reading");
  std::string bytes(kMaxFileBytes + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (in.bad()) return fail("read error");
  bytes.resize(static_cast<size_t>(in.gcount()));
  if (bytes.size() > kMaxFileBytes) {
    return fail("file too large (the limit is " + std::to_string(kMaxFileBytes) + " bytes)");
  }
  if (!bytes.empty()) {
    if (std::string problem = check_text(bytes); !problem.empty()) return fail(problem);
  }
  *text = std::move(bytes);
  return true;
}

bool is_yaml_name(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

void import_all(LoadedScenario* loaded) {
  const std::vector<std::string> paths(loaded->scenario.routing().manifests().begin(),
                                       loaded->scenario.routing().manifests().end());
  if (paths.empty()) return;
  Importer importer(&loaded->scenario, &loaded->diagnostics, &loaded->source_map);
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string field = "routing.manifests[" + std::to_string(i) + "]";
    if (paths[i].empty()) {
      loaded->diagnostics.error_at(loaded->source_map, field, "empty manifest path");
      continue;
    }
    const fs::path given(paths[i]);
    const fs::path resolved =
        (given.is_absolute() ? given : fs::path(loaded->base_dir) / given).lexically_normal();
    const std::string display = resolved.string();
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_directory(resolved, ec)) {
      for (fs::directory_iterator it(resolved, ec), end; !ec && it != end; it.increment(ec)) {
        // Anything but a directory: a broken link is reported when it is read.
        std::error_code entry_ec;
        if (is_yaml_name(it->path()) && !it->is_directory(entry_ec)) files.push_back(it->path());
      }
      if (ec) {
        loaded->diagnostics.error_at(
            loaded->source_map, field,
            "cannot import manifests from directory " + display + ": " + ec.message());
        continue;
      }
      std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
        return a.filename().string() < b.filename().string();
      });
      if (files.empty()) {
        loaded->diagnostics.warning_at(loaded->source_map, field,
                                       "directory " + display + " has no .yaml or .yml files");
      }
    } else {
      files.push_back(resolved);
    }
    for (const fs::path& file : files) {
      std::string text;
      if (!read_manifest_file(file, file.string(), loaded, field, &text)) continue;
      importer.add_text(text, file.string());
    }
  }
  importer.finish();
}

}  // namespace

void import_scenario_manifests(LoadedScenario* loaded) {
  if (loaded == nullptr) return;
  try {
    import_all(loaded);
  } catch (const std::exception& e) {  // std::bad_alloc, or a bug: an error, never a crash
    loaded->diagnostics.error_at(loaded->source_map, "routing.manifests",
                                 std::string("cannot import the manifests: ") + e.what());
  }
}

void import_manifest_text(std::string_view text, const std::string& file,
                          scenario::Scenario* scenario, Diagnostics* diagnostics,
                          SourceMap* source_map) {
  if (scenario == nullptr) return;
  Diagnostics ignored;
  Diagnostics* out = diagnostics != nullptr ? diagnostics : &ignored;
  try {
    Importer importer(scenario, out, source_map);
    importer.add_text(text, file);
    importer.finish();
  } catch (const std::exception& e) {
    out->error(file, {}, "", std::string("cannot import the manifest: ") + e.what());
  }
}

}  // namespace ingresslab::scenarios
