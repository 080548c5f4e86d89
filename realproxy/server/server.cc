#include "realproxy/server/server.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

#include "realproxy/server/h2o_api.h"
#include "realproxy/server/listener.h"
#include "realproxy/server/metrics.h"
#include "realproxy/server/tls.h"
#include "realproxy/server/upstream_pool.h"
#include "realproxy/server/worker.h"

namespace ingresslab::realproxy {

std::optional<HashOn> HashOn::parse(std::string_view text, std::string* error) {
  HashOn out;
  if (text == "source") return out;
  const size_t colon = text.find(':');
  const std::string_view kind = text.substr(0, colon);
  const std::string_view name = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  if ((kind == "header" || kind == "cookie") && !name.empty()) {
    out.kind = kind == "header" ? Kind::kHeader : Kind::kCookie;
    out.name = std::string(name);
    if (out.kind == Kind::kHeader) {  // h2o keeps header names in lower case
      for (char& c : out.name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
  }
  *error = "invalid --hash-on \"" + std::string(text) +
           "\": expected source, header:NAME or cookie:NAME";
  return std::nullopt;
}

namespace {

void print_problems(const char* severity, const std::vector<ConfigError>& problems) {
  for (const ConfigError& e : problems) {
    std::fprintf(stderr, "realproxy: %s: %s\n", severity, e.to_string().c_str());
  }
}

// Loads the configuration files and derives everything the workers share from them.
std::shared_ptr<const Snapshot> load_snapshot(const ServeOptions& options, MetricsRegistry* metrics,
                                              std::vector<ConfigError>* errors) {
  LoadResult loaded = load_proxy_config(options.config_paths, options.load);
  print_problems("warning", loaded.warnings);
  if (!loaded.ok()) {
    *errors = std::move(loaded.errors);
    return nullptr;
  }
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->config = loaded.config;
  snapshot->tls = TlsContexts::build(*loaded.config, errors);  // validates PEM even without TLS
  if (!snapshot->tls) return nullptr;
  for (const Backend& backend : loaded.config->backends()) {
    snapshot->backend_metrics.push_back(metrics->service(backend.label));
  }
  snapshot->unrouted_metrics = metrics->service("");
  return snapshot;
}

std::string describe(const Snapshot& snapshot) {
  const ProxyConfig& c = *snapshot.config;
  size_t endpoints = 0;
  for (const Backend& b : c.backends())
    endpoints += b.endpoints.size();
  return std::to_string(c.table().routes().size()) + " routes, " +
         std::to_string(c.backends().size()) + " backends, " + std::to_string(endpoints) +
         " endpoints, " + std::to_string(c.certificates().size()) + " certificates";
}

// The admin listener: its own thread and h2o loop, GET /metrics and GET /healthz.
class AdminServer {
 public:
  AdminServer(MetricsRegistry* metrics, int fd) : metrics_(metrics), fd_(fd) {
    h2o_config_init(&config_);
    config_.server_name = h2o_iovec_init(H2O_STRLIT("realproxy-admin"));
    h2o_hostconf_t* host =
        h2o_config_register_host(&config_, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    add_handler(host, "/metrics", &AdminServer::on_metrics);
    add_handler(host, "/healthz", &AdminServer::on_healthz);
  }

  void start() { pthread_create(&thread_, nullptr, &AdminServer::thread_main, this); }
  void stop() {
    stop_.store(true);
    pthread_join(thread_, nullptr);
  }

 private:
  struct Handler {
    h2o_handler_t super;  // first member: h2o hands us &super
    AdminServer* server;
  };

  void add_handler(h2o_hostconf_t* host, const char* path,
                   int (*on_req)(h2o_handler_t*, h2o_req_t*)) {
    h2o_pathconf_t* pathconf = h2o_config_register_path(host, path, 0);
    auto* handler = reinterpret_cast<Handler*>(h2o_create_handler(pathconf, sizeof(Handler)));
    handler->super.on_req = on_req;
    handler->server = this;
  }

  static void respond(h2o_req_t* req, int status, const char* content_type,
                      const std::string& body) {
    req->res.status = status;
    req->res.reason = status == 200 ? "OK" : "Method Not Allowed";
    req->res.content_length = body.size();
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr, content_type,
                   std::strlen(content_type));
    h2o_send_inline(req, body.data(), body.size());
  }

  static bool is_get(h2o_req_t* req) {
    return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
           h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
  }

  static int on_metrics(h2o_handler_t* self, h2o_req_t* req) {
    if (!is_get(req)) return -1;
    const AdminServer* server = reinterpret_cast<Handler*>(self)->server;
    respond(req, 200, "text/plain; version=0.0.4; charset=utf-8",
            server->metrics_->render_prometheus() + upstream_pool_prometheus());
    return 0;
  }

  static int on_healthz(h2o_handler_t* /*self*/, h2o_req_t* req) {
    if (!is_get(req)) return -1;
    respond(req, 200, "text/plain; charset=utf-8", "ok\n");
    return 0;
  }

  static void on_accept(h2o_socket_t* listener, const char* err) {
    if (err != nullptr) return;
    auto* accept_ctx = static_cast<h2o_accept_ctx_t*>(listener->data);
    while (h2o_socket_t* sock = h2o_evloop_socket_accept(listener))
      h2o_accept(accept_ctx, sock);
  }

  static void* thread_main(void* arg) {
    auto* self = static_cast<AdminServer*>(arg);
    h2o_evloop_t* loop = h2o_evloop_create();
    h2o_context_init(&self->ctx_, loop, &self->config_);
    self->accept_.ctx = &self->ctx_;
    self->accept_.hosts = self->config_.hosts;
    h2o_socket_t* listener = h2o_evloop_socket_create(loop, self->fd_, H2O_SOCKET_FLAG_DONT_READ);
    listener->data = &self->accept_;
    h2o_socket_read_start(listener, &AdminServer::on_accept);
    // The admin port is not latency-critical: poll the stop flag every 100 ms.
    while (!self->stop_.load())
      h2o_evloop_run(loop, 100);
    return nullptr;
  }

  MetricsRegistry* metrics_;
  int fd_;
  h2o_globalconf_t config_{};
  h2o_context_t ctx_{};
  h2o_accept_ctx_t accept_{};
  pthread_t thread_{};
  std::atomic<bool> stop_{false};
};

}  // namespace

int serve(const ServeOptions& options) {
  // Signals are taken synchronously by the main thread (sigwait); every thread created from here
  // on inherits the blocked mask.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const int workers = std::max(1, options.workers);
  // Shared by the threads; lives until the process exits (see Worker::~Worker).
  auto* metrics = new MetricsRegistry(workers);
  auto* snapshots = new SnapshotStore();

  std::vector<ConfigError> errors;
  std::shared_ptr<const Snapshot> snapshot = load_snapshot(options, metrics, &errors);
  if (!snapshot) {
    print_problems("error", errors);
    std::fprintf(stderr, "realproxy: the configuration has errors; not starting\n");
    return 2;
  }
  snapshots->store(snapshot);
  metrics->record_reload(true, static_cast<int64_t>(std::time(nullptr)));

  std::string error;
  Listeners http, tls, admin;
  if (!open_listeners(options.listen, workers, &http, &error) ||
      (options.tls_listen && !open_listeners(*options.tls_listen, workers, &tls, &error)) ||
      (options.admin_listen && !open_listeners(*options.admin_listen, 1, &admin, &error))) {
    std::fprintf(stderr, "realproxy: %s\n", error.c_str());
    return 1;
  }

  auto* globalconf = new h2o_globalconf_t();
  h2o_config_init(globalconf);
  globalconf->server_name = h2o_iovec_init(H2O_STRLIT("realproxy"));
  globalconf->proxy.io_timeout = static_cast<uint64_t>(options.upstream_timeout.ns() / 1'000'000);
  globalconf->proxy.emit_x_forwarded_headers = 1;
  globalconf->proxy.emit_via_header = 0;
  globalconf->proxy.preserve_x_forwarded_proto = 0;
  // Time to receive a request's headers (slowloris) and idle time between keep-alive requests.
  globalconf->http1.req_timeout = static_cast<uint64_t>(options.header_timeout.ns() / 1'000'000);
  globalconf->http2.idle_timeout = globalconf->http1.req_timeout;
  globalconf->handshake_timeout = globalconf->http1.req_timeout;  // TLS handshake
  h2o_hostconf_t* hostconf =
      h2o_config_register_host(globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t* pathconf = h2o_config_register_path(hostconf, "/", 0);
  h2o_handler_t* handler = h2o_create_handler(pathconf, sizeof(h2o_handler_t));
  handler->on_req = &Worker::on_req;
  // The end of the upstream-first-byte phase (response start) and of the request (the logger runs
  // once the response is sent, before the request's memory is freed): see Worker.
  h2o_filter_t* filter = h2o_create_filter(pathconf, sizeof(h2o_filter_t));
  filter->on_setup_ostream = &Worker::on_response_start;
  h2o_logger_t* logger = h2o_create_logger(pathconf, sizeof(h2o_logger_t));
  logger->log_access = &Worker::on_log_access;

  WorkerEnvironment env;
  if (options.access_log) {
    env.access_log_fd =
        open(options.access_log->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (env.access_log_fd < 0) {
      std::fprintf(stderr, "realproxy: cannot open the access log %s: %s\n",
                   options.access_log->c_str(), std::strerror(errno));
      return 1;
    }
  }
  env.options = &options;
  env.globalconf = globalconf;
  env.metrics = metrics;
  env.snapshots = snapshots;
  if (options.tls_listen) {
    env.front_ssl_ctx =
        create_front_context(&Worker::select_certificate, &error, &Worker::on_tls_info);
    if (env.front_ssl_ctx == nullptr) {
      std::fprintf(stderr, "realproxy: %s\n", error.c_str());
      return 1;
    }
    if (options.session_ticket_key &&
        !load_session_ticket_key(env.front_ssl_ctx, *options.session_ticket_key, &error)) {
      std::fprintf(stderr, "realproxy: %s\n", error.c_str());
      return 2;
    }
  }

  std::vector<Worker*> pool;
  for (int i = 0; i < workers; ++i) {
    auto* worker = new Worker(i, env, http.fds[static_cast<size_t>(i)],
                              options.tls_listen ? tls.fds[static_cast<size_t>(i)] : -1);
    worker->start();
    pool.push_back(worker);
  }
  std::unique_ptr<AdminServer> admin_server;
  if (options.admin_listen) {
    admin_server = std::make_unique<AdminServer>(metrics, admin.fds[0]);
    admin_server->start();
  }

  std::fprintf(stderr, "realproxy: serving %s with %d worker(s), lb %s\n",
               describe(*snapshot).c_str(), workers, std::string(to_string(options.lb)).c_str());
  if (!upstream_pool_interposed()) {
    std::fprintf(stderr,
                 "realproxy: warning: libh2o's socket pool is not replaced (upstream_pool.h): idle "
                 "upstream connections leave the event loop between requests (slower)\n");
  }
  std::printf("listening on %s (http)\n", http.bound.c_str());
  if (options.tls_listen) std::printf("listening on %s (https)\n", tls.bound.c_str());
  if (options.admin_listen) std::printf("listening on %s (admin)\n", admin.bound.c_str());
  std::fflush(stdout);

  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig != SIGHUP) {
      std::fprintf(stderr, "realproxy: %s: draining (up to %.0f s)\n",
                   sig == SIGINT ? "SIGINT" : "SIGTERM", options.drain_timeout.to_seconds());
      break;
    }
    errors.clear();
    std::shared_ptr<const Snapshot> next = load_snapshot(options, metrics, &errors);
    metrics->record_reload(next != nullptr, static_cast<int64_t>(std::time(nullptr)));
    if (!next) {
      print_problems("error", errors);
      std::fprintf(stderr, "realproxy: reload failed; still serving the previous configuration\n");
      continue;
    }
    snapshots->store(next);
    for (Worker* worker : pool)
      worker->reload();
    std::fprintf(stderr, "realproxy: reloaded: %s\n", describe(*next).c_str());
  }

  for (Worker* worker : pool)
    worker->shutdown();
  for (Worker* worker : pool)
    worker->join();
  if (admin_server) admin_server->stop();
  std::fprintf(stderr, "realproxy: stopped\n");
  return 0;
}

}  // namespace ingresslab::realproxy
