#include "tests/realproxy/testbed.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

namespace ingresslab::realproxy::testing {

using namespace std::chrono_literals;

const char* realproxy_binary() {
  return REALPROXY_BIN;
}
const char* realpod_binary() {
  return REALPOD_BIN;
}

namespace {

std::string make_temp_dir() {
  char pattern[] = "/tmp/realproxy-test-XXXXXX";
  const char* dir = mkdtemp(pattern);
  return dir != nullptr ? dir : "/tmp";
}

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6)
      out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v =
        (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace

Testbed::Testbed() : dir_(make_temp_dir()) {
  std::filesystem::create_directories(config_dir());
}

Testbed::~Testbed() {
  if (proxy_) proxy_->stop();
  for (auto& pod : pods_) {
    if (pod->process) pod->process->stop();
  }
  // REALPROXY_TEST_KEEP_DIRS=1 keeps the logs of passing tests too (e.g. to grep sanitizer reports
  // of the child processes).
  if (!::testing::Test::HasFailure() && std::getenv("REALPROXY_TEST_KEEP_DIRS") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  } else {
    std::fprintf(stderr, "testbed kept for inspection: %s\n", dir_.c_str());
  }
}

Pod& Testbed::add_pod(const std::string& service, const std::string& name,
                      std::vector<std::string> extra_args) {
  auto pod = std::make_unique<Pod>();
  pod->name = name;
  pod->service = service;
  std::vector<std::string> argv = {realpod_binary(), "--listen", "127.0.0.1:0", "--name", name};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  pod->process = std::make_unique<ChildProcess>(argv, dir_ + "/" + name);
  const std::optional<std::string> line = pod->process->wait_for_line("listening on ", 5s);
  EXPECT_TRUE(line) << "realpod " << name << " did not start: " << pod->process->stderr_text();
  pod->port = line ? port_of_line(*line) : 0;
  pods_.push_back(std::move(pod));
  return *pods_.back();
}

Pod& Testbed::pod(const std::string& name) {
  for (auto& p : pods_) {
    if (p->name == name) return *p;
  }
  ADD_FAILURE() << "no pod " << name;
  return *pods_.front();
}

void Testbed::respawn_pod(const std::string& name) {
  Pod& p = pod(name);
  p.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{realpod_binary(), "--listen", "127.0.0.1:" + std::to_string(p.port),
                               "--name", name},
      dir_ + "/" + name + "-respawned");
  EXPECT_TRUE(p.process->wait_for_line("listening on ", 5s))
      << "realpod " << name << " did not start again: " << p.process->stderr_text();
}

std::set<std::string> Testbed::pods_of(const std::string& service) const {
  std::set<std::string> names;
  for (const auto& p : pods_) {
    if (p->service == service) names.insert(p->name);
  }
  return names;
}

void Testbed::route(const std::string& host, const std::string& path, const std::string& service,
                    const std::string& path_type) {
  routes_.push_back({host, path, service, path_type});
}

void Testbed::tls(const std::string& host, const std::string& secret,
                  const SelfSignedCertificate& cert, bool as_files) {
  tls_.push_back({host, secret, cert, as_files});
}

std::string Testbed::manifests() const {
  std::string y;
  y += "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: cafe-ingress\n"
       "  namespace: default\n  creationTimestamp: \"2024-01-01T00:00:00Z\"\nspec:\n";
  if (!tls_.empty()) {
    y += "  tls:\n";
    for (const TlsSpec& t : tls_) {
      y += "  - hosts: [\"" + t.host + "\"]\n    secretName: " + t.secret + "\n";
    }
  }
  y += "  rules:\n";
  std::vector<std::string> hosts;
  for (const RouteSpec& r : routes_) {
    if (std::find(hosts.begin(), hosts.end(), r.host) == hosts.end()) hosts.push_back(r.host);
  }
  for (const std::string& host : hosts) {
    y += "  - host: " + host + "\n    http:\n      paths:\n";
    for (const RouteSpec& r : routes_) {
      if (r.host != host) continue;
      y += "      - path: " + r.path + "\n        pathType: " + r.path_type +
           "\n        backend:\n          service:\n            name: " + r.service +
           "\n            port:\n              number: 80\n";
    }
  }
  std::set<std::string> services = unready_services_;
  for (const auto& p : pods_)
    services.insert(p->service);
  for (const RouteSpec& r : routes_)
    services.insert(r.service);
  for (const std::string& s : services) {
    y += "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: " + s +
         "\nspec:\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n";
  }
  for (const auto& p : pods_) {
    y +=
        "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " + p->name +
        "\n  labels:\n    kubernetes.io/service-name: " + p->service +
        "\naddressType: IPv4\nports:\n- name: http\n  port: " + std::to_string(p->port) +
        "\nendpoints:\n- addresses: [\"127.0.0.1\"]\n  conditions:\n    ready: true\n";
  }
  for (const std::string& s : unready_services_) {
    y += "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " + s +
         "-unready\n  labels:\n    kubernetes.io/service-name: " + s +
         "\naddressType: IPv4\nports:\n- name: http\n  port: 9\nendpoints:\n"
         "- addresses: [\"127.0.0.1\"]\n  conditions:\n    ready: false\n";
  }
  for (const TlsSpec& t : tls_) {
    y += "---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n  name: " +
         t.secret + "\n";
    if (t.as_files) {
      y += "  annotations:\n    realproxy.ingresslab/tls-cert-file: " + t.secret +
           ".crt\n    realproxy.ingresslab/tls-key-file: " + t.secret + ".key\n";
    } else {
      y += "data:\n  tls.crt: " + base64(t.cert.cert_pem) +
           "\n  tls.key: " + base64(t.cert.key_pem) + "\n";
    }
  }
  return y;
}

void Testbed::write_config() {
  for (const TlsSpec& t : tls_) {
    if (!t.as_files) continue;
    write_file(config_dir() + "/" + t.secret + ".crt", t.cert.cert_pem);
    write_file(config_dir() + "/" + t.secret + ".key", t.cert.key_pem);
  }
  write_file(config_dir() + "/cafe.yaml", manifests());
}

void Testbed::start_proxy(std::vector<std::string> extra_args) {
  std::vector<std::string> argv = {realproxy_binary(), "serve",        "--config",
                                   config_dir(),       "--listen",     "127.0.0.1:0",
                                   "--tls-listen",     "127.0.0.1:0",  "--admin",
                                   "127.0.0.1:0",      "--access-log", dir_ + "/access.log"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  proxy_ = std::make_unique<ChildProcess>(argv, dir_ + "/realproxy");
  // realproxy prints "listening on ADDR (http)", "(https)", "(admin)" together, admin last.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (proxy_->stdout_text().find("(admin)") == std::string::npos) {
    ASSERT_TRUE(proxy_->running() && std::chrono::steady_clock::now() < deadline)
        << "realproxy did not start: " << proxy_->stderr_text();
    std::this_thread::sleep_for(5ms);
  }
  std::istringstream lines(proxy_->stdout_text());
  for (std::string line; std::getline(lines, line);) {
    if (line.ends_with("(http)")) http_port_ = port_of_line(line);
    if (line.ends_with("(https)")) https_port_ = port_of_line(line);
    if (line.ends_with("(admin)")) admin_port_ = port_of_line(line);
  }
  ASSERT_NE(http_port_, 0);
  ASSERT_NE(https_port_, 0);
  ASSERT_NE(admin_port_, 0);
}

CommandResult Testbed::route_command(const std::string& host, const std::string& path) {
  return run_command({realproxy_binary(), "route", "--config", config_dir(), host, path},
                     dir_ + "/route-" + std::to_string(++commands_));
}

}  // namespace ingresslab::realproxy::testing
