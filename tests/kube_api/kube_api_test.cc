// realproxy serve --kube-api against a fake Kubernetes API server that replays a recorded session
// (tests/data/kube_api/): the proxy lists Ingress/Service/EndpointSlice/Secret, routes by them,
// then follows watch events (an Ingress gains a path; an EndpointSlice is deleted).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/realproxy/http_client.h"
#include "tests/realproxy/test_process.h"

namespace {

using namespace std::chrono_literals;
using ingresslab::realproxy::testing::ChildProcess;
using ingresslab::realproxy::testing::http_request;
using ingresslab::realproxy::testing::port_of_line;
using ingresslab::realproxy::testing::run_command;

std::string data_file(const std::string& name) {
  std::ifstream in(std::string(KUBE_API_DATA) + "/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// A Kubernetes API server that answers list requests with the recorded bodies and holds watch
// requests open, streaming the recorded events of a resource when the test releases them.
class FakeApiServer {
 public:
  explicit FakeApiServer(std::map<std::string, std::string> lists,
                         std::map<std::string, std::string> watches)
      : lists_(std::move(lists)), watches_(std::move(watches)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 64);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FakeApiServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    acceptor_.join();
    for (auto& t : handlers_)
      t.join();
  }
  int port() const { return port_; }
  // Lets the watch of `resource` ("ingresses") send its recorded events.
  void release(const std::string& resource) {
    std::lock_guard<std::mutex> lock(mu_);
    released_.push_back(resource);
    cv_.notify_all();
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void accept_loop() {
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
        continue;
      }
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      handlers_.emplace_back([this, c] { handle(c); });
    }
  }

  static void send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  void handle(int c) {
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) {
        close(c);
        return;
      }
      req.append(buf, static_cast<size_t>(n));
    }
    const std::string line = req.substr(0, req.find("\r\n"));
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(line);
    }
    const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string path = target.substr(0, target.find('?'));
    const std::string resource = path.substr(path.rfind('/') + 1);
    if (target.find("watch=1") != std::string::npos) {
      send_all(c,
               "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n");
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] {
        return stop_ || std::find(released_.begin(), released_.end(), resource) != released_.end();
      });
      if (!stop_ && watches_.count(resource)) {
        std::istringstream events(watches_[resource]);
        std::string event;
        while (std::getline(events, event)) {
          event += "\n";
          char size[32];
          std::snprintf(size, sizeof size, "%zx\r\n", event.size());
          send_all(c, size + event + "\r\n");
        }
        released_.erase(std::find(released_.begin(), released_.end(), resource));
      }
      // Hold the watch open until the end, as the API server does until timeoutSeconds.
      cv_.wait(lock, [&] { return stop_; });
      close(c);
      return;
    }
    const auto it = lists_.find(resource);
    const std::string body = it == lists_.end() ? "" : it->second;
    send_all(c, (it == lists_.end() ? std::string("HTTP/1.1 404 Not Found\r\n")
                                    : std::string("HTTP/1.1 200 OK\r\n")) +
                    "Content-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body);
    close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::map<std::string, std::string> lists_, watches_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<std::string> released_;
  std::vector<std::string> requests_;
  std::thread acceptor_;
  std::vector<std::thread> handlers_;
};

class KubeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::string("/tmp/kube-api-test-") + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<ChildProcess> start_pod(const std::string& name, int* port) {
    auto p = std::make_unique<ChildProcess>(
        std::vector<std::string>{REALPOD_BIN, "--listen", "127.0.0.1:0", "--name", name},
        dir_ + "/" + name);
    const auto line = p->wait_for_line("listening on ", 5s);
    EXPECT_TRUE(line) << p->stderr_text();
    *port = line ? port_of_line(*line) : 0;
    return p;
  }
  std::string dir_;
};

// The routed pod for host/path, "404"/"503" for those answers, or "error".
std::string routed(int port, const std::string& path) {
  std::string error;
  const auto r = http_request(port, "cafe.example.com", path, &error);
  if (!r) return "error: " + error;
  if (r->status != 200) return std::to_string(r->status);
  return r->header("x-pod");
}

TEST_F(KubeApiTest, RoutesFromTheApiAndFollowsWatchEvents) {
  int coffee_port = 0, tea_port = 0;
  auto coffee = start_pod("coffee-0", &coffee_port);
  auto tea = start_pod("tea-0", &tea_port);
  ASSERT_GT(coffee_port, 0);
  ASSERT_GT(tea_port, 0);
  // The recording's endpoint ports (8080 coffee, 8081 tea) become the pods' ports.
  auto ports = [&](std::string s) {
    s = replace_all(s, "\"port\":8080", "\"port\":" + std::to_string(coffee_port));
    return replace_all(s, "\"port\":8081", "\"port\":" + std::to_string(tea_port));
  };
  FakeApiServer api({{"ingresses", data_file("ingresses-list.json")},
                     {"services", data_file("services-list.json")},
                     {"endpointslices", ports(data_file("endpointslices-list.json"))},
                     {"secrets", data_file("secrets-list.json")}},
                    {{"ingresses", data_file("ingresses-watch.jsonl")},
                     {"endpointslices", ports(data_file("endpointslices-watch.jsonl"))}});
  ChildProcess proxy({REALPROXY_BIN, "serve", "--kube-api", "--kube-api-server",
                      "http://127.0.0.1:" + std::to_string(api.port()), "--listen", "127.0.0.1:0"},
                     dir_ + "/realproxy");
  const auto line = proxy.wait_for_line("listening on ", 10s);
  ASSERT_TRUE(line) << proxy.stderr_text();
  const int port = port_of_line(*line);

  // The listed state: /coffee routed to its pod; /tea has no rule yet.
  EXPECT_EQ(routed(port, "/coffee"), "coffee-0");
  EXPECT_EQ(routed(port, "/tea"), "404");

  // Each resource was listed cluster-wide (TLS Secrets only), then watched from the list's
  // resourceVersion.
  const auto requests = api.requests();
  auto seen = [&](const std::string& prefix) {
    return std::any_of(requests.begin(), requests.end(),
                       [&](const std::string& r) { return r.rfind(prefix, 0) == 0; });
  };
  EXPECT_TRUE(seen("GET /apis/networking.k8s.io/v1/ingresses?limit=500"));
  EXPECT_TRUE(seen("GET /api/v1/services?limit=500"));
  EXPECT_TRUE(seen("GET /apis/discovery.k8s.io/v1/endpointslices?limit=500"));
  EXPECT_TRUE(seen("GET /api/v1/secrets?limit=500&fieldSelector=type%3Dkubernetes.io%2Ftls"));
  for (int i = 0; i < 50 && !seen("GET /apis/networking.k8s.io/v1/ingresses?watch=1"); ++i) {
    std::this_thread::sleep_for(20ms);
    const auto now = api.requests();
    if (std::any_of(now.begin(), now.end(), [](const std::string& r) {
          return r.find("ingresses?watch=1") != std::string::npos;
        })) {
      break;
    }
  }
  const auto watching = api.requests();
  EXPECT_TRUE(std::any_of(watching.begin(), watching.end(), [](const std::string& r) {
    return r.find("/ingresses?watch=1") != std::string::npos &&
           r.find("resourceVersion=1000") != std::string::npos;
  }));

  // MODIFIED Ingress: /tea now routes to the tea pod, without a restart.
  api.release("ingresses");
  std::string tea_answer;
  for (int i = 0; i < 100; ++i) {
    tea_answer = routed(port, "/tea");
    if (tea_answer == "tea-0") break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(tea_answer, "tea-0");
  EXPECT_EQ(routed(port, "/coffee"), "coffee-0");

  // DELETED EndpointSlice: coffee-svc has no endpoints left → 503.
  api.release("endpointslices");
  std::string coffee_answer;
  for (int i = 0; i < 100; ++i) {
    coffee_answer = routed(port, "/coffee");
    if (coffee_answer == "503") break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(coffee_answer, "503");
  EXPECT_EQ(routed(port, "/tea"), "tea-0");
  EXPECT_TRUE(proxy.running());
  proxy.stop();
  const std::string err = proxy.stderr_text();
  EXPECT_NE(err.find("reloaded"), std::string::npos) << err;
}

TEST_F(KubeApiTest, UnreachableApiServerFailsTheStart) {
  // A port nothing listens on (bound, then closed).
  int port = 0;
  {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    close(fd);
  }
  const auto r =
      run_command({REALPROXY_BIN, "serve", "--kube-api", "--kube-api-server",
                   "http://127.0.0.1:" + std::to_string(port), "--listen", "127.0.0.1:0"},
                  dir_ + "/unreachable");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot connect to the API server"), std::string::npos) << r.err;
}

TEST_F(KubeApiTest, NeedsConfigOrKubeApi) {
  const auto r = run_command({REALPROXY_BIN, "serve", "--listen", "127.0.0.1:0"}, dir_ + "/none");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--kube-api"), std::string::npos) << r.err;
}

}  // namespace
