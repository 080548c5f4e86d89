// `realproxy serve --kube-api`: the configuration from the Kubernetes API instead of files.
//
// One thread per resource lists it cluster-wide and then watches it (the API's list + watch:
// GET /apis/networking.k8s.io/v1/ingresses, then ?watch=1&resourceVersion=RV, newline-delimited
// JSON events ADDED / MODIFIED / DELETED / BOOKMARK / ERROR; a 410 Gone or a closed stream
// relists or re-watches). Resources: Ingress (networking.k8s.io/v1), Service (v1), EndpointSlice
// (discovery.k8s.io/v1) and Secret (v1, type kubernetes.io/tls only).
//
// The objects are mirrored into one manifest file (YAML documents with kind and apiVersion, as
// `kubectl get -o yaml` would write them) in a private directory, which `serve` reads as its
// --config; after each change (debounced) the file is rewritten atomically and the process gets
// SIGHUP, so the route table is swapped exactly like a file reload — the same validation, the same
// "keep the running configuration if the new one is bad".
//
// Credentials, as client-go's in-cluster config: the API server at
// https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the bearer token and CA from
// /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt} (the token is re-read on every
// request: projected tokens rotate). --kube-api-server URL overrides the address (http:// is
// allowed, for tests and `kubectl proxy`).
//
// Objects from the API cannot name local files: the certificate-file annotations of
// realproxy/config/manifests.h are dropped from Secrets read here.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ingresslab::realproxy {

struct KubeApiOptions {
  // Empty: in-cluster (KUBERNETES_SERVICE_HOST / _PORT).
  std::string server;
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  // Where the mirrored manifest file is written. Empty: a new directory under $TMPDIR or /tmp.
  std::string state_dir;
  // Changes closer together than this are applied as one reload.
  std::chrono::milliseconds debounce{100};
  // How long start() waits for the first list of every resource.
  std::chrono::milliseconds initial_sync_timeout{30000};
  // Server-side timeout of one watch request (the API server closes it then; we re-watch).
  int watch_timeout_seconds = 300;
};

// One watched resource type.
struct KubeResource {
  const char* kind;         // "Ingress"
  const char* api_version;  // "networking.k8s.io/v1"
  const char* path;         // "/apis/networking.k8s.io/v1/ingresses"
  const char* selector;     // extra query ("fieldSelector=..."), or ""
};
// The four resources realproxy reads.
const std::vector<KubeResource>& kube_resources();

class KubeApiSource {
 public:
  explicit KubeApiSource(KubeApiOptions options);
  ~KubeApiSource();
  KubeApiSource(const KubeApiSource&) = delete;
  KubeApiSource& operator=(const KubeApiSource&) = delete;

  // Resolves the server and credentials, lists every resource and writes the manifest file; then
  // keeps watching in background threads, which block SIGHUP/SIGTERM/SIGINT (the main thread
  // takes them) and send SIGHUP to this process after each applied change. False and *error if
  // the first sync fails (unreachable server, 401/403, timeout).
  bool start(std::string* error);
  // Stops the threads (closes their connections).
  void stop();

  // The manifest file to pass as --config.
  const std::string& manifest_path() const { return manifest_path_; }
  // How many times the file was rewritten after the first sync.
  uint64_t updates() const { return updates_.load(); }

 private:
  struct Stream;
  void run_resource(size_t index);
  bool list(size_t index, std::string* resource_version, std::string* error);
  bool watch(size_t index, std::string* resource_version, std::string* error);
  void forget_fd(int fd);
  void writer_loop();
  bool write_manifest(std::string* error);
  std::unique_ptr<Stream> open_request(const std::string& path_and_query, std::string* error);

  KubeApiOptions options_;
  std::string scheme_host_;  // "https://10.96.0.1:443"
  bool https_ = false;
  std::string host_;
  int port_ = 0;
  std::string manifest_path_;
  std::string dir_;
  bool own_dir_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  // Per resource: "namespace/name" → the object as YAML (kind/apiVersion added).
  std::vector<std::map<std::string, std::string>> objects_;
  std::vector<std::string> rv_after_list_;  // resource versions of start()'s lists
  bool dirty_ = false;
  bool stopping_ = false;
  std::atomic<uint64_t> updates_{0};
  std::vector<std::thread> threads_;
  // Sockets of the requests in flight, shut down by stop().
  std::vector<int> open_fds_;
};

}  // namespace ingresslab::realproxy
