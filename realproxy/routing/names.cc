#include "realproxy/routing/names.h"

#include <cstddef>
#include <cstdint>
#include <utility>

namespace ingresslab::routing {
namespace {

constexpr size_t kMaxSubdomainLength = 253;
constexpr size_t kMaxLabelLength = 63;
constexpr size_t kMaxPortNameLength = 15;

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_lower_alpha(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])? without a length limit.
bool matches_label_regex(std::string_view label) {
  if (label.empty() || !is_lower_alnum(label.front()) || !is_lower_alnum(label.back())) {
    return false;
  }
  for (const char c : label) {
    if (!is_lower_alnum(c) && c != '-') return false;
  }
  return true;
}

// label(\.label)* without a length limit.
bool matches_subdomain_regex(std::string_view value) {
  while (true) {
    const size_t dot = value.find('.');
    if (!matches_label_regex(value.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    value.remove_prefix(dot + 1);
  }
}

std::string join(std::string a, std::string_view b) {
  if (a.empty()) return std::string(b);
  a += "; ";
  a += b;
  return a;
}

constexpr std::string_view kSubdomainMessage =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com')";
constexpr std::string_view kWildcardMessage =
    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which "
    "must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric "
    "character (e.g. '*.example.com')";
constexpr std::string_view kLabelMessage =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')";
constexpr std::string_view kDns1035Message =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123')";

std::string max_length_error(size_t limit) {
  return "must be no more than " + std::to_string(limit) + " characters";
}

bool is_ipv4(std::string_view value) {
  int fields = 0;
  while (true) {
    const size_t dot = value.find('.');
    const std::string_view field = value.substr(0, dot);
    if (field.empty() || field.size() > 3) return false;
    int number = 0;
    for (const char c : field) {
      if (!is_digit(c)) return false;
      number = number * 10 + (c - '0');
    }
    if (number > 255) return false;
    ++fields;
    if (dot == std::string_view::npos) break;
    value.remove_prefix(dot + 1);
  }
  return fields == 4;
}

}  // namespace

bool is_dns1123_subdomain(std::string_view value) {
  return value.size() <= kMaxSubdomainLength && matches_subdomain_regex(value);
}

std::string dns1123_subdomain_error(std::string_view value) {
  std::string error;
  if (value.size() > kMaxSubdomainLength) error = max_length_error(kMaxSubdomainLength);
  if (!matches_subdomain_regex(value)) error = join(std::move(error), kSubdomainMessage);
  return error;
}

bool is_wildcard_dns1123_subdomain(std::string_view value) {
  return value.size() <= kMaxSubdomainLength && value.starts_with("*.") &&
         matches_subdomain_regex(value.substr(2));
}

std::string wildcard_dns1123_subdomain_error(std::string_view value) {
  std::string error;
  if (value.size() > kMaxSubdomainLength) error = max_length_error(kMaxSubdomainLength);
  if (!value.starts_with("*.") || !matches_subdomain_regex(value.substr(2))) {
    error = join(std::move(error), kWildcardMessage);
  }
  return error;
}

bool is_dns1123_label(std::string_view value) {
  return value.size() <= kMaxLabelLength && matches_label_regex(value);
}

std::string dns1123_label_error(std::string_view value) {
  std::string error;
  if (value.size() > kMaxLabelLength) error = max_length_error(kMaxLabelLength);
  if (!matches_label_regex(value)) error = join(std::move(error), kLabelMessage);
  return error;
}

bool is_dns1035_label(std::string_view value) {
  return dns1035_label_error(value).empty();
}

std::string dns1035_label_error(std::string_view value) {
  std::string error;
  if (value.size() > kMaxLabelLength) error = max_length_error(kMaxLabelLength);
  if (!matches_label_regex(value) || !is_lower_alpha(value.front())) {
    error = join(std::move(error), kDns1035Message);
  }
  return error;
}

std::string port_name_error(std::string_view value) {
  std::string error;
  if (value.empty() || value.size() > kMaxPortNameLength) {
    error = "must be no more than 15 characters";
    if (value.empty()) error = "must be non-empty";
  }
  bool only_allowed = true;
  bool has_letter = false;
  for (const char c : value) {
    if (!is_lower_alnum(c) && c != '-') only_allowed = false;
    if (is_lower_alpha(c)) has_letter = true;
  }
  if (!only_allowed) {
    error = join(std::move(error),
                 "must contain only alpha-numeric characters (a-z, 0-9), and "
                 "hyphens (-)");
  }
  if (value.find("--") != std::string_view::npos) {
    error = join(std::move(error), "must not contain consecutive hyphens");
  }
  if (!has_letter) error = join(std::move(error), "must contain at least one letter (a-z)");
  if (!value.empty() && (value.front() == '-' || value.back() == '-')) {
    error = join(std::move(error), "must not begin or end with a hyphen");
  }
  return error;
}

std::string port_number_error(int64_t value) {
  if (value >= 1 && value <= 65535) return {};
  return "must be between 1 and 65535, inclusive";
}

std::string path_segment_name_error(std::string_view value) {
  if (value == ".") return "may not be '.'";
  if (value == "..") return "may not be '..'";
  std::string error;
  if (value.find('/') != std::string_view::npos) error = "may not contain '/'";
  if (value.find('%') != std::string_view::npos) {
    error = join(std::move(error), "may not contain '%'");
  }
  return error;
}

bool is_ip_address(std::string_view value) {
  if (is_ipv4(value)) return true;
  if (value.find(':') == std::string_view::npos) return false;
  for (const char c : value) {
    if (!is_hex_digit(c) && c != ':' && c != '.') return false;
  }
  return true;
}

}  // namespace ingresslab::routing
