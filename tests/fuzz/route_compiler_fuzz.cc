// libFuzzer target for realproxy/routing: decodes the input into a few Ingress objects with
// arbitrary strings, compiles them, then routes arbitrary Host/path pairs and SNI names through
// the table. Must never crash, hang or hit undefined behaviour, and the results must be
// self-consistent (checked below; a violation traps).
//
// Input format (every read past the end yields 0, so any byte string is a valid input):
//   input    := options:u8 object_count:u8 object{object_count % 5} query*
//   options  := bit0: CompileOptions.ingress_class = string; bit1: accept_ingresses_without_class
//   object   := namespace:string name:string creation_timestamp:i8 flags:u8
//               [ingress_class_name:string if flags&1] [default_backend:backend if flags&2]
//               rule_count:u8 rule{rule_count % 4} tls_count:u8 tls{tls_count % 3}
//   rule     := host:string has_http:u8 [path_count:u8 path{path_count % 4} if has_http&1]
//   path     := path:string path_type:u8 (% 4: unset, Exact, Prefix, ImplementationSpecific)
//               backend
//   backend  := kind:u8 (% 4: service, resource, both, neither) [service] [resource]
//   service  := name:string port_kind:u8 (% 3: none, number:i16, name:string)
//   resource := has_api_group:u8 [api_group:string] kind:string name:string
//   tls      := host_count:u8 host:string{host_count % 3} secret_name:string
//   query    := host:string path:string
//   string   := length:u8 token{length % 48}; a token is a byte t: 0 = the next byte, raw;
//               t < kFragments.size() = that fragment; otherwise the character t itself.
// The fragments make valid hosts and paths likely, so that the compiler and matcher, not just
// validation, get exercised. Seeds: tests/fuzz/route_compiler_corpus/.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "realproxy/routing/request.h"
#include "realproxy/routing/route_table.h"

namespace {

using namespace ingresslab::routing;

constexpr std::string_view kFragments[] = {
    "",   "/",   ".",  "*.",  "example.com", "cafe", "tea", "coffee", "-",     ":", "?", "#",
    "//", "%2f", "..", "svc", "http",        "80",   "a",   "b",      "[::1]", "*", "A", "default",
};

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return size_ == 0; }

  uint8_t byte() {
    if (size_ == 0) return 0;
    --size_;
    return *data_++;
  }

  int16_t i16() {
    const auto high = static_cast<uint16_t>(byte());
    return static_cast<int16_t>(static_cast<uint16_t>((high << 8) | byte()));
  }

  std::string string() {
    std::string out;
    const int tokens = byte() % 48;
    for (int i = 0; i < tokens && !empty(); ++i) {
      const uint8_t token = byte();
      if (token == 0) {
        out += static_cast<char>(byte());
      } else if (token < std::size(kFragments)) {
        out += kFragments[token];
      } else {
        out += static_cast<char>(token);
      }
    }
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

IngressBackend read_backend(Reader& in) {
  IngressBackend backend;
  const int kind = in.byte() % 4;
  if (kind == 0 || kind == 2) {
    ServiceBackend service;
    service.name = in.string();
    switch (in.byte() % 3) {
      case 0:
        break;
      case 1:
        service.port = static_cast<int32_t>(in.i16());
        break;
      default:
        service.port = in.string();
        break;
    }
    backend.service = std::move(service);
  }
  if (kind == 1 || kind == 2) {
    ResourceBackend resource;
    if (in.byte() & 1) resource.api_group = in.string();
    resource.kind = in.string();
    resource.name = in.string();
    backend.resource = std::move(resource);
  }
  return backend;
}

IngressObject read_object(Reader& in) {
  IngressObject object;
  object.namespace_ = in.string();
  object.name = in.string();
  object.creation_timestamp = static_cast<int8_t>(in.byte());
  const uint8_t flags = in.byte();
  if (flags & 1) object.ingress_class_name = in.string();
  if (flags & 2) object.default_backend = read_backend(in);
  const int rules = in.byte() % 4;
  for (int r = 0; r < rules; ++r) {
    IngressRule rule;
    rule.host = in.string();
    if (in.byte() & 1) {
      rule.http.emplace();
      const int paths = in.byte() % 4;
      for (int p = 0; p < paths; ++p) {
        HttpIngressPath path;
        path.path = in.string();
        path.path_type = static_cast<PathType>(in.byte() % 4);
        path.backend = read_backend(in);
        rule.http->paths.push_back(std::move(path));
      }
    }
    object.rules.push_back(std::move(rule));
  }
  const int tls_count = in.byte() % 3;
  for (int t = 0; t < tls_count; ++t) {
    IngressTls tls;
    const int hosts = in.byte() % 3;
    for (int h = 0; h < hosts; ++h)
      tls.hosts.push_back(in.string());
    tls.secret_name = in.string();
    object.tls.push_back(std::move(tls));
  }
  return object;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void check_match(const RouteTable& table, const MatchResult& match) {
  const std::span<const Route> routes = table.routes();
  switch (match.reason) {
    case MatchReason::kExactPath:
    case MatchReason::kPrefixPath:
      check(match.route != nullptr && match.route >= routes.data() &&
            match.route < routes.data() + routes.size());
      check(match.backend == &match.route->backend && match.ingress == &match.route->ingress);
      check((match.reason == MatchReason::kExactPath) ==
            (match.route->path_type == PathType::kExact));
      check(match.host_match != HostMatch::kNone);
      break;
    case MatchReason::kDefaultBackend:
      check(match.route == nullptr && table.default_backend() != nullptr);
      check(match.backend == &table.default_backend()->backend);
      break;
    case MatchReason::kNotFound:
      check(match.route == nullptr && match.backend == nullptr && match.ingress == nullptr);
      check(table.default_backend() == nullptr);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  CompileOptions options;
  const uint8_t option_bits = in.byte();
  if (option_bits & 1) options.ingress_class = in.string();
  options.accept_ingresses_without_class = (option_bits & 2) != 0;

  std::vector<IngressObject> objects;
  const int object_count = in.byte() % 5;
  for (int i = 0; i < object_count; ++i)
    objects.push_back(read_object(in));

  const CompileResult result = compile(objects, options);
  check(result.table != nullptr);
  check(result.skipped.size() + result.ignored.size() <= objects.size());
  for (const Diagnostic& diagnostic : result.diagnostics) {
    check(!diagnostic.field.empty() && !diagnostic.message.empty());
    (void)diagnostic.to_string();
  }
  const RouteTable& table = *result.table;

  // A request for a route's own (exact) host and path is answered by a route of that host. Paths
  // with '?' or '#' are skipped: the request would lose that part.
  for (const Route& route : table.routes()) {
    if (route.host.empty() || route.host.starts_with("*.")) continue;
    if (route.path.find_first_of("?#") != std::string::npos) continue;
    const MatchResult match = table.match(route.host, route.path.empty() ? "/" : route.path);
    check_match(table, match);
    check(match.route != nullptr && match.host_match == HostMatch::kExact);
    check(match.route->host == route.host);
  }

  while (!in.empty()) {
    const std::string host = in.string();
    const std::string path = in.string();
    const MatchResult match = table.match(host, path);
    check_match(table, match);
    // A port, a query or a fragment never changes the answer.
    if (host.find_first_of(":[") == std::string::npos) {
      const MatchResult with_port = table.match(host + ":1", path);
      check(with_port.route == match.route && with_port.backend == match.backend);
    }
    const MatchResult with_query = table.match(host, std::string(path_for_matching(path)) + "?q");
    check(with_query.route == match.route && with_query.backend == match.backend);
    if (const TlsEntry* tls = table.tls_for_sni(host)) {
      const std::span<const TlsEntry> entries = table.tls_entries();
      check(tls >= entries.data() && tls < entries.data() + entries.size());
    }
  }
  return 0;
}
