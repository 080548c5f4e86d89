// YAML text (one or more `---` documents, as Kubernetes manifests are written) → yaml-cpp nodes,
// for both readers of Kubernetes objects: realproxy's (config/manifests.h) and the scenario
// importer's (scenarios/manifests.h).
//
// yaml-cpp 0.7's LoadAll never returns on a document that starts with a token no node can start
// with (a stray ',' at the top level): it reports an empty document without consuming the token,
// again and again, allocating each time until memory runs out. This walks the event stream first,
// without building nodes, and reports such a document as a syntax error at its position.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

namespace ingresslab::realproxy {

struct YamlDocuments {
  std::vector<YAML::Node> documents;  // empty when !ok()
  // On failure: what (starting "YAML syntax error: " for bad syntax) and where (1-based; 0 when
  // unknown).
  std::string error;
  int line = 0;
  int column = 0;

  bool ok() const { return error.empty(); }
};

// Never throws.
YamlDocuments load_yaml_documents(std::string_view text);

// Whether `node` has more than `budget` nodes (maps, lists, scalars, keys included) once its
// aliases are expanded: a few kilobytes of anchors and aliases can stand for billions of nodes
// ("billion laughs"). Counts at most budget + 1 nodes, without recursion. Never throws.
bool expands_beyond(const YAML::Node& node, size_t budget);

}  // namespace ingresslab::realproxy
