#pragma once
// Keep-alive connections to upstreams that stay in the worker's event loop between requests.
//
// h2o 2.2's socket pool (lib/common/socketpool.c) takes every idle connection out of the event
// loop (h2o_socket_export: EPOLL_CTL_DEL) and puts it back for the next request
// (h2o_socket_import: two fcntl, EPOLL_CTL_ADD, after a MSG_PEEK liveness check): five system
// calls per proxied keep-alive request that nginx does not make. For the pools registered here,
// realproxy defines h2o_socketpool_connect and h2o_socketpool_return itself (upstream_pool.cc):
// libh2o calls both through its PLT, so the executable's definitions are the ones its proxy uses
// (ELF symbol interposition; checked at start-up by upstream_pool_interposed()). An idle
// connection stays registered with the loop, reading: data or EOF from the upstream closes it at
// once, as nginx's keep-alive cache does, so no liveness check is needed when it is taken. Every
// other pool, and new connections, go to libh2o's own functions.
#include <h2o.h>

#include <cstdint>
#include <string>

namespace ingresslab::realproxy {

// Whether libh2o's calls to h2o_socketpool_connect/return reach the definitions in upstream_pool.cc
// (the executable exports them). When false, keep_upstream_connections_in_loop does nothing and
// pools behave as libh2o's.
bool upstream_pool_interposed();

// Registers `pool` (initialised, with its timeout set; used only by the calling thread, whose event
// loop is `loop`): its idle connections stay in `loop`, LIFO, and close after the pool's timeout.
void keep_upstream_connections_in_loop(h2o_socketpool_t* pool, h2o_loop_t* loop);

// Closes the pool's idle connections and unregisters it; call before h2o_socketpool_dispose.
void forget_upstream_pool(h2o_socketpool_t* pool);

// Whether h2o_socketpool_connect on `pool` would hand out an idle connection now (registered
// pools only; false for others).
bool has_idle_upstream_connection(h2o_socketpool_t* pool);

// Counters over every worker thread since start-up.
struct UpstreamPoolStats {
  uint64_t reused = 0;       // idle connections handed out
  uint64_t returned = 0;     // connections kept idle after a response
  uint64_t closed_idle = 0;  // idle connections the upstream closed (or sent data on)
  uint64_t expired = 0;      // idle connections closed after the pool's timeout
};
UpstreamPoolStats upstream_pool_stats();

// The same as Prometheus text (realproxy_upstream_keepalive_total{event=...}), for /metrics.
std::string upstream_pool_prometheus();

}  // namespace ingresslab::realproxy
