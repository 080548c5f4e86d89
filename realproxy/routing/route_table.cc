#include "realproxy/routing/route_table.h"

#include "realproxy/routing/request.h"
#include "realproxy/routing/validation.h"

namespace ingresslab::routing {
namespace {

using detail::kNoIndex;

struct HostLookup {
  uint32_t index = kNoIndex;
  HostMatch kind = HostMatch::kNone;
};

// Exact host first, then the wildcard "*.<suffix>" whose suffix is `host` minus its first label
// (which must be non-empty: a wildcard covers exactly one label).
HostLookup lookup_host(const detail::FlatStringMap& map, uint32_t exact_scope,
                       uint32_t wildcard_scope, std::string_view host) noexcept {
  if (host.empty()) return {};
  if (const uint32_t exact = map.find<true>(exact_scope, host); exact != kNoIndex) {
    return {exact, HostMatch::kExact};
  }
  const size_t dot = host.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == host.size()) return {};
  if (const uint32_t wildcard = map.find<true>(wildcard_scope, host.substr(dot + 1));
      wildcard != kNoIndex) {
    return {wildcard, HostMatch::kWildcard};
  }
  return {};
}

}  // namespace

std::string Route::field() const {
  return path_field(rule_index, path_index);
}

bool CompileResult::has_errors() const noexcept {
  for (const Diagnostic& diagnostic : diagnostics) {
    if (diagnostic.severity == Severity::kError) return true;
  }
  return false;
}

// An Exact rule that matches wins: its path equals the whole request path, so no Prefix rule can
// match more of it (README.md, choice C2). Otherwise the deepest trie node on the
// request's segment path that carries a Prefix route wins.
uint32_t RouteTable::match_path(uint32_t bucket, std::string_view path) const noexcept {
  if (path.empty() || path.front() != '/') return kNoIndex;
  const HostRules& rules = buckets_[bucket];
  if (rules.has_exact_paths) {
    if (const uint32_t exact = exact_paths_.find<false>(bucket, path); exact != kNoIndex) {
      return exact;
    }
  }
  uint32_t node = rules.trie_root;
  uint32_t best = node_route_[node];
  size_t begin = 1;  // first byte of the current segment
  while (begin <= path.size()) {
    size_t end = begin;  // a plain loop beats a memchr call on short segments
    while (end < path.size() && path[end] != '/')
      ++end;
    // The empty element after a trailing '/' is not a segment: "/foo/" is ["foo"].
    if (end == path.size() && begin == end) break;
    node = trie_edges_.find<false>(node, path.substr(begin, end - begin));
    if (node == kNoIndex) break;
    if (node_route_[node] != kNoIndex) best = node_route_[node];
    begin = end + 1;
  }
  return best;
}

MatchResult RouteTable::match(std::string_view host, std::string_view path) const noexcept {
  MatchResult result;
  HostLookup rules =
      lookup_host(hosts_, kExactHostScope, kWildcardSuffixScope, host_for_matching(host));
  if (rules.index == kNoIndex && any_host_bucket_ != kNoIndex) {
    rules = {any_host_bucket_, HostMatch::kAnyHost};
  }
  result.host_match = rules.kind;
  if (rules.index != kNoIndex) {
    const uint32_t route_index = match_path(rules.index, path_for_matching(path));
    if (route_index != kNoIndex) {
      const Route& route = routes_[route_index];
      result.reason =
          route.path_type == PathType::kExact ? MatchReason::kExactPath : MatchReason::kPrefixPath;
      result.route = &route;
      result.backend = &route.backend;
      result.ingress = &route.ingress;
      return result;
    }
  }
  if (default_backend_) {
    result.reason = MatchReason::kDefaultBackend;
    result.backend = &default_backend_->backend;
    result.ingress = &default_backend_->ingress;
  }
  return result;
}

const TlsEntry* RouteTable::tls_for_sni(std::string_view server_name) const noexcept {
  const HostLookup entry = lookup_host(tls_hosts_, kExactHostScope, kWildcardSuffixScope,
                                       host_for_matching(server_name));
  if (entry.index != kNoIndex) return &tls_[entry.index];
  if (catch_all_tls_ != kNoIndex) return &tls_[catch_all_tls_];
  return nullptr;
}

}  // namespace ingresslab::routing
