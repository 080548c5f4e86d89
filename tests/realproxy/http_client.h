// A tiny blocking HTTP/1.1 client (plain TCP or TLS through OpenSSL) for the integration tests,
// and a self-signed certificate generator. One request per connection ("Connection: close").
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace ingresslab::realproxy::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// GET (or `method`) http://127.0.0.1:port{path} with the given Host header. nullopt (and *error)
// when the connection fails or the response is malformed.
std::optional<HttpResponse> http_request(int port, const std::string& host, const std::string& path,
                                         std::string* error, const std::string& method = "GET");

// One HTTP/1.1 keep-alive connection to 127.0.0.1:port, for many requests in a row (responses
// with Content-Length or chunked bodies).
class KeepAliveClient {
 public:
  explicit KeepAliveClient(int port) : port_(port) {}
  ~KeepAliveClient();
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  // GET path with Host: host on the open connection (connects first if needed). nullopt (and
  // *error) if the connection fails or closes; the next call reconnects.
  std::optional<HttpResponse> get(const std::string& host, const std::string& path,
                                  std::string* error);
  int connections_opened() const { return connections_; }

 private:
  void disconnect();
  int port_;
  int fd_ = -1;
  int connections_ = 0;
  std::string buffer_;
};

// Sends raw bytes, then reads until the peer closes or `timeout` passes; returns what was read.
std::string raw_exchange(int port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// Parses "HTTP/1.1 200 OK\r\nheaders\r\n\r\nbody" (Content-Length or chunked body, or up to EOF).
std::optional<HttpResponse> parse_response(const std::string& raw);

struct SelfSignedCertificate {
  std::string cert_pem;
  std::string key_pem;
};
// An ECDSA P-256 certificate for `dns_name` (CN and subjectAltName), valid for a day.
SelfSignedCertificate make_self_signed(const std::string& dns_name);

struct TlsExchange {
  bool handshake_ok = false;
  long verify_result = -1;            // X509_V_OK when the chain and host name verified
  std::string peer_subject_cn;        // CN of the certificate the server sent
  bool peer_matches_trusted = false;  // the server sent exactly `trusted_cert_pem`
  std::string alpn;
  bool session_reused = false;
  std::optional<HttpResponse> response;
  std::string error;
};

// TLS to 127.0.0.1:port with SNI `server_name` (empty: no SNI), trusting only
// `trusted_cert_pem` and verifying the host name `server_name`; then GET `path` with
// Host: `host` over it (HTTP/1.1, ALPN "http/1.1"). If `session` is given, *session (when set) is
// offered for resumption and replaced by the session of this connection (caller frees it with
// SSL_SESSION_free).
TlsExchange https_request(int port, const std::string& server_name, const std::string& host,
                          const std::string& path, const std::string& trusted_cert_pem,
                          SSL_SESSION** session = nullptr);

}  // namespace ingresslab::realproxy::testing
