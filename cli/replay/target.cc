#include "cli/replay/target.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ingresslab::replay {

std::optional<ParsedUrl> parse_url(const std::string& url, std::string* error) {
  ParsedUrl u;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    u.https = true;
    rest = url.substr(8);
  } else {
    *error = "'" + url + "' is not an http:// or https:// URL";
    return std::nullopt;
  }
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.path = rest.substr(slash);
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) {
      *error = "'" + url + "': unterminated [IPv6] address";
      return std::nullopt;
    }
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        *error = "'" + url + "': expected ':' after ']'";
        return std::nullopt;
      }
      port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) {
    *error = "'" + url + "': no host";
    return std::nullopt;
  }
  if (port.empty()) {
    u.port = u.https ? 443 : 80;
  } else {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
      *error = "'" + url + "': bad port '" + port + "'";
      return std::nullopt;
    }
    u.port = std::stoi(port);
    if (u.port < 1 || u.port > 65535) {
      *error = "'" + url + "': port " + port + " out of range";
      return std::nullopt;
    }
  }
  return u;
}

bool resolve(const std::string& host, int port, sockaddr_storage* addr, socklen_t* len,
             std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    *error = "cannot resolve '" + host + "': " + gai_strerror(rc);
    return false;
  }
  std::memcpy(addr, res->ai_addr, res->ai_addrlen);
  *len = static_cast<socklen_t>(res->ai_addrlen);
  freeaddrinfo(res);
  return true;
}

bool entry_from_url(const std::string& url, Entry* entry, std::string* error) {
  const std::optional<ParsedUrl> u = parse_url(url, error);
  if (!u) return false;
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (!resolve(u->host, u->port, &addr, &len, error)) return false;
  if (entry->name.empty()) entry->name = url;
  if (u->https) {
    entry->https_addr = addr;
    entry->https_addr_len = len;
  } else {
    entry->http_addr = addr;
    entry->http_addr_len = len;
  }
  return true;
}

std::optional<std::string> http_get(const std::string& url, std::chrono::milliseconds timeout,
                                    std::string* error) {
  const std::optional<ParsedUrl> u = parse_url(url, error);
  if (!u) return std::nullopt;
  if (u->https) {
    *error = url + ": only http is supported here";
    return std::nullopt;
  }
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (!resolve(u->host, u->port, &addr, &len, error)) return std::nullopt;
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return std::nullopt;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto wait = [&](short events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    return poll(&p, 1, static_cast<int>(left.count())) > 0;
  };
  std::string response;
  bool ok = false;
  do {
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) {
      *error = url + ": " + std::strerror(errno);
      break;
    }
    if (!wait(POLLOUT)) {
      *error = url + ": connect timed out";
      break;
    }
    int err = 0;
    socklen_t elen = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) {
      *error = url + ": " + std::strerror(err);
      break;
    }
    const std::string request =
        "GET " + u->path + " HTTP/1.1\r\nHost: " + u->host + "\r\nConnection: close\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      *error = url + ": send failed";
      break;
    }
    char buf[65536];
    for (;;) {
      if (!wait(POLLIN)) {
        *error = url + ": no complete answer in time";
        break;
      }
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        ok = n == 0;
        break;
      }
      response.append(buf, static_cast<size_t>(n));
      if (response.size() > (64u << 20)) {
        *error = url + ": answer too large";
        break;
      }
    }
  } while (false);
  close(fd);
  if (!ok) {
    if (error->empty()) *error = url + ": read failed";
    return std::nullopt;
  }
  const size_t head_end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || response.size() < 12) {
    *error = url + ": malformed HTTP response";
    return std::nullopt;
  }
  if (response.compare(9, 3, "200") != 0) {
    *error = url + ": HTTP " + response.substr(9, 3);
    return std::nullopt;
  }
  std::string body = response.substr(head_end + 4);
  // Chunked answers: decode (h2o's admin handler may send chunked).
  const std::string head = response.substr(0, head_end);
  std::string lower;
  for (char c : head)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("transfer-encoding: chunked") != std::string::npos) {
    std::string decoded;
    size_t pos = 0;
    for (;;) {
      const size_t eol = body.find("\r\n", pos);
      if (eol == std::string::npos) break;
      const size_t size = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
      if (size == 0) break;
      decoded += body.substr(eol + 2, size);
      pos = eol + 2 + size + 2;
    }
    body = decoded;
  }
  return body;
}

}  // namespace ingresslab::replay
