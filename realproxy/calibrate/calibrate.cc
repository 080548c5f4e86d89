#include "realproxy/calibrate/calibrate.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <google/protobuf/text_format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "realproxy/routing/route_table.h"
#include "scenarios/proto/cost_profile.pb.h"

namespace ingresslab::realproxy::calibrate {

Line fit_line(std::span<const double> x, std::span<const double> y) {
  const auto n = static_cast<Eigen::Index>(x.size());
  Eigen::MatrixXd a(n, 2);
  Eigen::VectorXd b(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    a(i, 0) = 1.0;
    a(i, 1) = x[static_cast<size_t>(i)];
    b(i) = y[static_cast<size_t>(i)];
  }
  const Eigen::Vector2d coef = a.colPivHouseholderQr().solve(b);
  return {coef(0), coef(1)};
}

namespace {

using Clock = std::chrono::steady_clock;

int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Human-readable notes written as comments at the top of the profile.
struct Notes {
  std::vector<std::string> lines;
  void add(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    char buf[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    lines.emplace_back(buf);
    std::fprintf(stderr, "calibrate: %s\n", buf);
  }
};

// ---------------------------------------------------------------------------------------------
// TLS, in-process.

EVP_PKEY* make_key(bool rsa) {
  return rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
}

X509* make_certificate(EVP_PKEY* key) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("calibrate.local"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  return cert;
}

// A server context like realproxy's (TLS 1.2/1.3, session tickets) with one certificate.
SSL_CTX* make_server_context(bool rsa) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  EVP_PKEY* key = make_key(rsa);
  X509* cert = make_certificate(key);
  SSL_CTX_use_certificate(ctx, cert);
  SSL_CTX_use_PrivateKey(ctx, key);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ctx;
}

// One handshake over a BIO pair. Returns the server side's CPU time (ns), or -1 on failure; the
// client side's goes to *client_ns (when given). With `session` set (and *session non-null) the
// client offers it; *session is replaced by the new connection's session (with its ticket).
int64_t handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx, SSL_SESSION** session, bool* reused,
                  int64_t* client_ns = nullptr) {
  SSL* server = SSL_new(server_ctx);
  SSL* client = SSL_new(client_ctx);
  BIO *server_bio = nullptr, *client_bio = nullptr;
  BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_accept_state(server);
  SSL_set_connect_state(client);
  SSL_set_tlsext_host_name(client, "calibrate.local");
  if (session != nullptr && *session != nullptr) SSL_set_session(client, *session);
  int64_t server_ns = 0, client_cpu_ns = 0;
  bool client_done = false, server_done = false;
  for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
    if (!client_done) {
      const int64_t t0 = thread_cpu_ns();
      const int rc = SSL_do_handshake(client);
      client_cpu_ns += thread_cpu_ns() - t0;
      if (rc == 1) {
        client_done = true;
      } else if (const int e = SSL_get_error(client, rc);
                 e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        break;
      }
    }
    if (!server_done) {
      const int64_t t0 = thread_cpu_ns();
      const int rc = SSL_do_handshake(server);
      server_ns += thread_cpu_ns() - t0;
      if (rc == 1) {
        server_done = true;
      } else if (const int e = SSL_get_error(server, rc);
                 e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        break;
      }
    }
  }
  const bool ok = client_done && server_done;
  if (ok && session != nullptr) {
    // TLS 1.3 tickets arrive after the handshake: let the client read them.
    char byte;
    SSL_read(client, &byte, 1);
    if (*session != nullptr) SSL_SESSION_free(*session);
    *session = SSL_get1_session(client);
  }
  if (reused != nullptr) *reused = ok && SSL_session_reused(server) == 1;
  if (client_ns != nullptr) *client_ns = client_cpu_ns;
  // A connection freed without a shutdown marks its session not resumable: say it was closed.
  SSL_set_shutdown(client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_set_shutdown(server, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(server);
  SSL_free(client);
  return ok ? server_ns : -1;
}

struct TlsCosts {
  double full_rsa_us = 0, full_ecdsa_us = 0, resumed_us = 0, record_per_kib_us = 0;
  // The client's side of the same handshakes (OpenSSL's client, certificates not verified).
  double client_full_rsa_us = 0, client_full_ecdsa_us = 0, client_resumed_us = 0;
};

std::optional<TlsCosts> measure_tls(int handshakes, Notes* notes) {
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(client_ctx, SSL_SESS_CACHE_CLIENT);
  TlsCosts out;
  for (const bool rsa : {true, false}) {
    SSL_CTX* server_ctx = make_server_context(rsa);
    std::vector<double> full, resumed, client_full, client_resumed;
    for (int i = 0; i < handshakes + 2; ++i) {  // the first two warm up
      SSL_SESSION* session = nullptr;
      bool reused = true;
      int64_t client_f = 0, client_r = 0;
      const int64_t f = handshake(server_ctx, client_ctx, &session, &reused, &client_f);
      if (f < 0 || reused) {
        std::fprintf(stderr, "calibrate: TLS handshake failed: %s\n",
                     ERR_error_string(ERR_get_error(), nullptr));
        SSL_SESSION_free(session);
        return std::nullopt;
      }
      const int64_t r = handshake(server_ctx, client_ctx, &session, &reused, &client_r);
      SSL_SESSION_free(session);
      if (r < 0 || !reused) {
        std::fprintf(stderr, "calibrate: TLS resumption failed (%s)\n",
                     r < 0 ? "handshake error" : "session not reused");
        return std::nullopt;
      }
      if (i < 2) continue;
      full.push_back(static_cast<double>(f) * 1e-3);
      resumed.push_back(static_cast<double>(r) * 1e-3);
      client_full.push_back(static_cast<double>(client_f) * 1e-3);
      client_resumed.push_back(static_cast<double>(client_r) * 1e-3);
    }
    (rsa ? out.full_rsa_us : out.full_ecdsa_us) = median(full);
    (rsa ? out.client_full_rsa_us : out.client_full_ecdsa_us) = median(client_full);
    // Resumption does not depend on the certificate type; keep the ECDSA runs' figure.
    if (!rsa) {
      out.resumed_us = median(resumed);
      out.client_resumed_us = median(client_resumed);
    }
    notes->add(
        "TLS 1.3 %s: full handshake %.1f us, resumed %.1f us (server CPU, median of %d); client "
        "CPU %.1f / %.1f us",
        rsa ? "RSA-2048" : "ECDSA P-256", median(full), median(resumed), handshakes,
        median(client_full), median(client_resumed));

    if (!rsa) {
      // Record encryption: the server writes 16 KiB records; the client drains them.
      SSL* server = SSL_new(server_ctx);
      SSL* client = SSL_new(client_ctx);
      BIO *sb = nullptr, *cb = nullptr;
      BIO_new_bio_pair(&sb, 1 << 20, &cb, 1 << 20);
      SSL_set_bio(server, sb, sb);
      SSL_set_bio(client, cb, cb);
      SSL_set_accept_state(server);
      SSL_set_connect_state(client);
      for (int round = 0; round < 20; ++round) {
        SSL_do_handshake(client);
        SSL_do_handshake(server);
      }
      std::vector<char> chunk(16384, 'x'), sink(65536);
      const int chunks = std::max(64, handshakes * 8);
      int64_t server_ns = 0;
      for (int i = 0; i < chunks; ++i) {
        const int64_t t0 = thread_cpu_ns();
        SSL_write(server, chunk.data(), static_cast<int>(chunk.size()));
        server_ns += thread_cpu_ns() - t0;
        while (SSL_read(client, sink.data(), static_cast<int>(sink.size())) > 0) {
        }
      }
      out.record_per_kib_us = static_cast<double>(server_ns) * 1e-3 / (chunks * 16.0);
      notes->add("TLS record encryption: %.3f us per KiB (%d x 16 KiB SSL_write)",
                 out.record_per_kib_us, chunks);
      SSL_free(server);
      SSL_free(client);
    }
    SSL_CTX_free(server_ctx);
  }
  SSL_CTX_free(client_ctx);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Upstream connect: socket + connect + close to a loopback listener (the accept side is not
// counted: it is the pod's).

int listen_loopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 || listen(fd, 1024) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(sin.sin_port);
  return fd;
}

std::optional<double> measure_connect(int count, Notes* notes) {
  int port = 0;
  const int listener = listen_loopback(&port);
  if (listener < 0) return std::nullopt;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int64_t cpu = 0;
  for (int i = 0; i < count; ++i) {
    const int64_t t0 = thread_cpu_ns();
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int rc = connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    close(fd);
    cpu += thread_cpu_ns() - t0;
    if (rc != 0) {
      close(listener);
      return std::nullopt;
    }
    const int accepted = accept(listener, nullptr, nullptr);
    if (accepted >= 0) close(accepted);
  }
  close(listener);
  const double us = static_cast<double>(cpu) * 1e-3 / count;
  notes->add("upstream connect: %.2f us (socket + connect + close, %d times)", us, count);
  return us;
}

// ---------------------------------------------------------------------------------------------
// Route matching vs rule count.

std::vector<routing::IngressObject> route_objects(int hosts, int paths) {
  using namespace routing;
  std::vector<IngressObject> objects;
  for (int h = 0; h < hosts; ++h) {
    IngressObject object;
    object.namespace_ = "calibrate";
    object.name = "ing" + std::to_string(h);
    object.creation_timestamp = h;
    IngressRule rule{"host" + std::to_string(h) + ".example.com", HttpIngressRuleValue{}};
    rule.http->paths.push_back(
        HttpIngressPath{"/", PathType::kPrefix, IngressBackend{ServiceBackend{"root", 80}, {}}});
    for (int p = 0; p < paths; ++p) {
      rule.http->paths.push_back(HttpIngressPath{
          "/svc" + std::to_string(p) + "/api", p % 2 == 0 ? PathType::kPrefix : PathType::kExact,
          IngressBackend{ServiceBackend{"svc" + std::to_string(p), 80}, {}}});
    }
    object.rules.push_back(std::move(rule));
    objects.push_back(std::move(object));
  }
  return objects;
}

struct RouteCosts {
  double base_us = 0, per_log2_rules_us = 0;
};

RouteCosts measure_route(int matches, Notes* notes) {
  const std::vector<std::pair<int, int>> shapes = {{1, 1},   {2, 7},    {8, 15},
                                                   {32, 31}, {128, 63}, {512, 31}};
  std::vector<double> log2_rules, us;
  uint64_t sink = 0;
  for (const auto& [hosts, paths] : shapes) {
    const routing::CompileResult compiled = routing::compile(route_objects(hosts, paths), {});
    const routing::RouteTable& table = *compiled.table;
    std::vector<std::pair<std::string, std::string>> requests;
    uint64_t x = 12345;
    for (int i = 0; i < 1024; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      const int h = static_cast<int>((x >> 33) % static_cast<uint64_t>(hosts));
      const int p = static_cast<int>((x >> 13) % static_cast<uint64_t>(paths));
      requests.emplace_back("host" + std::to_string(h) + ".example.com",
                            "/svc" + std::to_string(p) + "/api" + (p % 2 == 0 ? "/v1/item" : ""));
    }
    const int64_t t0 = thread_cpu_ns();
    for (int i = 0; i < matches; ++i) {
      const auto& [host, path] = requests[static_cast<size_t>(i) & 1023];
      sink += table.match(host, path).found() ? 1 : 0;
    }
    const double per_match_us = static_cast<double>(thread_cpu_ns() - t0) * 1e-3 / matches;
    const double rules = static_cast<double>(table.routes().size());
    log2_rules.push_back(std::log2(std::max(1.0, rules)));
    us.push_back(per_match_us);
    notes->add("route match: %.0f rules: %.4f us", rules, per_match_us);
  }
  const Line line = fit_line(log2_rules, us);
  if (sink == 0) std::fprintf(stderr, "calibrate: no route matched\n");
  return {line.intercept, line.slope};
}

// ---------------------------------------------------------------------------------------------
// Child processes (realpod, realproxy), stopped by PID.

struct Child {
  pid_t pid = -1;
  std::string out_path;

  // The first stdout line starting with "listening on " that contains `suffix` (waits ≤ 5 s).
  std::string wait_listening(const std::string& suffix) const {
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < deadline) {
      std::ifstream in(out_path);
      for (std::string line; std::getline(in, line);) {
        if (line.rfind("listening on ", 0) == 0 && line.find(suffix) != std::string::npos) {
          return line;
        }
      }
      if (waitpid(pid, nullptr, WNOHANG) == pid) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return "";
  }

  void stop() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 300; ++i) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) {
        pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

Child spawn(const std::vector<std::string>& argv, const std::string& log_prefix) {
  Child child;
  child.out_path = log_prefix + ".out";
  const std::string err_path = log_prefix + ".err";
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int out = open(child.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  child.pid = pid;
  return child;
}

int port_of(const std::string& line) {
  const size_t colon = line.find(':', std::strlen("listening on "));
  return colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
}

// CPU time of a process (all threads), ns.
int64_t process_cpu_ns(pid_t pid) {
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  int64_t total = 0;
  bool have_schedstat = false;
  if (DIR* dir = opendir(task_dir.c_str())) {
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(task_dir + "/" + e->d_name + "/schedstat");
      int64_t runtime = 0;
      if (in >> runtime) {
        total += runtime;
        have_schedstat = true;
      }
    }
    closedir(dir);
  }
  if (have_schedstat) return total;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  return (utime + stime) * (1'000'000'000 / sysconf(_SC_CLK_TCK));
}

// ---------------------------------------------------------------------------------------------
// Load: blocking HTTP/1.1 clients on loopback.

int connect_to(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads one response with a Content-Length body from `fd` (buffer carries leftovers). Returns the
// status, or 0 on failure.
int read_response(int fd, std::string* buffer) {
  char chunk[65536];
  size_t head_end;
  while ((head_end = buffer->find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return 0;
    buffer->append(chunk, static_cast<size_t>(n));
  }
  std::string head = buffer->substr(0, head_end);
  for (char& c : head)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t cl = head.find("\r\ncontent-length:");
  if (cl == std::string::npos || head.compare(0, 5, "http/") != 0) return 0;
  const size_t total = head_end + 4 + std::strtoul(head.c_str() + cl + 17, nullptr, 10);
  while (buffer->size() < total) {
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return 0;
    buffer->append(chunk, static_cast<size_t>(n));
  }
  const int status = std::atoi(head.c_str() + head.find(' ') + 1);
  buffer->erase(0, total);
  return status;
}

// `requests` GETs of `path` from `threads` threads, keep-alive or a new connection each. Returns
// the number of failed requests.
int generate_load(int port, const std::string& path, int requests, int threads, bool keepalive) {
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: calibrate.local\r\n" +
                              (keepalive ? "" : "Connection: close\r\n") + "\r\n";
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      int fd = -1;
      std::string buffer;
      for (int i = t; i < requests; i += threads) {
        if (fd < 0) fd = connect_to(port);
        if (fd < 0 ||
            send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                static_cast<ssize_t>(request.size()) ||
            read_response(fd, &buffer) != 200) {
          ++failures;
          if (fd >= 0) close(fd);
          fd = -1;
          buffer.clear();
          continue;
        }
        if (!keepalive) {
          close(fd);
          fd = -1;
          buffer.clear();
        }
      }
      if (fd >= 0) close(fd);
    });
  }
  for (std::thread& t : pool)
    t.join();
  return failures.load();
}

struct RequestCosts {
  double base_us = 0, per_kib_us = 0, accept_us = 0;
  // Proxy CPU per TLS connection with one request (256 B), end to end; 0 if not measured.
  double tls_connection_rsa_us = 0, tls_connection_ecdsa_us = 0, tls_connection_resumed_us = 0;
  double new_connection_request_us = 0;  // the same over plain HTTP
};

bool write_pem_pair(bool rsa, const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = make_key(rsa);
  X509* cert = make_certificate(key);
  FILE* c = std::fopen(cert_path.c_str(), "w");
  FILE* k = std::fopen(key_path.c_str(), "w");
  const bool ok = c != nullptr && k != nullptr && PEM_write_X509(c, cert) == 1 &&
                  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (c != nullptr) std::fclose(c);
  if (k != nullptr) std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

// `connections` TLS connections to the proxy (SNI `server_name`), one GET each, from `threads`
// threads; with `resume`, each thread offers the session of its previous connection. Returns the
// number of failures.
int generate_tls_connections(int port, const std::string& server_name, int connections, int threads,
                             bool resume) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
  std::atomic<int> failures{0};
  const std::string request =
      "GET /b256 HTTP/1.1\r\nHost: calibrate.local\r\nConnection: close\r\n\r\n";
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      SSL_SESSION* session = nullptr;
      for (int i = t; i < connections; i += threads) {
        const int fd = connect_to(port);
        if (fd < 0) {
          ++failures;
          continue;
        }
        SSL* ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        SSL_set_tlsext_host_name(ssl, server_name.c_str());
        if (resume && session != nullptr) SSL_set_session(ssl, session);
        std::string answer;
        if (SSL_connect(ssl) == 1 &&
            SSL_write(ssl, request.data(), static_cast<int>(request.size())) ==
                static_cast<int>(request.size())) {
          char buf[4096];
          int n;
          while ((n = SSL_read(ssl, buf, sizeof buf)) > 0)
            answer.append(buf, static_cast<size_t>(n));
        }
        if (answer.rfind("HTTP/1.1 200", 0) != 0) ++failures;
        if (resume) {
          if (session != nullptr) SSL_SESSION_free(session);
          session = SSL_get1_session(ssl);
        }
        SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);
      }
      if (session != nullptr) SSL_SESSION_free(session);
    });
  }
  for (std::thread& t : pool)
    t.join();
  SSL_CTX_free(ctx);
  return failures.load();
}

std::optional<RequestCosts> measure_requests(const CalibrateOptions& options, int requests,
                                             Notes* notes) {
  char dir_template[] = "/tmp/realproxy-calibrate-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return std::nullopt;
  const std::string dir = dir_template;
  const std::vector<int> sizes = {256, 4096, 16384, 65536};
  std::vector<Child> pods;
  std::string yaml =
      "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: calibrate\n"
      "  namespace: default\nspec:\n  tls:\n  - hosts: [ecdsa.calibrate]\n"
      "    secretName: ecdsa-tls\n  - hosts: [rsa.calibrate]\n    secretName: rsa-tls\n"
      "  rules:\n  - host: calibrate.local\n    http:\n      paths:\n";
  std::string objects;
  bool ok = write_pem_pair(false, dir + "/ecdsa.crt", dir + "/ecdsa.key") &&
            write_pem_pair(true, dir + "/rsa.crt", dir + "/rsa.key");
  for (const char* kind : {"ecdsa", "rsa"}) {
    objects += std::string("---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\n") +
               "metadata:\n  name: " + kind + "-tls\n  annotations:\n" +
               "    realproxy.ingresslab/tls-cert-file: " + kind + ".crt\n" +
               "    realproxy.ingresslab/tls-key-file: " + kind + ".key\n";
  }
  for (const int size : sizes) {
    const std::string name = "b" + std::to_string(size);
    pods.push_back(spawn({options.realpod_path, "--listen", "127.0.0.1:0", "--name", name,
                          "--body-bytes", std::to_string(size)},
                         dir + "/" + name));
    const int port = port_of(pods.back().wait_listening(""));
    if (port == 0) {
      std::fprintf(stderr, "calibrate: realpod (%s) did not start; see %s/%s.err\n",
                   options.realpod_path.c_str(), dir.c_str(), name.c_str());
      ok = false;
      break;
    }
    yaml += "      - path: /" + name + "\n        pathType: Prefix\n        backend:\n" +
            "          service:\n            name: " + name +
            "\n            port:\n              number: 80\n";
    objects += "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
               "\nspec:\n  ports:\n  - name: http\n    port: 80\n---\n"
               "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " +
               name + "\n  labels:\n    kubernetes.io/service-name: " + name +
               "\naddressType: IPv4\nports:\n- name: http\n  port: " + std::to_string(port) +
               "\nendpoints:\n- addresses: [\"127.0.0.1\"]\n";
  }
  std::optional<RequestCosts> result;
  Child proxy;
  if (ok) {
    std::ofstream(dir + "/cafe.yaml") << yaml << objects;
    proxy = spawn({options.realproxy_path, "serve", "--config", dir + "/cafe.yaml", "--listen",
                   "127.0.0.1:0", "--tls-listen", "127.0.0.1:0", "--workers", "1"},
                  dir + "/realproxy");
    const int port = port_of(proxy.wait_listening("(http)"));
    const int tls_port = port_of(proxy.wait_listening("(https)"));
    if (port == 0) {
      std::fprintf(stderr, "calibrate: realproxy serve did not start; see %s/realproxy.err\n",
                   dir.c_str());
    } else {
      result = RequestCosts{};
      for (const int size : sizes) {  // warm-up: pools, caches
        generate_load(port, "/b" + std::to_string(size), std::max(200, requests / 10), 2, true);
      }
      // Several passes over the sizes; per size the lowest figure counts (other work on the
      // machine can only add to the proxy's CPU time per request: cache and core contention,
      // fewer requests per event-loop wakeup).
      const int passes = options.quick ? 2 : 5;
      std::vector<double> kib(sizes.size()), us(sizes.size(), 1e300);
      for (int pass = 0; pass < passes && result; ++pass) {
        for (size_t i = 0; i < sizes.size(); ++i) {
          const int64_t cpu0 = process_cpu_ns(proxy.pid);
          const int failures =
              generate_load(port, "/b" + std::to_string(sizes[i]), requests / 2, 2, true);
          const int64_t cpu1 = process_cpu_ns(proxy.pid);
          if (failures > 0) {
            std::fprintf(stderr, "calibrate: %d requests failed\n", failures);
            result.reset();
            break;
          }
          kib[i] = sizes[i] / 1024.0;
          const double per_request = static_cast<double>(cpu1 - cpu0) * 1e-3 / (requests / 2);
          us[i] = std::min(us[i], per_request);
          notes->add("proxy CPU per keep-alive request, %d B response: %.2f us (pass %d)", sizes[i],
                     per_request, pass + 1);
        }
      }
      if (result) {
        const Line line = fit_line(kib, us);
        result->base_us = line.intercept;
        result->per_kib_us = line.slope;
        const int new_connections = std::max(200, requests / 4);
        double best = 1e300;
        for (int pass = 0; pass < passes; ++pass) {
          const int64_t cpu0 = process_cpu_ns(proxy.pid);
          const int failures = generate_load(port, "/b256", new_connections, 2, false);
          const int64_t cpu1 = process_cpu_ns(proxy.pid);
          const double per_request = static_cast<double>(cpu1 - cpu0) * 1e-3 / new_connections;
          best = std::min(best, per_request);
          notes->add("proxy CPU per request on a new connection: %.2f us (pass %d, %d failed)",
                     per_request, pass + 1, failures);
        }
        result->accept_us = best - (line.intercept + line.slope * 0.25);
        result->new_connection_request_us = best;

        // TLS connections end to end: a full handshake (RSA, ECDSA) or a resumed one, plus the
        // request, from the proxy's /proc CPU time (lowest of the passes).
        const int tls_connections = options.quick ? 60 : 600;
        struct Kind {
          const char* name;
          const char* sni;
          bool resume;
          double* out;
        };
        const Kind kinds[] = {
            {"full RSA-2048", "rsa.calibrate", false, &result->tls_connection_rsa_us},
            {"full ECDSA P-256", "ecdsa.calibrate", false, &result->tls_connection_ecdsa_us},
            {"resumed (ECDSA)", "ecdsa.calibrate", true, &result->tls_connection_resumed_us}};
        for (const Kind& kind : kinds) {
          double lowest = 1e300;
          for (int pass = 0; pass < 3; ++pass) {
            const int64_t c0 = process_cpu_ns(proxy.pid);
            const int failed =
                generate_tls_connections(tls_port, kind.sni, tls_connections, 2, kind.resume);
            const int64_t c1 = process_cpu_ns(proxy.pid);
            if (failed > tls_connections / 10) {
              std::fprintf(stderr, "calibrate: %d of %d TLS connections failed\n", failed,
                           tls_connections);
              lowest = 0;
              break;
            }
            const double per_connection =
                static_cast<double>(c1 - c0) * 1e-3 / (tls_connections - failed);
            lowest = std::min(lowest, per_connection);
            notes->add("proxy CPU per TLS connection (%s handshake + one request): %.1f us",
                       kind.name, per_connection);
          }
          *kind.out = lowest;
        }
      }
    }
  }
  proxy.stop();
  for (Child& pod : pods)
    pod.stop();
  std::string rm = "rm -rf '" + dir + "'";
  if (std::system(rm.c_str()) != 0)
    std::fprintf(stderr, "calibrate: cannot remove %s\n", rm.c_str());
  return result;
}

std::string machine_description() {
  std::string model = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  uname(&u);
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s, %u logical CPUs, Linux %s %s, %s", model.c_str(),
                std::thread::hardware_concurrency(), u.release, u.machine,
                OpenSSL_version(OPENSSL_VERSION));
  return buf;
}

std::string hostname() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

int run(const CalibrateOptions& options) {
  Notes notes;
  const bool quick = options.quick;
  const auto t0 = Clock::now();
  const std::optional<TlsCosts> tls = measure_tls(quick ? 40 : 200, &notes);
  if (!tls) return 1;
  const std::optional<double> connect_us = measure_connect(quick ? 300 : 5000, &notes);
  if (!connect_us) {
    std::fprintf(stderr, "calibrate: cannot connect on 127.0.0.1\n");
    return 1;
  }
  const RouteCosts route = measure_route(quick ? 20'000 : 400'000, &notes);
  const std::optional<RequestCosts> requests =
      measure_requests(options, quick ? 1200 : 20'000, &notes);
  if (!requests) return 1;

  // Costs are positive by construction; a fitted figure below the clock's noise (a negative
  // intercept or slope from a handful of points) is floored at a small positive value and noted.
  const auto positive = [&](const char* name, double v, double floor) {
    if (v >= floor) return v;
    notes.add("%s fitted %.4f us; floored at %.4f us", name, v, floor);
    return floor;
  };
  profile::CostProfile p;
  char date[32];
  const time_t now = std::time(nullptr);
  tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(date, sizeof date, "%Y-%m-%d", &utc);
  p.set_source(std::string("realproxy calibrate") + (quick ? " --quick" : "") + " on " +
               hostname());
  p.set_machine(machine_description());
  p.set_date(date);
  // Handshake figures: what a TLS connection costs the proxy beyond a plain one (end to end, so
  // socket I/O of the handshake, the SNI switch and the tickets count), when measured; else the
  // in-process OpenSSL figures.
  const auto tls_extra = [&](double connection_us, double in_process_us) {
    const double extra = connection_us - requests->new_connection_request_us;
    return connection_us > 0 && extra > 0 ? extra : in_process_us;
  };
  p.set_tls_full_rsa2048_us(tls_extra(requests->tls_connection_rsa_us, tls->full_rsa_us));
  p.set_tls_full_ecdsa_p256_us(tls_extra(requests->tls_connection_ecdsa_us, tls->full_ecdsa_us));
  p.set_tls_resumed_us(tls_extra(requests->tls_connection_resumed_us, tls->resumed_us));
  p.set_tls_client_full_rsa2048_us(tls->client_full_rsa_us);
  p.set_tls_client_full_ecdsa_p256_us(tls->client_full_ecdsa_us);
  p.set_tls_client_resumed_us(tls->client_resumed_us);
  p.set_accept_us(positive("accept_us", requests->accept_us, 0.5));
  const double route_base = positive("route_base_us", route.base_us, 0.001);
  const double route_per_log2 =
      positive("route_per_log2_rules_us", route.per_log2_rules_us, 0.0001);
  p.set_route_base_us(route_base);
  p.set_route_per_log2_rules_us(route_per_log2);
  // The measured per-request base includes matching one of 4 rules (log2 4 = 2).
  p.set_request_base_us(
      positive("request_base_us", requests->base_us - (route_base + 2 * route_per_log2), 0.5));
  p.set_relay_per_kib_us(positive("relay_per_kib_us", requests->per_kib_us, 0.001));
  p.set_tls_record_per_kib_us(positive("tls_record_per_kib_us", tls->record_per_kib_us, 0.001));
  p.set_upstream_connect_us(positive("upstream_connect_us", *connect_us, 0.1));
  notes.add("took %.1f s", std::chrono::duration<double>(Clock::now() - t0).count());

  std::string body;
  google::protobuf::TextFormat::PrintToString(p, &body);
  std::string text =
      "# proto-file: scenarios/proto/cost_profile.proto\n"
      "# proto-message: ingresslab.profile.CostProfile\n#\n"
      "# Written by `realproxy calibrate` (realproxy/calibrate/calibrate.h says what is measured "
      "and how).\n# Measurements:\n";
  for (const std::string& line : notes.lines)
    text += "#   " + line + "\n";
  text += body;
  if (options.output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  std::ofstream out(options.output);
  out << text;
  if (!out.flush()) {
    std::fprintf(stderr, "calibrate: cannot write %s\n", options.output.c_str());
    return 1;
  }
  std::fprintf(stderr, "calibrate: wrote %s\n", options.output.c_str());
  return 0;
}

}  // namespace ingresslab::realproxy::calibrate
