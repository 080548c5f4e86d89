#include "realproxy/server/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ingresslab::realproxy {

namespace {

bool split_host_port(std::string_view address, std::string* host, std::string* port) {
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return false;
    }
    *host = std::string(address.substr(1, close - 1));
    *port = std::string(address.substr(close + 2));
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return false;
    *host = std::string(address.substr(0, colon));
    *port = std::string(address.substr(colon + 1));
  }
  return !port->empty();
}

std::string format_address(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(sin6->sin6_port));
  }
  const auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
  inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(sin->sin_port));
}

}  // namespace

bool open_listeners(std::string_view address, int count, Listeners* out, std::string* error) {
  std::string host, port;
  if (!split_host_port(address, &host, &port)) {
    *error = "invalid listen address \"" + std::string(address) + "\": expected HOST:PORT";
    return false;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc =
          getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    *error = "invalid listen address \"" + std::string(address) + "\": " + gai_strerror(rc);
    return false;
  }
  sockaddr_storage bind_addr{};
  std::memcpy(&bind_addr, found->ai_addr, found->ai_addrlen);
  const socklen_t bind_len = found->ai_addrlen;
  const int family = found->ai_family;
  freeaddrinfo(found);

  out->fds.clear();
  for (int i = 0; i < count; ++i) {
    const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0 ||
        bind(fd, reinterpret_cast<sockaddr*>(&bind_addr), bind_len) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
      *error = "cannot listen on " + std::string(address) + ": " + std::strerror(errno);
      if (fd >= 0) close(fd);
      for (int open_fd : out->fds)
        close(open_fd);
      out->fds.clear();
      return false;
    }
    if (i == 0) {
      // Port 0: every further socket must bind the port the kernel chose for the first.
      socklen_t len = sizeof bind_addr;
      getsockname(fd, reinterpret_cast<sockaddr*>(&bind_addr), &len);
      out->bound = format_address(reinterpret_cast<const sockaddr*>(&bind_addr));
    }
    out->fds.push_back(fd);
  }
  return true;
}

}  // namespace ingresslab::realproxy
