// TLS termination: one SSL_CTX per certificate of a configuration, and one long-lived "front"
// SSL_CTX that every TLS listener hands to h2o. The front context owns the session cache and the
// session-ticket keys (so resumption survives configuration reloads) and switches each connection
// to the certificate's context in the ClientHello servername callback, using
// RouteTable::tls_for_sni through the selector it is given.
//
// Defaults: TLS 1.2 and 1.3 only; TLS 1.2 ciphers ECDHE with AES-GCM or ChaCha20-Poly1305
// (Mozilla "intermediate"); no compression, no renegotiation; session tickets on; server-side
// session cache (10 minutes, as ingress-nginx); ALPN "h2", "http/1.1".
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "realproxy/config/manifests.h"
#include "realproxy/config/proxy_config.h"

namespace ingresslab::realproxy {

// The certificate contexts of one configuration, indexed like ProxyConfig::certificates().
class TlsContexts {
 public:
  // Parses every certificate chain and key; problems (bad PEM, key not matching) go in *errors
  // naming the Secret and the field. Returns nullptr if there was any.
  static std::unique_ptr<TlsContexts> build(const ProxyConfig& config,
                                            std::vector<ConfigError>* errors);
  ~TlsContexts();
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

  // nullptr if index < 0.
  SSL_CTX* context(int index) const {
    return index < 0 ? nullptr : contexts_[static_cast<size_t>(index)];
  }

 private:
  TlsContexts() = default;
  std::vector<SSL_CTX*> contexts_;
};

// Returns the context for a ClientHello server name ("" when the client sent none), or nullptr to
// refuse the handshake (unrecognized_name alert). Called on the thread doing the handshake.
using SniSelector = SSL_CTX* (*)(std::string_view server_name);

// Observes handshakes (SSL_CTX_set_info_callback); set on the front context and, in the servername
// callback, on each connection (so it stays after the switch to the certificate's context).
using HandshakeObserver = void (*)(const SSL* ssl, int where, int ret);

// The front context (see above). nullptr with a message in *error on failure.
SSL_CTX* create_front_context(SniSelector selector, std::string* error,
                              HandshakeObserver observer = nullptr);

// Session-ticket keys shared by several realproxy instances, as nginx's ssl_session_ticket_key
// and ingress-nginx's ssl-session-ticket-key: a ticket one ingress pod issued resumes on any other
// (without it, each process has random keys of its own and a client sent to another pod must do a
// full handshake). `path` holds 80 bytes — key name (16), HMAC-SHA256 key (32), AES-256 key (32),
// the layout of OpenSSL and nginx (`openssl rand 80 > FILE`) — or those 80 bytes in base64
// (ingress-nginx: `openssl rand 80 | openssl enc -A -base64`). false and *error (naming the file)
// otherwise.
bool load_session_ticket_key(SSL_CTX* front, const std::string& path, std::string* error);

}  // namespace ingresslab::realproxy
