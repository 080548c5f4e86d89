#include "cli/replay/loadgen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "engine/monotonic_clock.h"
#include "engine/random.h"

namespace ingresslab::replay {

using engine::monotonic_ns;

namespace {

double cpu_seconds_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// Parses an HTTP/1.1 response incrementally from a growing buffer.
struct ResponseParser {
  enum class Result { kNeedMore, kDone, kError };
  int status = 0;
  bool head_done = false;
  bool chunked = false;
  bool close = false;
  bool until_eof = false;
  int64_t content_length = -1;
  size_t body_start = 0;
  size_t chunk_pos = 0;  // next chunk-size line (chunked)
  bool no_body = false;  // HEAD, 1xx, 204, 304

  void reset(bool head_request) {
    *this = ResponseParser{};
    no_body = head_request;
  }

  static bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) !=
          std::tolower(static_cast<unsigned char>(b[i])))
        return false;
    }
    return true;
  }

  Result parse(const std::string& in, bool eof) {
    if (!head_done) {
      const size_t end = in.find("\r\n\r\n");
      if (end == std::string::npos)
        return eof || in.size() > 65536 ? Result::kError : Result::kNeedMore;
      std::string_view head(in.data(), end);
      if (head.size() < 12 || head.substr(0, 5) != "HTTP/") return Result::kError;
      const size_t sp = head.find(' ');
      if (sp == std::string_view::npos || sp + 4 > head.size()) return Result::kError;
      status = 0;
      for (size_t i = sp + 1; i < sp + 4; ++i) {
        if (head[i] < '0' || head[i] > '9') return Result::kError;
        status = status * 10 + (head[i] - '0');
      }
      const bool http10 = head.substr(0, 8) == "HTTP/1.0";
      close = http10;
      size_t line = head.find("\r\n");
      while (line != std::string_view::npos && line + 2 <= head.size()) {
        const size_t start = line + 2;
        size_t next = head.find("\r\n", start);
        std::string_view h = head.substr(
            start, next == std::string_view::npos ? std::string_view::npos : next - start);
        line = next;
        const size_t colon = h.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = h.substr(0, colon);
        std::string_view value = h.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
          value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
          value.remove_suffix(1);
        if (iequals(name, "content-length")) {
          int64_t v = 0;
          for (char c : value) {
            if (c < '0' || c > '9') return Result::kError;
            v = v * 10 + (c - '0');
          }
          content_length = v;
        } else if (iequals(name, "transfer-encoding")) {
          chunked = value.size() >= 7 && iequals(value.substr(value.size() - 7), "chunked");
        } else if (iequals(name, "connection")) {
          if (iequals(value, "close")) close = true;
          if (iequals(value, "keep-alive")) close = false;
        }
      }
      head_done = true;
      body_start = end + 4;
      chunk_pos = body_start;
      if (status < 200 || status == 204 || status == 304) no_body = true;
      if (!no_body && !chunked && content_length < 0) {
        until_eof = true;
        close = true;
      }
    }
    if (no_body) return Result::kDone;
    if (chunked) {
      for (;;) {
        const size_t eol = in.find("\r\n", chunk_pos);
        if (eol == std::string::npos) return eof ? Result::kError : Result::kNeedMore;
        uint64_t size = 0;
        size_t i = chunk_pos;
        bool any = false;
        for (; i < eol; ++i) {
          const char c = in[i];
          int d;
          if (c >= '0' && c <= '9') {
            d = c - '0';
          } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
          } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
          } else {
            break;  // chunk extension
          }
          size = size * 16 + static_cast<uint64_t>(d);
          any = true;
          if (size > (uint64_t{1} << 40)) return Result::kError;
        }
        if (!any) return Result::kError;
        if (size == 0) {
          // Trailers end with an empty line.
          const size_t end = in.find("\r\n\r\n", eol);
          if (in.compare(eol, 4, "\r\n\r\n") == 0 || end != std::string::npos) return Result::kDone;
          return eof ? Result::kError : Result::kNeedMore;
        }
        const size_t next = eol + 2 + size + 2;
        if (in.size() < next) return eof ? Result::kError : Result::kNeedMore;
        chunk_pos = next;
      }
    }
    if (until_eof) return eof ? Result::kDone : Result::kNeedMore;
    if (in.size() >= body_start + static_cast<size_t>(content_length)) return Result::kDone;
    return eof ? Result::kError : Result::kNeedMore;
  }
};

enum class ConnState { kConnecting, kHandshaking, kOpen, kClosed };

class Worker;

struct Conn {
  Worker* worker = nullptr;
  int fd = -1;
  SSL* ssl = nullptr;
  ConnState state = ConnState::kConnecting;
  int key = 0;
  int entry = 0;
  uint32_t remaining = 0;  // requests this connection may still carry
  bool busy = false;       // a request is outstanding (or waiting for the connection to open)
  bool reused = false;     // the outstanding request is not the connection's first
  int64_t connect_start_ns = 0;
  int64_t handshake_start_ns = 0;
  std::string out;
  size_t out_off = 0;
  std::string in;
  ResponseParser parser;
  // The outstanding request.
  uint32_t arrival = 0;
  int64_t intended_ns = 0;  // absolute (monotonic)
  bool in_idle_list = false;
  // HTTP/2 (Key::http2): the session and its streams; `busy` and `arrival` are not used. Requests
  // that come while the connection opens wait in `queued`.
  nghttp2_session* h2 = nullptr;
  struct Stream {
    uint32_t arrival = 0;
    int64_t intended_ns = 0;
    int status = 0;
    uint32_t body_left = 0;
  };
  std::unordered_map<int32_t, Stream> streams;
  std::deque<uint32_t> queued;
  uint32_t max_streams = 100;
  bool goaway = false;  // the server will take no new streams
};

// Connection keys: TLS or not x HTTP/2 or not x Host.
struct Key {
  bool tls;
  bool http2;
  std::string host;
  auto operator<=>(const Key&) const = default;
};

class Worker {
 public:
  Worker(const LoadPlan& plan, std::vector<uint32_t> arrivals, int index, int64_t start_ns,
         int max_connections)
      : plan_(plan),
        mine_(std::move(arrivals)),
        index_(index),
        start_ns_(start_ns),
        max_connections_(max_connections),
        rng_(engine::Rng::for_stream(plan.seed, static_cast<uint64_t>(index), "replay.worker")) {
    stats_.routes.resize(plan.route_count);
    const int64_t buckets =
        plan.bucket_ns > 0 ? (plan.duration_ns + plan.bucket_ns - 1) / plan.bucket_ns : 0;
    stats_.series.resize(static_cast<size_t>(std::max<int64_t>(buckets, 1)));
  }
  ~Worker() {
    for (auto& c : conns_) {
      if (c) close_conn(c.get(), false);
    }
    for (auto& [host, s] : sessions_)
      SSL_SESSION_free(s);
    if (ssl_ctx_) SSL_CTX_free(ssl_ctx_);
    if (tfd_ >= 0) ::close(tfd_);
    if (epfd_ >= 0) ::close(epfd_);
  }

  std::string init() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epfd_ < 0 || tfd_ < 0) return std::string("epoll/timerfd: ") + std::strerror(errno);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, tfd_, &ev);
    ssl_ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ssl_ctx_) return "cannot create an OpenSSL context";
    // The testbed's certificates are self-signed: the generator measures, it does not verify.
    SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_session_cache_mode(ssl_ctx_,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ssl_ctx_, &Worker::on_new_session);
    return "";
  }

  void run() {
    const int64_t end_of_schedule = start_ns_ + plan_.warmup_ns + plan_.duration_ns;
    const int64_t hard_end = end_of_schedule + plan_.drain_ns;
    epoll_event events[256];
    for (;;) {
      const int64_t now = monotonic_ns();
      dispatch_due(now);
      if (now >= next_timeout_check_) {
        check_timeouts(now);
        next_timeout_check_ = now + 10'000'000;
      }
      if (next_ >= mine_.size() && in_flight_ == 0) break;
      if (now >= hard_end) break;
      int64_t wake = std::min(next_timeout_check_, hard_end);
      if (next_ < mine_.size())
        wake = std::min(wake, start_ns_ + plan_.arrivals[mine_[next_]].t_ns);
      arm_timer(wake);
      const int n = epoll_wait(epfd_, events, 256, -1);
      for (int i = 0; i < n; ++i) {
        if (events[i].data.ptr == nullptr) {
          uint64_t expirations;
          while (read(tfd_, &expirations, sizeof expirations) > 0) {
          }
          continue;
        }
        Conn* c = static_cast<Conn*>(events[i].data.ptr);
        if (c->state != ConnState::kClosed) progress(c);
      }
      reap();
    }
    // What is still in flight at the end is not counted (as in the simulation).
    for (auto& c : conns_) {
      if (!c) continue;
      if (c->busy && measured(c->intended_ns)) ++stats_.unfinished;
      for (const auto& [id, s] : c->streams) {
        if (measured(s.intended_ns)) ++stats_.unfinished;
      }
      for (const uint32_t a : c->queued) {
        if (measured(start_ns_ + plan_.arrivals[a].t_ns)) ++stats_.unfinished;
      }
    }
    for (auto& [key, q] : pending_) {
      for (uint32_t a : q) {
        if (measured(start_ns_ + plan_.arrivals[a].t_ns)) ++stats_.unfinished;
      }
    }
  }

  LoadStats& stats() { return stats_; }

 private:
  bool measured(int64_t intended_abs) const {
    const int64_t t = intended_abs - start_ns_;
    return t >= plan_.warmup_ns && t < plan_.warmup_ns + plan_.duration_ns;
  }

  void arm_timer(int64_t at_abs) {
    itimerspec its{};
    const int64_t at = std::max<int64_t>(at_abs, 1);
    its.it_value.tv_sec = at / 1'000'000'000;
    its.it_value.tv_nsec = at % 1'000'000'000;
    timerfd_settime(tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
  }

  int key_of(const Arrival& a) {
    Key k{a.tls, a.http2, plan_.classes[a.cls].host};
    auto it = key_index_.find(k);
    if (it != key_index_.end()) return it->second;
    const int id = static_cast<int>(key_index_.size());
    key_index_.emplace(k, id);
    keys_.push_back(k);
    idle_.emplace_back();
    return id;
  }

  void dispatch_due(int64_t now) {
    while (next_ < mine_.size()) {
      const uint32_t a = mine_[next_];
      const Arrival& arr = plan_.arrivals[a];
      const int64_t intended = start_ns_ + arr.t_ns;
      if (intended > now) break;
      ++next_;
      stats_.send_lag.record_ns(now - intended);
      if (measured(intended)) ++stats_.offered;
      ++in_flight_;
      const int key = key_of(arr);
      const bool http2 = keys_[static_cast<size_t>(key)].http2;
      if (Conn* c = http2 ? h2_with_room(key) : take_idle(key)) {
        http2 ? h2_add(c, a) : assign(c, a);
      } else if (open_count_ < max_connections_) {
        open_conn(key, a);
      } else {
        pending_[key].push_back(a);
        ++stats_.connection_waits;
      }
    }
  }

  Conn* take_idle(int key) {
    auto& list = idle_[static_cast<size_t>(key)];
    while (!list.empty()) {
      Conn* c = list.back();
      list.pop_back();
      c->in_idle_list = false;
      if (c->state == ConnState::kOpen && !c->busy && c->remaining > 0) return c;
    }
    return nullptr;
  }

  void open_conn(int key, uint32_t a) {
    const Arrival& arr = plan_.arrivals[a];
    const Key& k = keys_[static_cast<size_t>(key)];
    const size_t n_entries = plan_.entries.size();
    const int entry =
        plan_.single_entry
            ? 0
            : static_cast<int>((rr_entry_++ + static_cast<size_t>(index_)) % n_entries);
    const Entry& e = plan_.entries[static_cast<size_t>(entry)];
    const sockaddr_storage& addr = k.tls ? e.https_addr : e.http_addr;
    const socklen_t len = k.tls ? e.https_addr_len : e.http_addr_len;
    auto conn = std::make_unique<Conn>();
    Conn* c = conn.get();
    c->worker = this;
    c->key = key;
    c->entry = entry;
    c->remaining = plan_.requests_per_connection;
    if (k.http2) {
      c->max_streams = std::max<uint32_t>(1, plan_.max_concurrent_streams);
      c->queued.push_back(a);
      idle_[static_cast<size_t>(key)].push_back(c);  // HTTP/2: every connection of the key
      c->in_idle_list = true;
      ++stats_.http2_connections;
    } else {
      c->busy = true;
      c->arrival = a;
      c->intended_ns = start_ns_ + arr.t_ns;
    }
    conns_.push_back(std::move(conn));
    ++open_count_;
    ++stats_.connections;
    stats_.peak_open = std::max<uint64_t>(stats_.peak_open, static_cast<uint64_t>(open_count_));
    c->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
      fail(c, kErrRefused, std::string("socket: ") + std::strerror(errno));
      return;
    }
    const int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->connect_start_ns = monotonic_ns();
    const int rc = connect(c->fd, reinterpret_cast<const sockaddr*>(&addr), len);
    if (rc < 0 && errno != EINPROGRESS) {
      const int err = errno;
      fail(c,
           err == ECONNREFUSED || err == ECONNRESET || err == ENETUNREACH || err == EHOSTUNREACH
               ? kErrRefused
               : kErrProtocol,
           std::string("connect to ") + e.name + ": " + std::strerror(err));
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c->fd, &ev);
    if (rc == 0) progress(c);
  }

  void build_request(Conn* c) {
    const Arrival& arr = plan_.arrivals[c->arrival];
    const RequestClass& rc = plan_.classes[arr.cls];
    c->out.clear();
    c->out_off = 0;
    c->out += rc.method;
    c->out += ' ';
    c->out += rc.path;
    c->out += " HTTP/1.1\r\nHost: ";
    c->out += rc.host;
    c->out += "\r\nUser-Agent: ingresslab-replay\r\n";
    if (arr.body_bytes > 0 || rc.method == "POST" || rc.method == "PUT") {
      c->out += "Content-Length: " + std::to_string(arr.body_bytes) + "\r\n";
    }
    if (c->remaining == 1) c->out += "Connection: close\r\n";
    c->out += "\r\n";
    c->out.append(arr.body_bytes, 'x');
    c->in.clear();
    c->parser.reset(rc.method == "HEAD");
  }

  void assign(Conn* c, uint32_t a) {
    c->busy = true;
    c->reused = true;
    c->arrival = a;
    c->intended_ns = start_ns_ + plan_.arrivals[a].t_ns;
    build_request(c);
    progress(c);
  }

  // Drives a connection as far as it can go without blocking.
  void progress(Conn* c) {
    if (c->state == ConnState::kConnecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        fail(c,
             err == ECONNREFUSED || err == ECONNRESET || err == ENETUNREACH ||
                     err == EHOSTUNREACH || err == ETIMEDOUT
                 ? kErrRefused
                 : kErrProtocol,
             std::string("connect to ") + plan_.entries[static_cast<size_t>(c->entry)].name + ": " +
                 std::strerror(err));
        return;
      }
      // Writable yet? A connect in progress has no peer name.
      sockaddr_storage peer;
      socklen_t plen = sizeof peer;
      if (getpeername(c->fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return;
      const int64_t now = monotonic_ns();
      stats_.tcp_connect.record_ns(now - c->connect_start_ns);
      if (keys_[static_cast<size_t>(c->key)].tls) {
        c->ssl = SSL_new(ssl_ctx_);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_app_data(c->ssl, c);
        const std::string& host = keys_[static_cast<size_t>(c->key)].host;
        SSL_set_tlsext_host_name(c->ssl, host.c_str());
        if (keys_[static_cast<size_t>(c->key)].http2) {
          static const unsigned char kH2[] = {2, 'h', '2'};
          SSL_set_alpn_protos(c->ssl, kH2, sizeof kH2);
        }
        if (plan_.resumption_ratio > 0 && rng_.uniform01() < plan_.resumption_ratio) {
          auto it = sessions_.find(host);
          if (it != sessions_.end()) {
            SSL_set_session(c->ssl, it->second);
            ++stats_.tls_resumption_offered;
          }
        }
        c->handshake_start_ns = now;
        c->state = ConnState::kHandshaking;
      } else {
        c->state = ConnState::kOpen;
      }
      if (!keys_[static_cast<size_t>(c->key)].http2) build_request(c);
      c->reused = false;
    }
    if (c->state == ConnState::kHandshaking) {
      ERR_clear_error();
      const int rc = SSL_connect(c->ssl);
      if (rc != 1) {
        const int e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
        char buf[256] = "";
        ERR_error_string_n(ERR_peek_last_error(), buf, sizeof buf);
        fail(c,
             e == SSL_ERROR_SYSCALL && (errno == ECONNRESET || errno == 0) ? kErrRefused
                                                                           : kErrProtocol,
             std::string("TLS handshake with ") +
                 plan_.entries[static_cast<size_t>(c->entry)].name + ": " +
                 (buf[0] ? buf : std::strerror(errno)));
        return;
      }
      stats_.tls_handshake.record_ns(monotonic_ns() - c->handshake_start_ns);
      if (SSL_session_reused(c->ssl)) {
        ++stats_.tls_resumed;
      } else {
        ++stats_.tls_full;
      }
      c->state = ConnState::kOpen;
    }
    if (c->state != ConnState::kOpen) return;
    if (keys_[static_cast<size_t>(c->key)].http2) {
      h2_progress(c);
      return;
    }
    // Write what is pending.
    while (c->busy && c->out_off < c->out.size()) {
      const ssize_t n = io_write(c, c->out.data() + c->out_off, c->out.size() - c->out_off);
      if (n > 0) {
        c->out_off += static_cast<size_t>(n);
        continue;
      }
      if (n == -2) break;  // would block
      fail(c, c->reused ? kErrRefused : kErrProtocol, "write failed: connection reset");
      return;
    }
    // Read what is there.
    char buf[16384];
    for (;;) {
      const ssize_t n = io_read(c, buf, sizeof buf);
      if (n == -2) break;
      const bool eof = n <= 0;
      if (!c->busy) {
        if (eof) close_conn(c, true);  // idle connection closed by the server
        if (eof) return;
        continue;  // ignore unsolicited bytes on an idle connection
      }
      if (n > 0) c->in.append(buf, static_cast<size_t>(n));
      const ResponseParser::Result r = c->parser.parse(c->in, eof);
      if (r == ResponseParser::Result::kDone) {
        if (!finish(c)) return;
        if (eof) {
          // The server closed a keep-alive connection: a request just put on it fails as reset.
          if (c->busy) {
            fail(c, kErrRefused, "connection closed by the server (reset)");
          } else {
            close_conn(c, true);
          }
          return;
        }
        continue;
      }
      if (r == ResponseParser::Result::kError) {
        fail(
            c, c->in.empty() ? kErrRefused : kErrProtocol,
            c->in.empty() ? "connection closed before the response (reset)" : "malformed response");
        return;
      }
      if (eof) return;
    }
  }

  // >0 bytes, 0 EOF, -1 error, -2 would block.
  ssize_t io_read(Conn* c, char* buf, size_t len) {
    if (c->ssl) {
      ERR_clear_error();
      const int n = SSL_read(c->ssl, buf, static_cast<int>(len));
      if (n > 0) return n;
      const int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -2;
      if (e == SSL_ERROR_ZERO_RETURN) return 0;
      return -1;
    }
    const ssize_t n = ::read(c->fd, buf, len);
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -2;
    if (errno == EINTR) return -2;
    return -1;
  }

  ssize_t io_write(Conn* c, const char* buf, size_t len) {
    if (c->ssl) {
      ERR_clear_error();
      const int n = SSL_write(c->ssl, buf, static_cast<int>(len));
      if (n > 0) return n;
      const int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -2;
      return -1;
    }
    const ssize_t n = ::send(c->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return -2;
    return -1;
  }

  // The outstanding request got its full response. Returns false if the connection went away.
  bool finish(Conn* c) {
    const int64_t now = monotonic_ns();
    const int status = c->parser.status;
    ErrorCause cause = kErrCount;
    if (status >= 400) {
      cause = status == 503   ? kErr503
              : status == 404 ? kErrNoRoute
              : status == 504 ? kErr504
                              : kErrOtherStatus;
    }
    record(c->arrival, c->intended_ns, now, cause,
           cause == kErrCount ? "" : "HTTP " + std::to_string(status));
    c->busy = false;
    --in_flight_;
    --c->remaining;
    const bool close = c->parser.close || c->remaining == 0;
    // The response may have been followed by nothing else: keep only unread bytes (none in HTTP/1.1
    // without pipelining).
    c->in.clear();
    if (close) {
      close_notify(c);
      close_conn(c, true);
      return false;
    }
    // Next request for this key, if one waits.
    auto it = pending_.find(c->key);
    if (it != pending_.end() && !it->second.empty()) {
      const uint32_t a = it->second.front();
      it->second.pop_front();
      c->busy = true;
      c->reused = true;
      c->arrival = a;
      c->intended_ns = start_ns_ + plan_.arrivals[a].t_ns;
      build_request(c);
      // Write now; the read loop in progress() continues.
      while (c->out_off < c->out.size()) {
        const ssize_t n = io_write(c, c->out.data() + c->out_off, c->out.size() - c->out_off);
        if (n > 0) {
          c->out_off += static_cast<size_t>(n);
          continue;
        }
        if (n == -2) break;
        fail(c, kErrRefused, "write failed: connection reset");
        return false;
      }
      return true;
    }
    c->in_idle_list = true;
    idle_[static_cast<size_t>(c->key)].push_back(c);
    return true;
  }

  void record(uint32_t arrival, int64_t intended_abs, int64_t now, ErrorCause cause,
              const std::string& what) {
    if (!measured(intended_abs)) return;
    const int route = plan_.classes[plan_.arrivals[arrival].cls].route;
    const int64_t latency = now - intended_abs;
    ++stats_.completed;
    const int64_t since = now - start_ns_ - plan_.warmup_ns;
    size_t bucket = plan_.bucket_ns > 0
                        ? static_cast<size_t>(std::max<int64_t>(since, 0) / plan_.bucket_ns)
                        : 0;
    bucket = std::min(bucket, stats_.series.size() - 1);
    TimeBucket& tb = stats_.series[bucket];
    if (route >= 0) ++stats_.routes[static_cast<size_t>(route)].requests;
    if (cause == kErrCount) {
      ++stats_.succeeded;
      stats_.end_to_end.record_ns(latency);
      ++tb.succeeded;
      tb.latency.record_ns(latency);
      if (route >= 0) {
        ++stats_.routes[static_cast<size_t>(route)].succeeded;
        stats_.routes[static_cast<size_t>(route)].latency.record_ns(latency);
      }
    } else {
      ++stats_.errors[cause];
      ++tb.errors;
      if (stats_.first_errors.size() < 5 &&
          std::find(stats_.first_errors.begin(), stats_.first_errors.end(), what) ==
              stats_.first_errors.end()) {
        stats_.first_errors.push_back(what);
      }
    }
  }

  // The connection failed: its outstanding request fails with `cause`, the connection closes.
  void fail(Conn* c, ErrorCause cause, const std::string& what) {
    const int64_t now = monotonic_ns();
    if (c->busy) {
      record(c->arrival, c->intended_ns, now, cause, what);
      c->busy = false;
      --in_flight_;
    }
    for (const auto& [id, s] : c->streams) {
      record(s.arrival, s.intended_ns, now, cause, what);
      --in_flight_;
    }
    c->streams.clear();
    for (const uint32_t a : c->queued) {
      record(a, start_ns_ + plan_.arrivals[a].t_ns, now, cause, what);
      --in_flight_;
    }
    c->queued.clear();
    close_conn(c, true);
  }

  // A TLS connection the client ends after its last response: close_notify, as a browser sends.
  // Without it OpenSSL counts the close as unclean and marks the connection's session not
  // resumable when the SSL is freed (ssl_clear_bad_session), so the session just received for
  // this host could not be resumed by the next connection. Never after a TLS error.
  void close_notify(Conn* c) {
    if (c->ssl == nullptr || c->state != ConnState::kOpen) return;
    ERR_clear_error();
    SSL_shutdown(c->ssl);  // non-blocking: the alert is written or dropped, never waited for
  }

  void close_conn(Conn* c, bool reopen_for_pending) {
    if (c->state == ConnState::kClosed) return;
    if (c->h2) {
      nghttp2_session_del(c->h2);
      c->h2 = nullptr;
    }
    if (c->ssl) {
      SSL_free(c->ssl);
      c->ssl = nullptr;
    }
    if (c->fd >= 0) {
      ::close(c->fd);  // also removes it from the epoll set
      c->fd = -1;
    }
    c->state = ConnState::kClosed;
    --open_count_;
    dead_ = true;
    if (!reopen_for_pending) return;
    // A connection slot is free: a waiting request of any key gets a new connection.
    for (auto& [key, q] : pending_) {
      if (q.empty() || open_count_ >= max_connections_) continue;
      const uint32_t a = q.front();
      q.pop_front();
      open_conn(key, a);
      break;
    }
  }

  // Frees closed connections (not while they may still be referenced by this round's events).
  void reap() {
    if (!dead_) return;
    dead_ = false;
    for (auto& list : idle_) {
      list.erase(std::remove_if(list.begin(), list.end(),
                                [](Conn* c) { return c->state == ConnState::kClosed; }),
                 list.end());
    }
    conns_.erase(std::remove_if(
                     conns_.begin(), conns_.end(),
                     [](const std::unique_ptr<Conn>& c) { return c->state == ConnState::kClosed; }),
                 conns_.end());
  }

  void check_timeouts(int64_t now) {
    if (plan_.timeout_ns <= 0) return;
    for (auto& [key, q] : pending_) {
      while (!q.empty() && now - (start_ns_ + plan_.arrivals[q.front()].t_ns) >= plan_.timeout_ns) {
        const uint32_t a = q.front();
        q.pop_front();
        record(a, start_ns_ + plan_.arrivals[a].t_ns, now, kErrTimeout,
               "timeout (no free connection)");
        --in_flight_;
      }
    }
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn* c = conns_[i].get();
      if (c->state == ConnState::kClosed) continue;
      if (keys_[static_cast<size_t>(c->key)].http2) {
        h2_timeouts(c, now);
        continue;
      }
      if (!c->busy) continue;
      if (now - c->intended_ns >= plan_.timeout_ns) fail(c, kErrTimeout, "timeout");
    }
    reap();
  }

  // ---- HTTP/2 ----

  // Whether the connection can take one more request (as a stream, now or once it is open).
  static bool h2_has_room(const Conn* c) {
    return c->state != ConnState::kClosed && !c->goaway && c->remaining > c->queued.size() &&
           c->streams.size() + c->queued.size() < c->max_streams;
  }

  // A connection of `key` with room for one more request.
  Conn* h2_with_room(int key) {
    for (Conn* c : idle_[static_cast<size_t>(key)]) {
      if (h2_has_room(c)) return c;
    }
    return nullptr;
  }

  void h2_add(Conn* c, uint32_t a) {
    c->queued.push_back(a);
    if (c->state == ConnState::kOpen && c->h2 != nullptr) h2_progress(c);
  }

  bool h2_start(Conn* c) {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &Worker::h2_on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Worker::h2_on_stream_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Worker::h2_on_frame_recv);
    const int rv = nghttp2_session_client_new(&c->h2, cbs, c);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) {
      fail(c, kErrProtocol, std::string("HTTP/2 session: ") + nghttp2_strerror(rv));
      return false;
    }
    // The client preface's SETTINGS: no server push; a window large enough for any response.
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                               {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24}};
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, settings, 2);
    nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 1 << 26);
    return true;
  }

  // Opens streams for the queued requests (as many as the connection allows).
  bool h2_submit_queued(Conn* c) {
    while (!c->queued.empty() && c->streams.size() < c->max_streams && c->remaining > 0 &&
           !c->goaway) {
      const uint32_t a = c->queued.front();
      c->queued.pop_front();
      const Arrival& arr = plan_.arrivals[a];
      const RequestClass& rc = plan_.classes[arr.cls];
      const std::string scheme = keys_[static_cast<size_t>(c->key)].tls ? "https" : "http";
      const std::string length = std::to_string(arr.body_bytes);
      const auto nv = [](const std::string& name, const std::string& value) {
        return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                          value.size(), NGHTTP2_NV_FLAG_NONE};
      };
      static const std::string kMethod = ":method", kScheme = ":scheme", kAuthority = ":authority",
                               kPath = ":path", kAgent = "user-agent", kLength = "content-length",
                               kAgentValue = "ingresslab-replay";
      std::vector<nghttp2_nv> headers = {nv(kMethod, rc.method), nv(kScheme, scheme),
                                         nv(kAuthority, rc.host), nv(kPath, rc.path),
                                         nv(kAgent, kAgentValue)};
      const bool body = arr.body_bytes > 0 || rc.method == "POST" || rc.method == "PUT";
      if (body) headers.push_back(nv(kLength, length));
      nghttp2_data_provider provider{};
      provider.read_callback = &Worker::h2_read_body;
      const int32_t id = nghttp2_submit_request(c->h2, nullptr, headers.data(), headers.size(),
                                                arr.body_bytes > 0 ? &provider : nullptr, nullptr);
      if (id < 0) {
        record(a, start_ns_ + arr.t_ns, monotonic_ns(), kErrProtocol,
               std::string("HTTP/2 request: ") + nghttp2_strerror(id));
        --in_flight_;
        continue;
      }
      Conn::Stream s;
      s.arrival = a;
      s.intended_ns = start_ns_ + arr.t_ns;
      s.body_left = arr.body_bytes;
      c->streams.emplace(id, s);
      --c->remaining;
    }
    return true;
  }

  // Writes what the session has to send; false if the connection failed (and is closed).
  bool h2_flush(Conn* c) {
    for (;;) {
      if (c->out_off == c->out.size()) {
        c->out.clear();
        c->out_off = 0;
        const uint8_t* data = nullptr;
        ssize_t n;
        while (c->out.size() < 65536 && (n = nghttp2_session_mem_send(c->h2, &data)) > 0)
          c->out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
        if (c->out.empty()) return true;
      }
      const ssize_t n = io_write(c, c->out.data() + c->out_off, c->out.size() - c->out_off);
      if (n > 0) {
        c->out_off += static_cast<size_t>(n);
        continue;
      }
      if (n == -2) return true;  // EPOLLOUT (edge-triggered) brings us back
      fail(c, kErrRefused, "write failed: connection reset");
      return false;
    }
  }

  void h2_progress(Conn* c) {
    if (c->h2 == nullptr) {
      if (keys_[static_cast<size_t>(c->key)].tls) {
        const unsigned char* proto = nullptr;
        unsigned int len = 0;
        SSL_get0_alpn_selected(c->ssl, &proto, &len);
        if (len != 2 || std::memcmp(proto, "h2", 2) != 0) {
          fail(c, kErrProtocol,
               "the server did not negotiate HTTP/2 (ALPN h2) with " +
                   plan_.entries[static_cast<size_t>(c->entry)].name);
          return;
        }
      }
      if (!h2_start(c)) return;
    }
    char buf[16384];
    for (;;) {
      h2_submit_queued(c);
      if (!h2_flush(c)) return;
      const ssize_t n = io_read(c, buf, sizeof buf);
      if (n == -2) break;
      if (n <= 0) {
        if (c->streams.empty() && c->queued.empty()) {
          close_conn(c, true);  // an idle connection the server closed
        } else {
          fail(c, c->reused ? kErrRefused : kErrProtocol,
               "connection closed before the response (reset)");
        }
        return;
      }
      const ssize_t used = nghttp2_session_mem_recv(c->h2, reinterpret_cast<const uint8_t*>(buf),
                                                    static_cast<size_t>(n));
      if (used < 0) {
        fail(c, kErrProtocol, std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(used)));
        return;
      }
      c->reused = true;  // from now on a reset is a dropped connection, not a refused one
      h2_take_pending(c);
    }
    h2_take_pending(c);
    h2_submit_queued(c);
    if (!h2_flush(c)) return;
    if (c->streams.empty() && c->queued.empty() && (c->remaining == 0 || c->goaway)) {
      nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
      h2_flush(c);
      if (c->state != ConnState::kClosed) {
        close_notify(c);
        close_conn(c, true);
      }
    }
  }

  // Requests of this key waiting for a connection slot go on this connection if it has room.
  void h2_take_pending(Conn* c) {
    auto it = pending_.find(c->key);
    if (it == pending_.end()) return;
    while (!it->second.empty() && h2_has_room(c)) {
      c->queued.push_back(it->second.front());
      it->second.pop_front();
    }
  }

  void h2_timeouts(Conn* c, int64_t now) {
    if (plan_.timeout_ns <= 0) return;
    for (auto it = c->queued.begin(); it != c->queued.end();) {
      if (now - (start_ns_ + plan_.arrivals[*it].t_ns) >= plan_.timeout_ns) {
        record(*it, start_ns_ + plan_.arrivals[*it].t_ns, now, kErrTimeout, "timeout");
        --in_flight_;
        it = c->queued.erase(it);
      } else {
        ++it;
      }
    }
    bool cancelled = false;
    for (auto it = c->streams.begin(); it != c->streams.end();) {
      if (now - it->second.intended_ns >= plan_.timeout_ns) {
        record(it->second.arrival, it->second.intended_ns, now, kErrTimeout, "timeout");
        --in_flight_;
        if (c->h2) nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, it->first, NGHTTP2_CANCEL);
        it = c->streams.erase(it);
        cancelled = true;
      } else {
        ++it;
      }
    }
    if (cancelled && c->state == ConnState::kOpen && c->h2) h2_progress(c);
  }

  static int h2_on_header(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                          const uint8_t* name, size_t namelen, const uint8_t* value,
                          size_t valuelen, uint8_t /*flags*/, void* user_data) {
    Conn* c = static_cast<Conn*>(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || namelen != 7 || std::memcmp(name, ":status", 7) != 0)
      return 0;
    auto it = c->streams.find(frame->hd.stream_id);
    if (it == c->streams.end()) return 0;
    int status = 0;
    for (size_t i = 0; i < valuelen && value[i] >= '0' && value[i] <= '9'; ++i)
      status = status * 10 + (value[i] - '0');
    // 1xx are informational: the final status follows.
    if (status >= 200) it->second.status = status;
    return 0;
  }

  static int h2_on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame,
                              void* user_data) {
    Conn* c = static_cast<Conn*>(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY) c->goaway = true;
    if (frame->hd.type == NGHTTP2_SETTINGS && (frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
      const uint32_t server =
          nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
      c->max_streams = std::max<uint32_t>(
          1, std::min(server, std::max<uint32_t>(1, c->worker->plan_.max_concurrent_streams)));
    }
    return 0;
  }

  static int h2_on_stream_close(nghttp2_session* /*session*/, int32_t stream_id,
                                uint32_t error_code, void* user_data) {
    Conn* c = static_cast<Conn*>(user_data);
    Worker* w = c->worker;
    auto it = c->streams.find(stream_id);
    if (it == c->streams.end()) return 0;  // timed out and cancelled already
    const Conn::Stream s = it->second;
    c->streams.erase(it);
    const int64_t now = monotonic_ns();
    if (error_code == NGHTTP2_NO_ERROR && s.status > 0) {
      ErrorCause cause = kErrCount;
      if (s.status >= 400) {
        cause = s.status == 503   ? kErr503
                : s.status == 404 ? kErrNoRoute
                : s.status == 504 ? kErr504
                                  : kErrOtherStatus;
      }
      w->record(s.arrival, s.intended_ns, now, cause,
                cause == kErrCount ? "" : "HTTP " + std::to_string(s.status));
    } else {
      w->record(s.arrival, s.intended_ns, now,
                error_code == NGHTTP2_REFUSED_STREAM ? kErrRefused : kErrProtocol,
                std::string("HTTP/2 stream reset: ") + nghttp2_http2_strerror(error_code));
    }
    --w->in_flight_;
    return 0;
  }

  static ssize_t h2_read_body(nghttp2_session* /*session*/, int32_t stream_id, uint8_t* buf,
                              size_t length, uint32_t* data_flags, nghttp2_data_source* /*source*/,
                              void* user_data) {
    Conn* c = static_cast<Conn*>(user_data);
    auto it = c->streams.find(stream_id);
    if (it == c->streams.end()) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    const size_t n = std::min<size_t>(length, it->second.body_left);
    std::memset(buf, 'x', n);
    it->second.body_left -= static_cast<uint32_t>(n);
    if (it->second.body_left == 0) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int on_new_session(SSL* ssl, SSL_SESSION* session) {
    Conn* c = static_cast<Conn*>(SSL_get_app_data(ssl));
    if (c == nullptr) return 0;
    Worker* w = c->worker;
    const std::string& host = w->keys_[static_cast<size_t>(c->key)].host;
    auto it = w->sessions_.find(host);
    if (it != w->sessions_.end()) SSL_SESSION_free(it->second);
    w->sessions_[host] = session;
    return 1;  // we keep the reference
  }

  const LoadPlan& plan_;
  std::vector<uint32_t> mine_;
  size_t next_ = 0;
  int index_;
  int64_t start_ns_;
  int max_connections_;
  engine::Rng rng_;
  int epfd_ = -1, tfd_ = -1;
  SSL_CTX* ssl_ctx_ = nullptr;
  std::map<Key, int> key_index_;
  std::vector<Key> keys_;
  std::vector<std::vector<Conn*>> idle_;
  std::map<int, std::deque<uint32_t>> pending_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::map<std::string, SSL_SESSION*> sessions_;
  int open_count_ = 0;
  int64_t in_flight_ = 0;
  size_t rr_entry_ = 0;
  int64_t next_timeout_check_ = 0;
  bool dead_ = false;
  LoadStats stats_;
};

}  // namespace

const char* error_cause_name(ErrorCause cause) {
  switch (cause) {
    case kErrTimeout:
      return "timeout";
    case kErrRefused:
      return "refused";
    case kErr503:
      return "http_503";
    case kErrNoRoute:
      return "no_route";
    case kErr504:
      return "upstream_timeout";
    case kErrOtherStatus:
      return "other_status";
    case kErrProtocol:
      return "protocol";
    default:
      return "?";
  }
}

void LoadStats::merge(LoadStats&& o) {
  end_to_end.merge(o.end_to_end);
  tls_handshake.merge(o.tls_handshake);
  tcp_connect.merge(o.tcp_connect);
  send_lag.merge(o.send_lag);
  offered += o.offered;
  completed += o.completed;
  succeeded += o.succeeded;
  unfinished += o.unfinished;
  for (size_t i = 0; i < errors.size(); ++i)
    errors[i] += o.errors[i];
  connections += o.connections;
  peak_open += o.peak_open;
  connection_waits += o.connection_waits;
  tls_full += o.tls_full;
  tls_resumed += o.tls_resumed;
  tls_resumption_offered += o.tls_resumption_offered;
  if (routes.size() < o.routes.size()) routes.resize(o.routes.size());
  for (size_t i = 0; i < o.routes.size(); ++i) {
    routes[i].latency.merge(o.routes[i].latency);
    routes[i].requests += o.routes[i].requests;
    routes[i].succeeded += o.routes[i].succeeded;
  }
  if (series.size() < o.series.size()) series.resize(o.series.size());
  for (size_t i = 0; i < o.series.size(); ++i) {
    series[i].succeeded += o.series[i].succeeded;
    series[i].errors += o.series[i].errors;
    series[i].latency.merge(o.series[i].latency);
  }
  for (std::string& e : o.first_errors) {
    if (first_errors.size() < 5 &&
        std::find(first_errors.begin(), first_errors.end(), e) == first_errors.end())
      first_errors.push_back(std::move(e));
  }
}

std::string run_load(const LoadPlan& plan, LoadStats* out) {
  if (plan.entries.empty()) return "no target address";
  if (plan.threads < 1) return "threads must be >= 1";
  // OpenSSL writes with write(2): a peer that closed would kill the process with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  // Raise the descriptor limit to what the hard limit allows: one per connection.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  // Grow the descriptor table to its final size now, before the schedule starts. The kernel
  // doubles it when a new descriptor does not fit, and in a multi-threaded process each growth
  // waits for an RCU grace period: socket() took 5-27 ms at descriptors 256, 512, ... 8192 here,
  // a stall of the generator mid-run that delays every request in flight and, with TLS, makes it
  // open more connections (each a full handshake) and so reach the next growth. It never shrinks.
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    const rlim_t want = std::min<rlim_t>(rl.rlim_cur, static_cast<rlim_t>(plan.max_connections) +
                                                          256 * static_cast<rlim_t>(plan.threads));
    const int base = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (base >= 0 && want > 64) {
      const int top = fcntl(base, F_DUPFD_CLOEXEC, static_cast<int>(want - 1));
      if (top >= 0) ::close(top);
    }
    if (base >= 0) ::close(base);
  }
  std::vector<std::vector<uint32_t>> split(static_cast<size_t>(plan.threads));
  for (uint32_t i = 0; i < plan.arrivals.size(); ++i) {
    split[i % static_cast<uint32_t>(plan.threads)].push_back(i);
  }
  const int per_thread = std::max(1, plan.max_connections / plan.threads);
  // Start a little in the future so every thread is ready at time 0.
  const int64_t start = monotonic_ns() + 50'000'000;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < plan.threads; ++t) {
    workers.push_back(std::make_unique<Worker>(plan, std::move(split[static_cast<size_t>(t)]), t,
                                               start, per_thread));
    if (std::string e = workers.back()->init(); !e.empty()) return e;
  }
  if (plan.on_start) plan.on_start(start);
  const double cpu0 = cpu_seconds_now();
  std::vector<std::thread> threads;
  for (auto& w : workers)
    threads.emplace_back([&w] { w->run(); });
  for (auto& t : threads)
    t.join();
  const int64_t end = monotonic_ns();
  *out = LoadStats{};
  out->routes.resize(plan.route_count);
  for (auto& w : workers)
    out->merge(std::move(w->stats()));
  out->wall_seconds = static_cast<double>(end - start) * 1e-9;
  out->cpu_seconds = cpu_seconds_now() - cpu0;
  return "";
}

}  // namespace ingresslab::replay
