// The Ingress matcher: Ingress objects are compiled into an immutable RouteTable, which answers
// "which backend serves this Host + path?" and "which certificate serves this SNI name?".
//
// This is the one implementation of Ingress v1 routing in ingresslab: the real proxy and the
// simulator models both call it. It is pure code: no I/O, no global state, no dependency on the
// rest of the repository. The semantics, and every choice made where the Kubernetes spec is
// silent, are in realproxy/routing/README.md.
//
// Typical use:
//   CompileResult compiled = compile(objects, {});
//   for (const Diagnostic& d : compiled.diagnostics) log(d.to_string());
//   std::atomic<std::shared_ptr<const RouteTable>> live{compiled.table};   // hot reload: store()
//   MatchResult m = live.load()->match(host_header, path);
//
// Thread-safety: a RouteTable is immutable after compile(); all const methods may be called from
// any number of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "realproxy/routing/diagnostic.h"
#include "realproxy/routing/flat_map.h"
#include "realproxy/routing/ingress.h"

namespace ingresslab::routing {

// Where a matched request goes: a Service (by name and port number or name) or a resource
// backend, in the namespace of the Ingress that routed it.
struct BackendTarget {
  std::string namespace_;
  std::variant<ServiceBackend, ResourceBackend> target;

  // The Service, or nullptr for a resource backend (which realproxy answers with 503).
  const ServiceBackend* service() const noexcept { return std::get_if<ServiceBackend>(&target); }
  const ResourceBackend* resource() const noexcept { return std::get_if<ResourceBackend>(&target); }
};

// One compiled path rule, as written in its Ingress.
struct Route {
  std::string host;  // the rule's host: "foo.com", "*.foo.com", or "" (any host)
  std::string path;  // the rule's path as written ("" only for an ImplementationSpecific path)
  PathType path_type = PathType::kUnset;
  BackendTarget backend;
  ObjectRef ingress;  // the Ingress object the rule comes from
  uint32_t rule_index = 0;
  uint32_t path_index = 0;

  // "spec.rules[<rule_index>].http.paths[<path_index>]".
  std::string field() const;
};

// spec.defaultBackend of the Ingress that supplies the table's default backend.
struct DefaultBackend {
  BackendTarget backend;
  ObjectRef ingress;
};

// One TLS host → certificate Secret entry, from spec.tls[tls_index].hosts.
struct TlsEntry {
  std::string host;              // "foo.com", "*.foo.com", or "" (entry with no hosts: catch-all)
  std::string secret_namespace;  // the Ingress's namespace
  std::string secret_name;       // may be empty: "TLS routing based on SNI hostname alone"
  ObjectRef ingress;
  uint32_t tls_index = 0;
};

// How the Host header selected the set of rules a request was matched against.
enum class HostMatch : uint8_t {
  kNone,      // no rule has this host and there are no host-less rules
  kExact,     // a rule host equal to the Host header
  kWildcard,  // a "*.suffix" rule host; the Host header is one label + "." + suffix
  kAnyHost,   // no exact or wildcard host matched; the host-less rules were used
};

// Why the request got its answer.
enum class MatchReason : uint8_t {
  kExactPath,       // an Exact path rule matched
  kPrefixPath,      // a Prefix (or ImplementationSpecific, treated as Prefix) rule matched
  kDefaultBackend,  // no rule matched; the default backend serves it
  kNotFound,        // no rule matched and there is no default backend: answer 404
};

// The answer of RouteTable::match. Pointers refer into the RouteTable and stay valid as long as
// the table does (hold its shared_ptr while using them).
struct MatchResult {
  MatchReason reason = MatchReason::kNotFound;
  HostMatch host_match = HostMatch::kNone;
  const Route* route = nullptr;            // set iff kExactPath or kPrefixPath
  const BackendTarget* backend = nullptr;  // set unless kNotFound
  const ObjectRef* ingress = nullptr;      // the Ingress that decided; unset iff kNotFound

  bool found() const noexcept { return backend != nullptr; }
};

namespace detail {
class RouteTableBuilder;
}

class RouteTable {
 public:
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // Routes a request. `host` is the Host header (or HTTP/2 :authority) as received, port and
  // case allowed; `path` is the request path, query string and fragment allowed (they are
  // ignored). See request.h for the exact reading of both, README.md for the semantics.
  // Never allocates, never throws; any bytes are accepted.
  MatchResult match(std::string_view host, std::string_view path) const noexcept;

  // The TLS entry for a TLS ClientHello server name: an entry whose host equals it (case-
  // insensitively), else a "*.suffix" entry covering it (one label), else the catch-all entry
  // (a spec.tls item without hosts), else nullptr. An empty server name (no SNI) gets the
  // catch-all. Never allocates.
  const TlsEntry* tls_for_sni(std::string_view server_name) const noexcept;

  // Every active route (losers of duplicate conflicts are not in it), oldest Ingress first.
  std::span<const Route> routes() const noexcept { return routes_; }
  // The default backend, or nullptr.
  const DefaultBackend* default_backend() const noexcept {
    return default_backend_ ? &*default_backend_ : nullptr;
  }
  // Every active TLS entry, oldest Ingress first.
  std::span<const TlsEntry> tls_entries() const noexcept { return tls_; }
  // Number of distinct rule hosts (exact, wildcard, and "" if there are host-less rules).
  size_t host_count() const noexcept { return buckets_.size(); }

 private:
  friend class detail::RouteTableBuilder;

  // The rules of one rule host, merged over all Ingress objects.
  struct HostRules {
    HostMatch kind;
    uint32_t trie_root;            // node of the empty prefix path ("/")
    bool has_exact_paths = false;  // if false, match skips the Exact lookup
  };

  // Scopes of hosts_ and tls_hosts_.
  static constexpr uint32_t kExactHostScope = 0;
  static constexpr uint32_t kWildcardSuffixScope = 1;

  RouteTable() = default;

  uint32_t match_path(uint32_t host_rules_index, std::string_view path) const noexcept;

  std::vector<Route> routes_;
  std::optional<DefaultBackend> default_backend_;
  std::vector<TlsEntry> tls_;

  std::vector<HostRules> buckets_;
  uint32_t any_host_bucket_ = detail::kNoIndex;
  // (kExactHostScope, host) and (kWildcardSuffixScope, suffix after "*.") → index in buckets_.
  detail::FlatStringMap hosts_;
  // (bucket index, Exact path) → index in routes_.
  detail::FlatStringMap exact_paths_;
  // Segment trie of Prefix paths, all hosts in one table: (parent node, segment) → child node.
  detail::FlatStringMap trie_edges_;
  // Per trie node: the Prefix route for exactly that path, or kNoIndex.
  std::vector<uint32_t> node_route_;
  // Like hosts_, → index in tls_.
  detail::FlatStringMap tls_hosts_;
  uint32_t catch_all_tls_ = detail::kNoIndex;
};

struct CompileOptions {
  // If set, only Ingresses with spec.ingressClassName equal to it are compiled (plus those with no
  // class, if accept_ingresses_without_class). If unset, every object is compiled.
  std::optional<std::string> ingress_class;
  bool accept_ingresses_without_class = true;
};

struct CompileResult {
  // Never null: built from every valid, accepted object (possibly none).
  std::shared_ptr<const RouteTable> table;
  // Errors (their object was skipped) and warnings: validation errors in input order, then
  // duplicate-object errors and warnings, oldest object first.
  std::vector<Diagnostic> diagnostics;
  // Objects skipped because they had errors.
  std::vector<ObjectRef> skipped;
  // Objects not compiled because they belong to another ingress class (not an error).
  std::vector<ObjectRef> ignored;

  bool has_errors() const noexcept;
};

// Validates every object (validation.h), drops the invalid ones (as a controller does: the rest
// still route), and compiles the others into a RouteTable. Objects are merged per host; conflicts
// are resolved in favour of the oldest object (creation_timestamp, then namespace, then name) and
// reported as warnings. Deterministic: the same objects (with distinct namespace/name) in any
// order give the same table.
// Throws only std::bad_alloc (or std::length_error for more than 4 GiB of keys).
CompileResult compile(std::span<const IngressObject> objects, const CompileOptions& options);

}  // namespace ingresslab::routing
