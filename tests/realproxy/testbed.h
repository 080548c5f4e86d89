// A small "cluster" on loopback for the realproxy integration tests: realpod processes as the
// pods, Kubernetes manifests (Ingress, Services, one EndpointSlice per pod, TLS Secrets) written
// to a temporary directory, and a realproxy serving them. Every process is stopped by PID when the
// Testbed goes away.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/realproxy/http_client.h"
#include "tests/realproxy/test_process.h"

namespace ingresslab::realproxy::testing {

struct Pod {
  std::string name;
  std::string service;
  int port = 0;
  std::unique_ptr<ChildProcess> process;
};

class Testbed {
 public:
  Testbed();
  ~Testbed();

  const std::string& dir() const { return dir_; }
  std::string config_dir() const { return dir_ + "/config"; }

  // Starts a realpod for `service`; its EndpointSlice goes into the next write_config().
  Pod& add_pod(const std::string& service, const std::string& name,
               std::vector<std::string> extra_args = {});
  Pod& pod(const std::string& name);
  // Starts the pod `name` again on its port, after its process exited (killed by the test).
  void respawn_pod(const std::string& name);
  // The names of the pods of `service`.
  std::set<std::string> pods_of(const std::string& service) const;
  // An endpoint that exists but is not ready (conditions.ready: false).
  void add_unready_endpoint(const std::string& service) { unready_services_.insert(service); }

  // An Ingress rule path in the Ingress "cafe-ingress" (namespace default).
  void route(const std::string& host, const std::string& path, const std::string& service,
             const std::string& path_type = "Prefix");
  void clear_routes() { routes_.clear(); }
  // A spec.tls entry for `host` with a kubernetes.io/tls Secret, given as base64 data or as the
  // realproxy.ingresslab/tls-{cert,key}-file annotations.
  void tls(const std::string& host, const std::string& secret, const SelfSignedCertificate& cert,
           bool as_files);

  std::string manifests() const;
  void write_config();

  // Starts realproxy on 127.0.0.1:0 (HTTP, HTTPS, admin) with the written config; waits until it
  // listens. Fails the test if it does not come up.
  void start_proxy(std::vector<std::string> extra_args = {});
  ChildProcess& proxy() { return *proxy_; }
  int http_port() const { return http_port_; }
  int https_port() const { return https_port_; }
  int admin_port() const { return admin_port_; }

  // `realproxy route --config <config dir> host path`.
  CommandResult route_command(const std::string& host, const std::string& path);

 private:
  struct RouteSpec {
    std::string host, path, service, path_type;
  };
  struct TlsSpec {
    std::string host, secret;
    SelfSignedCertificate cert;
    bool as_files;
  };

  std::string dir_;
  std::vector<std::unique_ptr<Pod>> pods_;
  std::vector<RouteSpec> routes_;
  std::vector<TlsSpec> tls_;
  std::set<std::string> unready_services_;
  std::unique_ptr<ChildProcess> proxy_;
  int http_port_ = 0, https_port_ = 0, admin_port_ = 0;
  int commands_ = 0;
};

// Paths of the binaries under test (set by CMake).
const char* realproxy_binary();
const char* realpod_binary();

}  // namespace ingresslab::realproxy::testing
