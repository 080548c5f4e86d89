// One realproxy worker thread: an h2o event loop with its own h2o_context_t, its SO_REUSEPORT
// listeners, and its own upstream state — a keep-alive socket pool and load-balancing counters per
// endpoint, kept across configuration reloads for the endpoints that remain.
//
// The request handler (Worker::on_req) is registered once on the shared h2o_globalconf_t; it finds
// its worker through a thread-local pointer.
#pragma once

#include <pthread.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/random.h"
#include "realproxy/server/h2o_api.h"
#include "realproxy/server/metrics.h"
#include "realproxy/server/server.h"
#include "realproxy/server/tls.h"

namespace ingresslab::realproxy {

// One loaded configuration and what is derived from it; shared read-only by all workers.
struct Snapshot {
  std::shared_ptr<const ProxyConfig> config;
  std::unique_ptr<TlsContexts> tls;
  std::vector<ServiceMetrics*> backend_metrics;  // parallel to config->backends()
  ServiceMetrics* unrouted_metrics = nullptr;    // 404s and resource backends (service="")
};

// The snapshot in use. Workers copy the pointer when told to reload; requests in flight keep the
// snapshot they started with alive.
class SnapshotStore {
 public:
  std::shared_ptr<const Snapshot> load() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  void store(std::shared_ptr<const Snapshot> snapshot) {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(snapshot);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> current_;
};

// Shared by all workers; outlives them.
struct WorkerEnvironment {
  const ServeOptions* options = nullptr;
  h2o_globalconf_t* globalconf = nullptr;
  SSL_CTX* front_ssl_ctx = nullptr;  // nullptr without a TLS listener
  MetricsRegistry* metrics = nullptr;
  SnapshotStore* snapshots = nullptr;
  int access_log_fd = -1;  // -1: no access log
};

struct WorkerEndpoint;
struct WorkerView;
struct ProxyRequest;
struct ConnectionState;

class Worker {
 public:
  // `http_fd` and `tls_fd` (-1: none) are listening sockets this worker owns from now on.
  Worker(int index, const WorkerEnvironment& env, int http_fd, int tls_fd);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread; returns once its event loop is ready for reload()/shutdown().
  void start();
  // Thread-safe: adopt the snapshot now in the store (requests in flight finish on the old one).
  void reload();
  // Thread-safe: stop accepting, finish requests in flight (up to the drain timeout), stop.
  void shutdown();
  void join();

  // h2o callbacks; run on the worker's thread.
  static int on_req(h2o_handler_t* self, h2o_req_t* req);
  static SSL_CTX* select_certificate(std::string_view server_name);
  // The response starts (h2o filter): the end of the upstream-first-byte phase.
  static void on_response_start(h2o_filter_t* self, h2o_req_t* req, h2o_ostream_t** slot);
  // The response ended (h2o logger, called before the request's memory goes): timing breakdown,
  // phase metrics and the access log line.
  static void on_log_access(h2o_logger_t* self, h2o_req_t* req);
  // OpenSSL info callback (front context and, through on_servername, every connection): the start
  // and end of TLS handshakes.
  static void on_tls_info(const SSL* ssl, int where, int ret);

 private:
  friend struct WorkerView;
  friend struct ProxyRequest;
  struct ControlMessage;

  static void* thread_main(void* self);
  void run();
  void adopt_current_snapshot();
  static void on_control(h2o_multithread_receiver_t* receiver, h2o_linklist_t* messages);
  static void on_accept(h2o_socket_t* listener, const char* err);
  static void on_connection_closed(void* worker);
  static void on_connect_timeout(h2o_timeout_entry_t* entry);
  static void on_retry_after_hand_off(h2o_timeout_entry_t* entry);
  static void on_upstream_connected(h2o_socket_t* sock, const char* err, void* request);
  static void on_request_disposed(void* request);

  int handle(h2o_req_t* req);
  void try_next_endpoint(ProxyRequest* request);
  // From the response filter: h2o's proxy answers its own 502 because the upstream connection
  // failed before any response byte; for an idempotent request with tries left, the 502 is
  // swallowed and the request goes to another endpoint on the next loop turn. True if so.
  bool retry_after_hand_off(ProxyRequest* request, h2o_ostream_t** slot);
  void connect_failed(ProxyRequest* request, const char* reason);
  void hand_off(ProxyRequest* request);
  void finish(ProxyRequest* request);
  void record_timing(ProxyRequest* request);
  void write_access_log(const ProxyRequest& request);
  ProxyRequest* find_request(h2o_req_t* req) const;
  uint64_t request_key_hash(h2o_req_t* req) const;
  WorkerEndpoint* acquire_endpoint(const Endpoint& endpoint);
  void release_endpoint(WorkerEndpoint* endpoint);
  int64_t now_ns() const;

  const int index_;
  const WorkerEnvironment env_;
  int http_fd_, tls_fd_;
  pthread_t thread_{};
  h2o_evloop_t* loop_ = nullptr;
  h2o_context_t ctx_{};
  h2o_accept_ctx_t http_accept_{};
  h2o_accept_ctx_t tls_accept_{};
  std::vector<h2o_socket_t*> listeners_;
  h2o_multithread_receiver_t control_{};
  h2o_http1client_ctx_t client_ctx_{};
  h2o_timeout_t io_timeout_{};
  h2o_timeout_t connect_timeout_{};
  bool ready_ = false;  // guarded by a mutex in worker.cc; set once the loop can take messages

  std::shared_ptr<WorkerView> view_;
  std::unordered_map<std::string, std::unique_ptr<WorkerEndpoint>> endpoints_;
  std::unordered_map<const h2o_req_t*, ProxyRequest*> requests_;  // requests in the handler's care
  engine::Rng rng_;
  uint64_t in_flight_ = 0;
  bool draining_ = false;
  int64_t drain_deadline_ns_ = 0;
};

}  // namespace ingresslab::realproxy
