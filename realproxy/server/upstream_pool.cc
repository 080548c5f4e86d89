#include "realproxy/server/upstream_pool.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace ingresslab::realproxy {
namespace {

static_assert(H2O_VERSION_MAJOR == 2 && H2O_VERSION_MINOR == 2,
              "upstream_pool.cc replaces h2o 2.2's socketpool connect/return; check it for this "
              "version (lib/common/socketpool.c, lib/common/http1client.c)");

using ConnectFn = void (*)(h2o_socketpool_connect_request_t**, h2o_socketpool_t*, h2o_loop_t*,
                           h2o_multithread_receiver_t*, h2o_socketpool_connect_cb, void*);
using ReturnFn = int (*)(h2o_socketpool_t*, h2o_socket_t*);

// libh2o's own definitions (the next after the executable's in symbol lookup order).
ConnectFn libh2o_connect() {
  static const auto fn = reinterpret_cast<ConnectFn>(dlsym(RTLD_NEXT, "h2o_socketpool_connect"));
  return fn;
}
ReturnFn libh2o_return() {
  static const auto fn = reinterpret_cast<ReturnFn>(dlsym(RTLD_NEXT, "h2o_socketpool_return"));
  return fn;
}

struct IdleConnection {
  h2o_socket_t* sock;
  uint64_t returned_at_ms;  // h2o_now of the pool's loop
};

struct InLoopPool {
  h2o_socketpool_t* pool = nullptr;
  h2o_loop_t* loop = nullptr;
  std::vector<IdleConnection> idle;  // oldest first; taken from the back (LIFO)
};

// One thread's counters: written by that thread only, read by the admin listener's.
struct AtomicStats {
  std::atomic<uint64_t> reused{0}, returned{0}, closed_idle{0}, expired{0};
};
void bump(std::atomic<uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

std::mutex g_stats_mu;
std::vector<AtomicStats*> g_stats;  // never freed: a worker's counters outlive its thread

AtomicStats* new_thread_stats() {
  auto* stats = new AtomicStats();
  std::lock_guard<std::mutex> lock(g_stats_mu);
  g_stats.push_back(stats);
  return stats;
}

// Per worker thread: its pools, an expiry sweep (once a second while any connection is idle).
struct ThreadPools {
  std::unordered_map<h2o_socketpool_t*, std::unique_ptr<InLoopPool>> pools;
  AtomicStats* stats = nullptr;  // set when the thread registers its first pool
  h2o_loop_t* loop = nullptr;
  h2o_timeout_t sweep_timeout{};
  h2o_timeout_entry_t sweep_entry{};
};
thread_local ThreadPools t_pools;

InLoopPool* find_pool(h2o_socketpool_t* pool) {
  if (t_pools.pools.empty()) return nullptr;
  const auto it = t_pools.pools.find(pool);
  return it == t_pools.pools.end() ? nullptr : it->second.get();
}

bool expired(const InLoopPool& p, const IdleConnection& c, uint64_t now_ms) {
  return p.pool->timeout != UINT64_MAX && now_ms - c.returned_at_ms >= p.pool->timeout;
}

// The socket keeps the pool's on_close (its connection count) while idle: closing it here counts.
void close_idle(InLoopPool& p, size_t index) {
  h2o_socket_t* sock = p.idle[index].sock;
  p.idle.erase(p.idle.begin() + static_cast<std::ptrdiff_t>(index));
  h2o_socket_close(sock);
}

// Data or EOF on an idle connection: the upstream closed it (or broke HTTP/1.1 by talking
// unasked). Drop it, as nginx's keep-alive cache does (ngx_http_upstream_keepalive_close_handler).
void on_idle_read(h2o_socket_t* sock, const char* /*err*/) {
  auto* p = static_cast<InLoopPool*>(sock->data);
  for (size_t i = 0; i < p->idle.size(); ++i) {
    if (p->idle[i].sock == sock) {
      bump(t_pools.stats->closed_idle);
      close_idle(*p, i);
      return;
    }
  }
}

void sweep_expired(h2o_timeout_entry_t* /*entry*/) {
  bool any_idle = false;
  for (auto& [pool, p] : t_pools.pools) {
    const uint64_t now = h2o_now(p->loop);
    // Oldest first: stop at the first that has not expired.
    size_t n = 0;
    while (n < p->idle.size() && expired(*p, p->idle[n], now))
      ++n;
    for (size_t i = 0; i < n; ++i) {
      bump(t_pools.stats->expired);
      close_idle(*p, 0);
    }
    any_idle = any_idle || !p->idle.empty();
  }
  if (any_idle) h2o_timeout_link(t_pools.loop, &t_pools.sweep_timeout, &t_pools.sweep_entry);
}

}  // namespace

bool upstream_pool_interposed() {
  // The global lookup (what libh2o's PLT entries resolve to) must find this executable's
  // definitions, and libh2o's must exist behind them.
  return dlsym(RTLD_DEFAULT, "h2o_socketpool_connect") ==
             reinterpret_cast<void*>(&h2o_socketpool_connect) &&
         dlsym(RTLD_DEFAULT, "h2o_socketpool_return") ==
             reinterpret_cast<void*>(&h2o_socketpool_return) &&
         libh2o_connect() != nullptr && libh2o_return() != nullptr &&
         reinterpret_cast<void*>(libh2o_connect()) !=
             reinterpret_cast<void*>(&h2o_socketpool_connect);
}

void keep_upstream_connections_in_loop(h2o_socketpool_t* pool, h2o_loop_t* loop) {
  static const bool interposed = upstream_pool_interposed();
  if (!interposed) return;
  if (t_pools.loop == nullptr) {
    t_pools.loop = loop;
    h2o_timeout_init(loop, &t_pools.sweep_timeout, 1000);
    t_pools.sweep_entry.cb = &sweep_expired;
    t_pools.stats = new_thread_stats();
  }
  auto p = std::make_unique<InLoopPool>();
  p->pool = pool;
  p->loop = loop;
  t_pools.pools[pool] = std::move(p);
}

void forget_upstream_pool(h2o_socketpool_t* pool) {
  InLoopPool* p = find_pool(pool);
  if (p == nullptr) return;
  while (!p->idle.empty())
    close_idle(*p, p->idle.size() - 1);
  t_pools.pools.erase(pool);
}

bool has_idle_upstream_connection(h2o_socketpool_t* pool) {
  const InLoopPool* p = find_pool(pool);
  return p != nullptr && !p->idle.empty() && !expired(*p, p->idle.back(), h2o_now(p->loop));
}

UpstreamPoolStats upstream_pool_stats() {
  UpstreamPoolStats total;
  std::lock_guard<std::mutex> lock(g_stats_mu);
  for (const AtomicStats* s : g_stats) {
    total.reused += s->reused.load(std::memory_order_relaxed);
    total.returned += s->returned.load(std::memory_order_relaxed);
    total.closed_idle += s->closed_idle.load(std::memory_order_relaxed);
    total.expired += s->expired.load(std::memory_order_relaxed);
  }
  return total;
}

std::string upstream_pool_prometheus() {
  const UpstreamPoolStats s = upstream_pool_stats();
  std::string out =
      "# HELP realproxy_upstream_keepalive_total Idle keep-alive connections to endpoints: "
      "reused for a request, returned after a response, closed by the endpoint while idle, "
      "expired after --upstream-keepalive.\n"
      "# TYPE realproxy_upstream_keepalive_total counter\n";
  const auto line = [&out](const char* event, uint64_t n) {
    out += std::string("realproxy_upstream_keepalive_total{event=\"") + event + "\"} " +
           std::to_string(n) + "\n";
  };
  line("reused", s.reused);
  line("returned", s.returned);
  line("closed_by_endpoint", s.closed_idle);
  line("expired", s.expired);
  return out;
}

}  // namespace ingresslab::realproxy

using ingresslab::realproxy::IdleConnection;
using ingresslab::realproxy::InLoopPool;

// The replacements (see upstream_pool.h). Same contracts as libh2o's: connect calls `cb`
// synchronously for a pooled connection (and sets *req to NULL), return takes over the socket.
extern "C" void h2o_socketpool_connect(h2o_socketpool_connect_request_t** req,
                                       h2o_socketpool_t* pool, h2o_loop_t* loop,
                                       h2o_multithread_receiver_t* getaddr_receiver,
                                       h2o_socketpool_connect_cb cb, void* data) {
  using namespace ingresslab::realproxy;
  if (InLoopPool* p = find_pool(pool)) {
    const uint64_t now = h2o_now(loop);
    while (!p->idle.empty()) {
      const IdleConnection c = p->idle.back();
      if (expired(*p, c, now)) {
        bump(t_pools.stats->expired);
        close_idle(*p, p->idle.size() - 1);
        continue;
      }
      p->idle.pop_back();
      bump(t_pools.stats->reused);
      // Off our idle reader; h2o's HTTP/1 client starts its own after writing the request — in
      // this loop turn when the write completes at once, so the loop's registration is unchanged.
      h2o_socket_read_stop(c.sock);
      c.sock->data = nullptr;
      if (req != nullptr) *req = nullptr;
      cb(c.sock, nullptr, data);
      return;
    }
  }
  libh2o_connect()(req, pool, loop, getaddr_receiver, cb, data);
}

extern "C" int h2o_socketpool_return(h2o_socketpool_t* pool, h2o_socket_t* sock) {
  using namespace ingresslab::realproxy;
  InLoopPool* p = find_pool(pool);
  if (p == nullptr) return libh2o_return()(pool, sock);
  // h2o's HTTP/1 client consumed the response; anything else in the buffer, or a write still
  // pending, and the connection is not reusable.
  if (sock->input->size != 0 || h2o_socket_is_writing(sock) ||
      h2o_socket_get_loop(sock) != p->loop) {
    h2o_socket_close(sock);
    return -1;
  }
  sock->data = p;
  h2o_socket_read_start(sock, &on_idle_read);
  p->idle.push_back(IdleConnection{sock, h2o_now(p->loop)});
  bump(t_pools.stats->returned);
  if (!h2o_timeout_is_linked(&t_pools.sweep_entry)) {
    h2o_timeout_link(p->loop, &t_pools.sweep_timeout, &t_pools.sweep_entry);
  }
  return 0;
}
