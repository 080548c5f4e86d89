// Reads a YAML (or JSON) node tree into a protobuf message, following the protobuf JSON mapping
// (field names as written in the .proto or in lowerCamelCase, enums by name) with the scenario's
// additions: unit strings on fields marked with `(unit)` (options.proto), google.protobuf.Duration
// from `250us`-style strings, and a bare value as shorthand for a Distribution (`2ms` = constant,
// `exponential 2ms`).
//
// Unlike converting YAML to JSON text and calling JsonStringToMessage (which loses positions),
// this walk keeps every node's line and column, so each problem is reported where it was
// written, with its field path, and all problems in a file are reported at once.
#pragma once

#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "scenarios/diagnostics.h"

namespace ingresslab::scenarios {

struct YamlReadOptions {
  // File name used in diagnostics.
  std::string file;
  // Prefix for every field path (e.g. "routing.ingresses[0]").
  std::string path_prefix;
  // Kubernetes objects carry many fields the scenario does not model (status, managedFields,
  // resources…): when true, unknown fields are skipped silently instead of being errors.
  bool ignore_unknown_fields = false;
  // Nesting deeper than this is an error (guards recursive messages such as Mixture).
  int max_depth = 48;
  // At most this many YAML nodes are visited: mappings, lists, and values that are not list
  // elements (guards alias "billion laughs" expansion). Each becomes a protobuf field or message
  // and costs about a microsecond to read and as much again to validate: an alias bomb stops
  // here within about a second. (Large clusters are written with Node.count, not node by node.)
  int max_nodes = 250'000;
  // Elements of lists of plain values (Empirical.samples, Ingress TLS hosts, ...) are counted
  // apart: they cost a tenth as much, and large data sets are legitimate (a million samples is
  // an 8 MB file). At most this many in all.
  size_t max_list_values = 1'000'000;
};

// Reads `node` into `message` (merging into fields already set). Problems go to `diagnostics`;
// the positions of the fields read go to `source_map` (may be null). Returns true if no error
// was added. Never throws.
bool read_yaml_message(const YAML::Node& node, google::protobuf::Message* message,
                       const YamlReadOptions& options, Diagnostics* diagnostics,
                       SourceMap* source_map);

// Assigns the text `value` to the field at `path` in `message` (`cluster.kube_proxy.mode`,
// `services[coffee-svc].deployment.replicas`, `workload.clients[0].open_loop.rate`), parsing the
// value as YAML so lists and mappings work too (`routing.manifests: [a.yaml]`). A `[key]` index
// on a repeated message field selects the element whose `name` (or `metadata.name`) is key, or
// the element at that position if key is a number. Returns an empty string, or what is wrong.
std::string assign_field_path(google::protobuf::Message* message, const std::string& path,
                              const std::string& value);

// What a node is, for messages: "a list", "a mapping", "a scalar", "nothing".
const char* yaml_node_kind(const YAML::Node& node);

// Sets every field that has a `(default_value)` option and is not present, recursively through
// singular sub-messages (created as needed) and every element of repeated sub-messages. Fields
// inside an unset oneof are left alone.
void apply_defaults(google::protobuf::Message* message);

}  // namespace ingresslab::scenarios
