#include "realproxy/config/kube_api.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "realproxy/config/manifests.h"

namespace ingresslab::realproxy {

const std::vector<KubeResource>& kube_resources() {
  static const std::vector<KubeResource> resources = {
      {"Ingress", "networking.k8s.io/v1", "/apis/networking.k8s.io/v1/ingresses", ""},
      {"Service", "v1", "/api/v1/services", ""},
      {"EndpointSlice", "discovery.k8s.io/v1", "/apis/discovery.k8s.io/v1/endpointslices", ""},
      {"Secret", "v1", "/api/v1/secrets", "fieldSelector=type%3Dkubernetes.io%2Ftls"},
  };
  return resources;
}

namespace {

void block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// The object as a manifest document: kind and apiVersion set (list items lack them), bulky
// bookkeeping dropped, and for Secrets the file annotations removed.
std::string to_manifest(const KubeResource& r, YAML::Node object) {
  object["kind"] = r.kind;
  object["apiVersion"] = r.api_version;
  if (object["metadata"] && object["metadata"].IsMap()) {
    object["metadata"].remove("managedFields");
    if (std::string(r.kind) == "Secret" && object["metadata"]["annotations"] &&
        object["metadata"]["annotations"].IsMap()) {
      object["metadata"]["annotations"].remove(std::string(kTlsCertFileAnnotation));
      object["metadata"]["annotations"].remove(std::string(kTlsKeyFileAnnotation));
    }
  }
  YAML::Emitter e;
  e << object;
  return e.c_str();
}

std::string key_of(const YAML::Node& object) {
  const YAML::Node m = object["metadata"];
  if (!m || !m.IsMap()) return "";
  const std::string ns = m["namespace"] ? m["namespace"].as<std::string>("") : "";
  const std::string name = m["name"] ? m["name"].as<std::string>("") : "";
  return name.empty() ? "" : ns + "/" + name;
}

std::string resource_version_of(const YAML::Node& object) {
  const YAML::Node m = object["metadata"];
  if (!m || !m.IsMap() || !m["resourceVersion"]) return "";
  return m["resourceVersion"].as<std::string>("");
}

}  // namespace

// One HTTP/1.1 request's connection (plain or TLS), read as a byte stream.
struct KubeApiSource::Stream {
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  std::string buffer;  // read but not yet consumed

  KubeApiSource* owner = nullptr;

  ~Stream() {
    if (ssl) SSL_free(ssl);
    if (ctx) SSL_CTX_free(ctx);
    if (fd >= 0) {
      if (owner) owner->forget_fd(fd);
      close(fd);
    }
  }
  // >0 bytes appended to buffer, 0 EOF, <0 error.
  int fill() {
    char buf[16384];
    int n;
    if (ssl) {
      n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) {
        const int e = SSL_get_error(ssl, n);
        return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
      }
    } else {
      n = static_cast<int>(read(fd, buf, sizeof buf));
      if (n < 0 && errno == EINTR) return fill();
    }
    if (n > 0) buffer.append(buf, static_cast<size_t>(n));
    return n;
  }
  bool write_all(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      const int n =
          ssl ? SSL_write(ssl, data.data() + off, static_cast<int>(data.size() - off))
              : static_cast<int>(send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL));
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads the status line and headers. Returns the status (0 on error); sets chunked/length.
  int read_head(bool* chunked, long long* length) {
    size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (buffer.size() > 65536 || fill() <= 0) return 0;
    }
    std::string head = buffer.substr(0, end);
    buffer.erase(0, end + 4);
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) return 0;
    const int status = std::atoi(head.c_str() + 9);
    std::string lower;
    for (char c : head)
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    *chunked = lower.find("\r\ntransfer-encoding: chunked") != std::string::npos;
    *length = -1;
    const size_t cl = lower.find("\r\ncontent-length:");
    if (cl != std::string::npos) *length = std::atoll(lower.c_str() + cl + 17);
    return status;
  }
  // Delivers the body in pieces to `on_data` until it ends (or on_data returns false).
  bool read_body(bool chunked, long long length,
                 const std::function<bool(std::string_view)>& on_data) {
    if (chunked) {
      for (;;) {
        size_t eol;
        while ((eol = buffer.find("\r\n")) == std::string::npos) {
          if (fill() <= 0) return false;
        }
        const unsigned long long size = std::strtoull(buffer.c_str(), nullptr, 16);
        buffer.erase(0, eol + 2);
        if (size == 0) return true;
        while (buffer.size() < size + 2) {
          if (fill() <= 0) return false;
        }
        if (!on_data(std::string_view(buffer.data(), size))) return true;
        buffer.erase(0, size + 2);
      }
    }
    if (length >= 0) {
      while (static_cast<long long>(buffer.size()) < length) {
        if (fill() <= 0) return false;
      }
      on_data(std::string_view(buffer.data(), static_cast<size_t>(length)));
      return true;
    }
    for (;;) {
      if (!buffer.empty()) {
        if (!on_data(buffer)) return true;
        buffer.clear();
      }
      const int n = fill();
      if (n == 0) return true;
      if (n < 0) return false;
    }
  }
};

KubeApiSource::KubeApiSource(KubeApiOptions options) : options_(std::move(options)) {
  objects_.resize(kube_resources().size());
}

KubeApiSource::~KubeApiSource() {
  stop();
}

std::unique_ptr<KubeApiSource::Stream> KubeApiSource::open_request(const std::string& target,
                                                                   std::string* error) {
  auto s = std::make_unique<Stream>();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    *error = "cannot resolve " + host_ + ": " + gai_strerror(rc);
    return nullptr;
  }
  s->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  // A watch is quiet for long stretches; the server ends it after watch_timeout_seconds.
  timeval tv{options_.watch_timeout_seconds + 60, 0};
  setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const bool connected = s->fd >= 0 && connect(s->fd, res->ai_addr, res->ai_addrlen) == 0;
  freeaddrinfo(res);
  if (!connected) {
    *error = "cannot connect to the API server " + scheme_host_ + ": " + std::strerror(errno);
    return nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      *error = "stopping";
      return nullptr;
    }
    open_fds_.push_back(s->fd);
    s->owner = this;
  }
  if (https_) {
    s->ctx = SSL_CTX_new(TLS_client_method());
    if (!s->ctx || SSL_CTX_load_verify_locations(s->ctx, options_.ca_file.c_str(), nullptr) != 1) {
      *error = "cannot load the API server CA " + options_.ca_file;
      return nullptr;
    }
    SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, nullptr);
    s->ssl = SSL_new(s->ctx);
    SSL_set_fd(s->ssl, s->fd);
    in6_addr ip6;
    in_addr ip4;
    const bool is_ip = inet_pton(AF_INET, host_.c_str(), &ip4) == 1 ||
                       inet_pton(AF_INET6, host_.c_str(), &ip6) == 1;
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), host_.c_str());
    } else {
      SSL_set_tlsext_host_name(s->ssl, host_.c_str());
      SSL_set1_host(s->ssl, host_.c_str());
    }
    if (SSL_connect(s->ssl) != 1) {
      char buf[256] = "";
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      *error = "TLS with the API server " + scheme_host_ + " failed: " + buf;
      return nullptr;
    }
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + host_ + ":" +
                        std::to_string(port_) +
                        "\r\nAccept: application/json\r\nUser-Agent: realproxy\r\n"
                        "Connection: close\r\n";
  const std::string token = trim(read_small_file(options_.token_file));
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  request += "\r\n";
  if (!s->write_all(request)) {
    *error = "cannot send to the API server " + scheme_host_;
    return nullptr;
  }
  return s;
}

bool KubeApiSource::list(size_t index, std::string* resource_version, std::string* error) {
  const KubeResource& r = kube_resources()[index];
  std::map<std::string, std::string> objects;
  std::string cont;
  do {
    std::string target = std::string(r.path) + "?limit=500";
    if (r.selector[0]) target += std::string("&") + r.selector;
    if (!cont.empty()) target += "&continue=" + url_encode(cont);
    std::unique_ptr<Stream> s = open_request(target, error);
    if (!s) return false;
    bool chunked;
    long long length;
    const int status = s->read_head(&chunked, &length);
    std::string body;
    const bool ok = status != 0 && s->read_body(chunked, length, [&](std::string_view d) {
      body.append(d);
      return true;
    });
    if (status != 200 || !ok) {
      *error =
          "GET " + target + ": " +
          (status == 0 ? std::string("no valid HTTP answer") : "HTTP " + std::to_string(status)) +
          (status == 401 || status == 403
               ? " (check the service account token and the ClusterRole: get/list/watch on " +
                     std::string(r.path) + ")"
               : "");
      return false;
    }
    YAML::Node list;
    try {
      list = YAML::Load(body);
    } catch (const YAML::Exception& e) {
      *error = "GET " + target + ": malformed JSON: " + e.what();
      return false;
    }
    if (!list.IsMap() || !list["items"] || !list["items"].IsSequence()) {
      *error = "GET " + target + ": not a list (no items)";
      return false;
    }
    for (const YAML::Node& item : list["items"]) {
      const std::string key = key_of(item);
      if (!key.empty()) objects[key] = to_manifest(r, YAML::Clone(item));
    }
    *resource_version = list["metadata"] && list["metadata"]["resourceVersion"]
                            ? list["metadata"]["resourceVersion"].as<std::string>("")
                            : "";
    cont = list["metadata"] && list["metadata"]["continue"]
               ? list["metadata"]["continue"].as<std::string>("")
               : "";
  } while (!cont.empty());
  std::lock_guard<std::mutex> lock(mu_);
  objects_[index] = std::move(objects);
  dirty_ = true;
  cv_.notify_all();
  return true;
}

bool KubeApiSource::watch(size_t index, std::string* resource_version, std::string* error) {
  const KubeResource& r = kube_resources()[index];
  std::string target = std::string(r.path) + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=" +
                       std::to_string(options_.watch_timeout_seconds);
  if (!resource_version->empty()) target += "&resourceVersion=" + url_encode(*resource_version);
  if (r.selector[0]) target += std::string("&") + r.selector;
  std::unique_ptr<Stream> s = open_request(target, error);
  if (!s) return false;
  bool chunked;
  long long length;
  const int status = s->read_head(&chunked, &length);
  if (status == 410) {
    resource_version->clear();  // too old: relist
    return true;
  }
  if (status != 200) {
    *error = "GET " + target + ": " +
             (status == 0 ? std::string("no valid HTTP answer") : "HTTP " + std::to_string(status));
    return false;
  }
  std::string line;
  bool gone = false;
  auto on_line = [&](const std::string& text) {
    if (text.find_first_not_of(" \r\t") == std::string::npos) return true;
    YAML::Node event;
    try {
      event = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      std::fprintf(stderr, "realproxy: kube-api: %s: malformed watch event: %s\n", r.path,
                   e.what());
      return true;
    }
    const std::string type = event["type"] ? event["type"].as<std::string>("") : "";
    const YAML::Node object = event["object"];
    if (type == "ERROR") {
      const int code = object && object["code"] ? object["code"].as<int>(0) : 0;
      if (code == 410) {
        gone = true;
        return false;
      }
      std::fprintf(stderr, "realproxy: kube-api: %s: watch error %d\n", r.path, code);
      return false;
    }
    if (!object || !object.IsMap()) return true;
    const std::string rv = resource_version_of(object);
    if (!rv.empty()) *resource_version = rv;
    if (type == "BOOKMARK") return true;
    const std::string key = key_of(object);
    if (key.empty()) return true;
    std::lock_guard<std::mutex> lock(mu_);
    if (type == "DELETED") {
      objects_[index].erase(key);
    } else if (type == "ADDED" || type == "MODIFIED") {
      objects_[index][key] = to_manifest(r, YAML::Clone(object));
    } else {
      return true;
    }
    dirty_ = true;
    cv_.notify_all();
    return true;
  };
  const bool ok = s->read_body(chunked, length, [&](std::string_view data) {
    line.append(data);
    size_t nl;
    while ((nl = line.find('\n')) != std::string::npos) {
      const std::string text = line.substr(0, nl);
      line.erase(0, nl + 1);
      if (!on_line(text)) return false;
    }
    return true;
  });
  if (!line.empty()) on_line(line);
  if (gone) resource_version->clear();
  if (!ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) *error = "watch " + std::string(r.path) + ": connection lost";
    return stopping_;
  }
  return true;
}

void KubeApiSource::forget_fd(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
}

void KubeApiSource::run_resource(size_t index) {
  block_signals();
  std::string rv;
  {
    // start() listed already; continue from its resource version.
    std::lock_guard<std::mutex> lock(mu_);
    rv = rv_after_list_.size() > index ? rv_after_list_[index] : "";
  }
  int backoff_ms = 500;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    std::string error;
    bool ok;
    if (rv.empty()) {
      ok = list(index, &rv, &error);
    } else {
      ok = watch(index, &rv, &error);
    }
    if (ok) {
      backoff_ms = 500;
      continue;
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return;
      std::fprintf(stderr, "realproxy: kube-api: %s (retrying in %d ms)\n", error.c_str(),
                   backoff_ms);
      cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [this] { return stopping_; });
      if (stopping_) return;
    }
    backoff_ms = std::min(backoff_ms * 2, 30000);
  }
}

bool KubeApiSource::write_manifest(std::string* error) {
  std::string text =
      "# Mirrored from the Kubernetes API by realproxy --kube-api; rewritten on every change.\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& objects : objects_) {
      for (const auto& [key, yaml] : objects) {
        text += "---\n" + yaml + "\n";
      }
    }
    dirty_ = false;
  }
  const std::string tmp = manifest_path_ + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) {
      *error = "cannot write " + tmp;
      return false;
    }
  }
  if (rename(tmp.c_str(), manifest_path_.c_str()) != 0) {
    *error = "cannot rename " + tmp + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

void KubeApiSource::writer_loop() {
  block_signals();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return dirty_ || stopping_; });
      if (stopping_) return;
      // Let a burst of events settle into one reload.
      cv_.wait_for(lock, options_.debounce, [this] { return stopping_; });
      if (stopping_) return;
    }
    std::string error;
    if (!write_manifest(&error)) {
      std::fprintf(stderr, "realproxy: kube-api: %s\n", error.c_str());
      continue;
    }
    ++updates_;
    kill(getpid(), SIGHUP);
  }
}

bool KubeApiSource::start(std::string* error) {
  std::string server = options_.server;
  if (server.empty()) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port) {
      *error =
          "--kube-api: not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset); give "
          "--kube-api-server URL";
      return false;
    }
    const std::string h = host;
    server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  }
  std::string rest;
  if (server.rfind("https://", 0) == 0) {
    https_ = true;
    rest = server.substr(8);
  } else if (server.rfind("http://", 0) == 0) {
    rest = server.substr(7);
  } else {
    *error = "--kube-api-server " + server + ": expected an http:// or https:// URL";
    return false;
  }
  while (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  size_t colon = rest.rfind(':');
  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    host_ = rest.substr(1, close - 1);
    colon = rest.find(':', close);
  } else {
    host_ = rest.substr(0, colon);
  }
  port_ = colon == std::string::npos ? (https_ ? 443 : 80) : std::atoi(rest.c_str() + colon + 1);
  if (host_.empty() || port_ <= 0 || port_ > 65535) {
    *error = "--kube-api-server " + server + ": bad host or port";
    return false;
  }
  scheme_host_ = server;

  dir_ = options_.state_dir;
  if (dir_.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/realproxy-kube-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      *error = "cannot create a directory for the mirrored objects: " +
               std::string(std::strerror(errno));
      return false;
    }
    dir_ = pattern;
    own_dir_ = true;
  } else {
    mkdir(dir_.c_str(), 0700);
  }
  manifest_path_ = dir_ + "/kube-api.yaml";

  // The first sync, here: a wrong address or missing permission fails the start.
  block_signals();
  std::signal(SIGPIPE, SIG_IGN);  // SSL_write uses write(2); a closed peer must not kill us
  rv_after_list_.assign(kube_resources().size(), "");
  for (size_t i = 0; i < kube_resources().size(); ++i) {
    if (!list(i, &rv_after_list_[i], error)) {
      *error = "--kube-api: " + *error;
      return false;
    }
  }
  if (!write_manifest(error)) return false;
  for (size_t i = 0; i < kube_resources().size(); ++i) {
    threads_.emplace_back([this, i] { run_resource(i); });
  }
  threads_.emplace_back([this] { writer_loop(); });
  return true;
}

void KubeApiSource::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    for (int fd : open_fds_)
      shutdown(fd, SHUT_RDWR);
    cv_.notify_all();
  }
  for (std::thread& t : threads_)
    t.join();
  threads_.clear();
  if (own_dir_) {
    unlink(manifest_path_.c_str());
    rmdir(dir_.c_str());
  }
}

}  // namespace ingresslab::realproxy
