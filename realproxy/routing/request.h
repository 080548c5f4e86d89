// How the matcher reads the two request inputs, the Host header and the request path. Exposed so
// that the proxy (and tests) can show exactly what was matched. Pure, allocation-free.
#pragma once

#include <string_view>

namespace ingresslab::routing {

// The host part of a Host header (or :authority, or SNI server name) as matched against rules:
// - ":port" is removed (types.go: the port is not part of an Ingress host); an IPv6 literal
//   "[::1]:8080" keeps its brackets ("[::1]") and so can only match host-less rules;
// - one trailing '.' of a fully qualified name is removed ("foo.com." -> "foo.com"), as nginx does
//   in ngx_http_validate_host;
// - case is kept; lookups compare ASCII-case-insensitively (DNS names are case-insensitive,
//   RFC 4343), and valid rule hosts are lowercase.
std::string_view host_for_matching(std::string_view host_header) noexcept;

// The path as matched against rules: everything before the first '?' or '#' (types.go,
// HTTPIngressRuleValue: the path is the part of the URL "after the host and before the first '?'
// or '#'"); an empty result becomes "/" (RFC 9110 section 4.2.3: an empty path is "/"). No
// percent-decoding and no dot-segment or "//" normalisation is done here: pass the path the proxy
// routes on (normalised by the HTTP layer if the proxy normalises).
std::string_view path_for_matching(std::string_view request_path) noexcept;

}  // namespace ingresslab::routing
