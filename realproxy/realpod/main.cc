// realpod: the backend of the testbed and the benchmarks. Answers every request 200 with the
// header `x-pod: NAME` and a text body naming the pod and echoing the method, Host, path and the
// X-Forwarded-* headers it received, padded to --body-bytes.
//
//   realpod --listen 127.0.0.1:0 --name coffee-1 [--service-time lognormal:2ms,10ms]
//           [--body-bytes 1024] [--concurrency N] [--burn-cpu]
//
// Service time (a sample of --service-time per request):
//   - default: waited for on a timer (timerfd, nanosecond resolution, armed early by its own
//     measured wake-up lateness so responses are not late on average) without blocking the loop;
//     --concurrency N (0 = unlimited) requests are in service at once, the others wait in FIFO
//     order — a pod with N worker threads.
//   - --burn-cpu: spent spinning on the CPU; --concurrency N threads (default 1), each with its own
//     event loop and SO_REUSEPORT socket, serve one request at a time.
// A request with the header `X-Realpod-Probe` is answered at once, without a service time and
// outside the --concurrency limit (the network latency probe of `ingresslab validate-live`).
// Prints "listening on ADDR" once it accepts connections; SIGTERM / SIGINT: stop accepting, finish
// the requests in flight (at most 2 s), exit 0.
#include <pthread.h>
#include <signal.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "engine/distributions.h"
#include "engine/monotonic_clock.h"
#include "engine/random.h"
#include "realproxy/realpod/service_time.h"
#include "realproxy/server/h2o_api.h"
#include "realproxy/server/listener.h"

namespace {

using ingresslab::engine::Distribution;
using ingresslab::engine::Duration;
using ingresslab::engine::Rng;

struct PodOptions {
  std::string name;
  std::unique_ptr<Distribution> service_time;  // nullptr: answer at once
  size_t body_bytes = 0;
  int concurrency = 0;
  bool burn_cpu = false;
};

using ingresslab::engine::monotonic_ns;

class PodLoop;
thread_local PodLoop* t_pod = nullptr;

// A request waiting for, or in, service. Lives in the request's pool; unlinks itself if the client
// goes away first.
struct PodRequest {
  h2o_req_t* req = nullptr;
  PodLoop* pod = nullptr;
  bool queued = false;
  bool timed = false;
  std::list<PodRequest*>::iterator queue_at;
  std::multimap<int64_t, PodRequest*>::iterator timer_at;
  int64_t service_ns = 0;
};

struct StopMessage {
  h2o_multithread_message_t super;  // first member
};

class PodLoop {
 public:
  PodLoop(const PodOptions& options, h2o_globalconf_t* config, int listen_fd)
      : options_(options), config_(config), listen_fd_(listen_fd), rng_(std::random_device{}()) {}

  void start() {
    pthread_create(&thread_, nullptr, &PodLoop::thread_main, this);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return ready_; });
  }
  void stop() { h2o_multithread_send_message(&control_, &(new StopMessage{{}})->super); }
  void join() { pthread_join(thread_, nullptr); }

  static int on_req(h2o_handler_t* /*self*/, h2o_req_t* req) {
    t_pod->handle(req);
    return 0;
  }

 private:
  static void* thread_main(void* arg) {
    static_cast<PodLoop*>(arg)->run();
    return nullptr;
  }

  void run() {
    t_pod = this;
    loop_ = h2o_evloop_create();
    h2o_context_init(&ctx_, loop_, config_);
    accept_.ctx = &ctx_;
    accept_.hosts = config_->hosts;
    listener_ = h2o_evloop_socket_create(loop_, listen_fd_, H2O_SOCKET_FLAG_DONT_READ);
    listener_->data = this;
    h2o_socket_read_start(listener_, &PodLoop::on_accept);
    timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    timer_sock_ = h2o_evloop_socket_create(loop_, timer_fd_, 0);
    h2o_socket_read_start(timer_sock_, &PodLoop::on_timer);
    h2o_multithread_register_receiver(ctx_.queue, &control_, &PodLoop::on_control);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_ = true;
    }
    cv_.notify_all();
    while (!(stopping_ && (in_flight_ == 0 || monotonic_ns() > stop_deadline_ns_))) {
      h2o_evloop_run(loop_, stopping_ ? 20 : INT32_MAX);
    }
  }

  static void on_control(h2o_multithread_receiver_t* /*receiver*/, h2o_linklist_t* messages) {
    PodLoop* self = t_pod;
    while (!h2o_linklist_is_empty(messages)) {
      auto* message = reinterpret_cast<StopMessage*>(messages->next);
      h2o_linklist_unlink(&message->super.link);
      delete message;
      if (self->listener_ != nullptr) {
        h2o_socket_read_stop(self->listener_);
        h2o_socket_close(self->listener_);
        self->listener_ = nullptr;
      }
      h2o_context_request_shutdown(&self->ctx_);
      self->stopping_ = true;
      self->stop_deadline_ns_ = monotonic_ns() + 2'000'000'000;
    }
  }

  static void on_accept(h2o_socket_t* listener, const char* err) {
    if (err != nullptr) return;
    PodLoop* self = static_cast<PodLoop*>(listener->data);
    for (int i = 0; i < 16; ++i) {
      h2o_socket_t* sock = h2o_evloop_socket_accept(listener);
      if (sock == nullptr) return;
      h2o_accept(&self->accept_, sock);
    }
  }

  void handle(h2o_req_t* req) {
    // A latency probe (`ingresslab validate-live`): answered at once, outside the service queue.
    if (h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-realpod-probe"), -1) >= 0) {
      respond(req);
      return;
    }
    const int64_t service_ns =
        options_.service_time
            ? ingresslab::engine::sample_duration(*options_.service_time, rng_).ns()
            : 0;
    if (options_.burn_cpu || service_ns <= 0) {
      if (service_ns > 0) {
        const int64_t until = monotonic_ns() + service_ns;
        while (monotonic_ns() < until) {
        }
      }
      respond(req);
      return;
    }
    void* memory = h2o_mem_alloc_shared(&req->pool, sizeof(PodRequest), &PodLoop::on_dispose);
    auto* request = new (memory) PodRequest();
    request->req = req;
    request->pod = this;
    request->service_ns = service_ns;
    ++in_flight_;
    if (options_.concurrency > 0 && in_service_ >= options_.concurrency) {
      request->queued = true;
      request->queue_at = queue_.insert(queue_.end(), request);
    } else {
      start_service(request);
    }
  }

  void start_service(PodRequest* request) {
    ++in_service_;
    request->timed = true;
    request->timer_at = timers_.emplace(monotonic_ns() + request->service_ns, request);
    arm_timer();
  }

  // Ends service of `request` (answered or abandoned) and starts the next queued one.
  void end_service(PodRequest* request) {
    if (request->timed) {
      timers_.erase(request->timer_at);
      request->timed = false;
      --in_service_;
      if (!queue_.empty()) {
        PodRequest* next = queue_.front();
        queue_.pop_front();
        next->queued = false;
        start_service(next);
      }
    }
  }

  // The timerfd wakes this loop later than asked: an idle CPU's wake-up plus the event loop
  // (tens of microseconds on our VM, more when the machine is busy), and every response would be
  // late by it. The timer is armed that much early — an average of the lateness measured at each
  // expiry, at most kMaxEarlyNs — and the requests whose deadline is within it are answered, so a
  // response leaves at its service time on average instead of after it.
  static constexpr int64_t kMaxEarlyNs = 500'000;

  void arm_timer() {
    const int64_t at =
        timers_.empty() ? 0 : std::max<int64_t>(timers_.begin()->first - early_ns_, 1);
    if (at == armed_ns_) return;
    armed_ns_ = at;
    itimerspec spec{};
    spec.it_value.tv_sec = at / 1'000'000'000;
    spec.it_value.tv_nsec = at % 1'000'000'000;
    timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  static void on_timer(h2o_socket_t* sock, const char* /*err*/) {
    PodLoop* self = t_pod;
    h2o_buffer_consume(&sock->input, sock->input->size);
    const int64_t now = monotonic_ns();
    if (self->armed_ns_ > 0 && now >= self->armed_ns_) {
      const int64_t late = std::min(now - self->armed_ns_, kMaxEarlyNs);
      self->early_ns_ += (late - self->early_ns_) / 16;
      self->armed_ns_ = 0;  // expired
    }
    while (!self->timers_.empty() && self->timers_.begin()->first - self->early_ns_ <= now) {
      PodRequest* request = self->timers_.begin()->second;
      self->end_service(request);
      self->respond(request->req);  // may dispose `request` later, never now
    }
    self->arm_timer();
  }

  static void on_dispose(void* data) {
    auto* request = static_cast<PodRequest*>(data);
    PodLoop* self = request->pod;
    if (request->queued) self->queue_.erase(request->queue_at);
    self->end_service(request);
    --self->in_flight_;
    request->~PodRequest();
  }

  void respond(h2o_req_t* req) {
    std::string body = "pod " + options_.name + "\n";
    body += "method " + std::string(req->method.base, req->method.len) + "\n";
    body += "host " + std::string(req->input.authority.base, req->input.authority.len) + "\n";
    body += "path " + std::string(req->path.base, req->path.len) + "\n";
    for (const char* name : {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}) {
      const ssize_t i = h2o_find_header_by_str(&req->headers, name, std::strlen(name), -1);
      if (i >= 0) {
        const h2o_iovec_t v = req->headers.entries[i].value;
        body += std::string(name) + ": " + std::string(v.base, v.len) + "\n";
      }
    }
    if (body.size() < options_.body_bytes) {
      body.append(options_.body_bytes - body.size() - 1, '.');
      body += '\n';
    }
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = body.size();
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr,
                   H2O_STRLIT("text/plain; charset=utf-8"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-pod"), 0, nullptr,
                          options_.name.data(), options_.name.size());
    h2o_send_inline(req, body.data(), body.size());
  }

  const PodOptions& options_;
  h2o_globalconf_t* config_;
  int listen_fd_;
  Rng rng_;
  pthread_t thread_{};
  std::mutex mu_;
  std::condition_variable cv_;
  bool ready_ = false;
  h2o_evloop_t* loop_ = nullptr;
  h2o_context_t ctx_{};
  h2o_accept_ctx_t accept_{};
  h2o_socket_t* listener_ = nullptr;
  int timer_fd_ = -1;
  h2o_socket_t* timer_sock_ = nullptr;
  h2o_multithread_receiver_t control_{};
  std::multimap<int64_t, PodRequest*> timers_;  // by deadline
  int64_t armed_ns_ = 0;  // when the timerfd expires (0: disarmed, or expired)
  int64_t early_ns_ = 0;  // how early it is armed: the average lateness of its expiries
  std::list<PodRequest*> queue_;
  int in_service_ = 0;
  uint64_t in_flight_ = 0;
  bool stopping_ = false;
  int64_t stop_deadline_ns_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"realpod: a test backend that answers with its name"};
  std::string listen, service_time;
  PodOptions options;
  app.add_option("--listen", listen, "listen address, e.g. 127.0.0.1:8080 (port 0: any free)")
      ->required();
  app.add_option("--name", options.name, "pod name, sent in the x-pod header")->required();
  app.add_option("--service-time", service_time,
                 "per-request service time: constant:2ms, exponential:1ms, lognormal:MEAN,P99, "
                 "uniform:LO,HI");
  app.add_option("--body-bytes", options.body_bytes, "pad the response body to this many bytes");
  app.add_option("--concurrency", options.concurrency,
                 "requests in service at once (0: unlimited); with --burn-cpu: threads")
      ->check(CLI::Range(0, 4096));
  app.add_flag("--burn-cpu", options.burn_cpu, "spend the service time spinning on the CPU");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (!service_time.empty()) {
    ingresslab::engine::DistributionOrError dist =
        ingresslab::realproxy::parse_service_time(service_time);
    if (!dist.ok()) {
      std::fprintf(stderr, "realpod: %s\n", dist.error.c_str());
      return 2;
    }
    options.service_time = std::move(dist.dist);
  }

  std::signal(SIGPIPE, SIG_IGN);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const int threads = options.burn_cpu ? std::max(1, options.concurrency) : 1;
  ingresslab::realproxy::Listeners listeners;
  std::string error;
  if (!ingresslab::realproxy::open_listeners(listen, threads, &listeners, &error)) {
    std::fprintf(stderr, "realpod: %s\n", error.c_str());
    return 1;
  }

  static h2o_globalconf_t config;
  h2o_config_init(&config);
  config.server_name = h2o_iovec_init(H2O_STRLIT("realpod"));
  // Keep idle connections longer than a proxy's upstream keep-alive (60 s by default), so the
  // proxy closes them first and never sends on a connection the pod is closing.
  config.http1.req_timeout = 75'000;
  config.http2.idle_timeout = 75'000;
  h2o_hostconf_t* host =
      h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t* path = h2o_config_register_path(host, "/", 0);
  h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = &PodLoop::on_req;

  std::vector<std::unique_ptr<PodLoop>> loops;
  for (int i = 0; i < threads; ++i) {
    loops.push_back(
        std::make_unique<PodLoop>(options, &config, listeners.fds[static_cast<size_t>(i)]));
    loops.back()->start();
  }
  std::printf("listening on %s\n", listeners.bound.c_str());
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  for (auto& loop : loops)
    loop->stop();
  for (auto& loop : loops)
    loop->join();
  // The loops' h2o contexts are not disposed (connections may still be open); exit now.
  std::fflush(stdout);
  _exit(0);
}
