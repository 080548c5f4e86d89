#include "realproxy/routing/request.h"

namespace ingresslab::routing {

std::string_view host_for_matching(std::string_view host_header) noexcept {
  std::string_view host = host_header;
  if (host.starts_with('[')) {
    // IPv6 literal: "[v6]" or "[v6]:port"; keep the brackets, drop the port.
    const size_t close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
    return host;
  }
  host = host.substr(0, host.find(':'));
  if (host.ends_with('.')) host.remove_suffix(1);
  return host;
}

std::string_view path_for_matching(std::string_view request_path) noexcept {
  // A plain loop: string_view::find_first_of calls memchr once per byte of the path.
  size_t end = 0;
  while (end < request_path.size() && request_path[end] != '?' && request_path[end] != '#')
    ++end;
  if (end == 0) return "/";
  return request_path.substr(0, end);
}

}  // namespace ingresslab::routing
