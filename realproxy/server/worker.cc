#include "realproxy/server/worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>
#include <random>

#include "engine/monotonic_clock.h"
#include "realproxy/server/upstream_pool.h"

namespace ingresslab::realproxy {

namespace {

thread_local Worker* t_worker = nullptr;

// Upper bound of ServeOptions::max_tries (the tried set lives in the request's memory pool).
constexpr uint32_t kMaxTries = 16;

uint64_t to_millis(engine::Duration d) {
  return static_cast<uint64_t>(std::max<int64_t>(1, d.ns() / 1'000'000));
}

using engine::monotonic_ns;

std::string_view view_of(h2o_iovec_t v) {
  return {v.base, v.len};
}

// Answers with a short text/plain body (404, 502, 503).
void send_plain(h2o_req_t* req, int status, const char* reason, std::string_view body) {
  req->res.status = status;
  req->res.reason = reason;
  req->res.content_length = body.size();
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr,
                 H2O_STRLIT("text/plain; charset=utf-8"));
  h2o_send_inline(req, body.data(), body.size());
}

// Methods that may be sent twice (RFC 9110 9.2.2; nginx's proxy_next_upstream retries these and
// never POST, LOCK, PATCH). h2o 2.2 holds the whole request body in req->entity, so a PUT's body
// can be sent again.
bool idempotent(h2o_iovec_t method) {
  for (const std::string_view m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    if (view_of(method) == m) return true;
  }
  return false;
}

}  // namespace

// One endpoint as this worker sees it: its keep-alive pool and load-balancing state. Shared by
// every backend (and every configuration) that lists the same "ip:port", so pooled connections
// and EWMAs survive reloads.
struct WorkerEndpoint {
  std::string host_port;
  h2o_socketpool_t pool;
  EndpointLoad load;
  int refs = 0;  // views referencing it; the pool is disposed at 0
};

// A snapshot as one worker uses it: per backend, this worker's endpoints and round-robin cursor.
// Requests in flight hold the view they started with.
struct WorkerView {
  Worker* worker = nullptr;
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<std::vector<WorkerEndpoint*>> endpoints;  // per backend, parallel to its endpoints
  std::vector<std::vector<EndpointLoad*>> loads;        // the same, as pick_endpoint wants them
  std::vector<uint64_t> round_robin_cursor;             // per backend

  ~WorkerView() {
    for (const auto& list : endpoints) {
      for (WorkerEndpoint* e : list)
        worker->release_endpoint(e);
    }
  }
};

// A timeout entry that knows its request (the entry is the first member: standard layout).
struct ConnectTimer {
  h2o_timeout_entry_t entry;
  ProxyRequest* owner;
};

// One accepted downstream connection: when it was accepted and how long its TLS handshake took.
// Allocated in on_accept, freed when h2o closes the socket (its on_close callback).
struct ConnectionState {
  Worker* worker = nullptr;
  int64_t accept_started_ns = 0;  // before accept(2)
  int64_t accept_ns = 0;          // accept(2) + socket setup
  int64_t tls_started_ns = 0;     // SSL_CB_HANDSHAKE_START (ClientHello being processed)
  int64_t tls_done_ns = 0;        // SSL_CB_HANDSHAKE_DONE
  uint32_t requests = 0;          // requests seen by the handler on this connection
  bool parked = false;            // kept polled while its request is proxied (keep_polled)
};

namespace {

void on_parked_read(h2o_socket_t* sock, const char* err);

// h2o 2.2's HTTP/1 server stops reading a client connection while its request is processed and
// starts again after the response (lib/http1.c). When the response comes in a later event-loop
// turn — every proxied request — the event loop applies both changes: an EPOLL_CTL_DEL and an
// EPOLL_CTL_ADD per request. Instead the connection stays registered for reading, with
// h2o_socket_dont_read so that the loop never reads from it (h2o's parsed request points
// into the input buffer, which a read could move). Only if the client sends something (a
// pipelined request, its close) before the response does it stop being polled, as h2o would
// have done; h2o reads that data after the response, as it always does.
void keep_polled(h2o_socket_t* sock, ConnectionState* connection) {
  if (h2o_socket_is_reading(sock)) return;
  h2o_socket_dont_read(sock, 1);
  h2o_socket_read_start(sock, &on_parked_read);
  connection->parked = true;
}

// Back to h2o's state (not reading; the event loop deregisters the socket only if h2o does not
// start reading again in the same turn, which it does after a keep-alive response).
void stop_keeping_polled(h2o_socket_t* sock, ConnectionState* connection) {
  if (!connection->parked) return;
  connection->parked = false;
  h2o_socket_dont_read(sock, 0);
  h2o_socket_read_stop(sock);
}

void on_parked_read(h2o_socket_t* sock, const char* /*err*/) {
  stop_keeping_polled(sock, static_cast<ConnectionState*>(sock->on_close.data));
}

}  // namespace

// The state of one request that reached the handler (proxied, 404 or 503), in the request's
// memory pool; destroyed with it. Timestamps are monotonic nanoseconds, 0 = did not happen.
struct ProxyRequest {
  h2o_req_t* req = nullptr;
  Worker* worker = nullptr;
  std::shared_ptr<WorkerView> view;
  int backend = -1;  // -1: not proxied (404, resource backend)
  ServiceMetrics* metrics = nullptr;
  uint32_t tried[kMaxTries] = {};
  uint32_t tried_count = 0;
  WorkerEndpoint* endpoint = nullptr;  // the endpoint of the current attempt
  h2o_socketpool_connect_request_t* connect_req = nullptr;
  ConnectTimer timer{};
  int64_t started_ns = 0;             // handler entered
  int64_t handed_off_ns = 0;          // 0 until h2o's proxy has the request
  size_t error_logs_at_hand_off = 0;  // req->error_logs.size when handed over
  uint64_t key_hash = 0;
  // Timing breakdown (README "Timing"); the connection's phases are copied for its first request.
  bool first_on_connection = false;
  int64_t accept_ns = -1;  // -1: not this request's
  int64_t tls_handshake_ns = -1;
  int64_t total_from_ns = 0;  // connection accepted (first request) or first request byte read
  int64_t request_begin_ns = 0;
  int64_t routed_ns = 0;
  int64_t connected_ns = 0;
  int64_t response_start_ns = 0;
  int64_t end_ns = 0;
  bool timed = false;
  WorkerEndpoint* last_endpoint = nullptr;  // for the access log
  h2o_socket_t* downstream = nullptr;       // the HTTP/1 client connection kept polled
  ConnectionState* downstream_state = nullptr;
};

struct Worker::ControlMessage {
  enum class Kind { kReload, kShutdown };
  h2o_multithread_message_t super;  // first member: messages are found from their link
  Kind kind;
};

namespace {
std::mutex g_ready_mu;
std::condition_variable g_ready_cv;
}  // namespace

Worker::Worker(int index, const WorkerEnvironment& env, int http_fd, int tls_fd)
    : index_(index),
      env_(env),
      http_fd_(http_fd),
      tls_fd_(tls_fd),
      rng_(std::random_device{}() ^ (static_cast<uint64_t>(index) << 32)) {}

// Workers are not torn down: the process exits right after they stop (h2o contexts with open
// connections cannot be disposed safely, and the OS reclaims everything anyway).
Worker::~Worker() = default;

int64_t Worker::now_ns() const {
  return monotonic_ns();
}

void Worker::start() {
  pthread_create(&thread_, nullptr, &Worker::thread_main, this);
  std::unique_lock<std::mutex> lock(g_ready_mu);
  g_ready_cv.wait(lock, [this] { return ready_; });
}

void* Worker::thread_main(void* self) {
  static_cast<Worker*>(self)->run();
  return nullptr;
}

void Worker::join() {
  pthread_join(thread_, nullptr);
}

void Worker::reload() {
  auto* message = new ControlMessage{{}, ControlMessage::Kind::kReload};
  h2o_multithread_send_message(&control_, &message->super);
}

void Worker::shutdown() {
  auto* message = new ControlMessage{{}, ControlMessage::Kind::kShutdown};
  h2o_multithread_send_message(&control_, &message->super);
}

void Worker::run() {
  t_worker = this;
  loop_ = h2o_evloop_create();
  h2o_context_init(&ctx_, loop_, env_.globalconf);
  h2o_timeout_init(loop_, &io_timeout_, to_millis(env_.options->upstream_timeout));
  h2o_timeout_init(loop_, &connect_timeout_, to_millis(env_.options->connect_timeout));
  client_ctx_.loop = loop_;
  client_ctx_.getaddr_receiver = &ctx_.receivers.hostinfo_getaddr;
  client_ctx_.io_timeout = &io_timeout_;
  client_ctx_.websocket_timeout = nullptr;  // no WebSocket upgrades (yet)
  client_ctx_.ssl_ctx = nullptr;            // plain HTTP/1.1 to pods
  h2o_multithread_register_receiver(ctx_.queue, &control_, &Worker::on_control);
  adopt_current_snapshot();

  http_accept_.ctx = &ctx_;
  http_accept_.hosts = env_.globalconf->hosts;
  tls_accept_ = http_accept_;
  tls_accept_.ssl_ctx = env_.front_ssl_ctx;
  const auto listen_on = [this](int fd, h2o_accept_ctx_t* accept_ctx) {
    if (fd < 0) return;
    h2o_socket_t* sock = h2o_evloop_socket_create(loop_, fd, H2O_SOCKET_FLAG_DONT_READ);
    sock->data = accept_ctx;
    h2o_socket_read_start(sock, &Worker::on_accept);
    listeners_.push_back(sock);
  };
  listen_on(http_fd_, &http_accept_);
  listen_on(tls_fd_, &tls_accept_);
  {
    std::lock_guard<std::mutex> lock(g_ready_mu);
    ready_ = true;
  }
  g_ready_cv.notify_all();

  while (true) {
    // h2o caches its wall-clock timestamp per millisecond of loop time; forget it each iteration
    // so that req->timestamps.request_begin_at (the start of the header_parse phase) is taken when
    // this iteration first needs it, not up to 1 ms earlier.
    ctx_._timestamp_cache.uv_now_at = 0;
    h2o_evloop_run(loop_, draining_ ? 20 : INT32_MAX);
    if (draining_ && (in_flight_ == 0 || now_ns() >= drain_deadline_ns_)) break;
  }
}

void Worker::on_control(h2o_multithread_receiver_t* /*receiver*/, h2o_linklist_t* messages) {
  Worker* self = t_worker;
  while (!h2o_linklist_is_empty(messages)) {
    auto* message = reinterpret_cast<ControlMessage*>(messages->next);
    h2o_linklist_unlink(&message->super.link);
    switch (message->kind) {
      case ControlMessage::Kind::kReload:
        self->adopt_current_snapshot();
        break;
      case ControlMessage::Kind::kShutdown:
        for (h2o_socket_t* listener : self->listeners_) {
          h2o_socket_read_stop(listener);
          h2o_socket_close(listener);
        }
        self->listeners_.clear();
        h2o_context_request_shutdown(&self->ctx_);
        self->draining_ = true;
        self->drain_deadline_ns_ = self->now_ns() + self->env_.options->drain_timeout.ns();
        break;
    }
    delete message;
  }
}

WorkerEndpoint* Worker::acquire_endpoint(const Endpoint& endpoint) {
  std::unique_ptr<WorkerEndpoint>& slot = endpoints_[endpoint.host_port];
  if (!slot) {
    slot = std::make_unique<WorkerEndpoint>();
    slot->host_port = endpoint.host_port;
    sockaddr_storage address = endpoint.sockaddr;
    h2o_socketpool_init_by_address(&slot->pool, reinterpret_cast<sockaddr*>(&address),
                                   endpoint.sockaddr_len, /*is_ssl=*/0, /*capacity=*/SIZE_MAX);
    // Also arms the pool's expiry of idle connections (required: the pool reads its loop).
    h2o_socketpool_set_timeout(&slot->pool, loop_, to_millis(env_.options->upstream_keepalive));
    keep_upstream_connections_in_loop(&slot->pool, loop_);
  }
  ++slot->refs;
  return slot.get();
}

void Worker::release_endpoint(WorkerEndpoint* endpoint) {
  if (--endpoint->refs > 0) return;
  forget_upstream_pool(&endpoint->pool);
  h2o_socketpool_dispose(&endpoint->pool);
  endpoints_.erase(endpoint->host_port);  // frees `endpoint`
}

void Worker::adopt_current_snapshot() {
  auto view = std::make_shared<WorkerView>();
  view->worker = this;
  view->snapshot = env_.snapshots->load();
  const ProxyConfig& config = *view->snapshot->config;
  // Round-robin positions carry over for backends that stay (nginx resets them on reload; there
  // is no reason to).
  std::unordered_map<std::string, uint64_t> old_cursors;
  if (view_) {
    const auto old_backends = view_->snapshot->config->backends();
    for (size_t i = 0; i < old_backends.size(); ++i) {
      old_cursors[old_backends[i].label + "|" + old_backends[i].display] =
          view_->round_robin_cursor[i];
    }
  }
  const int64_t now = now_ns();
  for (const Backend& backend : config.backends()) {
    std::vector<WorkerEndpoint*> endpoints;
    std::vector<EndpointLoad*> loads;
    for (const Endpoint& e : backend.endpoints) {
      endpoints.push_back(acquire_endpoint(e));
      loads.push_back(&endpoints.back()->load);
    }
    if (env_.options->lb == LbPolicy::kEwma) seed_missing_ewma(loads, now);
    const auto old = old_cursors.find(backend.label + "|" + backend.display);
    // Workers start at different endpoints, so the first requests do not all go to the first.
    view->round_robin_cursor.push_back(
        old != old_cursors.end() ? old->second : rng_.below(std::max<size_t>(1, endpoints.size())));
    view->endpoints.push_back(std::move(endpoints));
    view->loads.push_back(std::move(loads));
  }
  view_ = std::move(view);  // the old view goes when its last request does
}

void Worker::on_accept(h2o_socket_t* listener, const char* err) {
  if (err != nullptr) return;
  Worker* self = t_worker;
  auto* accept_ctx = static_cast<h2o_accept_ctx_t*>(listener->data);
  for (int i = 0; i < 16; ++i) {  // a few per wakeup, as h2o's own server does
    const int64_t accept_started = self->now_ns();
    h2o_socket_t* sock = h2o_evloop_socket_accept(listener);
    if (sock == nullptr) return;
    auto* connection = new ConnectionState();
    connection->worker = self;
    connection->accept_started_ns = accept_started;
    connection->accept_ns = self->now_ns() - accept_started;
    self->env_.metrics->connection_opened(self->index_);
    sock->on_close.cb = &Worker::on_connection_closed;
    sock->on_close.data = connection;
    h2o_accept(accept_ctx, sock);
  }
}

void Worker::on_connection_closed(void* data) {
  auto* connection = static_cast<ConnectionState*>(data);
  connection->worker->env_.metrics->connection_closed(connection->worker->index_);
  delete connection;
}

void Worker::on_tls_info(const SSL* ssl, int where, int /*ret*/) {
  if ((where & (SSL_CB_HANDSHAKE_START | SSL_CB_HANDSHAKE_DONE)) == 0) return;
  // h2o's TLS sockets read and write through a BIO whose data is the h2o_socket_t
  // (lib/common/socket.c, setup_bio); ours carry their ConnectionState in on_close.data.
  BIO* bio = SSL_get_rbio(ssl);
  auto* sock = bio != nullptr ? static_cast<h2o_socket_t*>(BIO_get_data(bio)) : nullptr;
  if (sock == nullptr || sock->on_close.cb != &Worker::on_connection_closed) return;
  auto* connection = static_cast<ConnectionState*>(sock->on_close.data);
  const int64_t now = monotonic_ns();
  // TLS 1.3 signals again for the session tickets sent after the handshake: keep the first.
  if ((where & SSL_CB_HANDSHAKE_START) != 0 && connection->tls_started_ns == 0) {
    connection->tls_started_ns = now;
  } else if ((where & SSL_CB_HANDSHAKE_DONE) != 0 && connection->tls_done_ns == 0) {
    connection->tls_done_ns = now;
  }
}

SSL_CTX* Worker::select_certificate(std::string_view server_name) {
  const Worker* self = t_worker;
  if (self == nullptr || !self->view_) return nullptr;
  const Snapshot& snapshot = *self->view_->snapshot;
  const ProxyConfig& config = *snapshot.config;
  int index = config.certificate_index(config.table().tls_for_sni(server_name));
  if (index < 0) index = config.default_certificate_index();
  return snapshot.tls ? snapshot.tls->context(index) : nullptr;
}

int Worker::on_req(h2o_handler_t* /*self*/, h2o_req_t* req) {
  return t_worker->handle(req);
}

int Worker::handle(h2o_req_t* req) {
  const int64_t started = now_ns();
  timeval wall{};
  gettimeofday(&wall, nullptr);
  void* memory =
      h2o_mem_alloc_shared(&req->pool, sizeof(ProxyRequest), &Worker::on_request_disposed);
  auto* request = new (memory) ProxyRequest();
  request->req = req;
  request->worker = this;
  request->view = view_;
  request->timer.entry.cb = &Worker::on_connect_timeout;
  request->timer.owner = request;
  request->started_ns = started;
  // header_parse starts when h2o read the request's first byte (its wall-clock timestamp).
  request->request_begin_ns = started;
  if (!h2o_timeval_is_null(&req->timestamps.request_begin_at)) {
    const int64_t since =
        (static_cast<int64_t>(wall.tv_sec) - req->timestamps.request_begin_at.tv_sec) *
            1'000'000'000 +
        (static_cast<int64_t>(wall.tv_usec) - req->timestamps.request_begin_at.tv_usec) * 1'000;
    request->request_begin_ns = started - std::max<int64_t>(0, since);
  }
  request->total_from_ns = request->request_begin_ns;
  h2o_socket_t* sock = req->conn->callbacks->get_socket != nullptr
                           ? req->conn->callbacks->get_socket(req->conn)
                           : nullptr;
  if (sock != nullptr && sock->on_close.cb == &Worker::on_connection_closed) {
    auto* connection = static_cast<ConnectionState*>(sock->on_close.data);
    if (connection->requests++ == 0) {
      request->first_on_connection = true;
      request->accept_ns = connection->accept_ns;
      request->total_from_ns = std::min(request->total_from_ns, connection->accept_started_ns);
      if (connection->tls_started_ns != 0 &&
          connection->tls_done_ns >= connection->tls_started_ns) {
        request->tls_handshake_ns = connection->tls_done_ns - connection->tls_started_ns;
      }
    }
  }
  requests_.emplace(req, request);
  ++in_flight_;

  const Snapshot& snapshot = *view_->snapshot;
  const ProxyConfig& config = *snapshot.config;
  // Routing input: the Host header (or :authority) as received, and h2o's normalised path.
  const routing::MatchResult match =
      config.table().match(view_of(req->input.authority), view_of(req->path_normalized));
  const int backend_index = match.found() ? config.backend_index(match) : -1;
  request->routed_ns = now_ns();
  if (!match.found()) {
    request->metrics = snapshot.unrouted_metrics;
    send_plain(req, 404, "Not Found", "404 not found: no Ingress rule matches\n");
    return 0;
  }
  if (backend_index < 0) {
    request->metrics = snapshot.unrouted_metrics;
    send_plain(req, 503, "Service Unavailable",
               "503 service unavailable: resource backends are not supported\n");
    return 0;
  }
  request->metrics = snapshot.backend_metrics[static_cast<size_t>(backend_index)];
  const Backend& backend = config.backends()[static_cast<size_t>(backend_index)];
  if (backend.endpoints.empty()) {
    send_plain(req, 503, "Service Unavailable", "503 service unavailable: no ready endpoints\n");
    return 0;
  }
  request->backend = backend_index;

  // X-Forwarded-For and X-Forwarded-Proto are added by h2o's proxy (emit_x_forwarded_headers).
  h2o_set_header_by_str(&req->pool, &req->headers, H2O_STRLIT("x-forwarded-host"), 0,
                        req->input.authority.base, req->input.authority.len, 1);
  if (req->version < 0x200 && sock != nullptr &&
      sock->on_close.cb == &Worker::on_connection_closed) {
    request->downstream = sock;
    request->downstream_state = static_cast<ConnectionState*>(sock->on_close.data);
    keep_polled(sock, request->downstream_state);
  }
  if (env_.options->lb == LbPolicy::kConsistentHash) request->key_hash = request_key_hash(req);
  try_next_endpoint(request);
  return 0;
}

void Worker::try_next_endpoint(ProxyRequest* request) {
  WorkerView& view = *request->view;
  const size_t b = static_cast<size_t>(request->backend);
  const Backend& backend = view.snapshot->config->backends()[b];
  std::optional<uint32_t> chosen;
  const uint32_t max_tries =
      std::min<uint32_t>(kMaxTries, static_cast<uint32_t>(std::max(1, env_.options->max_tries)));
  if (request->tried_count < max_tries) {
    PickRequest pick;
    pick.endpoints = view.loads[b];
    pick.tried = std::span<const uint32_t>(request->tried, request->tried_count);
    pick.now_ns = now_ns();
    pick.round_robin_cursor = &view.round_robin_cursor[b];
    pick.rng = &rng_;
    pick.ring = &backend.ring;
    pick.key_hash = request->key_hash;
    chosen = pick_endpoint(env_.options->lb, pick);
  }
  if (!chosen) {
    send_plain(request->req, 502, "Bad Gateway",
               "502 bad gateway: no endpoint accepted the connection\n");
    return;
  }
  if (request->tried_count > 0) request->metrics->record_retry(index_);
  request->tried[request->tried_count++] = *chosen;
  request->endpoint = view.endpoints[b][*chosen];
  request->last_endpoint = request->endpoint;
  ++request->endpoint->load.active_requests;
  // Fast path: the endpoint has an idle keep-alive connection (upstream_pool.h: in the event loop,
  // closed as soon as the pod closes it), which h2o's proxy takes — hand over at once. The rare
  // connection the pod closes just as it is taken fails the request like nginx's keep-alive cache
  // does; an idempotent request is then retried (retry_after_hand_off).
  if (has_idle_upstream_connection(&request->endpoint->pool)) {
    request->connected_ns = now_ns();
    hand_off(request);
    return;
  }
  h2o_timeout_link(loop_, &connect_timeout_, &request->timer.entry);
  // May call on_upstream_connected before returning (a pooled connection, or an immediate error).
  h2o_socketpool_connect(&request->connect_req, &request->endpoint->pool, loop_,
                         &ctx_.receivers.hostinfo_getaddr, &Worker::on_upstream_connected, request);
}

void Worker::on_upstream_connected(h2o_socket_t* sock, const char* err, void* data) {
  auto* request = static_cast<ProxyRequest*>(data);
  request->connect_req = nullptr;
  if (h2o_timeout_is_linked(&request->timer.entry)) h2o_timeout_unlink(&request->timer.entry);
  Worker* self = request->worker;
  if (err != nullptr) {
    self->connect_failed(request, err);
    return;
  }
  request->endpoint->load.unhealthy_until_ns = 0;
  request->connected_ns = self->now_ns();
  // The connection is known good: put it back in the endpoint's pool, from which h2o's proxy takes
  // a live connection (this one, or an older idle one) when it sends the request.
  h2o_socketpool_return(&request->endpoint->pool, sock);
  self->hand_off(request);
}

void Worker::on_connect_timeout(h2o_timeout_entry_t* entry) {
  ProxyRequest* request = reinterpret_cast<ConnectTimer*>(entry)->owner;
  if (request->connect_req != nullptr) {
    h2o_socketpool_cancel_connect(request->connect_req);
    request->connect_req = nullptr;
  }
  request->worker->connect_failed(request, "connection timeout");
}

void Worker::connect_failed(ProxyRequest* request, const char* reason) {
  WorkerEndpoint* endpoint = request->endpoint;
  const int64_t now = now_ns();
  request->metrics->record_connect_error(index_);
  if (endpoint->load.healthy(now)) {
    std::fprintf(stderr, "realproxy: worker %d: upstream %s: %s; marked unhealthy for %.0f s\n",
                 index_, endpoint->host_port.c_str(), reason,
                 env_.options->unhealthy_for.to_seconds());
  }
  endpoint->load.unhealthy_until_ns = now + env_.options->unhealthy_for.ns();
  --endpoint->load.active_requests;
  request->endpoint = nullptr;
  // Nothing was sent: another endpoint may take the request whatever its method (nginx does the
  // same for proxy_next_upstream "error").
  try_next_endpoint(request);
}

void Worker::hand_off(ProxyRequest* request) {
  h2o_req_t* req = request->req;
  request->handed_off_ns = now_ns();
  request->error_logs_at_hand_off = req->error_logs.size;
  auto* overrides = static_cast<h2o_req_overrides_t*>(
      h2o_mem_alloc_pool(&req->pool, sizeof(h2o_req_overrides_t)));
  std::memset(overrides, 0, sizeof *overrides);
  overrides->socketpool = &request->endpoint->pool;
  overrides->client_ctx = &client_ctx_;
  // With overrides set, h2o skips its host/path lookup and goes straight to its reverse proxy
  // (lib/core/request.c → h2o__proxy_process_request), which connects through the pool and sends
  // the request with Host = req->authority, keep-alive, X-Forwarded-For/-Proto.
  h2o_reprocess_request(req, req->method, req->scheme, req->authority, req->path, overrides, 0);
}

void Worker::on_request_disposed(void* data) {
  auto* request = static_cast<ProxyRequest*>(data);
  request->worker->finish(request);
  request->~ProxyRequest();
}

void Worker::finish(ProxyRequest* request) {
  if (request->connect_req != nullptr) {
    h2o_socketpool_cancel_connect(request->connect_req);
    request->connect_req = nullptr;
  }
  if (h2o_timeout_is_linked(&request->timer.entry)) h2o_timeout_unlink(&request->timer.entry);
  requests_.erase(request->req);
  if (request->downstream != nullptr) {
    stop_keeping_polled(request->downstream, request->downstream_state);
  }
  const int64_t now = now_ns();
  if (request->end_ns == 0) request->end_ns = now;
  record_timing(request);
  const int status = request->req->res.status;
  if (WorkerEndpoint* endpoint = request->endpoint) {
    --endpoint->load.active_requests;
    if (request->handed_off_ns != 0 && status != 0) {
      endpoint->load.record_response_time(static_cast<double>(now - request->handed_off_ns) * 1e-6,
                                          now);
      // Passive outlier detection (Envoy consecutive_5xx): an endpoint that answers (or whose
      // connection fails with) 5xx this many times in a row is ejected for --unhealthy-for.
      if (status >= 500 && env_.options->eject_after_5xx > 0) {
        if (++endpoint->load.consecutive_5xx >=
            static_cast<uint32_t>(env_.options->eject_after_5xx)) {
          endpoint->load.consecutive_5xx = 0;
          endpoint->load.unhealthy_until_ns = now + env_.options->unhealthy_for.ns();
          request->metrics->record_ejection(index_);
          std::fprintf(
              stderr, "realproxy: worker %d: upstream %s: %d consecutive 5xx; ejected for %.0f s\n",
              index_, endpoint->host_port.c_str(), env_.options->eject_after_5xx,
              env_.options->unhealthy_for.to_seconds());
        }
      } else if (status < 500) {
        endpoint->load.consecutive_5xx = 0;
      }
    }
  }
  if (request->metrics != nullptr) {
    request->metrics->record_request(index_, status, request->end_ns - request->started_ns);
  }
  --in_flight_;
}

ProxyRequest* Worker::find_request(h2o_req_t* req) const {
  const auto it = requests_.find(req);
  return it == requests_.end() ? nullptr : it->second;
}

void Worker::on_response_start(h2o_filter_t* /*self*/, h2o_req_t* req, h2o_ostream_t** slot) {
  if (Worker* self = t_worker) {
    if (ProxyRequest* request = self->find_request(req);
        request && request->response_start_ns == 0) {
      if (self->retry_after_hand_off(request, slot)) return;
      request->response_start_ns = self->now_ns();
    }
  }
  h2o_setup_next_ostream(req, slot);
}

namespace {

// The ostream that takes the swallowed 502 (its body and end) and sends nothing.
void discard_send(h2o_ostream_t* /*self*/, h2o_req_t* /*req*/, h2o_iovec_t* /*bufs*/,
                  size_t /*bufcnt*/, h2o_send_state_t /*state*/) {}

}  // namespace

// Retry after the hand-over (README "Retries after the hand-over"). h2o 2.2's proxy has no retry
// hook, but when the pooled or new upstream connection fails before the response head (pod killed
// with the request in flight, connection reset or closed, refused), it logs the error
// (h2o_req_log_error, module "lib/core/proxy.c") and answers with h2o_send_error_502, whose
// response start passes through this filter before anything is written to the client. A 502 the
// pod itself sent logs no error, and a response already started never comes back here. Timeouts
// (--upstream-timeout) are not retried: the pod may be working on the request.
bool Worker::retry_after_hand_off(ProxyRequest* request, h2o_ostream_t** slot) {
  h2o_req_t* req = request->req;
  if (request->handed_off_ns == 0 || request->endpoint == nullptr || req->res.status != 502) {
    return false;
  }
  if (req->error_logs.size <= request->error_logs_at_hand_off) return false;
  const h2o_req_error_log_t& log = req->error_logs.entries[req->error_logs.size - 1];
  if (log.module == nullptr || std::strcmp(log.module, "lib/core/proxy.c") != 0) return false;
  if (view_of(log.msg).find("timeout") != std::string_view::npos) return false;
  const uint32_t max_tries =
      std::min<uint32_t>(kMaxTries, static_cast<uint32_t>(std::max(1, env_.options->max_tries)));
  // h2o answers 502 itself after 5 reprocessings of one request (each hand-over is one).
  if (!idempotent(req->method) || request->tried_count >= max_tries || req->num_reprocessed >= 5) {
    return false;
  }
  h2o_ostream_t* sink = h2o_add_ostream(req, sizeof(h2o_ostream_t), slot);
  sink->do_send = &discard_send;
  // h2o is inside h2o_send_inline (called from its proxy's callback): continue on the next turn.
  request->timer.entry.cb = &Worker::on_retry_after_hand_off;
  h2o_timeout_link(loop_, &ctx_.zero_timeout, &request->timer.entry);
  return true;
}

void Worker::on_retry_after_hand_off(h2o_timeout_entry_t* entry) {
  ProxyRequest* request = reinterpret_cast<ConnectTimer*>(entry)->owner;
  request->timer.entry.cb = &Worker::on_connect_timeout;
  Worker* self = request->worker;
  h2o_req_t* req = request->req;
  // Undo the swallowed 502 as h2o_reprocess_request does (close_generator_and_filters and
  // reset_response in lib/core/request.c), so that a 502 of our own (no endpoint left) can be
  // sent too: drop the ostreams above the protocol's, clear the response, restart the filters.
  req->_generator = nullptr;
  while (req->_ostr_top->next != nullptr) {
    if (req->_ostr_top->stop != nullptr) req->_ostr_top->stop(req->_ostr_top, req);
    req->_ostr_top = req->_ostr_top->next;
  }
  const auto original = req->res.original;
  req->res = h2o_res_t{};
  req->res.reason = "OK";
  req->res.content_length = SIZE_MAX;
  req->res.original = original;
  req->_next_filter_index = 0;
  req->bytes_sent = 0;
  // The endpoint failed this request like a 5xx (outlier detection) but stays in rotation: a
  // dead pod is found by the next connect, a closed keep-alive connection is no fault of a pod.
  WorkerEndpoint* endpoint = request->endpoint;
  --endpoint->load.active_requests;
  if (self->env_.options->eject_after_5xx > 0 &&
      ++endpoint->load.consecutive_5xx >=
          static_cast<uint32_t>(self->env_.options->eject_after_5xx)) {
    endpoint->load.consecutive_5xx = 0;
    endpoint->load.unhealthy_until_ns = self->now_ns() + self->env_.options->unhealthy_for.ns();
    request->metrics->record_ejection(self->index_);
  }
  std::fprintf(stderr,
               "realproxy: worker %d: upstream %s: %.*s; retrying %.*s on another endpoint\n",
               self->index_, endpoint->host_port.c_str(),
               static_cast<int>(req->error_logs.entries[req->error_logs.size - 1].msg.len),
               req->error_logs.entries[req->error_logs.size - 1].msg.base,
               static_cast<int>(req->method.len), req->method.base);
  request->endpoint = nullptr;
  request->handed_off_ns = 0;
  self->try_next_endpoint(request);
}

void Worker::on_log_access(h2o_logger_t* /*self*/, h2o_req_t* req) {
  Worker* self = t_worker;
  if (self == nullptr) return;
  ProxyRequest* request = self->find_request(req);
  if (request == nullptr) return;
  request->end_ns = self->now_ns();
  self->record_timing(request);
  if (self->env_.access_log_fd >= 0) self->write_access_log(*request);
}

void Worker::record_timing(ProxyRequest* request) {
  if (request->timed) return;
  request->timed = true;
  MetricsRegistry& m = *env_.metrics;
  if (request->accept_ns >= 0) m.record_phase(index_, RequestPhase::kAccept, request->accept_ns);
  if (request->tls_handshake_ns >= 0) {
    m.record_phase(index_, RequestPhase::kTlsHandshake, request->tls_handshake_ns);
  }
  m.record_phase(index_, RequestPhase::kHeaderParse,
                 request->started_ns - request->request_begin_ns);
  m.record_phase(index_, RequestPhase::kRoute, request->routed_ns - request->started_ns);
  if (request->connected_ns != 0) {
    m.record_phase(index_, RequestPhase::kUpstreamConnect,
                   request->connected_ns - request->routed_ns);
  }
  if (request->handed_off_ns != 0 && request->response_start_ns >= request->handed_off_ns) {
    m.record_phase(index_, RequestPhase::kUpstreamFirstByte,
                   request->response_start_ns - request->handed_off_ns);
  }
  m.record_phase(index_, RequestPhase::kTotal, request->end_ns - request->total_from_ns);
}

namespace {

// Appends `v` to an access log line, escaping quotes, backslashes and non-printable bytes as
// \xNN (Apache's escaping).
void append_escaped(std::string* line, std::string_view v) {
  for (const char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      *line += buf;
    } else {
      *line += c;
    }
  }
}

void append_micros(std::string* line, const char* name, int64_t ns, bool present) {
  *line += ' ';
  *line += name;
  *line += '=';
  if (!present) {
    *line += '-';
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(std::max<int64_t>(0, ns)) * 1e-3);
  *line += buf;
}

}  // namespace

// Combined log format, then the timing breakdown in microseconds ("-": the phase did not happen
// for this request), the endpoint and the number of endpoints tried.
void Worker::write_access_log(const ProxyRequest& r) {
  h2o_req_t* req = r.req;
  std::string line;
  line.reserve(320);
  sockaddr_storage ss{};
  const socklen_t len =
      req->conn->callbacks->get_peername(req->conn, reinterpret_cast<sockaddr*>(&ss));
  char host[INET6_ADDRSTRLEN] = "-";
  if (len != 0 && ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, host, sizeof host);
  } else if (len != 0 && ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, host, sizeof host);
  }
  line += host;
  const time_t now = std::time(nullptr);
  tm local{};
  localtime_r(&now, &local);
  char when[64];
  std::strftime(when, sizeof when, " - - [%d/%b/%Y:%H:%M:%S %z] \"", &local);
  line += when;
  append_escaped(&line, view_of(req->input.method));
  line += ' ';
  append_escaped(&line, view_of(req->input.path));
  char rest[96];
  if (req->version >= 0x200) {
    std::snprintf(rest, sizeof rest, " HTTP/%d\" %d %zu \"", req->version >> 8, req->res.status,
                  req->bytes_sent);
  } else {
    std::snprintf(rest, sizeof rest, " HTTP/%d.%d\" %d %zu \"", req->version >> 8,
                  req->version & 0xff, req->res.status, req->bytes_sent);
  }
  line += rest;
  const ssize_t referer = h2o_find_header(&req->headers, H2O_TOKEN_REFERER, -1);
  append_escaped(&line, referer >= 0 ? view_of(req->headers.entries[referer].value) : "-");
  line += "\" \"";
  const ssize_t agent = h2o_find_header(&req->headers, H2O_TOKEN_USER_AGENT, -1);
  append_escaped(&line, agent >= 0 ? view_of(req->headers.entries[agent].value) : "-");
  line += '"';
  append_micros(&line, "accept_us", r.accept_ns, r.accept_ns >= 0);
  append_micros(&line, "tls_us", r.tls_handshake_ns, r.tls_handshake_ns >= 0);
  append_micros(&line, "parse_us", r.started_ns - r.request_begin_ns, true);
  append_micros(&line, "route_us", r.routed_ns - r.started_ns, true);
  append_micros(&line, "connect_us", r.connected_ns - r.routed_ns, r.connected_ns != 0);
  append_micros(&line, "first_byte_us", r.response_start_ns - r.handed_off_ns,
                r.handed_off_ns != 0 && r.response_start_ns >= r.handed_off_ns);
  append_micros(&line, "total_us", r.end_ns - r.total_from_ns, true);
  line += " upstream=";
  line += r.last_endpoint != nullptr ? r.last_endpoint->host_port : "-";
  line += " tries=" + std::to_string(r.tried_count) + "\n";
  // One write per line on an O_APPEND descriptor: lines of concurrent workers do not interleave.
  const ssize_t written = write(env_.access_log_fd, line.data(), line.size());
  (void)written;
}

uint64_t Worker::request_key_hash(h2o_req_t* req) const {
  const HashOn& on = env_.options->hash_on;
  switch (on.kind) {
    case HashOn::Kind::kHeader: {
      const ssize_t i = h2o_find_header_by_str(&req->headers, on.name.data(), on.name.size(), -1);
      return hash_key(i >= 0 ? view_of(req->headers.entries[i].value) : std::string_view());
    }
    case HashOn::Kind::kCookie: {
      for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1;) {
        std::string_view cookies = view_of(req->headers.entries[i].value);
        while (!cookies.empty()) {
          const size_t end = cookies.find(';');
          std::string_view pair = cookies.substr(0, end);
          cookies = end == std::string_view::npos ? std::string_view() : cookies.substr(end + 1);
          while (!pair.empty() && pair.front() == ' ')
            pair.remove_prefix(1);
          const size_t eq = pair.find('=');
          if (eq != std::string_view::npos && pair.substr(0, eq) == on.name) {
            return hash_key(pair.substr(eq + 1));
          }
        }
      }
      return hash_key("");
    }
    case HashOn::Kind::kSource: {
      sockaddr_storage ss{};
      const socklen_t len =
          req->conn->callbacks->get_peername(req->conn, reinterpret_cast<sockaddr*>(&ss));
      if (len != 0 && ss.ss_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
        return hash_key({reinterpret_cast<const char*>(&sin->sin_addr), sizeof sin->sin_addr});
      }
      if (len != 0 && ss.ss_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
        return hash_key({reinterpret_cast<const char*>(&sin6->sin6_addr), sizeof sin6->sin6_addr});
      }
      return hash_key("");
    }
  }
  return 0;
}

}  // namespace ingresslab::realproxy
