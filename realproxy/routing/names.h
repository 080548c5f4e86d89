// Name syntax checks, transcribed from k8s.io/apimachinery/pkg/util/validation (validation.go).
// Each returns true iff the API server would accept the value; the *_error functions return the
// API server's message for a rejected value (empty if the value is accepted).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ingresslab::routing {

// IsDNS1123Subdomain: at most 253 characters, lowercase labels [a-z0-9]([-a-z0-9]*[a-z0-9])?
// joined by '.'. (Like the API server, no per-label length limit is applied.)
bool is_dns1123_subdomain(std::string_view value);
std::string dns1123_subdomain_error(std::string_view value);

// IsWildcardDNS1123Subdomain: "*." followed by a DNS-1123 subdomain, at most 253 characters.
bool is_wildcard_dns1123_subdomain(std::string_view value);
std::string wildcard_dns1123_subdomain_error(std::string_view value);

// IsDNS1123Label (namespaces): at most 63 characters, [a-z0-9]([-a-z0-9]*[a-z0-9])?.
bool is_dns1123_label(std::string_view value);
std::string dns1123_label_error(std::string_view value);

// IsDNS1035Label (Service names): at most 63 characters, [a-z]([-a-z0-9]*[a-z0-9])?.
bool is_dns1035_label(std::string_view value);
std::string dns1035_label_error(std::string_view value);

// IsValidPortName (IANA_SVC_NAME): 1-15 characters of [-a-z0-9], at least one letter, no leading,
// trailing or consecutive '-'.
std::string port_name_error(std::string_view value);

// IsValidPortNum: 1..65535.
std::string port_number_error(int64_t value);

// content.IsPathSegmentName (resource backend kind and name): not "." or "..", no '/' or '%'.
std::string path_segment_name_error(std::string_view value);

// Whether `value` parses as an IP address the way Go's net.ParseIP (netutils.ParseIPSloppy, which
// also accepts leading zeros in IPv4) would. IPv6 is recognised approximately: any value made only
// of hex digits, ':' and '.' that contains a ':' (such a value is never a valid DNS name anyway).
bool is_ip_address(std::string_view value);

}  // namespace ingresslab::routing
