#include "realproxy/server/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <fstream>
#include <iterator>
#include <optional>

#include "realproxy/server/h2o_api.h"

namespace ingresslab::realproxy {

namespace {

constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr unsigned char kSessionIdContext[] = "realproxy";
constexpr long kSessionTimeoutSeconds = 600;

SniSelector g_selector = nullptr;
HandshakeObserver g_observer = nullptr;

// ALPN, in order of preference. h2o's own list (h2o_http2_alpn_protocols) has only the h2
// variants, so a client offering just "http/1.1" would get no ALPN answer at all.
const h2o_iovec_t kAlpnProtocols[] = {
    {const_cast<char*>("h2"), 2}, {const_cast<char*>("http/1.1"), 8}, {nullptr, 0}};

std::string openssl_error() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// Protocol versions, ciphers, options and ALPN shared by the front and certificate contexts.
bool configure_common(SSL_CTX* ctx) {
  // No server cipher preference: every offered cipher is strong, let the client pick (Mozilla).
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return false;
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) return false;
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  // Both contexts may be the one ALPN is negotiated on (OpenSSL reads the callback from the
  // context in use after the servername callback switched it).
  h2o_ssl_register_alpn_protocols(ctx, kAlpnProtocols);
  return true;
}

int on_servername(SSL* ssl, int* alert, void* /*arg*/) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  SSL_CTX* target = g_selector != nullptr ? g_selector(name != nullptr ? name : "") : nullptr;
  if (target == nullptr) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  if (g_observer != nullptr) SSL_set_info_callback(ssl, g_observer);
  if (SSL_set_SSL_CTX(ssl, target) != target) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

std::unique_ptr<TlsContexts> TlsContexts::build(const ProxyConfig& config,
                                                std::vector<ConfigError>* errors) {
  std::unique_ptr<TlsContexts> out(new TlsContexts());
  bool ok = true;
  for (const TlsCertificate& cert : config.certificates()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    out->contexts_.push_back(ctx);
    const auto fail = [&](const std::string& field, const std::string& message) {
      errors->push_back({cert.source.file, cert.source.line, cert.object(), field, message});
      ok = false;
    };
    if (ctx == nullptr || !configure_common(ctx)) {
      fail("", "cannot create a TLS context: " + openssl_error());
      continue;
    }
    ERR_clear_error();
    BIO* cert_bio = BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size()));
    X509* leaf = PEM_read_bio_X509_AUX(cert_bio, nullptr, nullptr, nullptr);
    if (leaf == nullptr || SSL_CTX_use_certificate(ctx, leaf) != 1) {
      fail(cert.cert_field, "not a PEM certificate: " + openssl_error());
    } else {
      while (X509* extra = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr)) {
        SSL_CTX_add0_chain_cert(ctx, extra);  // takes ownership
      }
      ERR_clear_error();  // the loop ends on "no start line"
    }
    X509_free(leaf);
    BIO_free(cert_bio);
    BIO* key_bio = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    BIO_free(key_bio);
    if (key == nullptr || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
      fail(cert.key_field, "not a PEM private key: " + openssl_error());
    } else if (ok && SSL_CTX_check_private_key(ctx) != 1) {
      fail(cert.key_field, "the key does not match the certificate of " + cert.cert_field);
    }
    EVP_PKEY_free(key);
  }
  if (!ok) return nullptr;
  return out;
}

TlsContexts::~TlsContexts() {
  for (SSL_CTX* ctx : contexts_)
    SSL_CTX_free(ctx);
}

SSL_CTX* create_front_context(SniSelector selector, std::string* error,
                              HandshakeObserver observer) {
  g_selector = selector;
  g_observer = observer;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr || !configure_common(ctx)) {
    *error = "cannot create the TLS context: " + openssl_error();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_timeout(ctx, kSessionTimeoutSeconds);
  SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
  if (observer != nullptr) SSL_CTX_set_info_callback(ctx, observer);
  return ctx;
}

bool load_session_ticket_key(SSL_CTX* front, const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "--session-ticket-key " + path + ": cannot read the file";
    return false;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr size_t kKeyBytes = 80;
  if (bytes.size() != kKeyBytes) {
    std::string text = bytes;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
      text.pop_back();
    std::optional<std::string> decoded = decode_base64(text);
    if (!decoded || decoded->size() != kKeyBytes) {
      *error = "--session-ticket-key " + path + ": " + std::to_string(bytes.size()) +
               " bytes; expected 80 bytes (openssl rand 80) or their base64";
      return false;
    }
    bytes = std::move(*decoded);
  }
  if (SSL_CTX_set_tlsext_ticket_keys(front, bytes.data(), static_cast<long>(kKeyBytes)) != 1) {
    *error = "--session-ticket-key " + path + ": " + openssl_error();
    return false;
  }
  return true;
}

}  // namespace ingresslab::realproxy
