#include "tests/realproxy/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

namespace ingresslab::realproxy::testing {

namespace {

int connect_loopback(int port, std::string* error) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};  // never hang a test forever
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

std::string request_text(const std::string& method, const std::string& host,
                         const std::string& path) {
  return method + " " + path + " HTTP/1.1\r\nHost: " + host +
         "\r\nUser-Agent: realproxy-test\r\nConnection: close\r\n\r\n";
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::optional<HttpResponse> parse_response(const std::string& raw) {
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) return std::nullopt;
  HttpResponse r;
  const size_t sp = raw.find(' ');
  r.status = std::atoi(raw.c_str() + sp + 1);
  size_t at = raw.find("\r\n") + 2;
  while (at < head_end) {
    const size_t eol = raw.find("\r\n", at);
    const std::string line = raw.substr(at, eol - at);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ')
        ++v;
      r.headers[lower(line.substr(0, colon))] = line.substr(v);
    }
    at = eol + 2;
  }
  std::string body = raw.substr(head_end + 4);
  if (lower(r.header("transfer-encoding")) == "chunked") {
    std::string decoded;
    size_t pos = 0;
    while (pos < body.size()) {
      const size_t eol = body.find("\r\n", pos);
      if (eol == std::string::npos) return std::nullopt;
      const size_t len = std::stoul(body.substr(pos, eol - pos), nullptr, 16);
      if (len == 0) break;
      decoded += body.substr(eol + 2, len);
      pos = eol + 2 + len + 2;
    }
    r.body = decoded;
  } else if (!r.header("content-length").empty()) {
    r.body = body.substr(0, std::stoul(r.header("content-length")));
  } else {
    r.body = body;
  }
  return r;
}

std::optional<HttpResponse> http_request(int port, const std::string& host, const std::string& path,
                                         std::string* error, const std::string& method) {
  const int fd = connect_loopback(port, error);
  if (fd < 0) return std::nullopt;
  const std::string request = request_text(method, host, path);
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    *error = "send failed";
    close(fd);
    return std::nullopt;
  }
  std::string raw;
  char buf[16384];
  while (true) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  std::optional<HttpResponse> response = parse_response(raw);
  if (!response) *error = "malformed or empty response: \"" + raw.substr(0, 200) + "\"";
  return response;
}

KeepAliveClient::~KeepAliveClient() {
  disconnect();
}

void KeepAliveClient::disconnect() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffer_.clear();
}

std::optional<HttpResponse> KeepAliveClient::get(const std::string& host, const std::string& path,
                                                 std::string* error) {
  if (fd_ < 0) {
    fd_ = connect_loopback(port_, error);
    if (fd_ < 0) return std::nullopt;
    ++connections_;
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: realproxy-test\r\n\r\n";
  if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    *error = "send failed";
    disconnect();
    return std::nullopt;
  }
  // Read until the head is complete, then until the body is (Content-Length or last chunk).
  char buf[16384];
  const auto read_more = [&]() {
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  };
  size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more()) {
      *error = "connection closed before the response head";
      disconnect();
      return std::nullopt;
    }
  }
  const std::string head = lower(buffer_.substr(0, head_end));
  size_t total = std::string::npos;
  const size_t cl = head.find("\r\ncontent-length:");
  if (cl != std::string::npos) {
    total = head_end + 4 + std::stoul(head.substr(cl + 17));
    while (buffer_.size() < total) {
      if (!read_more()) break;
    }
  } else if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    size_t end;
    while ((end = buffer_.find("\r\n0\r\n\r\n", head_end)) == std::string::npos) {
      if (!read_more()) break;
    }
    if (end != std::string::npos) total = end + 7;
  }
  if (total == std::string::npos || buffer_.size() < total) {
    *error = "incomplete response: \"" + buffer_.substr(0, 200) + "\"";
    disconnect();
    return std::nullopt;
  }
  std::optional<HttpResponse> response = parse_response(buffer_.substr(0, total));
  buffer_.erase(0, total);
  if (!response) {
    *error = "malformed response";
    disconnect();
    return response;
  }
  if (lower(response->header("connection")) == "close") disconnect();
  return response;
}

std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds timeout) {
  std::string error;
  const int fd = connect_loopback(port, &error);
  if (fd < 0) return "";
  send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

SelfSignedCertificate make_self_signed(const std::string& dns_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert),
                   static_cast<long>(std::hash<std::string>{}(dns_name)&0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] :
       {std::pair<int, std::string>{NID_subject_alt_name, "DNS:" + dns_name},
        {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  const auto bio_text = [](BIO* b) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(b, &data);
    std::string text(data, static_cast<size_t>(len));
    BIO_free(b);
    return text;
  };
  SelfSignedCertificate out;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  out.cert_pem = bio_text(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = bio_text(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

TlsExchange https_request(int port, const std::string& server_name, const std::string& host,
                          const std::string& path, const std::string& trusted_cert_pem,
                          SSL_SESSION** session) {
  TlsExchange result;
  const int fd = connect_loopback(port, &result.error);
  if (fd < 0) return result;
  BIO* bio = BIO_new_mem_buf(trusted_cert_pem.data(), static_cast<int>(trusted_cert_pem.size()));
  X509* trusted = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), trusted);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // the result is read below, not enforced
  SSL* ssl = SSL_new(ctx);
  if (!server_name.empty()) {
    SSL_set_tlsext_host_name(ssl, server_name.c_str());
    SSL_set1_host(ssl, server_name.c_str());
  }
  static const unsigned char kAlpn[] = "\x08http/1.1";
  SSL_set_alpn_protos(ssl, kAlpn, sizeof kAlpn - 1);
  SSL_set_fd(ssl, fd);
  if (session != nullptr && *session != nullptr) SSL_set_session(ssl, *session);
  if (SSL_connect(ssl) == 1) {
    result.handshake_ok = true;
    result.verify_result = SSL_get_verify_result(ssl);
    if (X509* peer = SSL_get1_peer_certificate(ssl)) {
      char cn[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
      result.peer_subject_cn = cn;
      result.peer_matches_trusted = trusted != nullptr && X509_cmp(peer, trusted) == 0;
      X509_free(peer);
    }
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    result.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
    const std::string request = request_text("GET", host, path);
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    std::string raw;
    char buf[16384];
    int n = 0;
    while ((n = SSL_read(ssl, buf, sizeof buf)) > 0)
      raw.append(buf, static_cast<size_t>(n));
    result.response = parse_response(raw);
    result.session_reused = SSL_session_reused(ssl) == 1;
    if (session != nullptr) {  // after reading: a TLS 1.3 ticket arrives after the handshake
      if (*session != nullptr) SSL_SESSION_free(*session);
      *session = SSL_get1_session(ssl);
    }
    // A clean close (close_notify) keeps the session resumable; SSL_free without it removes it.
    SSL_shutdown(ssl);
  } else {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    result.error = buf;
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  X509_free(trusted);
  close(fd);
  return result;
}

}  // namespace ingresslab::realproxy::testing
