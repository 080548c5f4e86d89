// compile(): validated Ingress objects → RouteTable. Allocation and std::map are fine here; the
// matcher's hot path only probes the flat tables built at the end.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "realproxy/routing/route_table.h"
#include "realproxy/routing/validation.h"

namespace ingresslab::routing {
namespace detail {

class RouteTableBuilder {
 public:
  static CompileResult build(std::span<const IngressObject> objects, const CompileOptions& options);

 private:
  RouteTableBuilder(RouteTable* table, std::vector<Diagnostic>* diagnostics)
      : table_(table), diagnostics_(diagnostics) {}

  void add_object(const IngressObject& object, const ObjectRef& ref);
  void add_path(const IngressObject& object, const ObjectRef& ref, uint32_t bucket,
                uint32_t rule_index, uint32_t path_index);
  void add_tls(const IngressObject& object, const ObjectRef& ref);
  void finish();

  uint32_t bucket_for(const std::string& host);
  uint32_t new_node();
  uint32_t insert_prefix_path(uint32_t root, std::string_view path);
  void warn(const ObjectRef& ref, std::string field, std::string message);

  RouteTable* table_;
  std::vector<Diagnostic>* diagnostics_;

  std::map<std::string, uint32_t, std::less<>> bucket_by_host_;
  // (bucket, is Exact, path as written) → the route that owns it (the first one added).
  std::map<std::tuple<uint32_t, bool, std::string>, uint32_t> route_by_key_;
  // (parent node, segment) → child node.
  std::map<std::pair<uint32_t, std::string>, uint32_t> edges_;
  // TLS host ("" for the catch-all) → index in table_->tls_.
  std::map<std::string, uint32_t, std::less<>> tls_by_host_;

  std::vector<FlatStringMap::Entry> host_entries_;
  std::vector<FlatStringMap::Entry> exact_path_entries_;
  std::vector<FlatStringMap::Entry> tls_host_entries_;
};

namespace {

bool class_accepted(const IngressObject& object, const CompileOptions& options) {
  if (!options.ingress_class) return true;
  if (!object.ingress_class_name) return options.accept_ingresses_without_class;
  return *object.ingress_class_name == *options.ingress_class;
}

BackendTarget make_target(const IngressObject& object, const IngressBackend& backend) {
  // Validation guarantees exactly one of service / resource.
  BackendTarget target{std::string(effective_namespace(object)), ServiceBackend{}};
  if (backend.service) {
    target.target = *backend.service;
  } else {
    target.target = *backend.resource;
  }
  return target;
}

std::string quoted(std::string_view value) {
  return "\"" + std::string(value) + "\"";
}

std::string describe(const Route& route) {
  return "path " + quoted(route.path) + " (" + std::string(to_string(route.path_type)) + ") of " +
         route.ingress.to_string() + " " + route.field();
}

// Matching key of a Prefix/ImplementationSpecific path: trailing '/' do not matter ("/foo/" and
// "/foo" match the same requests; "/" is the empty key).
std::string_view prefix_key(std::string_view path) {
  while (path.ends_with('/'))
    path.remove_suffix(1);
  return path;
}

// ImplementationSpecific paths are matched as literal Prefix paths; these characters suggest the
// author expected the regular expressions some controllers (ingress-nginx use-regex) support.
bool looks_like_regex(std::string_view path) {
  return path.find_first_of("^$*+?()[]{}|\\") != std::string_view::npos;
}

}  // namespace

CompileResult RouteTableBuilder::build(std::span<const IngressObject> objects,
                                       const CompileOptions& options) {
  CompileResult result;
  struct Accepted {
    const IngressObject* object;
    ObjectRef ref;
  };
  std::vector<Accepted> accepted;
  for (const IngressObject& object : objects) {
    if (!class_accepted(object, options)) {
      result.ignored.push_back(object_ref(object));
    } else if (!validate_ingress(object, &result.diagnostics)) {
      result.skipped.push_back(object_ref(object));
    } else {
      accepted.push_back({&object, object_ref(object)});
    }
  }
  // Oldest first: conflicts go to the object that was there first (then namespace/name, so the
  // result does not depend on input order).
  std::stable_sort(accepted.begin(), accepted.end(), [](const Accepted& a, const Accepted& b) {
    return std::tie(a.object->creation_timestamp, a.ref) <
           std::tie(b.object->creation_timestamp, b.ref);
  });

  auto table = std::shared_ptr<RouteTable>(new RouteTable());
  RouteTableBuilder builder(table.get(), &result.diagnostics);
  std::set<ObjectRef> seen;
  for (const Accepted& entry : accepted) {
    if (!seen.insert(entry.ref).second) {
      result.diagnostics.push_back(Diagnostic{
          Severity::kError, entry.ref, "metadata.name",
          "Duplicate value: " + quoted(entry.ref.name) +
              ": another object with this namespace and name was given; the oldest is used"});
      result.skipped.push_back(entry.ref);
      continue;
    }
    builder.add_object(*entry.object, entry.ref);
  }
  builder.finish();
  result.table = std::move(table);
  return result;
}

void RouteTableBuilder::warn(const ObjectRef& ref, std::string field, std::string message) {
  diagnostics_->push_back(
      Diagnostic{Severity::kWarning, ref, std::move(field), std::move(message)});
}

void RouteTableBuilder::add_object(const IngressObject& object, const ObjectRef& ref) {
  if (object.default_backend) {
    if (!table_->default_backend_) {
      table_->default_backend_ = DefaultBackend{make_target(object, *object.default_backend), ref};
    } else {
      warn(ref, "spec.defaultBackend",
           "ignored: the default backend is the one of the oldest Ingress that has one, " +
               table_->default_backend_->ingress.to_string());
    }
    if (object.default_backend->resource) {
      warn(ref, "spec.defaultBackend.resource",
           "resource backends are not supported by realproxy; requests routed here get 503");
    }
  }
  for (size_t i = 0; i < object.rules.size(); ++i) {
    const IngressRule& rule = object.rules[i];
    // A rule without http still claims its host: its requests go to the default backend.
    const uint32_t bucket = bucket_for(rule.host);
    if (!rule.http) continue;
    for (size_t j = 0; j < rule.http->paths.size(); ++j) {
      add_path(object, ref, bucket, static_cast<uint32_t>(i), static_cast<uint32_t>(j));
    }
  }
  add_tls(object, ref);
}

void RouteTableBuilder::add_path(const IngressObject& object, const ObjectRef& ref, uint32_t bucket,
                                 uint32_t rule_index, uint32_t path_index) {
  const IngressRule& rule = object.rules[rule_index];
  const HttpIngressPath& path = rule.http->paths[path_index];
  const std::string field = path_field(rule_index, path_index);
  if (path.backend.resource) {
    warn(ref, field + ".backend.resource",
         "resource backends are not supported by realproxy; requests routed here get 503");
  }
  if (path.path_type == PathType::kImplementationSpecific && looks_like_regex(path.path)) {
    warn(ref, field + ".path",
         "ImplementationSpecific paths are matched as Prefix paths; regular-expression "
         "characters in " +
             quoted(path.path) + " are matched literally");
  }

  const bool exact = path.path_type == PathType::kExact;
  const auto key = std::make_tuple(bucket, exact, path.path);
  if (const auto owner = route_by_key_.find(key); owner != route_by_key_.end()) {
    const Route& winner = table_->routes_[owner->second];
    warn(ref, field,
         "Duplicate value: host " + quoted(rule.host) + " path " + quoted(path.path) + " (" +
             std::string(to_string(path.path_type)) + ") is already routed by " + describe(winner) +
             (winner.ingress == ref ? ", listed first, which wins"
                                    : ", the older Ingress, which wins") +
             "; this path has no effect");
    return;
  }

  const auto route_index = static_cast<uint32_t>(table_->routes_.size());
  table_->routes_.push_back(Route{rule.host, path.path, path.path_type,
                                  make_target(object, path.backend), ref, rule_index, path_index});
  route_by_key_.emplace(key, route_index);
  if (exact) {
    exact_path_entries_.push_back({bucket, path.path, route_index});
    table_->buckets_[bucket].has_exact_paths = true;
    return;
  }
  // Prefix paths that differ only in trailing '/' match the same requests; the longer path
  // wins (types.go: "/foo and /foo/ ... the longest matching path (/foo/) is given priority").
  const uint32_t node = insert_prefix_path(table_->buckets_[bucket].trie_root, path.path);
  uint32_t& slot = table_->node_route_[node];
  if (slot == kNoIndex) {
    slot = route_index;
    return;
  }
  const Route& incumbent = table_->routes_[slot];
  const Route& added = table_->routes_[route_index];
  const bool replace = added.path.size() > incumbent.path.size();
  const Route& loser = replace ? incumbent : added;
  const Route& winner = replace ? added : incumbent;
  warn(loser.ingress, loser.field(),
       "shadowed: " + describe(loser) + " matches the same requests as " + describe(winner) +
           ", which wins (longer path); it never matches");
  if (replace) slot = route_index;
}

void RouteTableBuilder::add_tls(const IngressObject& object, const ObjectRef& ref) {
  const std::string secret_namespace(effective_namespace(object));
  for (size_t i = 0; i < object.tls.size(); ++i) {
    const IngressTls& tls = object.tls[i];
    const std::string tls_field = "spec.tls[" + std::to_string(i) + "]";
    // An entry without hosts is the catch-all ("" below).
    std::vector<std::pair<std::string, std::string>> hosts;  // (host, field)
    if (tls.hosts.empty()) hosts.emplace_back("", tls_field);
    for (size_t j = 0; j < tls.hosts.size(); ++j) {
      hosts.emplace_back(tls.hosts[j], tls_field + ".hosts[" + std::to_string(j) + "]");
    }
    for (const auto& [host, field] : hosts) {
      if (const auto owner = tls_by_host_.find(host); owner != tls_by_host_.end()) {
        const TlsEntry& winner = table_->tls_[owner->second];
        if (winner.secret_namespace != secret_namespace || winner.secret_name != tls.secret_name) {
          warn(ref, field,
               "ignored: TLS host " + quoted(host) + " already uses secret " +
                   quoted(winner.secret_namespace + "/" + winner.secret_name) + " from " +
                   winner.ingress.to_string() + " (the oldest Ingress wins)");
        }
        continue;
      }
      const auto index = static_cast<uint32_t>(table_->tls_.size());
      table_->tls_.push_back(
          TlsEntry{host, secret_namespace, tls.secret_name, ref, static_cast<uint32_t>(i)});
      tls_by_host_.emplace(host, index);
      if (host.empty()) {
        table_->catch_all_tls_ = index;
      } else if (host.starts_with("*.")) {
        tls_host_entries_.push_back({RouteTable::kWildcardSuffixScope, host.substr(2), index});
      } else {
        tls_host_entries_.push_back({RouteTable::kExactHostScope, host, index});
      }
    }
  }
}

uint32_t RouteTableBuilder::bucket_for(const std::string& host) {
  if (const auto it = bucket_by_host_.find(host); it != bucket_by_host_.end()) return it->second;
  const auto bucket = static_cast<uint32_t>(table_->buckets_.size());
  HostMatch kind = HostMatch::kExact;
  if (host.empty()) {
    kind = HostMatch::kAnyHost;
    table_->any_host_bucket_ = bucket;
  } else if (host.starts_with("*.")) {
    kind = HostMatch::kWildcard;
    host_entries_.push_back({RouteTable::kWildcardSuffixScope, host.substr(2), bucket});
  } else {
    host_entries_.push_back({RouteTable::kExactHostScope, host, bucket});
  }
  table_->buckets_.push_back({kind, new_node(), false});
  bucket_by_host_.emplace(host, bucket);
  return bucket;
}

uint32_t RouteTableBuilder::new_node() {
  table_->node_route_.push_back(kNoIndex);
  return static_cast<uint32_t>(table_->node_route_.size() - 1);
}

// The node of `path`'s segments below `root`, created as needed. "/a/b/" → root/"a"/"b";
// "/" and "" → root. Empty segments ("/a//b", only possible for ImplementationSpecific) are kept.
uint32_t RouteTableBuilder::insert_prefix_path(uint32_t root, std::string_view path) {
  const std::string_view key = prefix_key(path);
  uint32_t node = root;
  if (key.empty()) return node;
  size_t begin = 1;  // validated: key starts with '/'
  while (true) {
    size_t end = key.find('/', begin);
    if (end == std::string_view::npos) end = key.size();
    auto edge = std::make_pair(node, std::string(key.substr(begin, end - begin)));
    if (const auto it = edges_.find(edge); it != edges_.end()) {
      node = it->second;
    } else {
      const uint32_t child = new_node();
      edges_.emplace(std::move(edge), child);
      node = child;
    }
    if (end == key.size()) return node;
    begin = end + 1;
  }
}

void RouteTableBuilder::finish() {
  std::vector<FlatStringMap::Entry> edge_entries;
  edge_entries.reserve(edges_.size());
  for (const auto& [edge, child] : edges_)
    edge_entries.push_back({edge.first, edge.second, child});
  table_->hosts_ = FlatStringMap(host_entries_);
  table_->exact_paths_ = FlatStringMap(exact_path_entries_);
  table_->trie_edges_ = FlatStringMap(edge_entries);
  table_->tls_hosts_ = FlatStringMap(tls_host_entries_);
}

}  // namespace detail

CompileResult compile(std::span<const IngressObject> objects, const CompileOptions& options) {
  return detail::RouteTableBuilder::build(objects, options);
}

}  // namespace ingresslab::routing
